/**
 * BigInteger values beyond 2^53 keep their exact digits through incremental sync: `export --state`
 * twice with edits in between (applyEdits on the emulator), by change tracking and by edit
 * tracking, into GeoJSONSeq and into a GeoJSON FeatureCollection merged with `--merge`; and the
 * merge of a FeatureCollection read whole (not one feature per line) with the layer's parser.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle, LayerSpec } from '../../src/emulator/types.js';
import { bigIntegerJsonParser } from '../../src/features/big-integers.js';
import { mergeOutputs, readFeatures } from '../../src/features/sync/merge.js';
import { runInProcess } from '../cli/in-process.js';
import { rig, startSecured, type TempDir, tempDir, USER } from '../extract/helpers.js';
import { BIG } from '../fixtures/big-integers.js';

const COUNT = 30;
const T0 = Date.UTC(2026, 4, 1, 8, 0, 0);
let now = T0;
let emu: EmulatorHandle;
let tmp: TempDir;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };

const layer = (service: string, editing: NonNullable<LayerSpec['editing']>): LayerSpec => ({
  service,
  generate: { count: COUNT, geometry: 'point', seed: 5 },
  maxRecordCount: 12,
  editing,
  extraFields: [{ name: 'big', type: 'esriFieldTypeBigInteger', values: BIG }],
});

beforeAll(async () => {
  emu = await startSecured({
    now: () => now,
    layers: [layer('Tracked', {}), layer('Dated', { changeTracking: false })],
  });
  tmp = await tempDir('arcgis-etl-sync-big-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const run = (args: string[]) =>
  runInProcess(['export', ...args], { env, cwd: tmp.dir, runtime: { sleep: async () => {} } });

/** `"big":<digits>` of each feature of a GeoJSON(Seq) text, by feature id. */
function bigById(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of text.matchAll(/"id":(\d+),.*?"big":(-?\d+|null)/g)) out.set(Number(m[1]), m[2]!);
  return out;
}

/** The digits the emulator holds for an OID (row i holds BIG[i % 5]; OIDs are rows + 1). */
const held = (oid: number) => BIG[(oid - 1) % BIG.length] ?? 'null';

describe.each([
  ['Tracked', 'change tracking'],
  ['Dated', 'edit tracking'],
] as const)('export --state of %s (%s)', (service, how) => {
  it('two runs with edits between: the changes and the merged GeoJSON keep every digit', async () => {
    now = T0 + (service === 'Tracked' ? 0 : 86_400_000);
    const url = emu.layerUrl(service);
    const state = `${service}.state.json`;
    const first = await run([url, '-o', `${service}-1.geojson`, '--state', state]);
    expect(first.code, first.stderr).toBe(0);
    const full = bigById(await readFile(tmp.path(`${service}-1.geojson`), 'utf8'));
    expect(full.size).toBe(COUNT);
    for (const [oid, digits] of full) expect(digits, `OID ${oid}`).toBe(held(oid));

    now += 3_600_000;
    // OID 1 holds 9007199254740993 and OID 2 -9223372036854775807: their other fields change
    const r = rig(emu);
    await r.client.request(`${url}/applyEdits`, {
      updates: JSON.stringify([
        { attributes: { OBJECTID: 1, name: 'edited' } },
        { attributes: { OBJECTID: 5, name: 'edited too' } },
      ]),
      adds: JSON.stringify([{ attributes: { name: 'new', big: 77 }, geometry: { x: 1, y: 2 } }]),
      deletes: '3',
    });
    await r.close();

    // the changes alone (GeoJSONSeq), from a copy of the state
    await writeFile(tmp.path(`${service}.copy.json`), await readFile(tmp.path(state)));
    const changes = await run([url, '-o', `${service}-changes.geojsonl`, '--state', `${service}.copy.json`]);
    expect(changes.code, changes.stderr).toBe(0);
    expect(changes.stderr).toContain(`synced by ${how}`);
    const changed = bigById(await readFile(tmp.path(`${service}-changes.geojsonl`), 'utf8'));
    expect(changed.get(1)).toBe('9007199254740993');
    expect(changed.get(5)).toBe('9223372036854775807');
    expect([...changed.values()]).toContain('77');
    expect(changed.size).toBe(3);

    // merged into the first run's FeatureCollection
    const second = await run([
      url,
      '-o',
      `${service}-2.geojson`,
      '--state',
      state,
      '--merge',
      `${service}-1.geojson`,
    ]);
    expect(second.code, second.stderr).toBe(0);
    const text = await readFile(tmp.path(`${service}-2.geojson`), 'utf8');
    expect(JSON.parse(text).features).toHaveLength(COUNT); // one added, one deleted; still valid JSON
    const merged = bigById(text);
    expect(merged.has(3)).toBe(false);
    for (const [oid, digits] of merged) expect(digits, `OID ${oid}`).toBe(oid > COUNT ? '77' : held(oid));
    expect(text).toContain('"big":9007199254740993');
    expect(text).toContain('"big":-9223372036854775807');
  });
});

describe('merge of a FeatureCollection read whole', () => {
  it("keeps the digits with the layer's parser; one feature per line keeps each line's text", async () => {
    const whole = tmp.path('whole.geojson');
    await writeFile(
      whole,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', id: 1, geometry: null, properties: { big: 1 } },
          { type: 'Feature', id: 2, geometry: null, properties: { big: 2 } },
        ],
      }).replace('"big":1', '"big":9007199254740993'),
    );
    const changed = tmp.path('changed.geojsonl');
    await writeFile(
      changed,
      '{"type":"Feature","id":2,"geometry":null,"properties":{"big":-9007199254740995}}\n',
    );
    const out = tmp.path('merged.geojson');
    await mergeOutputs({
      previous: whole,
      changed,
      deletes: [],
      output: out,
      format: 'geojson',
      parseJson: bigIntegerJsonParser(new Set(['big'])),
    });
    const text = await readFile(out, 'utf8');
    expect(text).toContain('"big":9007199254740993');
    expect(text).toContain('"big":-9007199254740995');
    const lines = [];
    for await (const f of readFeatures(out)) lines.push(f);
    expect(lines.map((f) => f.id)).toEqual([1, 2]);
    expect(lines[1]!.text).toBe(
      '{"type":"Feature","id":2,"geometry":null,"properties":{"big":-9007199254740995}}',
    );
  });

  it('a FeatureCollection cut short, or with text after its end, is one USAGE line', async () => {
    const cut = tmp.path('cut.geojson');
    await writeFile(
      cut,
      '{"type":"FeatureCollection","features":[\n{"type":"Feature","id":1,"geometry":null,"properties":{}},\n',
    );
    await expect(async () => {
      for await (const _ of readFeatures(cut)) void _;
    }).rejects.toThrow(/is not GeoJSON \(it has no end\)/);
    const after = tmp.path('after.geojson');
    await writeFile(
      after,
      '{"type":"FeatureCollection","features":[\n{"type":"Feature","id":1,"geometry":null,"properties":{}}\n]}\n{"x":1}\n',
    );
    await expect(async () => {
      for await (const _ of readFeatures(after)) void _;
    }).rejects.toThrow(/has text after its end \(line 4\)/);
  });
});
