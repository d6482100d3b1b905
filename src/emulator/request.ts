/**
 * The parts of an incoming request the routes need: path, query and form parameters, headers,
 * the client address and the origin to advertise in URLs.
 */
import type { IncomingMessage } from 'node:http';
import { parseMultipart } from './multipart.js';
import { normalizeIp } from './tokens.js';

export interface EmuRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Form body parameters (POST, form-urlencoded), else undefined. */
  form: URLSearchParams | undefined;
  /** The raw body (for JSON control requests). */
  rawBody: string;
  /** The body's bytes (binary-safe: multipart file uploads). */
  rawBytes?: Buffer;
  headers: IncomingMessage['headers'];
  /** The client address (IPv4-mapped prefix removed). */
  ip: string;
  /** `http(s)://host:port` as the client addressed us. */
  origin: string;
}

/** A parameter: form body first, then query string (ArcGIS reads both). */
export function param(req: EmuRequest, name: string): string | undefined {
  return req.form?.get(name) ?? req.query.get(name) ?? undefined;
}

/** All parameters as a plain record (form body overrides query string). */
export function allParams(req: EmuRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of req.query) out[k] = v;
  if (req.form) for (const [k, v] of req.form) out[k] = v;
  return out;
}

/** `f` lower-cased; undefined when absent (real servers then default to html). */
export function format(req: EmuRequest): string | undefined {
  const f = param(req, 'f');
  return f === undefined || f === '' ? undefined : f.toLowerCase();
}

export function wantsJson(req: EmuRequest): boolean {
  const f = format(req);
  return f === 'json' || f === 'pjson';
}

/** The token of a resource request: form body, query string, X-Esri-Authorization, Authorization. */
export function requestToken(req: EmuRequest): string | undefined {
  const fromParams = req.form?.get('token') || req.query.get('token');
  if (fromParams) return fromParams;
  return bearer(req.headers['x-esri-authorization']) ?? bearer(req.headers.authorization);
}

function bearer(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(v);
  return m?.[1];
}

export function header(req: EmuRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Reads a request body as UTF-8 text (bounded). */
export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBuffer(req)).toString('utf8');
}

/** Reads a request body's bytes (bounded). */
export function readBodyBuffer(req: IncomingMessage): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('Request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function buildRequest(
  req: IncomingMessage,
  path: string,
  queryString: string,
  rawBody: string,
  scheme: 'http' | 'https',
  fallbackOrigin: string,
  rawBytes?: Buffer,
): EmuRequest {
  const contentType = req.headers['content-type'] ?? '';
  const type = contentType.toLowerCase();
  let form: URLSearchParams | undefined;
  if (rawBody.length > 0) {
    if (type.startsWith('multipart/form-data')) form = parseMultipart(rawBody, contentType);
    else if (
      type === '' ||
      type.startsWith('application/x-www-form-urlencoded') ||
      type.startsWith('text/plain')
    ) {
      form = new URLSearchParams(rawBody);
    }
  }
  const host = req.headers.host;
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    query: new URLSearchParams(queryString),
    form,
    rawBody,
    ...(rawBytes === undefined ? {} : { rawBytes }),
    headers: req.headers,
    ip: normalizeIp(req.socket.remoteAddress),
    origin: host ? `${scheme}://${host}` : fallbackOrigin,
  };
}
