/** GeoParquet read back with hyparquet (a reader we did not write), for the tests. */
import { readFile } from 'node:fs/promises';
import { type FileMetaData, parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

export interface ReadParquet {
  metadata: FileMetaData;
  geo: Record<string, unknown> | undefined;
  rows: Record<string, unknown>[];
}

export async function readParquet(path: string): Promise<ReadParquet> {
  const bytes = await readFile(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const geoText = metadata.key_value_metadata?.find((kv) => kv.key === 'geo')?.value;
  const rows = (await parquetReadObjects({ file, compressors, utf8: false })) as Record<string, unknown>[];
  return {
    metadata,
    geo: geoText === undefined ? undefined : (JSON.parse(geoText) as Record<string, unknown>),
    rows,
  };
}
