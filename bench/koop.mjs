// Export from an independent server: the 50,000-point Koop layer of the conformance suite (Koop 10,
// token-secured, hashed OBJECTIDs, orderByFields ignored), exported by arcgis-etl `auto` (the CLI,
// no flag), ogr2ogr (GDAL's ESRIJSON driver, paging with resultOffset) and queryAllFeatures of
// @esri/arcgis-rest-feature-service (+ writing its result as GeoJSONSeq). Each client runs as its
// own child process; Koop counts the requests each one makes. Every output is checked to hold each
// source feature once (by its `sid`). Prints features/s and requests per feature, and the ratios of
// arcgis-etl to the fastest peer and to the peer with the fewest requests. Koop runs in a child
// process of its own, a fresh one for every client run: one Koop process serving run after run
// slowed down from one round to the next (16 s to 21 s for the same client over four rounds).
// Run: npm run build && node bench/koop.mjs [--features N] [--reps N] [--json] [--quick]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BASE_FIELDS, BIG_LAYER, generateFeatures } from '../test/conformance/koop-data.mjs';
import { startKoop } from '../test/conformance/koop-server.mjs';
import { hasOgr2ogr, measure, median, writeEsriAsGeoJSONSeq } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const [, , mode, ...args] = process.argv;

if (mode === '--client') await clientChild(args);
else if (mode === '--koop') await koopChild(Number(args[0]));
else await main(process.argv.slice(2));

/**
 * Koop with the bench layer of `count` points, in this process until stdin ends; prints its URLs (the
 * password comes from the environment and is not printed). `GET /__bench/stats` answers its counters.
 */
async function koopChild(count) {
  const features = generateFeatures(
    (await import('../dist/core/time.js')).seededRandom(BIG_LAYER.seed),
    'point',
    count,
  );
  const koop = await startKoop({
    layers: [{ name: BIG_LAYER.name, features, fields: BASE_FIELDS }],
    password: process.env.BENCH_KOOP_PASSWORD,
  });
  koop.setHook((req, res) => {
    if (req.url !== '/__bench/stats') return false;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(koop.stats()));
    return true;
  });
  const { username } = koop.credentials;
  process.stdout.write(
    `${JSON.stringify({ origin: koop.origin, url: koop.layerUrl(BIG_LAYER.name), tokenUrl: koop.tokenUrl, username })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await koop.stop();
    process.exit(0);
  });
}

/** A fresh Koop child serving `count` points: its URLs, credentials, request counters and stop. */
async function startKoopChild(count) {
  const password = `Koop-${randomBytes(9).toString('base64url')}-Pw9`;
  const child = spawn(process.execPath, [SELF, '--koop', String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH, BENCH_KOOP_PASSWORD: password },
  });
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`Koop exited ${code}`)));
  });
  return {
    url: ready.url,
    tokenUrl: ready.tokenUrl,
    credentials: { username: ready.username, password },
    stats: async () => (await fetch(`${ready.origin}/__bench/stats`)).json(),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
/** queryAllFeatures in its own process; the token comes from the environment, never argv. */
async function clientChild([layerUrl, output]) {
  const { queryAllFeatures } = await import('@esri/arcgis-rest-feature-service');
  const result = await queryAllFeatures({
    url: layerUrl,
    authentication: process.env.BENCH_TOKEN,
    params: { outSR: 4326 },
  });
  await writeEsriAsGeoJSONSeq(result.features, output);
}

// ---------------------------------------------------------------------------------------------
/** Each source feature once: the `sid`s of a GeoJSONSeq file, checked against 1…count. */
async function checkOutput(path, count) {
  const seen = new Set();
  let lines = 0;
  const input = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of input) {
    const text = line.replace(/^\x1e/, '').trim();
    if (text === '') continue;
    lines++;
    seen.add(JSON.parse(text).properties?.sid);
  }
  let missing = 0;
  for (let sid = 1; sid <= count; sid++) if (!seen.has(sid)) missing++;
  return { lines, distinct: seen.size, missing, exact: lines === count && missing === 0 };
}

async function getToken(koop) {
  const body = new URLSearchParams({ ...koop.credentials, f: 'json', client: 'requestip', expiration: '60' });
  const json = await (await fetch(koop.tokenUrl, { method: 'POST', body })).json();
  if (typeof json.token !== 'string') throw new Error('Koop issued no token');
  return json.token;
}

/** `token`: the peers' (the bench asks it for them); arcgis-etl signs in itself. */
async function runTool(tool, koop, output, token) {
  const url = koop.url;
  const base = { PATH: process.env.PATH };
  if (tool === 'etl') {
    return measure(process.execPath, [BIN, 'export', url, '-o', output, '--quiet'], {
      env: {
        ...base,
        ARCGIS_USERNAME: koop.credentials.username,
        ARCGIS_PASSWORD: koop.credentials.password,
      },
    });
  }
  if (tool === 'ogr2ogr') {
    // GDAL pages with resultOffset while exceededTransferLimit is true; the token goes in a header
    const source = `ESRIJSON:${url}/query?where=1%3D1&outFields=*&outSR=4326&resultRecordCount=2000&f=json`;
    return measure('ogr2ogr', ['-f', 'GeoJSONSeq', output, source], {
      env: { ...base, GDAL_HTTP_HEADERS: `X-Esri-Authorization: Bearer ${token}` },
    });
  }
  return measure(process.execPath, [SELF, '--client', url, output], { env: { ...base, BENCH_TOKEN: token } });
}

function parseArgs(argv) {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const opts = { json: argv.includes('--json'), quick, features: quick ? 10_000 : BIG_LAYER.count, reps: 1 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--features') opts.features = Number(argv[++i]);
    else if (argv[i] === '--reps') opts.reps = Math.max(1, Number(argv[++i]));
  }
  return opts;
}

async function main(argv) {
  const opts = parseArgs(argv);
  const count = opts.features;
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-bench-koop-'));
  const ogr = await hasOgr2ogr();
  const tools = ['etl', 'arcgis-rest', ...(ogr ? ['ogr2ogr'] : [])];
  const labels = {
    etl: 'arcgis-etl auto (CLI)',
    'arcgis-rest': 'queryAllFeatures + write',
    ogr2ogr: 'ogr2ogr (GDAL ESRIJSON)',
  };
  const runs = Object.fromEntries(tools.map((t) => [t, []]));
  try {
    // round robin, so that a slow spell of the machine hits every client alike
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const tool of tools) {
        const output = join(dir, `${tool}.geojsonl`);
        const koop = await startKoopChild(count);
        try {
          const token = tool === 'etl' ? undefined : await getToken(koop);
          // the peers' token is the bench's, not theirs; each stats request counts itself
          const before = (await koop.stats()).requests;
          const requests = async () => (await koop.stats()).requests - before - 1;
          let run;
          try {
            run = await runTool(tool, koop, output, token);
          } catch (error) {
            runs[tool].push({ ms: Number.NaN, requests: await requests(), failed: String(error.message) });
            continue;
          }
          const made = await requests();
          const check = await checkOutput(output, count);
          runs[tool].push({ ms: run.ms, requests: made, ...check });
          await rm(output, { force: true });
        } finally {
          await koop.stop();
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const results = {};
  for (const tool of tools) {
    const list = runs[tool];
    const ok = list.filter((r) => r.exact);
    const ms = ok.length > 0 ? median(ok.map((r) => r.ms)) : Number.NaN;
    const requests = median(list.map((r) => r.requests));
    results[tool] = {
      exact: ok.length === list.length,
      ms: Math.round(ms),
      featuresPerSecond: Math.round((count / ms) * 1000),
      requests,
      requestsPerFeature: requests / count,
      ...(list.some((r) => r.failed) ? { error: list.find((r) => r.failed).failed.slice(0, 300) } : {}),
      ...(list.some((r) => r.missing > 0) ? { missing: Math.max(...list.map((r) => r.missing ?? 0)) } : {}),
    };
  }
  const peers = tools.filter((t) => t !== 'etl' && results[t].exact);
  const fastest = peers.reduce(
    (a, t) => (a === undefined || results[t].ms < results[a].ms ? t : a),
    undefined,
  );
  const leanest = peers.reduce(
    (a, t) => (a === undefined || results[t].requests < results[a].requests ? t : a),
    undefined,
  );
  const etl = results.etl;
  const ratios = {
    speedVsFastestPeer: fastest ? etl.featuresPerSecond / results[fastest].featuresPerSecond : null,
    requestsVsLeanestPeer: leanest ? etl.requests / results[leanest].requests : null,
    fastestPeer: fastest ?? null,
    leanestPeer: leanest ?? null,
  };
  const rows = tools.map((t) => {
    const r = results[t];
    return {
      client: labels[t],
      complete: r.exact
        ? 'yes'
        : `NO${r.missing ? ` (${r.missing} missing)` : ''}${r.error ? `: ${r.error}` : ''}`,
      seconds: (r.ms / 1000).toFixed(2),
      'features/s': Number.isFinite(r.featuresPerSecond) ? r.featuresPerSecond.toLocaleString('en-US') : '-',
      requests: r.requests,
      'requests/feature': r.requestsPerFeature.toFixed(4),
    };
  });
  console.log(
    `Koop benchmark: ${count.toLocaleString('en-US')} points on Koop 10 (token-secured, hashed OBJECTIDs), one run${opts.reps > 1 ? `, median of ${opts.reps}` : ''}${ogr ? '' : ' (ogr2ogr not installed)'}`,
  );
  console.table(rows);
  const fmt = (v) => (v === null ? 'n/a' : `${v.toFixed(2)}x`);
  console.log(
    `arcgis-etl vs fastest peer (${ratios.fastestPeer ?? 'none'}): ${fmt(ratios.speedVsFastestPeer)} features/s; vs fewest requests (${ratios.leanestPeer ?? 'none'}): ${fmt(ratios.requestsVsLeanestPeer)} requests (target: ≥ 1.00x speed, ≤ 1.20x requests)`,
  );
  console.log(
    'Times are wall clock per client process (start-up and, for arcgis-etl, its token request included).',
  );
  if (opts.json) {
    console.log(
      JSON.stringify({ bench: 'koop', features: count, reps: opts.reps, ogr2ogr: ogr, results, ratios }),
    );
  }
}
