/**
 * `--merge PREVIOUS`: the last full output plus the inserts and updates, minus the deletes, is the
 * new full output, the same feature set a fresh full export gives. PREVIOUS is read as a stream
 * (GeoJSONSeq, and the GeoJSON FeatureCollection `export` writes: one feature per line, each kept as
 * its text; another FeatureCollection is read whole, with the layer's lossless parser); the result
 * is written to a temp file beside the output and renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { EtlError } from '../../core/errors.js';
import { featureJson } from '../writers/exact-json.js';

export type MergeFormat = 'geojson' | 'geojsonseq';

export const MERGE_FORMATS: readonly MergeFormat[] = ['geojson', 'geojsonseq'];

interface FeatureLine {
  id: number;
  text: string;
}

function idOf(feature: unknown, where: string): number {
  const id = (feature as { id?: unknown } | null)?.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
    throw new EtlError('USAGE', `${where}: a feature without an integer id (the OID) cannot be merged`);
  }
  return id;
}

/** A GeoJSON FeatureCollection's start. */
const COLLECTION = /^\s*\{\s*"type"\s*:\s*"FeatureCollection"/;
/** The first line of a FeatureCollection written one feature per line, as the GeoJSON writer does. */
const COLLECTION_OPEN = /^\s*\{\s*"type"\s*:\s*"FeatureCollection"\s*,\s*"features"\s*:\s*\[\s*$/;
const COLLECTION_CLOSE = /^\s*\]\s*\}\s*$/;

/**
 * The features of a GeoJSONSeq or GeoJSON file, one at a time, with their JSON text. GeoJSONSeq and
 * a FeatureCollection of one feature per line (what `export` writes) are streamed and their feature
 * texts kept as they are; another FeatureCollection is parsed whole with `parseJson` (the layer's
 * lossless parser: BigInteger values beyond 2^53 keep their digits) and each feature written again.
 */
export async function* readFeatures(
  path: string,
  parseJson: (text: string) => unknown = JSON.parse,
): AsyncGenerator<FeatureLine> {
  let head = '';
  try {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new EtlError('USAGE', `Cannot read the --merge file ${path}`, { cause });
  }
  const firstLine = /^([^\n]*)\n/.exec(head)?.[1];
  const lineCollection = firstLine !== undefined && COLLECTION_OPEN.test(firstLine);
  if (COLLECTION.test(head) && !lineCollection) {
    let doc: { features?: unknown[] };
    try {
      doc = parseJson(await readFile(path, 'utf8')) as { features?: unknown[] };
    } catch (cause) {
      throw new EtlError('USAGE', `The --merge file ${path} is not GeoJSON`, { cause });
    }
    for (const f of doc.features ?? []) yield { id: idOf(f, path), text: featureJson(f) };
    return;
  }
  const what = lineCollection ? 'GeoJSON' : 'GeoJSONSeq';
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  let closed = false;
  for await (const raw of lines) {
    n++;
    let line = raw.startsWith('\u001e') ? raw.slice(1) : raw;
    if (line.trim() === '') continue;
    if (lineCollection && n === 1) continue;
    if (lineCollection && !closed && COLLECTION_CLOSE.test(line)) {
      closed = true;
      continue;
    }
    if (closed) throw new EtlError('USAGE', `The --merge file ${path} has text after its end (line ${n})`);
    if (lineCollection) line = line.trimEnd().replace(/,$/, '');
    let feature: unknown;
    try {
      feature = JSON.parse(line);
    } catch (cause) {
      throw new EtlError('USAGE', `The --merge file ${path} is not ${what} (line ${n})`, { cause });
    }
    yield { id: idOf(feature, `${path} line ${n}`), text: line };
  }
  if (lineCollection && !closed)
    throw new EtlError('USAGE', `The --merge file ${path} is not GeoJSON (it has no end)`);
}

export interface MergeResult {
  features: number;
  /** The OIDs of PREVIOUS (sorted), for the delete check of edit tracking. */
  previousOids: number[];
}

/**
 * Writes PREVIOUS with `changes` applied (updates replace in place, inserts are appended, deletes
 * dropped) to `output`. `changed` is read whole (a night's changes), PREVIOUS streamed.
 */
export async function mergeOutputs(options: {
  previous: string;
  changed: string;
  deletes: readonly number[] | ((previousOids: number[]) => readonly number[]);
  output: string;
  format: MergeFormat;
  /** The layer's JSON parser (featureJsonParser: BigInteger fields exact) for files read whole. */
  parseJson?: ((text: string) => unknown) | undefined;
}): Promise<MergeResult> {
  const parse = options.parseJson;
  const changes = new Map<number, string>();
  for await (const f of readFeatures(options.changed, parse)) changes.set(f.id, f.text);
  // the previous OIDs first (edit tracking finds deletes by absence)
  const previousOids: number[] = [];
  for await (const f of readFeatures(options.previous, parse)) previousOids.push(f.id);
  previousOids.sort((a, b) => a - b);
  const deleted = new Set(
    typeof options.deletes === 'function' ? options.deletes(previousOids) : options.deletes,
  );
  const temp = `${options.output}.${randomBytes(4).toString('hex')}.merge.tmp`;
  const handle = await open(temp, 'wx');
  let features = 0;
  const seq = options.format === 'geojsonseq';
  const parts: string[] = [];
  const flush = async (force: boolean) => {
    if (parts.length > 0 && (force || parts.length >= 1000)) {
      await handle.write(parts.join(''));
      parts.length = 0;
    }
  };
  const put = async (text: string) => {
    parts.push(seq ? `${text}\n` : `${features === 0 ? '\n' : ',\n'}${text}`);
    features++;
    await flush(false);
  };
  try {
    if (!seq) await handle.write('{"type":"FeatureCollection","features":[');
    const written = new Set<number>();
    for await (const f of readFeatures(options.previous, parse)) {
      if (deleted.has(f.id) || written.has(f.id)) continue;
      written.add(f.id);
      await put(changes.get(f.id) ?? f.text);
    }
    for (const [id, text] of changes) {
      if (written.has(id) || deleted.has(id)) continue;
      written.add(id);
      await put(text);
    }
    await flush(true);
    if (!seq) await handle.write(`${features === 0 ? '' : '\n'}]}\n`);
    await handle.close();
    await rename(temp, options.output);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error instanceof EtlError
      ? error
      : new EtlError('OUTPUT_ERROR', `Cannot write the merged output ${options.output}`, { cause: error });
  }
  return { features, previousOids };
}
