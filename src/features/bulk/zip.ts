/**
 * Unpacks a downloaded zip from its file into a private folder, one entry at a time through a
 * stream (memory stays flat whatever the size). yauzl validates the entries' names (no absolute
 * path, no `..`) and sizes; each entry's CRC-32 is checked here as it streams by (yauzl does not);
 * the total is bounded, and each entry is written under a name of our own (`<n>.<extension>`), so
 * no name in the archive ever becomes a path.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type yauzl from 'yauzl';
import { EtlError } from '../../core/errors.js';
import { requireOnUse } from '../../core/lazy-require.js';

export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04
  );
}

/** An entry unpacked: its name in the archive, and the file it was written to. */
export interface ZipEntryFile {
  name: string;
  path: string;
}

export const DEFAULT_MAX_UNZIPPED_BYTES = 4 * 1024 ** 3;

/**
 * Unpacks the entries whose extension is in `extensions` (lower case, with the dot) into `dir`
 * (a private folder the caller removes); the others are passed over. Refuses an archive that is not
 * a valid zip, or unpacks to more than `maxBytes`, with DOWNLOAD_INVALID.
 */
export async function extractZip(
  path: string,
  dir: string,
  extensions: readonly string[],
  maxBytes = DEFAULT_MAX_UNZIPPED_BYTES,
): Promise<ZipEntryFile[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    (requireOnUse('yauzl') as typeof yauzl).open(
      path,
      { lazyEntries: true, autoClose: true },
      (error, file) => (error ? reject(invalid(error)) : resolve(file)),
    );
  });
  const out: ZipEntryFile[] = [];
  let total = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        zip.close();
        reject(error);
      };
      zip.on('error', (error: Error) => fail(invalid(error)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const lower = entry.fileName.toLowerCase();
        const dot = lower.lastIndexOf('.');
        const extension = dot > lower.lastIndexOf('/') ? lower.slice(dot) : '';
        if (entry.fileName.endsWith('/') || !extensions.includes(extension)) {
          zip.readEntry();
          return;
        }
        total += entry.uncompressedSize;
        if (total > maxBytes) {
          fail(tooBig(maxBytes));
          return;
        }
        const file = join(dir, `${out.length}${extension}`);
        zip.openReadStream(entry, (error, stream) => {
          if (error) {
            fail(invalid(error));
            return;
          }
          // the sizes are validated by yauzl; this counts what really comes out as well
          let written = total - entry.uncompressedSize;
          let crc = 0;
          const bound = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              written += chunk.length;
              crc = crc32(chunk, crc);
              done(written > maxBytes ? tooBig(maxBytes) : null, chunk);
            },
            flush(done) {
              done(
                crc === entry.crc32 ? null : invalid(new Error(`${entry.fileName} fails its CRC-32 check`)),
              );
            },
          });
          pipeline(stream, bound, createWriteStream(file, { flags: 'wx', mode: 0o600 })).then(
            () => {
              out.push({ name: entry.fileName, path: file });
              zip.readEntry();
            },
            (e: unknown) => fail(e instanceof EtlError ? e : invalid(e)),
          );
        });
      });
      zip.readEntry();
    });
  } finally {
    if (zip.isOpen) zip.close();
  }
  return out;
}

function tooBig(maxBytes: number): EtlError {
  return new EtlError('DOWNLOAD_INVALID', `The downloaded archive unpacks to more than ${maxBytes} bytes`);
}

function invalid(cause: unknown): EtlError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new EtlError('DOWNLOAD_INVALID', `The downloaded archive is not a valid zip (${why})`, { cause });
}
