// A nightly incremental sync against a full export: a layer of N features (default 1,000,000)
// served by the emulator with LATENCY ms per query (default 200), a full export that writes the
// state, then C changes (default 1,000: 60% updates, 20% inserts, 20% deletes, through applyEdits)
// and the nightly run: changes only, and merged into the previous full output. Both tracking
// kinds: change tracking (extractChanges, async job polled) and edit tracking (the edit date
// field). Wall clock and requests of each run; the ratio full / nightly.
// The merged output is checked to hold exactly the layer's features.
// Run: npm run build && node bench/sync.mjs [--features N] [--changes C] [--latency MS] [--quick] [--json]
//      [--modes changes,editDate]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countLines } from './lib.mjs';

const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const FEATURES = Number(flag('features', quick ? 50_000 : 1_000_000));
const CHANGES = Number(flag('changes', quick ? 200 : 1000));
const LATENCY = Number(flag('latency', 200));
const MODES = flag('modes', 'changes,editDate').split(',');

const { startEmulator } = await import('../dist/emulator/index.js');
const { ArcGISClient, createTransport, syncLayer } = await import('../dist/index.js');

const specs = [];
if (MODES.includes('changes')) {
  specs.push({ service: 'Changes', generate: { count: FEATURES, geometry: 'point', seed: 3 }, editing: {} });
}
if (MODES.includes('editDate')) {
  specs.push({
    service: 'Edited',
    generate: { count: FEATURES, geometry: 'point', seed: 3 },
    editing: { changeTracking: false },
  });
}
const emu = await startEmulator({ layers: specs, faults: { latencyMs: LATENCY } });
const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-bench-sync-'));
// job polls: the first wait is short (an async extractChanges completes within a few polls)
const runtime = {};

async function client() {
  const transport = createTransport();
  return { client: new ArcGISClient({ transport }), close: () => transport.close() };
}

async function timed(fn) {
  const c = await client();
  const start = performance.now();
  try {
    const stats = await fn(c.client);
    return { ms: performance.now() - start, requests: c.client.stats.requests, stats };
  } finally {
    await c.close();
  }
}

async function applyChanges(layerUrl) {
  const c = await client();
  const updates = Math.round(CHANGES * 0.6);
  const inserts = Math.round(CHANGES * 0.2);
  const deletes = CHANGES - updates - inserts;
  const step = Math.floor(FEATURES / (updates + deletes + 1));
  const oids = Array.from({ length: updates + deletes }, (_, i) => 1 + (i + 1) * step);
  const batch = 250;
  for (let i = 0; i < updates; i += batch) {
    const list = oids.slice(i, Math.min(i + batch, updates));
    await c.client.request(`${layerUrl}/applyEdits`, {
      updates: JSON.stringify(list.map((oid) => ({ attributes: { OBJECTID: oid, name: `nightly ${oid}` } }))),
    });
  }
  for (let i = 0; i < inserts; i += batch) {
    const n = Math.min(batch, inserts - i);
    await c.client.request(`${layerUrl}/applyEdits`, {
      adds: JSON.stringify(
        Array.from({ length: n }, (_, k) => ({
          attributes: { name: `inserted ${i + k}`, category: 1 },
          geometry: { x: -100 + k / 1000, y: 40 },
        })),
      ),
    });
  }
  await c.client.request(`${layerUrl}/applyEdits`, { deletes: oids.slice(updates).join(',') });
  await c.close();
  return { updates, inserts, deletes };
}

const rows = [];
try {
  for (const spec of specs) {
    const layerUrl = emu.layerUrl(spec.service);
    const mode = spec.editing.changeTracking === false ? 'editDate' : 'changes';
    const state = join(dir, `${spec.service}.state.json`);
    const full = join(dir, `${spec.service}-full.geojsonl`);
    const base = { layerUrl, format: 'geojsonseq', statePath: state, runtime };
    const first = await timed((c) => syncLayer({ ...base, client: c, output: full }));
    const changes = await applyChanges(layerUrl);
    // the nightly run twice from the same state: changes only, then merged into the full output
    const { copyFile } = await import('node:fs/promises');
    await copyFile(state, `${state}.before`);
    const nightly = await timed((c) =>
      syncLayer({ ...base, client: c, output: join(dir, `${spec.service}-changes.geojsonl`) }),
    );
    await copyFile(`${state}.before`, state);
    const merged = await timed((c) =>
      syncLayer({ ...base, client: c, output: join(dir, `${spec.service}-merged.geojsonl`), merge: full }),
    );
    const expected = FEATURES + changes.inserts - changes.deletes;
    const lines = await countLines(join(dir, `${spec.service}-merged.geojsonl`));
    if (lines !== expected)
      throw new Error(`${spec.service}: merged output holds ${lines} features, expected ${expected}`);
    if (
      nightly.stats.upserts !== changes.updates + changes.inserts ||
      nightly.stats.deletes !== changes.deletes
    ) {
      throw new Error(
        `${spec.service}: nightly run found ${nightly.stats.upserts} upserts / ${nightly.stats.deletes} deletes`,
      );
    }
    rows.push({
      mode,
      run: 'full export (writes the state)',
      ms: first.ms,
      requests: first.requests,
      features: first.stats.features,
    });
    rows.push({
      mode,
      run: `nightly: ${CHANGES} changes only`,
      ms: nightly.ms,
      requests: nightly.requests,
      features: nightly.stats.upserts,
    });
    rows.push({
      mode,
      run: `nightly: ${CHANGES} changes merged`,
      ms: merged.ms,
      requests: merged.requests,
      features: merged.stats.features,
    });
    rows.push({ mode, run: 'ratio full / nightly (changes only)', ratio: first.ms / nightly.ms });
  }
} finally {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
}

console.log(
  `sync benchmark: ${FEATURES.toLocaleString('en')} features, ${CHANGES} changes, ${LATENCY} ms latency per query`,
);
for (const r of rows) {
  if (r.ratio !== undefined) console.log(`  ${r.mode.padEnd(9)} ${r.run.padEnd(36)} ${r.ratio.toFixed(1)}×`);
  else
    console.log(
      `  ${r.mode.padEnd(9)} ${r.run.padEnd(36)} ${(r.ms / 1000).toFixed(2).padStart(8)} s ${String(r.requests).padStart(6)} requests ${r.features} features`,
    );
}
if (argv.includes('--json'))
  console.log(JSON.stringify({ features: FEATURES, changes: CHANGES, latencyMs: LATENCY, rows }));
