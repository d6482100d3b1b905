/**
 * Parquet page compression: snappy (default; built into hyparquet-writer), zstd, or none.
 * zstd is Node's own (node:zlib, Node 22.15 and later) where Node has it, else the zstd library
 * compiled to WebAssembly of @hpcc-js/wasm-zstd (no native build; loaded only when asked for).
 */
import * as zlib from 'node:zlib';
import type { Compressors } from 'hyparquet-writer/src/types.js';
import { EtlError } from '../../core/errors.js';

export type ParquetCompression = 'snappy' | 'zstd' | 'none';

export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['snappy', 'zstd', 'none'];

/** zstd's default level (both implementations). */
const ZSTD_LEVEL = 3;

type ZstdCompress = (input: Uint8Array) => Uint8Array;

/** Node's zstd, where this Node has one. */
function nodeZstd(): ZstdCompress | undefined {
  const sync = (zlib as unknown as { zstdCompressSync?: (input: Uint8Array) => Buffer }).zstdCompressSync;
  return sync === undefined ? undefined : (input) => new Uint8Array(sync(input));
}

let wasm: Promise<ZstdCompress> | undefined;

/** The WebAssembly zstd (compiled once per process). */
function wasmZstd(): Promise<ZstdCompress> {
  wasm ??= import('@hpcc-js/wasm-zstd').then(async ({ Zstd }) => {
    const zstd = await Zstd.load();
    return (input: Uint8Array) => {
      const out = zstd.compress(input, ZSTD_LEVEL);
      // the library reports a failure on the console only: a frame must start with zstd's magic
      if (out.length < 4 || out[0] !== 0x28 || out[1] !== 0xb5 || out[2] !== 0x2f || out[3] !== 0xfd) {
        throw new EtlError('OUTPUT_ERROR', `zstd could not compress a Parquet page of ${input.length} bytes`);
      }
      return out;
    };
  });
  return wasm;
}

/** The compressors hyparquet-writer needs for `compression` (none for snappy and none). */
export async function compressorsFor(
  compression: ParquetCompression,
  implementation: 'auto' | 'wasm' = 'auto',
): Promise<Compressors | undefined> {
  if (compression !== 'zstd') return undefined;
  const native = implementation === 'auto' ? nodeZstd() : undefined;
  if (native !== undefined) return { ZSTD: native };
  try {
    return { ZSTD: await wasmZstd() };
  } catch (cause) {
    wasm = undefined;
    throw new EtlError(
      'USAGE',
      `zstd Parquet compression could not load its WebAssembly zstd on Node ${process.versions.node} (Node 22.15 and later have their own): use snappy (the default) or none`,
      { cause },
    );
  }
}
