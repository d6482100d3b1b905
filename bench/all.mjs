// Every benchmark, one after the other, each in its own child process, then ONE table of ratios
// against the peers measured in the same run: the naive token manager, fleets without a shared
// cache, @esri/arcgis-rest-feature-service queryAllFeatures, ogr2ogr (when installed), the raw
// fetch + JSON.parse limit, and the floor of fetching the JSON pages alone; then the adaptive
// concurrency scenarios against the emulator's server model (bench/adaptive.mjs: its own targets);
// then the output formats against ogr2ogr writing the same format (bench/formats.mjs) and the
// PostGIS load against ogr2ogr -f PostgreSQL (bench/postgis.mjs, needs PostgreSQL with PostGIS).
//
// Run: npm run bench            (= npm run build && node bench/all.mjs)
//      node bench/all.mjs [--quick] [--verbose] [--json] [--skip token,fleet,export,latency,big,emulator,koop,adaptive,formats,postgis]
//   --quick (or BENCH_QUICK=1)  small sizes, one run each: a smoke check, not figures to publish
//   --verbose                   also print each benchmark's own tables
//   --json                      also print every figure as one JSON object on the last stdout line
// Fleet needs Redis (REDIS_URL, default redis://127.0.0.1:6379); ogr2ogr is optional.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const VERBOSE = argv.includes('--verbose');
const JSON_MODE = argv.includes('--json');
const skipAt = argv.indexOf('--skip');
const SKIP = new Set(skipAt >= 0 ? (argv[skipAt + 1] ?? '').split(',') : []);
const BIG_POINTS = QUICK ? 100_000 : 1_000_000;
const RSS_TARGET_MB = 200;
/** The latency scenario: every query answered after this many ms (real servers take longer). */
const LATENCY_MS = 50;

const here = (name) => fileURLToPath(new URL(name, import.meta.url));

/** Runs one benchmark script; resolves with its JSON (the last stdout line) and its text. */
function runBench(script, args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [here(script), ...args, '--json', ...(QUICK ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout.trimEnd().split('\n');
      const last = lines.at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`${script} exited with ${code}: ${stdout.slice(-400)}`));
        return;
      }
      resolve({
        data: JSON.parse(last),
        text: lines.slice(0, -1).join('\n'),
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

const results = {};
const failures = {};
async function step(name, script, args) {
  if (SKIP.has(name)) return;
  process.stderr.write(`bench: ${name} … `);
  try {
    const r = await runBench(script, args);
    results[name] = r.data;
    process.stderr.write(`done in ${r.seconds.toFixed(0)} s\n`);
    if (VERBOSE) console.log(`\n## ${name}\n${r.text}\n`);
  } catch (error) {
    failures[name] = error.message.split('\n')[0];
    process.stderr.write(`FAILED: ${failures[name]}\n`);
  }
}

const startedAt = new Date();
await step('token', 'token.mjs', []);
await step('fleet', 'fleet.mjs', []);
await step('export', 'export.mjs', []);
await step('latency', 'export.mjs', ['--latency', String(LATENCY_MS)]);
await step('big', 'export.mjs', [
  '--points',
  String(BIG_POINTS),
  '--polygons',
  '0',
  '--tools',
  'etl-c1,etl-c4,arcgis-rest',
  '--reps',
  '1',
]);
await step('emulator', 'emulator.mjs', []);
await step('koop', 'koop.mjs', []);
await step('adaptive', 'adaptive.mjs', []);
await step('formats', 'formats.mjs', []);
await step('postgis', 'postgis.mjs', []);

// ---- the table -----------------------------------------------------------------------------------
const rows = [];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const x = (r) => `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
const verdict = (ok) => (ok ? 'met' : 'NOT met');
function row(metric, ours, peer, ratio, target = '', status = '') {
  rows.push([metric, ours, peer, ratio, target, status]);
}

const token = results.token;
if (token) {
  const { ours, naive } = token.coldRequests;
  row(
    `token requests, ${fmt(token.concurrentColdCalls)} concurrent cold getToken calls`,
    fmt(ours),
    `naive manager: ${fmt(naive)}`,
    `${x(naive / ours)} fewer`,
    '1 request',
    verdict(ours === 1),
  );
  const ns = token.cachedNsPerOp;
  row(
    'cached getToken, ns per awaited call',
    fmt(ns.ours),
    `naive manager: ${fmt(ns.naive)} (bare async fn: ${fmt(ns.baseline)})`,
    `${(ns.ours / ns.naive).toFixed(2)}× the naive cost`,
    '< 1,000 ns',
    verdict(ns.ours < 1000),
  );
}

const fleet = results.fleet;
if (fleet) {
  for (const f of fleet.fleets) {
    row(
      `token requests, fleet of ${f.n} process${f.n === 1 ? '' : 'es'} × ${fleet.concurrency} requests`,
      `Redis ${f.tokens.redis}, file ${f.tokens.file}`,
      `memory (nothing shared): ${f.tokens.memory}`,
      `${x(f.tokens.memory / Math.max(f.tokens.redis, f.tokens.file))} fewer`,
      '1 per fleet (shared store)',
      verdict(f.tokens.redis === 1 && f.tokens.file === 1 && f.failed === 0),
    );
  }
}

const PEERS = { 'arcgis-rest': 'queryAllFeatures', ogr2ogr: 'ogr2ogr' };
const layerName = { points: 'points', polygons: 'polygons with holes' };
function exportRows(exp, suffix, withRss) {
  for (const layer of exp.layers) {
    const r = layer.results;
    const peers = Object.keys(PEERS)
      .filter((p) => r[p])
      .sort((a, b) => r[b].featuresPerSecond - r[a].featuresPerSecond);
    const fastest = peers[0];
    const raw = r['raw-parse'];
    const peerText = peers.map((p) => `${PEERS[p]} ${fmt(r[p].featuresPerSecond)}`).join(', ');
    for (const tool of ['etl-c1', 'etl-c4', 'etl-c4-json']) {
      const ours = r[tool];
      if (!ours) continue;
      const label = tool === 'etl-c4-json' ? 'c4, f=json' : `c${tool.at(-1)}`;
      const name = `export ${fmt(layer.count)} ${layerName[layer.layer]}${suffix}, features/s, ${label}`;
      if (fastest) {
        const ratio = ours.featuresPerSecond / r[fastest].featuresPerSecond;
        row(
          name,
          fmt(ours.featuresPerSecond),
          peerText,
          `${x(ratio)} fastest peer`,
          '≥ 3× fastest peer',
          verdict(ratio >= 3),
        );
      }
      if (raw) {
        const share = ours.featuresPerSecond / raw.featuresPerSecond;
        row(
          `${name}, vs raw limit`,
          fmt(ours.featuresPerSecond),
          `raw fetch + JSON.parse ${fmt(raw.featuresPerSecond)}`,
          `${(share * 100).toFixed(0)}% of raw`,
          '≥ 70% of raw',
          verdict(share >= 0.7),
        );
      }
      if (!ours.complete) row(`${name}: INCOMPLETE OUTPUT`, fmt(ours.features), '', '', '', 'FAILED');
    }
    // what bounds every client on this machine: moving the JSON bytes, and writing them back
    const floors = [
      ['raw-write', 'raw fetch + JSON.parse + writing the Esri JSON back'],
      ['fetch-only', 'fetching the JSON pages only (no parse, nothing written)'],
    ];
    for (const [tool, what] of floors) {
      const f = r[tool];
      if (!f || !fastest) continue;
      row(
        `export ${fmt(layer.count)} ${layerName[layer.layer]}${suffix}: ${what}, features/s`,
        '',
        `${fmt(f.featuresPerSecond)}`,
        `${x(f.featuresPerSecond / r[fastest].featuresPerSecond)} fastest peer`,
      );
    }
    const c4 = r['etl-c4'];
    if (c4 && withRss) {
      const qaf = r['arcgis-rest'];
      row(
        `peak RSS MB, ${fmt(layer.count)} ${layerName[layer.layer]}, c4`,
        fmt(c4.peakRssMb),
        peers.map((p) => `${PEERS[p]} ${fmt(r[p].peakRssMb)}`).join(', '),
        qaf ? `queryAllFeatures uses ${x(qaf.peakRssMb / c4.peakRssMb)}` : '',
      );
    }
  }
}

const exp = results.export;
if (exp) exportRows(exp, '', true);
const lat = results.latency;
if (lat) exportRows(lat, ` (${lat.latencyMs} ms per query)`, false);

const big = results.big;
if (big) {
  const r = big.layers[0].results;
  for (const tool of ['etl-c1', 'etl-c4']) {
    const ours = r[tool];
    if (!ours) continue;
    const peer = r['arcgis-rest'];
    row(
      `peak RSS MB, export ${fmt(big.layers[0].count)} points, c${tool.at(-1)}`,
      fmt(ours.peakRssMb),
      peer ? `queryAllFeatures ${fmt(peer.peakRssMb)} (holds every feature)` : '',
      peer ? `queryAllFeatures uses ${x(peer.peakRssMb / ours.peakRssMb)}` : '',
      `< ${RSS_TARGET_MB} MB`,
      verdict(ours.peakRssMb < RSS_TARGET_MB && ours.complete),
    );
  }
  const c4 = r['etl-c4'];
  const peer = r['arcgis-rest'];
  if (c4 && peer) {
    row(
      `export ${fmt(big.layers[0].count)} points, features/s, c4`,
      fmt(c4.featuresPerSecond),
      `queryAllFeatures ${fmt(peer.featuresPerSecond)}`,
      `${x(c4.featuresPerSecond / peer.featuresPerSecond)} queryAllFeatures`,
    );
  }
}

const emu = results.emulator;
if (emu && exp) {
  const num = (s) => Number(String(s).replaceAll(',', ''));
  for (const layer of ['points', 'polygons']) {
    const served = emu.rows.find((r) => r.layer.startsWith(layer) && r.connections === 1);
    const ours = exp.layers.find((l) => l.layer === layer)?.results['etl-c4'];
    if (!served || !ours) continue;
    const rate = num(served['features/s']);
    row(
      `emulator serving ${layerName[layer]} (cached pages, 1 connection), features/s`,
      fmt(rate),
      `arcgis-etl c4 consumes ${fmt(ours.featuresPerSecond)}`,
      `${x(rate / ours.featuresPerSecond)} headroom`,
      'not the bottleneck',
      verdict(rate > ours.featuresPerSecond),
    );
  }
}

const koop = results.koop;
if (koop) {
  const { etl } = koop.results;
  const peerNames = { 'arcgis-rest': 'queryAllFeatures', ogr2ogr: 'ogr2ogr' };
  const peers = Object.keys(peerNames).filter((p) => koop.results[p]);
  const { speedVsFastestPeer: speed, requestsVsLeanestPeer: requests } = koop.ratios;
  const name = `export ${fmt(koop.features)} points from Koop (independent server)`;
  row(
    `${name}, features/s, auto`,
    etl.exact ? fmt(etl.featuresPerSecond) : 'FAILED',
    peers.map((p) => `${peerNames[p]} ${fmt(koop.results[p].featuresPerSecond)}`).join(', '),
    speed === null ? '' : `${x(speed)} fastest peer`,
    '≥ 1× fastest peer',
    verdict(etl.exact && speed !== null && speed >= 1),
  );
  row(
    `${name}, requests`,
    fmt(etl.requests),
    peers.map((p) => `${peerNames[p]} ${fmt(koop.results[p].requests)}`).join(', '),
    requests === null ? '' : `${x(requests)} fewest`,
    '≤ 1.2× fewest',
    verdict(etl.exact && requests !== null && requests <= 1.2),
  );
}

// adaptive concurrency against a server with a capacity: bench/adaptive.mjs measures its own rows
const adaptive = results.adaptive;
if (adaptive) {
  for (const r of adaptive.rows) {
    const status = r.met === 'yes' ? verdict(true) : r.met === 'NO' ? verdict(false) : '';
    row(`adaptive: ${r.scenario}`, r.measured, '', '', r.target, status);
  }
}

// output formats: features/s (wall, and per CPU second) against ogr2ogr writing the same format
const formats = results.formats;
if (formats) {
  const FORMAT_TARGET = 2;
  const FORMAT_RSS_MB = 250;
  for (const r of formats.results) {
    const peer = r.ogr2ogr;
    const speedOk = r.speedup === undefined || r.speedup >= FORMAT_TARGET;
    const rssOk = r.etl.peakRssMb < FORMAT_RSS_MB;
    row(
      `export ${fmt(r.count)} ${layerName[r.layer]} to ${r.format}, features/s, peak RSS`,
      `${r.etl.complete ? fmt(r.etl.featuresPerSecond) : 'INCOMPLETE'}, ${fmt(r.etl.peakRssMb)} MB`,
      peer ? `ogr2ogr ${fmt(peer.featuresPerSecond)}, ${fmt(peer.peakRssMb)} MB` : '(no peer)',
      peer ? `${x(r.speedup)} (per CPU s: ${x(r.cpuSpeedup)})` : '',
      `${peer ? `≥ ${FORMAT_TARGET}× ogr2ogr, ` : ''}< ${FORMAT_RSS_MB} MB`,
      verdict(r.etl.complete && speedOk && rssOk),
    );
  }
}

const postgis = results.postgis;
if (postgis) {
  for (const layer of postgis.layers) {
    const { etl, ogr2ogr } = layer.results;
    if (!etl) continue;
    const target = postgis.targets.filter(
      (t) =>
        t.target.startsWith(`${layer.layer}:`) ||
        (layer.layer === 'points' && t.target.startsWith('points/s')),
    );
    row(
      `PostGIS load, ${fmt(layer.count)} ${layerName[layer.layer]}, features/s, peak RSS`,
      `${fmt(etl.featuresPerSecond)}, ${fmt(etl.peakRssMb)} MB`,
      ogr2ogr ? `ogr2ogr ${fmt(ogr2ogr.featuresPerSecond)}, ${fmt(ogr2ogr.peakRssMb)} MB` : '(no peer)',
      ogr2ogr ? x(etl.featuresPerSecond / ogr2ogr.featuresPerSecond) : '',
      target.map((t) => t.target.replace(/^\w+: /, '')).join(', '),
      verdict(target.every((t) => t.met)),
    );
  }
}

const header = ['metric', 'arcgis-etl', 'peers, same run', 'ratio', 'target', 'status'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(
  `\narcgis-etl benchmarks${QUICK ? ' (QUICK MODE: smoke sizes, not for publishing)' : ''}, ${startedAt.toISOString()}`,
);
if (exp || lat) {
  const e = exp ?? lat;
  console.log(
    `export: emulator in its own process, public layers, ${e.page}-row pages, GeoJSONSeq output, median of ${e.reps} run${e.reps === 1 ? '' : 's'}, wall clock per client process (start-up included)`,
  );
}
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
for (const [name, reason] of Object.entries(failures)) console.log(`(${name} did not run: ${reason})`);
if (exp && !exp.ogr2ogr) console.log('(ogr2ogr is not installed: no GDAL row)');
if (JSON_MODE)
  console.log(JSON.stringify({ quick: QUICK, startedAt: startedAt.toISOString(), results, failures }));
process.exitCode = Object.keys(failures).length > 0 ? 1 : 0;
