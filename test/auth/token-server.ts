/** A tiny generateToken + rest/info server on 127.0.0.1:0 for the integration test and nothing else. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  query: string;
  form: URLSearchParams;
}

export interface TokenServerBehaviour {
  /** Server clock (epoch ms) for the Date header and `expires`. */
  now: () => number;
  lifetimeMs?: number;
  /** Answers for the next token requests, in order, before normal issuing resumes. */
  script?: ('429' | '503' | 'bad-credentials')[];
  retryAfterSeconds?: number;
  password: string;
}

export interface RunningTokenServer {
  origin: string;
  seen: SeenRequest[];
  tokenRequests: () => number;
  issued: string[];
  close: () => Promise<void>;
}

export async function startTokenServer(behaviour: TokenServerBehaviour): Promise<RunningTokenServer> {
  const seen: SeenRequest[] = [];
  const issued: string[] = [];
  const script = [...(behaviour.script ?? [])];
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.search,
      form: new URLSearchParams(raw),
    });
    res.setHeader('Date', new Date(behaviour.now()).toUTCString());
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/server/rest/info') {
      json(200, {
        currentVersion: 11.3,
        authInfo: {
          isTokenBasedSecurity: true,
          tokenServicesUrl: `${origin}/server/tokens/`,
          shortLivedTokenValidity: 60,
        },
      });
      return;
    }
    if (url.pathname !== '/server/tokens/generateToken' || req.method !== 'POST') {
      json(200, { error: { code: 404, message: 'Not found' } });
      return;
    }
    const step = script.shift();
    if (step === '429') {
      json(
        429,
        { error: { code: 429, message: 'Too many requests' } },
        { 'retry-after': String(behaviour.retryAfterSeconds ?? 3) },
      );
      return;
    }
    if (step === '503') {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body>Service Unavailable</body></html>');
      return;
    }
    const form = new URLSearchParams(raw);
    if (step === 'bad-credentials' || form.get('password') !== behaviour.password) {
      json(200, {
        error: {
          code: 400,
          message: 'Unable to generate token.',
          details: ['Invalid username or password.'],
        },
      });
      return;
    }
    const token = `srv-token-${issued.length + 1}-${Math.random().toString(36).slice(2)}`;
    issued.push(token);
    json(200, { token, expires: behaviour.now() + (behaviour.lifetimeMs ?? 60 * 60_000), ssl: false });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    seen,
    issued,
    tokenRequests: () => seen.filter((s) => s.path.endsWith('/generateToken')).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
