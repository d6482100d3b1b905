// Export throughput and client memory: arcgis-etl (concurrency 1 and 4, GeoJSONSeq; f=pbf as the
// layers list it, and c4 forced to f=json) against queryAllFeatures of
// @esri/arcgis-rest-feature-service (+ writing its result as GeoJSONSeq), ogr2ogr (when installed),
// and three floors: the raw limit (fetch + JSON.parse every page, nothing written), the same loop
// writing the Esri features back, and fetching the JSON pages alone (no parse, nothing written).
// The emulator runs in its own child process; every client runs in a fresh child process, so each
// peak RSS is that client's alone. Every output is checked to hold every feature.
// Run: npm run build && node bench/export.mjs [points=200000] [polygons=50000]
//   --json          also print one JSON object (every figure) on the last stdout line
//   --quick         small sizes, one run each (also BENCH_QUICK=1)
//   --points N --polygons N --reps N
//   --tools etl-c1,etl-c4,etl-c4-json,arcgis-rest,ogr2ogr,raw-parse,raw-write,fetch-only
//   --latency MS    the emulator answers every query after MS ms (a server that takes its time)
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { countLines, emulatorChild, hasOgr2ogr, measure, median, writeEsriAsGeoJSONSeq } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const PAGE = 2000;
const [, , mode, ...args] = process.argv;

// run as a script (bench/adaptive.mjs imports runTool, and runs its clients through here)
if (process.argv[1] === SELF) {
  if (mode === '--emulator') await emulatorChild(args, PAGE);
  else if (mode === '--client') await clientChild(args);
  else await main(process.argv.slice(2));
}

export { runTool };

// ---------------------------------------------------------------------------------------------
async function clientChild([tool, layerUrl, output, expected]) {
  const start = performance.now();
  let features = 0;
  let concurrency;
  if (
    tool === 'etl-c1' ||
    tool === 'etl-c4' ||
    tool === 'etl-c8' ||
    tool === 'etl-c4-json' ||
    tool === 'etl-adaptive'
  ) {
    const { createTransport } = await import('../dist/http/transport.js');
    const { ArcGISClient } = await import('../dist/client/arcgis-client.js');
    const { exportLayer } = await import('../dist/features/export.js');
    // the heap setting the CLI makes at its start (core/heap.ts): the library does not make it itself
    (await import('../dist/core/heap.js')).limitHeapGrowth();
    const transport = createTransport({ emit: () => {} });
    const client = new ArcGISClient({ transport });
    const stats = await exportLayer({
      client,
      layerUrl,
      output,
      format: 'geojsonseq',
      // the bench writes the same file for the warm-up and each repetition
      overwrite: true,
      // etl-adaptive: the default, adaptive concurrency
      ...(tool === 'etl-adaptive' ? {} : { concurrency: tool === 'etl-c1' ? 1 : tool === 'etl-c8' ? 8 : 4 }),
      queryFormat: tool === 'etl-c4-json' ? 'json' : 'auto',
    });
    features = stats.features;
    concurrency = stats.concurrency;
    await transport.close();
  } else if (tool === 'arcgis-rest') {
    const { queryAllFeatures } = await import('@esri/arcgis-rest-feature-service');
    const result = await queryAllFeatures({
      url: layerUrl,
      params: { outSR: 4326, orderByFields: 'OBJECTID ASC' },
    });
    await writeEsriAsGeoJSONSeq(result.features, output);
    features = result.features.length;
  } else if (tool === 'raw-parse' || tool === 'raw-write') {
    // raw-parse, the raw limit: one page at a time, fetch + JSON.parse, nothing else;
    // raw-write: the same, writing the Esri features back as they came (no conversion)
    const out = tool === 'raw-write' ? createWriteStream(output) : undefined;
    for (let offset = 0; ; offset += PAGE) {
      const res = await fetch(`${layerUrl}/query`, { method: 'POST', body: pageParams(offset) });
      const page = JSON.parse(await res.text());
      if (out) {
        let chunk = '';
        for (const f of page.features) chunk += `${JSON.stringify(f)}\n`;
        if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
      }
      features += page.features.length;
      if (!page.exceededTransferLimit) break;
    }
    if (out) {
      out.end();
      await new Promise((r) => out.once('finish', r));
    }
  } else if (tool === 'fetch-only') {
    // the transfer floor: every JSON page fetched and dropped (no parse, nothing written)
    for (let offset = 0; offset < Number(expected); offset += PAGE) {
      const res = await fetch(`${layerUrl}/query`, { method: 'POST', body: pageParams(offset) });
      await res.arrayBuffer();
    }
    features = Number(expected);
  } else {
    throw new Error(`unknown tool ${tool}`);
  }
  const ms = performance.now() - start;
  process.stdout.write(
    `${JSON.stringify({ features, ms, peakRssKb: process.resourceUsage().maxRSS, ...(concurrency ? { concurrency } : {}) })}\n`,
  );
}

function pageParams(offset) {
  return new URLSearchParams({
    where: '1=1',
    outFields: '*',
    outSR: '4326',
    orderByFields: 'OBJECTID ASC',
    resultOffset: String(offset),
    resultRecordCount: String(PAGE),
    f: 'json',
  });
}

/** Clients that write no output file (their feature count is their own). */
function writesNoOutput(tool) {
  return tool === 'raw-parse' || tool === 'fetch-only';
}

/** Flags: --json, --quick (or BENCH_QUICK=1), --points N, --polygons N, --tools a,b, --reps N. */
function parseArgs(argv) {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const opts = {
    json: argv.includes('--json'),
    quick,
    points: quick ? 20_000 : 200_000,
    polygons: quick ? 5_000 : 50_000,
    tools: undefined,
    reps: quick ? 1 : 3,
    latency: 0,
  };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--points') opts.points = Number(argv[++i]);
    else if (a === '--polygons') opts.polygons = Number(argv[++i]);
    else if (a === '--tools') opts.tools = argv[++i].split(',');
    else if (a === '--reps') opts.reps = Math.max(1, Number(argv[++i]));
    else if (a === '--latency') opts.latency = Math.max(0, Number(argv[++i]));
    else if (!a.startsWith('--')) positional.push(a);
  }
  if (positional[0] !== undefined) opts.points = Number(positional[0]);
  if (positional[1] !== undefined) opts.polygons = Number(positional[1]);
  return opts;
}

async function runTool(tool, url, output, count) {
  if (tool === 'ogr2ogr') {
    const source = `ESRIJSON:${url}/query?where=1%3D1&outFields=*&outSR=4326&orderByFields=OBJECTID+ASC&resultRecordCount=${PAGE}&f=json`;
    const run = await measure('ogr2ogr', ['-f', 'GeoJSONSeq', output, source]);
    return { ms: run.ms, peakRssKb: run.hwmKb, features: await countLines(output) };
  }
  const run = await measure(process.execPath, [SELF, '--client', tool, url, output, String(count)]);
  const r = { ...JSON.parse(run.stdout.trim().split('\n').at(-1)), ms: run.ms };
  r.peakRssKb = Math.max(r.peakRssKb, run.hwmKb);
  if (writesNoOutput(tool)) return r;
  const lines = await countLines(output);
  if (lines !== r.features) throw new Error(`${tool}: ${lines} lines for ${r.features} features`);
  return r;
}

async function main(argv) {
  const opts = parseArgs(argv);
  const { points, polygons } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-bench-'));
  const emulator = spawn(
    process.execPath,
    [SELF, '--emulator', String(points), String(polygons), String(opts.latency)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const urls = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: emulator.stdout });
    rl.once('line', (line) => resolve(JSON.parse(line)));
    emulator.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const ogr = await hasOgr2ogr();
  const all = [
    'etl-c1',
    'etl-c4',
    'etl-c4-json',
    'arcgis-rest',
    ...(ogr ? ['ogr2ogr'] : []),
    'raw-parse',
    'raw-write',
    'fetch-only',
  ];
  const tools = opts.tools ? all.filter((t) => opts.tools.includes(t)) : all;
  const labels = {
    'etl-c1': 'arcgis-etl, concurrency 1',
    'etl-c4': 'arcgis-etl, concurrency 4',
    'etl-c4-json': 'arcgis-etl, concurrency 4, f=json',
    'arcgis-rest': 'queryAllFeatures + write',
    ogr2ogr: 'ogr2ogr (GDAL ESRIJSON)',
    'raw-parse': 'raw limit: fetch + JSON.parse',
    'raw-write': 'raw fetch + JSON.parse + write',
    'fetch-only': 'fetch the JSON pages only',
  };
  const layers = [
    ['points', 'points', points, urls.points],
    ['polygons', 'polygons with holes', polygons, urls.polygons],
  ].filter(([, , count]) => count > 0);
  const rows = [];
  const report = [];
  try {
    for (const [key, name, count, url] of layers) {
      // warm the emulator: it caches an answer on its second request, so that every client measured
      // reads pages served from memory (the emulator must not be what is measured)
      for (let i = 0; i < 2; i++) {
        for (const tool of ['raw-parse', 'etl-c1']) {
          await measure(process.execPath, [
            SELF,
            '--client',
            tool,
            url,
            join(dir, 'warm.geojsonl'),
            String(count),
          ]);
        }
      }
      const runs = Object.fromEntries(tools.map((t) => [t, []]));
      // round robin, so that a slow spell of the machine hits every client alike
      for (let rep = 0; rep < opts.reps; rep++) {
        for (const tool of tools) {
          const output = join(dir, `${tool}.geojsonl`);
          runs[tool].push(await runTool(tool, url, output, count));
          await rm(output, { force: true });
        }
      }
      const results = {};
      for (const tool of tools) {
        const list = runs[tool];
        results[tool] = {
          features: Math.min(...list.map((r) => r.features)),
          ms: median(list.map((r) => r.ms)),
          peakRssKb: Math.max(...list.map((r) => r.peakRssKb)),
          runsMs: list.map((r) => Math.round(r.ms)),
        };
      }
      report.push({
        layer: key,
        count,
        results: Object.fromEntries(
          tools.map((t) => {
            const r = results[t];
            return [
              t,
              {
                features: r.features,
                complete: r.features === count,
                ms: Math.round(r.ms),
                featuresPerSecond: Math.round((r.features / r.ms) * 1000),
                peakRssMb: Math.round(r.peakRssKb / 1024),
                runsMs: r.runsMs,
              },
            ];
          }),
        ),
      });
      const base = results['etl-c4'] ?? results[tools[0]];
      for (const tool of tools) {
        const r = results[tool];
        const rate = (r.features / r.ms) * 1000;
        const baseRate = (base.features / base.ms) * 1000;
        rows.push({
          layer: `${name} (${count.toLocaleString('en-US')})`,
          client: labels[tool],
          features: r.features === count ? r.features.toLocaleString('en-US') : `${r.features} (MISSING)`,
          seconds: (r.ms / 1000).toFixed(2),
          'features/s': Math.round(rate).toLocaleString('en-US'),
          'peak RSS MB': (r.peakRssKb / 1024).toFixed(0),
          'speed vs etl c4': `${(rate / baseRate).toFixed(2)}x`,
          'RSS vs etl c4': `${(r.peakRssKb / base.peakRssKb).toFixed(2)}x`,
        });
      }
    }
  } finally {
    emulator.stdin.end();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `Export benchmark: ${points.toLocaleString('en-US')} points, ${polygons.toLocaleString('en-US')} polygons, page ${PAGE}, public layers, emulator in a child process${opts.latency > 0 ? ` answering each query after ${opts.latency} ms` : ''}${opts.reps > 1 ? `, median of ${opts.reps} runs` : ''}`,
  );
  console.table(rows);
  console.log(
    'Times are wall clock per client process (start-up included); peak RSS is the client process alone.',
  );
  if (opts.json) {
    console.log(
      JSON.stringify({
        bench: 'export',
        page: PAGE,
        reps: opts.reps,
        quick: opts.quick,
        latencyMs: opts.latency,
        ogr2ogr: ogr,
        layers: report,
      }),
    );
  }
}
