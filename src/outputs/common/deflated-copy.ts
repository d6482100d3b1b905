/**
 * A raw deflate copy of a file's body, made while the file is written: each chunk appended to the
 * file is also deflated (in zlib's thread pool, beside the export) into a temp file, with its CRC-32
 * and length kept. A zip of the finished file then only copies bytes already compressed, instead of
 * reading and deflating the whole file after the export (zip-writer.ts).
 *
 * The file's header, written last, is not in the copy: `storedBlock` gives it as a stored deflate
 * block that goes before the copy (a non-final stored block ends on a byte boundary, so the two
 * deflate streams join into one), and `crc32Combine` gives the CRC of header and body together.
 */
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import { outputError } from './temp-dir.js';

/** Deflate level of the copies: 1, the fastest (DBF rows, space-padded text, shrink about as well at 1 as at 6). */
export const DEFLATE_LEVEL = 1;

export interface DeflatedBody {
  /** The temp file holding the raw deflate stream of the body. */
  path: string;
  crc32: number;
  /** Bytes of the body before and after deflating. */
  size: number;
  compressedSize: number;
}

export class DeflatedCopy {
  readonly path: string;
  readonly #deflate = createDeflateRaw({ level: DEFLATE_LEVEL, chunkSize: 256 * 1024 });
  readonly #out;
  readonly #done: Promise<void>;
  #crc = 0;
  #size = 0;

  constructor(path: string) {
    this.path = path;
    this.#out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.#done = pipeline(this.#deflate, this.#out);
    this.#done.catch(() => {}); // seen by write and end
  }

  /** Appends a copy of `bytes` (the caller may reuse its buffer at once); waits while zlib is behind. */
  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    const copy = Buffer.from(bytes);
    this.#crc = crc32(copy, this.#crc);
    this.#size += copy.length;
    try {
      if (!this.#deflate.write(copy)) await Promise.race([once(this.#deflate, 'drain'), this.#done]);
    } catch (cause) {
      throw outputError(`Cannot write ${this.path}`, cause);
    }
  }

  /** Ends the stream; the copy is complete on its disk file when this resolves. */
  async end(): Promise<DeflatedBody> {
    this.#deflate.end();
    await this.#done.catch((cause: unknown) => {
      throw outputError(`Cannot write ${this.path}`, cause);
    });
    return { path: this.path, crc32: this.#crc, size: this.#size, compressedSize: this.#out.bytesWritten };
  }

  destroy(): void {
    this.#deflate.destroy();
    this.#out.destroy();
  }
}

/** `bytes` as one stored, non-final deflate block (at most 65,535 bytes). */
export function storedBlock(bytes: Uint8Array): Buffer {
  if (bytes.length > 0xffff)
    throw new RangeError(`A stored deflate block holds at most 65535 bytes, not ${bytes.length}`);
  const block = Buffer.alloc(5 + bytes.length);
  block[0] = 0; // BFINAL 0, BTYPE 00 (stored), then the bits up to the byte boundary
  block.writeUInt16LE(bytes.length, 1);
  block.writeUInt16LE(~bytes.length & 0xffff, 3);
  block.set(bytes, 5);
  return block;
}
