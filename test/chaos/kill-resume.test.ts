/**
 * Issue 7, second chaos mode: the CLI export runs with `--resume` against a layer behind every fault
 * (and short tokens, and server clock skew); it is SIGKILLed at seeded random points — after a
 * random delay, or once its checkpoint shows at least k features — and restarted with `--resume`
 * (each time with a randomly picked ordered strategy) until it finishes, in a bounded number of
 * rounds. The final file must equal, byte for byte, the file of an uninterrupted export made
 * without faults.
 *
 * Size: CHAOS_FEATURES / 2 polygons (capped at 20000); see soak.test.ts for the long mode.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { tempDir } from '../extract/helpers.js';
import { assertBuilt } from '../fleet/helpers.js';
import { checkpointFeatures, startCli, watch } from './cli-child.js';
import {
  CHAOS_FAULTS,
  chaosFeatures,
  isLongMode,
  layerSpec,
  SKEW_MS,
  startChaosEmulator,
  USER,
} from './helpers.js';

const FEATURES = Math.min(20_000, Math.max(500, Math.floor(chaosFeatures() / 2)));
const PAGE = 50;
/** Rounds that may be killed; the round after them runs to the end. */
const KILL_ROUNDS = 6;
const TIMEOUT = isLongMode() ? 1_800_000 : 120_000;
const ORDERED_STRATEGIES = ['auto', 'offset', 'ids', 'oid-range'] as const;

const DIE_ON_PUBLISH = fileURLToPath(new URL('./fixtures/die-on-publish.mjs', import.meta.url));

interface Round {
  strategy: string;
  trigger: string;
  /** Features the checkpoint held when the round started. */
  resumedFrom: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Files beside `output` that belong to it (checkpoint, partial files, temp files, lock), the output aside. */
async function leftovers(output: string): Promise<string[]> {
  const base = basename(output);
  return (await readdir(dirname(output)))
    .filter((name) => name !== base && name.startsWith(`${base}.`))
    .sort();
}

describe.concurrent(`kill -9 and --resume under chaos (${FEATURES} polygons)`, () => {
  const formats = [
    { format: 'geojsonseq', ext: 'geojsonseq', seed: 101 },
    { format: 'geojson', ext: 'geojson', seed: 202 },
    { format: 'csv', ext: 'csv', seed: 303 },
  ] as const;

  let cleanups: (() => Promise<void>)[] = [];
  beforeAll(() => {
    assertBuilt();
    cleanups = [];
  });
  afterAll(async () => {
    await Promise.allSettled(cleanups.map((c) => c()));
  });

  for (const { format, ext, seed } of formats) {
    it(
      `${format}: the file after kills and resumes equals an uninterrupted export byte for byte`,
      async () => {
        const emu: EmulatorHandle = await startChaosEmulator({
          layers: [layerSpec('Parcels', FEATURES, 'mixed-polygon', PAGE)],
          clockOffsetMs: seed % 2 === 0 ? -SKEW_MS : SKEW_MS,
          faults: {},
          seed,
        });
        const tmp = await tempDir('arcgis-etl-chaos-');
        cleanups.push(() => emu.stop(), tmp.remove);
        const env = { HOME: tmp.dir, ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
        const layerUrl = emu.layerUrl('Parcels');
        const exportArgs = (output: string) => [
          'export',
          layerUrl,
          '-o',
          output,
          '--format',
          format,
          '--quiet',
        ];

        // the reference: uninterrupted, no faults
        const reference = tmp.path(`reference.${ext}`);
        const ref = await startCli(exportArgs(reference), env).done;
        expect(ref.code, ref.stderr).toBe(0);
        const expected = await readFile(reference);

        emu.setFaults(CHAOS_FAULTS);
        const rng = seededRandom(seed);
        const output = tmp.path(`chaos.${ext}`);
        const checkpoint = `${output}.checkpoint.json`;
        const rounds: Round[] = [];
        for (let round = 0; round <= KILL_ROUNDS; round++) {
          const strategy = ORDERED_STRATEGIES[Math.floor(rng() * ORDERED_STRATEGIES.length)]!;
          const resumedFrom = await checkpointFeatures(checkpoint);
          const child = startCli([...exportArgs(output), '--resume', '--strategy', strategy], env);
          let trigger = 'none';
          if (round < KILL_ROUNDS) {
            if (rng() < 0.4) {
              const ms = 150 + Math.floor(rng() * 1000);
              trigger = `after ${ms} ms`;
              const timer = setTimeout(child.kill, ms);
              void child.done.then(() => clearTimeout(timer));
            } else {
              const k = resumedFrom + 1 + Math.floor(rng() * (FEATURES - resumedFrom) * 0.9);
              trigger = `at ≥ ${k} features`;
              void watch(async () => (await checkpointFeatures(checkpoint)) >= k, child.done).then(
                (reached) => reached && child.kill(),
              );
            }
          }
          const result = await child.done;
          rounds.push({ strategy, trigger, resumedFrom, ...result });
          if (result.signal === null) break;
        }
        const story = rounds
          .map(
            (r, i) =>
              `round ${i}: ${r.strategy}, from ${r.resumedFrom}, kill ${r.trigger} → ${r.signal ?? `exit ${r.code}`} ${r.stderr.trim()}`,
          )
          .join('\n');
        const last = rounds.at(-1)!;
        expect(last.signal, story).toBeNull();
        expect(last.code, story).toBe(0);
        for (const r of rounds.slice(0, -1)) expect(r.signal, story).toBe('SIGKILL');

        // the chaos really happened: kills mid-export, resumes from a checkpoint, faults served
        expect(rounds.length, story).toBeGreaterThan(1);
        expect(
          rounds.some((r) => r.resumedFrom > 0),
          story,
        ).toBe(true);
        expect(Object.values(emu.stats().faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

        // byte for byte, and nothing left behind
        const actual = await readFile(output);
        expect(actual.length, story).toBe(expected.length);
        expect(actual.equals(expected), story).toBe(true);
        // no checkpoint, partial file (of any run), checkpoint temp file or lock
        expect(await leftovers(output), story).toEqual([]);
      },
      TIMEOUT,
    );
  }
});

describe('a kill at the moment the output is published', () => {
  let emu: EmulatorHandle;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    assertBuilt();
    emu = await startChaosEmulator({ layers: [layerSpec('Small', 300, 'polygon', PAGE)], faults: {} });
    tmp = await tempDir('arcgis-etl-chaos-');
  });
  afterAll(async () => {
    await emu?.stop();
    await tmp?.remove();
  });

  for (const when of ['before', 'after'] as const) {
    it(`killed just ${when} the rename: --resume still finishes with the right file`, async () => {
      const env = { HOME: tmp.dir, ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
      const args = (output: string) => ['export', emu.layerUrl('Small'), '-o', output, '--quiet'];
      const reference = tmp.path(`reference-${when}.geojsonseq`);
      expect((await startCli(args(reference), env).done).code).toBe(0);

      const output = tmp.path(`published-${when}.geojsonseq`);
      const checkpoint = `${output}.checkpoint.json`;
      const killed = await startCli(
        [...args(output), '--resume'],
        { ...env, DIE_ON_PUBLISH: when },
        DIE_ON_PUBLISH,
      ).done;
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      // the checkpoint is gone before the target appears: never a checkpoint without its partial file
      expect(existsSync(checkpoint)).toBe(false);
      expect(existsSync(output)).toBe(when === 'after');
      const partials = (await leftovers(output)).filter((name) => name.endsWith('.partial'));
      expect(partials).toHaveLength(when === 'before' ? 1 : 0);

      const again = await startCli([...args(output), '--resume'], env).done;
      expect(again.code, again.stderr).toBe(0);
      expect((await readFile(output)).equals(await readFile(reference))).toBe(true);
      expect(existsSync(checkpoint)).toBe(false);
      expect(await leftovers(output)).toEqual([]);
    });
  }
});
