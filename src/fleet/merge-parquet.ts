/**
 * GeoParquet shards are published as a dataset: a folder named as the output (`out.parquet/`)
 * holding the parts, `part-00000.parquet` … in OID order, each a complete GeoParquet file with its
 * own `geo` metadata. That is the convention of partitioned Parquet: Arrow, DuckDB
 * (`read_parquet('out.parquet/*.parquet')`), GDAL's Parquet driver (a folder, with Arrow Dataset
 * support) read it as one table; a Parquet reader of single files (hyparquet) reads each part.
 * The parts are hard-linked into the staging folder, not moved, so a merge killed half-way leaves
 * them for its retry; no byte is copied.
 */
import { link, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** The staging folder `target` (new) with the parts, by their names, in it. */
export async function linkParquetParts(parts: readonly string[], target: string): Promise<void> {
  await mkdir(target);
  for (const part of parts) await link(part, join(target, basename(part)));
}
