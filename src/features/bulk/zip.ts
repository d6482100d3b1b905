/**
 * Reads the entries of a downloaded zip (yauzl: validates entry names, CRCs and sizes), bounded
 * in total size. Directories are skipped; names are kept as in the archive.
 */
import yauzl from 'yauzl';
import { EtlError } from '../../core/errors.js';

export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04
  );
}

export async function readZip(bytes: Uint8Array, maxBytes = 4 * 1024 ** 3): Promise<Map<string, Buffer>> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, file) =>
      error ? reject(invalid(error)) : resolve(file),
    );
  });
  const files = new Map<string, Buffer>();
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    zip.on('error', (error: Error) => reject(invalid(error)));
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) {
        zip.readEntry();
        return;
      }
      total += entry.uncompressedSize;
      if (total > maxBytes) {
        reject(
          new EtlError('DOWNLOAD_INVALID', `The downloaded archive unpacks to more than ${maxBytes} bytes`),
        );
        return;
      }
      zip.openReadStream(entry, (error, stream) => {
        if (error) {
          reject(invalid(error));
          return;
        }
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (e: Error) => reject(invalid(e)));
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  return files;
}

function invalid(cause: unknown): EtlError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new EtlError('DOWNLOAD_INVALID', `The downloaded archive is not a valid zip (${why})`, { cause });
}
