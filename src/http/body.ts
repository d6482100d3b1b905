/**
 * Reads a response body (bytes, then text) with a size cap, decompressing gzip/deflate/br when the
 * server compressed it. The cap applies to the decompressed size.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { EtlError } from '../core/errors.js';
import type { ByteLease } from './byte-budget.js';

/** Default response size cap: 512 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 512 * 1024 * 1024;

export const ACCEPT_ENCODING = 'gzip, deflate, br';

function decompressor(encoding: string | undefined): NodeJS.ReadWriteStream | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

function tooLarge(limit: number, url: string, status: number, seen?: number): EtlError {
  const size = seen === undefined ? '' : ` (${seen} bytes or more)`;
  return new EtlError('RESPONSE_TOO_LARGE', `Response from ${url} is larger than ${limit} bytes${size}`, {
    url,
    status,
  });
}

export interface ReadBodyOptions {
  maxBytes: number;
  url: string;
  status: number;
  contentLength?: string | undefined;
  contentEncoding?: string | undefined;
  /** The transport-wide buffer budget: each chunk waits for room before it is kept. */
  lease?: ByteLease | undefined;
  /** Aborts a wait for room in the budget. */
  signal?: AbortSignal | undefined;
}

/** Destroys a body stream without letting its error escape. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * UTF-8 text of a body read with `readBodyBytes`. Invalid sequences become U+FFFD (as WHATWG
 * decoders do) and `onInvalidUtf8` is called: the caller decides how loudly to report it.
 */
export function bytesToText(bytes: Buffer, onInvalidUtf8?: () => void): string {
  if (onInvalidUtf8 !== undefined && !isUtf8(bytes)) onInvalidUtf8();
  return bytes.toString('utf8');
}

/**
 * The body's chunks, decompressed as its Content-Encoding says: RESPONSE_TOO_LARGE as soon as they
 * pass `maxBytes`. If reading stops before the end (an error here or in the consumer), the body
 * is destroyed with what it piped into.
 */
async function* boundedChunks(
  body: Readable,
  inflate: NodeJS.ReadWriteStream | undefined,
  { maxBytes, url, status }: Pick<ReadBodyOptions, 'maxBytes' | 'url' | 'status'>,
): AsyncGenerator<Buffer, void, undefined> {
  const source: Readable = inflate ? body.pipe(inflate as unknown as NodeJS.WritableStream & Readable) : body;
  if (inflate) body.on('error', (error) => (inflate as unknown as Readable).destroy(error));
  let size = 0;
  let ended = false;
  try {
    for await (const chunk of source) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buffer.length;
      if (size > maxBytes) {
        discard(body);
        if (source !== body) discard(source);
        throw tooLarge(maxBytes, url, status, size);
      }
      yield buffer;
    }
    ended = true;
  } finally {
    if (!ended && source !== body) discard(body);
  }
}

/** The whole (decompressed) body as bytes, or RESPONSE_TOO_LARGE as soon as it passes `maxBytes`. */
export async function readBodyBytes(body: Readable, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes, url, status } = options;
  const declared = options.contentLength === undefined ? Number.NaN : Number(options.contentLength);
  const inflate = decompressor(options.contentEncoding);
  if (!inflate && Number.isFinite(declared) && declared > maxBytes) {
    discard(body);
    throw tooLarge(maxBytes, url, status, declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const buffer of boundedChunks(body, inflate, options)) {
    // while this waits, the stream is not read: the socket pushes back on the server
    await options.lease?.acquire(buffer.length, options.signal);
    chunks.push(buffer);
    size += buffer.length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** What `writeBodyToFile` wrote. */
export interface FileBody {
  path: string;
  bytes: number;
  /** Hex sha256 of the bytes written (computed while streaming). */
  sha256: string;
}

/**
 * Streams a (decompressed) body into `path` (created or truncated: each attempt starts over),
 * hashing it on the way; memory stays at one chunk whatever the size. A body shorter than its
 * Content-Length is TRUNCATED_RESPONSE.
 */
export async function writeBodyToFile(
  body: Readable,
  path: string,
  options: Omit<ReadBodyOptions, 'lease'>,
): Promise<FileBody> {
  const { url, status } = options;
  const declared = options.contentLength === undefined ? Number.NaN : Number(options.contentLength);
  const inflate = decompressor(options.contentEncoding);
  const hash = createHash('sha256');
  const out = await open(path, 'w');
  let size = 0;
  try {
    for await (const buffer of boundedChunks(body, inflate, options)) {
      size += buffer.length;
      hash.update(buffer);
      await out.write(buffer);
    }
  } finally {
    await out.close();
  }
  if (!inflate && Number.isFinite(declared) && size !== declared) {
    throw new EtlError(
      'TRUNCATED_RESPONSE',
      `The download from ${url} ended after ${size} of ${declared} bytes`,
      {
        url,
        status,
      },
    );
  }
  return { path, bytes: size, sha256: hash.digest('hex') };
}
