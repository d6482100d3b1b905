// Output formats: arcgis-etl exporting 1,000,000 points and 200,000 polygons from the emulator to
// each format of FORMATS, next to ogr2ogr writing the same format from the same layer in the same
// run (GDAL's ESRIJSON driver paging the layer). Features/s and peak RSS of each client process.
// Targets: arcgis-etl ≥ 2× ogr2ogr's features/s, peak RSS < 250 MB. Every output is read back
// (feature count) before it counts. CPU time (user + system) of each client process is measured too:
// on a machine shared with other work, features per CPU second compare the writers where the wall
// clock mostly measures the others' load.
// The emulator runs in its own child process; every client runs in a fresh child process.
// Run: npm run build && node bench/formats.mjs
//   --quick         small sizes (also BENCH_QUICK=1)
//   --points N --polygons N --reps N
//   --formats shapefile,flatgeobuf      (rows of FORMATS, default: every one this build writes)
//   --tools etl     only arcgis-etl (default etl,ogr2ogr)
//   --json          also print one JSON object (every figure) on the last stdout line
//
// Adding a format: one row in FORMATS (name, the arcgis-etl format and options, the output name,
// the ogr2ogr arguments, and how to count what was written). A row whose `format` this build does
// not write is skipped, so rows can land before their writer does.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { countLines, emulatorChild, hasOgr2ogr, measure, median } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const PAGE = 2000;
const RSS_TARGET_MB = 250;
const SPEED_TARGET = 2;

/** Feature count of a file GDAL reads (`ogrinfo -so`). */
async function ogrCount(path) {
  const run = await measure('ogrinfo', ['-so', '-al', '-ro', path]);
  const counts = [...run.stdout.matchAll(/Feature Count: (\d+)/g)].map((m) => Number(m[1]));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * One row per output. `output(dir, layer)`: the target (a path, or a URL for a database);
 * `etl`: what exportLayer is given besides the layer and output; `ogr(output)`: ogr2ogr's
 * arguments before the source; `count(output)`: features written; `cleanup(output)`: optional.
 */
export const FORMATS = [
  {
    // the reference: the text writer the others are compared with (what the pipeline costs alone)
    name: 'geojsonseq',
    label: 'GeoJSONSeq (reference)',
    output: (dir, layer) => join(dir, `${layer}.geojsonl`),
    etl: { format: 'geojsonseq' },
    ogr: (output) => ['-f', 'GeoJSONSeq', output],
    count: countLines,
  },
  {
    name: 'shapefile',
    label: 'Shapefile (.shp)',
    output: (dir, layer) => join(dir, `${layer}.shp`),
    etl: { format: 'shapefile' },
    ogr: (output) => ['-f', 'ESRI Shapefile', output],
    count: ogrCount,
  },
  {
    name: 'shapefile-zip',
    label: 'Shapefile (.shp.zip)',
    output: (dir, layer) => join(dir, `${layer}.shp.zip`),
    etl: { format: 'shapefile' },
    ogr: (output) => ['-f', 'ESRI Shapefile', output],
    count: (output) => ogrCount(`/vsizip/${output}`),
  },
  {
    name: 'flatgeobuf',
    label: 'FlatGeobuf (.fgb, indexed)',
    output: (dir, layer) => join(dir, `${layer}.fgb`),
    etl: { format: 'flatgeobuf' },
    // GDAL's ESRIJSON layers are Polygon, some features MultiPolygon: FlatGeobuf needs one type
    ogr: (output) => ['-f', 'FlatGeobuf', '-nlt', 'PROMOTE_TO_MULTI', output],
    count: ogrCount,
  },
  {
    name: 'gpkg',
    label: 'GeoPackage (.gpkg, R-tree)',
    output: (dir, layer) => join(dir, `${layer}.gpkg`),
    etl: { format: 'gpkg' },
    // the same layer type as ours (lines and polygons always multi); GDAL builds its R-tree too
    ogr: (output) => ['-f', 'GPKG', '-nlt', 'PROMOTE_TO_MULTI', output],
    count: ogrCount,
  },
  {
    name: 'parquet',
    label: 'GeoParquet 1.1 (.parquet)',
    output: (dir, layer) => join(dir, `${layer}.parquet`),
    etl: { format: 'parquet' },
    // GDAL 3.6 (Debian's) has no Parquet driver: no peer in the same run
    ogr: null,
    count: parquetCount,
  },
];

/** Rows of a Parquet file, read by hyparquet (its footer's num_rows). */
async function parquetCount(path) {
  const { readFile } = await import('node:fs/promises');
  const { parquetMetadata } = await import('hyparquet');
  const bytes = await readFile(path);
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return Number(meta.num_rows);
}

const [, , mode, ...args] = process.argv;
if (process.argv[1] === SELF) {
  if (mode === '--emulator') await emulatorChild(args, PAGE);
  else if (mode === '--client') await clientChild(args);
  else await main(process.argv.slice(2));
}

/** arcgis-etl exporting one layer to one FORMATS row, in this (fresh) process. */
async function clientChild([name, layerUrl, output]) {
  const row = FORMATS.find((f) => f.name === name);
  const start = performance.now();
  const { createTransport } = await import('../dist/http/transport.js');
  const { ArcGISClient } = await import('../dist/client/arcgis-client.js');
  const { exportLayer } = await import('../dist/features/export.js');
  // the heap setting the CLI makes at its start (core/heap.ts): the library does not make it itself
  (await import('../dist/core/heap.js')).limitHeapGrowth();
  const transport = createTransport({ emit: () => {} });
  const client = new ArcGISClient({ transport });
  const stats = await exportLayer({ client, layerUrl, output, ...row.etl });
  await transport.close();
  const ms = performance.now() - start;
  process.stdout.write(
    `${JSON.stringify({ features: stats.features, ms, peakRssKb: process.resourceUsage().maxRSS, cpuMs: cpuMs() })}\n`,
  );
}

function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function parseArgs(argv) {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const opts = {
    json: argv.includes('--json'),
    quick,
    points: quick ? 20_000 : 1_000_000,
    polygons: quick ? 5_000 : 200_000,
    reps: 1,
    formats: undefined,
    tools: ['etl', 'ogr2ogr'],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--points') opts.points = Number(argv[++i]);
    else if (a === '--polygons') opts.polygons = Number(argv[++i]);
    else if (a === '--reps') opts.reps = Math.max(1, Number(argv[++i]));
    else if (a === '--formats') opts.formats = argv[++i].split(',');
    else if (a === '--tools') opts.tools = argv[++i].split(',');
  }
  return opts;
}

function ogrSource(url) {
  return `ESRIJSON:${url}/query?where=1%3D1&outFields=*&outSR=4326&orderByFields=OBJECTID+ASC&resultRecordCount=${PAGE}&f=json`;
}

async function runOnce(tool, row, url, output) {
  await (row.cleanup ?? removeOutput)(output);
  let r;
  if (tool === 'ogr2ogr') {
    const run = await measure('ogr2ogr', [...row.ogr(output), ogrSource(url)]);
    r = { ms: run.ms, peakRssKb: run.hwmKb, cpuMs: run.cpuMs };
  } else {
    const run = await measure(process.execPath, [SELF, '--client', row.name, url, output]);
    r = { ...JSON.parse(run.stdout.trim().split('\n').at(-1)), ms: run.ms };
    r.peakRssKb = Math.max(r.peakRssKb, run.hwmKb);
  }
  r.features = await row.count(output);
  await (row.cleanup ?? removeOutput)(output);
  return r;
}

async function removeOutput(output) {
  const { readdir } = await import('node:fs/promises');
  const { basename, dirname } = await import('node:path');
  const dir = dirname(output);
  const stem = basename(output).replace(/\.(shp\.zip|shp|fgb|gpkg|parquet|geojsonl)$/i, '');
  for (const name of await readdir(dir).catch(() => [])) {
    if (name === basename(output) || name.startsWith(`${stem}.`))
      await rm(join(dir, name), { force: true, recursive: true });
  }
}

async function main(argv) {
  const opts = parseArgs(argv);
  const { WRITER_FORMATS } = await import('../dist/features/writers/formats.js');
  const rows = FORMATS.filter(
    (f) =>
      WRITER_FORMATS.includes(f.etl.format) && (opts.formats === undefined || opts.formats.includes(f.name)),
  );
  const ogr = opts.tools.includes('ogr2ogr') && (await hasOgr2ogr());
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-formats-'));
  const emulator = spawn(process.execPath, [SELF, '--emulator', String(opts.points), String(opts.polygons)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const urls = await new Promise((resolve, reject) => {
    createInterface({ input: emulator.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    emulator.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const layers = [
    ['points', opts.points, urls.points],
    ['polygons', opts.polygons, urls.polygons],
  ].filter(([, count]) => count > 0);
  const table = [];
  const report = [];
  try {
    for (const [layer, count, url] of layers) {
      // warm the emulator (it caches an answer on its second request): pbf pages for arcgis-etl,
      // json pages for ogr2ogr, so that no client measured pays for the emulator's first answers
      const warm = rows[0];
      if (warm !== undefined) {
        for (let i = 0; i < 2; i++) {
          await runOnce('etl', warm, url, warm.output(dir, `warm-${layer}`));
          if (ogr && warm.ogr) await runOnce('ogr2ogr', warm, url, warm.output(dir, `warm-ogr-${layer}`));
        }
      }
      for (const row of rows) {
        const tools = ['etl', ...(ogr && row.ogr ? ['ogr2ogr'] : [])];
        const runs = Object.fromEntries(tools.map((t) => [t, []]));
        for (let rep = 0; rep < opts.reps; rep++) {
          for (const tool of tools)
            runs[tool].push(await runOnce(tool, row, url, row.output(dir, `${layer}-${tool}`)));
        }
        const summary = {};
        for (const tool of tools) {
          const list = runs[tool];
          const ms = median(list.map((r) => r.ms));
          const cpu = median(list.map((r) => r.cpuMs));
          const features = Math.min(...list.map((r) => r.features));
          summary[tool] = {
            features,
            complete: features === count,
            ms: Math.round(ms),
            featuresPerSecond: Math.round((features / ms) * 1000),
            cpuSeconds: Math.round(cpu) / 1000,
            featuresPerCpuSecond: Math.round((features / cpu) * 1000),
            peakRssMb: Math.round(Math.max(...list.map((r) => r.peakRssKb)) / 1024),
          };
        }
        const etl = summary.etl;
        const peer = summary.ogr2ogr;
        const speedup = peer ? etl.featuresPerSecond / peer.featuresPerSecond : undefined;
        const cpuSpeedup = peer ? etl.featuresPerCpuSecond / peer.featuresPerCpuSecond : undefined;
        report.push({ layer, count, format: row.name, ...summary, speedup, cpuSpeedup });
        for (const tool of tools) {
          const r = summary[tool];
          table.push({
            layer: `${layer} (${count.toLocaleString('en-US')})`,
            format: row.label,
            client: tool === 'etl' ? 'arcgis-etl' : 'ogr2ogr',
            features: r.complete ? r.features.toLocaleString('en-US') : `${r.features} (MISSING)`,
            seconds: (r.ms / 1000).toFixed(2),
            'features/s': r.featuresPerSecond.toLocaleString('en-US'),
            'peak RSS MB': r.peakRssMb,
            'vs ogr2ogr': peer ? `${(r.featuresPerSecond / peer.featuresPerSecond).toFixed(2)}x` : '-',
            'cpu s': r.cpuSeconds.toFixed(1),
            'vs ogr2ogr (cpu)': peer
              ? `${(r.featuresPerCpuSecond / peer.featuresPerCpuSecond).toFixed(2)}x`
              : '-',
            targets:
              tool === 'etl'
                ? `${speedup === undefined ? '' : speedup >= SPEED_TARGET ? 'speed ok' : 'SPEED LOW'}; ${r.peakRssMb < RSS_TARGET_MB ? 'rss ok' : 'RSS HIGH'}`
                : '',
          });
        }
      }
    }
  } finally {
    emulator.stdin.end();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `Formats benchmark: ${opts.points.toLocaleString('en-US')} points, ${opts.polygons.toLocaleString('en-US')} polygons, page ${PAGE}, emulator in a child process${opts.reps > 1 ? `, median of ${opts.reps} runs` : ''}; targets: ≥ ${SPEED_TARGET}x ogr2ogr's features/s, peak RSS < ${RSS_TARGET_MB} MB`,
  );
  console.table(table);
  if (!ogr && opts.tools.includes('ogr2ogr')) console.log('ogr2ogr is not installed: no peer figures.');
  if (opts.json) {
    console.log(
      JSON.stringify({ bench: 'formats', page: PAGE, quick: opts.quick, ogr2ogr: ogr, results: report }),
    );
  }
}
