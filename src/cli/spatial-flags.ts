/**
 * `--bbox`/`--bbox-sr` and `--geometry FILE|-`: the export's spatial filter (at most one of them).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  bboxFilter,
  EtlError,
  type GeometryOptions,
  geometryFilter,
  parseBbox,
  parseDatumTransformation,
  type SpatialFilter,
} from '../index.js';
import type { CliIo } from './io.js';

export interface SpatialFlags {
  bbox?: string;
  bboxSr: number;
  /**
   * A GeoJSON file or `-`. Commander keeps --geometry and --no-geometry in one value (`false` for
   * the latter), so `trackGeometryFlags` records each of them as it is parsed.
   */
  geometry?: string | false;
  /** --no-geometry was given (see trackGeometryFlags). */
  noGeometry?: boolean;
  precision?: number;
  maxAllowableOffset?: number;
  datumTransformation?: string;
}

/** --no-geometry, --precision, --max-allowable-offset, --datum-transformation as GeometryOptions (undefined: none given). */
export function geometryOptionsFrom(flags: SpatialFlags): GeometryOptions | undefined {
  const options: GeometryOptions = {
    ...(noGeometry(flags) ? { returnGeometry: false } : {}),
    ...(flags.precision === undefined ? {} : { precision: flags.precision }),
    ...(flags.maxAllowableOffset === undefined ? {} : { maxAllowableOffset: flags.maxAllowableOffset }),
    ...(flags.datumTransformation === undefined
      ? {}
      : { datumTransformation: parseDatumTransformation(flags.datumTransformation) }),
  };
  if (
    noGeometry(flags) &&
    (flags.precision !== undefined ||
      flags.maxAllowableOffset !== undefined ||
      flags.datumTransformation !== undefined)
  ) {
    throw new EtlError(
      'USAGE',
      '--no-geometry cannot be used with --precision, --max-allowable-offset or --datum-transformation',
    );
  }
  return Object.keys(options).length === 0 ? undefined : options;
}

function noGeometry(flags: SpatialFlags): boolean {
  return flags.noGeometry === true || flags.geometry === false;
}

/**
 * --geometry FILE and --no-geometry share commander's `geometry` value: listens to both as they are
 * parsed, and returns the flags with each of them kept apart.
 */
export function trackGeometryFlags(command: Command): <T extends SpatialFlags>(flags: T) => T {
  let file: string | undefined;
  let none = false;
  command.on('option:geometry', (value: string) => {
    file = value;
  });
  command.on('option:no-geometry', () => {
    none = true;
  });
  return (flags) => {
    const { geometry: _mixed, ...rest } = flags;
    return {
      ...rest,
      ...(file === undefined ? {} : { geometry: file }),
      ...(none ? { noGeometry: true } : {}),
    } as typeof flags;
  };
}

/** The filter the flags ask for (undefined for none); USAGE with one clear line for bad input. */
export async function spatialFilterFrom(flags: SpatialFlags, io: CliIo): Promise<SpatialFilter | undefined> {
  if (flags.bbox !== undefined && typeof flags.geometry === 'string') {
    throw new EtlError('USAGE', '--bbox and --geometry cannot be used together (give one spatial filter)');
  }
  if (flags.bbox !== undefined) return bboxFilter(parseBbox(flags.bbox), flags.bboxSr);
  if (typeof flags.geometry !== 'string') return undefined;
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
