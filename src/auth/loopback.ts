/**
 * The one-shot loopback redirect receiver of a native-app sign-in (RFC 8252 §7.3): an HTTP server on
 * 127.0.0.1 and a free port, waiting for one `GET /callback?code=…&state=…`. Anything else gets 404;
 * the first callback settles it and the server closes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EtlError } from '../core/errors.js';

export interface LoopbackCallback {
  /** The query parameters of the callback. */
  params: URLSearchParams;
}

export interface LoopbackReceiver {
  /** `http://127.0.0.1:PORT/callback` */
  readonly redirectUri: string;
  /** Resolves with the first callback. */
  readonly callback: Promise<LoopbackCallback>;
  close(): Promise<void>;
}

export interface LoopbackOptions {
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  path?: string;
  /** The page shown in the browser once the callback came (plain text). */
  doneMessage?: string;
}

export async function startLoopbackReceiver(options: LoopbackOptions = {}): Promise<LoopbackReceiver> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/callback';
  let settle!: (value: LoopbackCallback) => void;
  const callback = new Promise<LoopbackCallback>((resolve) => {
    settle = resolve;
  });
  let done = false;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    if (req.method !== 'GET' || url.pathname !== path || done) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('Not found');
      return;
    }
    done = true;
    const failed = url.searchParams.has('error');
    res.writeHead(failed ? 400 : 200, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'close',
    });
    res.end(
      failed
        ? 'Sign-in failed. You can close this window and look at the terminal.'
        : (options.doneMessage ?? 'Signed in. You can close this window and return to the terminal.'),
    );
    settle({ params: url.searchParams });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(
        new EtlError('NETWORK_ERROR', `Could not listen on ${host} for the sign-in redirect`, { cause }),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    redirectUri: `http://${shownHost}:${port}${path}`,
    callback,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
