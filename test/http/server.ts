/** A real node:http server on 127.0.0.1:0 that records what it receives (test helper). */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  /** Path and query string. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, recorded: Recorded, index: number) => void;

export interface TestServer {
  /** `http://127.0.0.1:port` */
  origin: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      handler(req, res, recorded, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, text: string, status = 200, contentType = 'text/plain'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An answer relayed by `forward`. */
export interface Forwarded {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * Sends a recorded request on to `origin` (a proxy in front of a real server), with `params` as its
 * form (POST); `relay` writes the answer back.
 */
export async function forward(
  origin: string,
  recorded: Recorded,
  params: URLSearchParams,
): Promise<Forwarded> {
  const upstream = await fetch(`${origin}${recorded.url}`, {
    method: recorded.method === 'POST' ? 'POST' : 'GET',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    ...(recorded.method === 'POST' ? { body: params.toString() } : {}),
  });
  return {
    status: upstream.status,
    contentType: upstream.headers.get('content-type') ?? '',
    body: Buffer.from(await upstream.arrayBuffer()),
  };
}

export function relay(res: ServerResponse, answer: Forwarded): void {
  res.writeHead(answer.status, { 'content-type': answer.contentType });
  res.end(answer.body);
}

/** Form or query parameters of a recorded request. */
export function paramsOf(recorded: Recorded): URLSearchParams {
  if (recorded.method === 'POST') return new URLSearchParams(recorded.body);
  return new URL(recorded.url, 'http://x').searchParams;
}
