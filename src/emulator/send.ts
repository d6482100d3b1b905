/**
 * Writing answers: one `end(body)` with a Content-Length, or, for the body faults, a connection
 * reset in the middle of the body or a body cut in half.
 */
import type { ServerResponse } from 'node:http';
import type { Reply } from './reply.js';

function headersOf(reply: Reply, length: number, date: string): Record<string, string | number> {
  return {
    'Content-Type': reply.contentType,
    'Content-Length': length,
    Date: date,
    ...reply.headers,
  };
}

function bytesOf(reply: Reply): Buffer {
  const body = reply.body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  // a view over the same memory, never a copy
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

export function sendReply(res: ServerResponse, reply: Reply, date: string): void {
  const body = bytesOf(reply);
  res.writeHead(reply.status, headersOf(reply, body.length, date));
  res.end(body);
}

/** Headers announce the whole body; half of it is written, then the socket is destroyed. */
export function sendReset(res: ServerResponse, reply: Reply, date: string): void {
  const body = bytesOf(reply);
  res.writeHead(reply.status, headersOf(reply, body.length, date));
  const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
  res.write(half, () => {
    res.socket?.destroy();
  });
}

/**
 * An HTTP 200 whose body (JSON text or PBF bytes) stops in the middle of its bytes; the
 * Content-Length matches what is sent.
 */
export function sendTruncated(res: ServerResponse, reply: Reply, date: string): void {
  const body = bytesOf(reply);
  const cut = body.subarray(0, Math.floor(body.length / 2));
  res.writeHead(200, headersOf(reply, cut.length, date));
  res.end(cut);
}
