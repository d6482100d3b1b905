/**
 * Where one file of a Shapefile part (.shp, .shx or .dbf) goes while it is written: its body is
 * appended page by page, and its header, which holds counts and extents, comes at the end.
 * - `TempPartFile`: a temp file, the header space reserved and the header written in place.
 * - `ZipPartFile`, for a .shp.zip: a deflated copy of the body (deflated-copy.ts), made beside the
 *   export; the header goes before it as a stored block, and the zip only copies the bytes.
 */
import { crc32 } from 'node:zlib';
import { crc32Combine } from '../common/crc32-combine.js';
import { DeflatedCopy, storedBlock } from '../common/deflated-copy.js';
import type { TempDir, TempFile } from '../common/temp-dir.js';
import type { ZipEntry } from '../common/zip-writer.js';

export interface PartFile {
  append(bytes: Uint8Array): Promise<void>;
  /** The finished file: sealed on disk with `mode` (undefined), or the zip entry `name` holding it. */
  finish(name: string, header: Uint8Array, mode: number): Promise<ZipEntry | undefined>;
  /** Drops an unfinished file (its temp folder is removed after). */
  close(): Promise<void>;
}

export class TempPartFile implements PartFile {
  readonly #file: TempFile;

  private constructor(file: TempFile) {
    this.#file = file;
  }

  static async create(dir: TempDir, name: string, headerLength: number): Promise<TempPartFile> {
    const file = await dir.file(name);
    file.size = headerLength;
    return new TempPartFile(file);
  }

  append(bytes: Uint8Array): Promise<void> {
    return this.#file.append(bytes);
  }

  async finish(_name: string, header: Uint8Array, mode: number): Promise<undefined> {
    await this.#file.writeAt(header, 0);
    await this.#file.seal(mode);
    return undefined;
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}

export class ZipPartFile implements PartFile {
  readonly #copy: DeflatedCopy;

  constructor(path: string) {
    this.#copy = new DeflatedCopy(path);
  }

  append(bytes: Uint8Array): Promise<void> {
    return this.#copy.write(bytes);
  }

  async finish(name: string, header: Uint8Array): Promise<ZipEntry> {
    const body = await this.#copy.end();
    const head = storedBlock(header);
    return {
      name,
      data: [head, { path: body.path }],
      crc32: crc32Combine(crc32(header), body.crc32, body.size),
      size: header.length + body.size,
      compressedSize: head.length + body.compressedSize,
    };
  }

  async close(): Promise<void> {
    this.#copy.destroy();
  }
}
