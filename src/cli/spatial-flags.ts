/**
 * `--geometry FILE|-` and `--no-geometry` share one commander value: kept apart here. The flags'
 * meaning (the spatial filter, the geometry options) is the library's (layerExportPlan).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SpatialFilter } from '../features/spatial-filter.js';
import { type SpatialFlags, spatialFilterFrom as spatialFilterOf } from '../pipeline/export-flags.js';
import type { CliIo } from './io.js';

export { geometryOptionsFrom } from '../pipeline/export-flags.js';

/** What commander gives: `geometry` is the file of --geometry, or `false` for --no-geometry. */
export interface CommanderSpatialFlags extends Omit<SpatialFlags, 'geometry'> {
  geometry?: string | false;
}

/**
 * --geometry FILE and --no-geometry share commander's `geometry` value: listens to both as they are
 * parsed, and returns the flags with each of them kept apart.
 */
export function trackGeometryFlags(
  command: Command,
): <T extends CommanderSpatialFlags>(flags: T) => Omit<T, 'geometry'> & SpatialFlags {
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
    } as Omit<typeof flags, 'geometry'> & SpatialFlags;
  };
}

/** A file the flags name, or standard input for `-`. */
export async function readInput(path: string, io: CliIo): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The filter the flags ask for (undefined for none); USAGE with one clear line for bad input. */
export function spatialFilterFrom(flags: SpatialFlags, io: CliIo): Promise<SpatialFilter | undefined> {
  return spatialFilterOf(flags, { cwd: io.cwd, readInput: (path) => readInput(path, io) });
}
