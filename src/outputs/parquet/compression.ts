/**
 * Parquet page compression: snappy (default; built into hyparquet-writer), zstd (with the zstd of
 * Node's zlib, which Node 22.15 and later have: on older Node it is a USAGE error), or none.
 */
import * as zlib from 'node:zlib';
import type { Compressors } from 'hyparquet-writer/src/types.js';
import { EtlError } from '../../core/errors.js';

export type ParquetCompression = 'snappy' | 'zstd' | 'none';

export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['snappy', 'zstd', 'none'];

type ZstdCompress = (input: Uint8Array) => Uint8Array;

export function compressorsFor(compression: ParquetCompression): Compressors | undefined {
  if (compression !== 'zstd') return undefined;
  const zstd = (zlib as unknown as { zstdCompressSync?: ZstdCompress }).zstdCompressSync;
  if (zstd === undefined) {
    throw new EtlError(
      'USAGE',
      `zstd Parquet compression needs Node 22.15 or later (this is Node ${process.versions.node}): use snappy (the default) or none`,
    );
  }
  return { ZSTD: (input) => new Uint8Array(zstd(input)) };
}
