/**
 * `--merge PREVIOUS`: the last full output plus the inserts and updates, minus the deletes, is the
 * new full output, the same feature set a fresh full export gives. PREVIOUS is read as a stream
 * (GeoJSONSeq: one feature per line; a GeoJSON FeatureCollection is read whole); the result is
 * written to a temp file beside the output and renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { EtlError } from '../../core/errors.js';

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

/** The features of a GeoJSONSeq or GeoJSON file, one at a time, with their JSON text. */
export async function* readFeatures(path: string): AsyncGenerator<FeatureLine> {
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
  if (/^\s*\{\s*"type"\s*:\s*"FeatureCollection"/.test(head) && !head.includes('\n{"type":"Feature"')) {
    let doc: { features?: unknown[] };
    try {
      doc = JSON.parse(await readFile(path, 'utf8')) as { features?: unknown[] };
    } catch (cause) {
      throw new EtlError('USAGE', `The --merge file ${path} is not GeoJSON`, { cause });
    }
    for (const f of doc.features ?? []) yield { id: idOf(f, path), text: JSON.stringify(f) };
    return;
  }
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const line = raw.startsWith('\u001e') ? raw.slice(1) : raw;
    if (line.trim() === '') continue;
    let feature: unknown;
    try {
      feature = JSON.parse(line);
    } catch (cause) {
      throw new EtlError('USAGE', `The --merge file ${path} is not GeoJSONSeq (line ${n})`, { cause });
    }
    yield { id: idOf(feature, `${path} line ${n}`), text: line };
  }
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
}): Promise<MergeResult> {
  const changes = new Map<number, string>();
  for await (const f of readFeatures(options.changed)) changes.set(f.id, f.text);
  // the previous OIDs first (edit tracking finds deletes by absence)
  const previousOids: number[] = [];
  for await (const f of readFeatures(options.previous)) previousOids.push(f.id);
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
    for await (const f of readFeatures(options.previous)) {
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
