/**
 * Issue 11 chaos: the quirks of servers we did not write (orderByFields ignored on the OID, a silent
 * page cap, outStatistics answered with {}, offsets honoured only up to a depth, null geometries),
 * each on top of transport faults (resets, truncated bodies, HTML error pages).
 *
 * - Every strategy under each quirk: the exact source set, or a clear refusal where the quirk makes
 *   that strategy unusable (and only there); `auto` always succeeds.
 * - Kill -9 and `--resume` under each quirk (the built CLI): the final file equals an uninterrupted
 *   run's (the same command) byte for byte, or the exit is non-zero; a run without --resume holds
 *   the same lines.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { seededRandom } from '../../src/core/time.js';
import type { EmulatorHandle, FaultOptions, LayerSpec } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import type { StrategyChoice } from '../../src/features/extract.js';
import { expectSameAsSource, readSeq, rig, tempDir, USER } from '../extract/helpers.js';
import { assertBuilt } from '../fleet/helpers.js';
import { checkpointFeatures, startCli, watch } from './cli-child.js';
import { QUIRKS, type Quirk, quirkFaults, startChaosEmulator } from './helpers.js';

/** Transport faults that cost no Retry-After wait. */
const TRANSPORT_FAULTS: FaultOptions = { rates: { reset: 0.02, truncate: 0.02, html: 0.02 } };

const COUNT = 900;
const MAX = 120;
const PAGE = 70;

function layers(count: number, maxRecordCount: number): LayerSpec[] {
  const spec = (service: string, nullGeometries: number): LayerSpec => ({
    service,
    generate: { count, geometry: 'mixed-polygon', seed: 17, oidMode: 'hashed', nullGeometries },
    maxRecordCount,
  });
  return [spec('Plain', 0), spec('Nulls', 0.1)];
}

const sortedLines = (buffer: Buffer): string[] =>
  buffer
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .sort();

const serviceOf = (quirk: Quirk) => (quirk === 'nullGeometries' ? 'Nulls' : 'Plain');

/** Where a strategy may refuse: the quirk takes away what it relies on. */
function mayRefuse(quirk: Quirk, strategy: StrategyChoice): boolean {
  switch (quirk) {
    case 'ignoreOrderBy':
      return strategy === 'offset';
    case 'emptyStatistics':
      return strategy === 'oid-range';
    case 'offsetDepth':
      return strategy === 'offset' || strategy === 'server-order';
    default:
      return false;
  }
}

const STRATEGIES: readonly StrategyChoice[] = [
  'auto',
  'offset',
  'ids',
  'oid-range',
  'server-order',
  'envelope',
];

describe('every strategy under each quirk', () => {
  let emu: EmulatorHandle;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    emu = await startChaosEmulator({ users: [USER], layers: layers(COUNT, MAX), faults: {}, seed: 5 });
    tmp = await tempDir('arcgis-etl-quirks-');
  });
  afterAll(async () => {
    await emu?.stop();
    await tmp?.remove();
  });

  for (const quirk of QUIRKS) {
    it(`${quirk}: the exact set from every strategy that can serve it, a clear refusal from the others`, async () => {
      emu.setFaults({ ...TRANSPORT_FAULTS, ...quirkFaults([quirk]) });
      const service = serviceOf(quirk);
      const refused: string[] = [];
      try {
        for (const strategy of STRATEGIES) {
          const r = rig(emu);
          const out = tmp.path(`${quirk}-${strategy}.geojsonl`);
          try {
            const result = await exportLayer({
              client: r.client,
              layerUrl: emu.layerUrl(service),
              output: out,
              format: 'geojsonseq',
              strategy,
              pageSize: PAGE,
              concurrency: 3,
            }).catch((error: unknown) => error);
            if (isEtlError(result)) {
              expect(mayRefuse(quirk, strategy), `${strategy}: ${result.message}`).toBe(true);
              expect(['NO_STRATEGY', 'EXTRACTION_INCOMPLETE']).toContain(result.code);
              expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
              refused.push(strategy);
              continue;
            }
            expect(result, String(result)).toMatchObject({ features: COUNT });
            expectSameAsSource(emu, service, await readSeq(out));
          } finally {
            await r.close();
          }
        }
      } finally {
        emu.setFaults({});
      }
      // the quirk was really there: the strategies it takes away were refused
      const expected = STRATEGIES.filter((s) => mayRefuse(quirk, s));
      for (const s of expected) expect(refused).toContain(s);
      expect(Object.values(emu.stats().faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }, 60_000);
  }
});

describe('kill -9 and --resume under each quirk (the built CLI)', () => {
  const KILLED_COUNT = 1_500;
  let emu: EmulatorHandle;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    assertBuilt();
    emu = await startChaosEmulator({ users: [USER], layers: layers(KILLED_COUNT, MAX), faults: {}, seed: 9 });
    tmp = await tempDir('arcgis-etl-quirks-kill-');
  });
  afterAll(async () => {
    await emu?.stop();
    await tmp?.remove();
  });

  for (const [index, quirk] of QUIRKS.entries()) {
    it(`${quirk}: the resumed file equals an uninterrupted run's, or the exit is non-zero`, async () => {
      const env = { HOME: tmp.dir, ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
      const args = (output: string) => [
        'export',
        emu.layerUrl(serviceOf(quirk)),
        '-o',
        output,
        '--format',
        'geojsonseq',
        '--page-size',
        '50',
        '--quiet',
      ];
      emu.setFaults(quirkFaults([quirk]));
      try {
        // the reference is the same command (--resume included), not interrupted; without
        // --resume, auto may page in the server's own order (ignoreOrderBy): the same features,
        // in another order
        const reference = tmp.path(`${quirk}-reference.geojsonl`);
        const ref = await startCli([...args(reference), '--resume'], env).done;
        expect(ref.code, ref.stderr).toBe(0);
        const expected = await readFile(reference);
        const plain = tmp.path(`${quirk}-plain.geojsonl`);
        const unflagged = await startCli(args(plain), env).done;
        expect(unflagged.code, unflagged.stderr).toBe(0);
        expect(sortedLines(await readFile(plain))).toEqual(sortedLines(expected));

        // a little latency per request, so that kills land mid-export
        emu.setFaults({ ...quirkFaults([quirk]), latencyMs: 5 });
        const rng = seededRandom(1000 + index);
        const output = tmp.path(`${quirk}-killed.geojsonl`);
        const checkpoint = `${output}.checkpoint.json`;
        const story: string[] = [];
        let last: { code: number | null; signal: NodeJS.Signals | null; stderr: string } | undefined;
        let kills = 0;
        for (let round = 0; round < 4; round++) {
          const from = await checkpointFeatures(checkpoint);
          const child = startCli([...args(output), '--resume'], env);
          if (round < 3) {
            const k = from + 1 + Math.floor(rng() * (KILLED_COUNT - from) * 0.6);
            void watch(async () => (await checkpointFeatures(checkpoint)) >= k, child.done).then(
              (reached) => reached && child.kill(),
            );
          }
          last = await child.done;
          story.push(
            `round ${round} from ${from}: ${last.signal ?? `exit ${last.code}`} ${last.stderr.trim()}`,
          );
          if (last.signal === null) break;
          kills++;
        }
        if (last!.code === 0) {
          const actual = await readFile(output);
          expect(actual.equals(expected), story.join('\n')).toBe(true);
        } else {
          expect(last!.code, story.join('\n')).not.toBe(0);
          expect(last!.stderr, story.join('\n')).toMatch(/error \[[A-Z_]+\]/);
        }
        // every quirk here leaves an ordered, resumable strategy: auto finishes
        expect(last!.code, story.join('\n')).toBe(0);
        expect(kills, story.join('\n')).toBeGreaterThan(0);
      } finally {
        emu.setFaults({});
      }
    }, 90_000);
  }
});
