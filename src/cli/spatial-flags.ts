/**
 * `--bbox`/`--bbox-sr` and `--geometry FILE|-`: the export's spatial filter (at most one of them).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { bboxFilter, EtlError, geometryFilter, parseBbox, type SpatialFilter } from '../index.js';
import type { CliIo } from './io.js';

export interface SpatialFlags {
  bbox?: string;
  bboxSr: number;
  geometry?: string;
}

/** The filter the flags ask for (undefined for none); USAGE with one clear line for bad input. */
export async function spatialFilterFrom(flags: SpatialFlags, io: CliIo): Promise<SpatialFilter | undefined> {
  if (flags.bbox !== undefined && flags.geometry !== undefined) {
    throw new EtlError('USAGE', '--bbox and --geometry cannot be used together (give one spatial filter)');
  }
  if (flags.bbox !== undefined) return bboxFilter(parseBbox(flags.bbox), flags.bboxSr);
  if (flags.geometry === undefined) return undefined;
  const source = flags.geometry === '-' ? 'standard input' : flags.geometry;
  let text: string;
  try {
    text =
      flags.geometry === '-' ? await readAll(io) : await readFile(resolve(io.cwd, flags.geometry), 'utf8');
  } catch (cause) {
    throw new EtlError('USAGE', `--geometry: cannot read ${source} (${(cause as Error).message})`, { cause });
  }
  return geometryFilter(text, source);
}

async function readAll(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
