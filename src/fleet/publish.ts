/**
 * Atomic, fenced publication. A job writes to a staging file (in a hidden folder of its attempt,
 * next to its output; the export writes that file atomically itself); only then, and only while the
 * job is still its own (its BullMQ lock extends), is the staging file (or folder: a Parquet dataset)
 * renamed onto the output. A `published` marker per run and output (SET NX, with the count
 * published) makes the rename happen once: an attempt that finds another attempt's marker and the
 * output in place drops its staging instead. A worker killed before the rename leaves only a
 * staging folder, which the job's next attempt removes.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EtlError } from '../core/errors.js';
import type { FleetRedisClient } from './redis.js';

const STAGING_MARK = '.fleet-staging-';
/** Markers outlive any run. */
const MARKER_TTL_MS = 7 * 24 * 3600_000;

/**
 * `<dir>/.<stem>.fleet-staging-<job>-<random>.<ext>/<name>`: a hidden folder per attempt, next to
 * the output, holding a file of the output's own name (writers that record their file's name, as
 * FlatGeobuf's header and GeoPackage's table do, write what a direct export writes). The folder is
 * created; `removeStaging` removes it.
 */
export async function stagingPath(output: string, jobKey: string): Promise<string> {
  const name = basename(output);
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot) : '';
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const folder = join(
    dirname(output),
    `.${stem}${STAGING_MARK}${safe(jobKey)}-${randomBytes(4).toString('hex')}${ext}`,
  );
  await mkdir(folder, { recursive: true });
  return join(folder, name);
}

/** Removes an attempt's staging folder (what `stagingPath` made), whatever it holds. */
export async function removeStaging(staging: string): Promise<void> {
  await rm(dirname(staging), { recursive: true, force: true });
}

/** Removes the staging folders earlier attempts of this job left (killed workers). */
export async function removeStaleStaging(output: string, jobKey: string): Promise<number> {
  const name = basename(output);
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const prefix = `.${stem}${STAGING_MARK}${safe(jobKey)}-`;
  let entries: string[];
  try {
    entries = await readdir(dirname(output));
  } catch {
    return 0;
  }
  const stale = entries.filter((entry) => entry.startsWith(prefix));
  await Promise.all(stale.map((entry) => rm(join(dirname(output), entry), { recursive: true, force: true })));
  return stale.length;
}

export interface Fence {
  /** True while the job is still this attempt's (BullMQ lock extended). */
  stillOurs(): Promise<boolean>;
  /** The attempt's identity (its lock token). */
  token: string;
}

export class Publisher {
  readonly #client: FleetRedisClient;
  readonly #prefix: string;

  constructor(client: FleetRedisClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  markerKey(run: string, output: string): string {
    return `${this.#prefix}:published:${run}:${output}`;
  }

  /**
   * What an earlier attempt of this run published at `output` (the output is there): the features
   * it holds, so that a retry reports the same count. Undefined: not published yet (or by a version
   * that did not record its count: then it is written again, atomically, with the same bytes).
   */
  async alreadyPublished(run: string, output: string): Promise<{ features: number } | undefined> {
    const marker = parseMarker(await this.#client.get(this.markerKey(run, output)));
    if (marker?.features === undefined || !(await exists(output))) return undefined;
    return { features: marker.features };
  }

  /**
   * Renames `staging` (holding `features`) onto `output` once per run; false when another attempt
   * had published it.
   */
  async publish(
    run: string,
    staging: string,
    output: string,
    fence: Fence,
    features: number,
  ): Promise<boolean> {
    if (!(await fence.stillOurs())) {
      await removeStaging(staging);
      throw new EtlError('ABORTED', `The job of ${output} was taken over by another worker; not published`);
    }
    const key = this.markerKey(run, output);
    const value = JSON.stringify({ token: fence.token, features } satisfies Marker);
    const set = await this.#client.set(key, value, { NX: true, PX: MARKER_TTL_MS });
    if (set === null) {
      const holder = parseMarker(await this.#client.get(key));
      if (holder?.token !== fence.token && (await exists(output))) {
        await removeStaging(staging);
        return false;
      }
      await this.#client.set(key, value, { PX: MARKER_TTL_MS });
    }
    await replace(staging, output);
    await removeStaging(staging);
    return true;
  }
}

/**
 * `rename(staging, output)`; a folder (a Parquet dataset) cannot be renamed onto an output that is
 * there (a folder of an earlier run, or a file): the old one is renamed aside first, then removed.
 */
async function replace(staging: string, output: string): Promise<void> {
  try {
    await rename(staging, output);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const replaceable = code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR';
    if (!replaceable || !(await stat(staging)).isDirectory()) throw error;
  }
  const aside = join(dirname(output), `.${basename(output)}.fleet-old-${randomBytes(4).toString('hex')}`);
  await rename(output, aside);
  await rename(staging, output);
  await rm(aside, { recursive: true, force: true });
}

/** A published marker: the attempt that published, and the features it published. */
interface Marker {
  token: string;
  features?: number | undefined;
}

function parseMarker(raw: unknown): Marker | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<Marker>;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.token === 'string') {
      return {
        token: parsed.token,
        features: typeof parsed.features === 'number' ? parsed.features : undefined,
      };
    }
  } catch {
    // a marker of an earlier version: the token alone
  }
  return { token: raw };
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function safe(key: string): string {
  return key.replace(/[^A-Za-z0-9_-]/g, '_');
}
