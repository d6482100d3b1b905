/**
 * A transparent HTTP proxy in front of the emulator that records every token the emulator issues
 * (from the `token` / `access_token` of JSON answers), so the secrets suite can look for them in
 * everything the CLI leaves behind. The Host header is passed through, so the emulator advertises
 * the proxy's origin in its URLs (rest/info's tokenServicesUrl included).
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenProxy {
  origin: string;
  /** Every token seen in an answer, in order. */
  readonly tokens: string[];
  close(): Promise<void>;
}

export async function startTokenProxy(target: string): Promise<TokenProxy> {
  const upstream = new URL(target);
  const tokens: string[] = [];
  const server = createServer((req, res) => {
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'accept-encoding': 'identity' },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          collect(body.toString('utf8'), tokens);
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(body.length);
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    tokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function collect(text: string, into: string[]): void {
  if (!text.startsWith('{')) return;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['token', 'access_token', 'refresh_token']) {
      const value = body[key];
      if (typeof value === 'string' && value && !into.includes(value)) into.push(value);
    }
  } catch {
    // not JSON: nothing issued
  }
}
