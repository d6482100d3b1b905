/**
 * The last job of a sharded layer: its parts (OID ranges, in OID order, each a complete file of the
 * layer's format) joined into one file that is byte for byte what one export of the whole layer
 * writes. Streams: memory stays flat however big the parts are.
 * - geojsonseq: the parts one after the other;
 * - csv: the header of the first part, then every part without its header line;
 * - geojson: one FeatureCollection: the features between each part's header and footer, joined
 *   with the encoder's `,` and closed with its footer;
 * - parquet: a folder of the parts (a Parquet dataset; merge-parquet.ts);
 * - gpkg: one GeoPackage, the parts' rows inserted into the first's table (merge-gpkg.ts).
 * FlatGeobuf is not merged (its index and header cover the whole file: the layer would be written
 * again): its layers run as one job.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { EtlError } from '../core/errors.js';
import { mergeGeoPackages } from './merge-gpkg.js';
import { linkParquetParts } from './merge-parquet.js';

export const MERGEABLE_FORMATS = ['geojsonseq', 'csv', 'geojson', 'parquet', 'gpkg'] as const;
export type MergeableFormat = (typeof MERGEABLE_FORMATS)[number];
type TextFormat = Exclude<MergeableFormat, 'parquet' | 'gpkg'>;

export function isMergeable(format: string): format is MergeableFormat {
  return (MERGEABLE_FORMATS as readonly string[]).includes(format);
}

const GEOJSON_HEADER = '{"type":"FeatureCollection","features":[';
const GEOJSON_EMPTY_FOOTER = ']}\n';
const GEOJSON_FOOTER = '\n]}\n';

interface Range {
  start: number;
  /** Exclusive. */
  end: number;
}

/** Writes the merge of `parts` (in order) to `target` (a new file; for parquet a new folder). */
export async function mergeParts(
  format: MergeableFormat,
  parts: readonly string[],
  target: string,
): Promise<void> {
  if (format === 'parquet') return linkParquetParts(parts, target);
  if (format === 'gpkg') return mergeGeoPackages(parts, target);
  return mergeText(format, parts, target);
}

async function mergeText(format: TextFormat, parts: readonly string[], target: string): Promise<void> {
  const out = createWriteStream(target, { flags: 'wx' });
  const write = (chunk: string | Buffer) =>
    new Promise<void>((resolve, reject) => out.write(chunk, (error) => (error ? reject(error) : resolve())));
  try {
    let wroteBody = false;
    if (format === 'geojson') await write(GEOJSON_HEADER);
    for (const [index, part] of parts.entries()) {
      const range = await bodyRange(format, part, index === 0);
      if (range.end <= range.start) continue;
      if (format === 'geojson' && wroteBody) await write(',');
      for await (const chunk of createReadStream(part, { start: range.start, end: range.end - 1 })) {
        await write(chunk as Buffer);
      }
      wroteBody = true;
    }
    if (format === 'geojson') await write(wroteBody ? GEOJSON_FOOTER : GEOJSON_EMPTY_FOOTER);
    out.end();
    await finished(out);
  } catch (error) {
    out.destroy();
    throw error instanceof EtlError
      ? error
      : new EtlError(
          'OUTPUT_ERROR',
          `Could not merge the shards into ${target}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
  }
}

/** The bytes of a part that go into the merge. */
async function bodyRange(format: TextFormat, part: string, first: boolean): Promise<Range> {
  const size = (await stat(part)).size;
  if (format === 'geojsonseq') return { start: 0, end: size };
  if (format === 'csv') return { start: first ? 0 : await csvHeaderLength(part), end: size };
  const head = await readHead(part, GEOJSON_HEADER.length);
  if (head !== GEOJSON_HEADER) throw partError(part, 'does not start as a FeatureCollection');
  if (size === GEOJSON_HEADER.length + GEOJSON_EMPTY_FOOTER.length) return { start: 0, end: 0 };
  return { start: GEOJSON_HEADER.length, end: size - GEOJSON_FOOTER.length };
}

async function csvHeaderLength(part: string): Promise<number> {
  const head = await readHead(part, 1 << 16);
  const end = head.indexOf('\r\n');
  if (end < 0) throw partError(part, 'has no CSV header line');
  return Buffer.byteLength(head.slice(0, end + 2));
}

async function readHead(path: string, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function partError(part: string, problem: string): EtlError {
  return new EtlError('OUTPUT_ERROR', `The shard part ${part} ${problem}`);
}
