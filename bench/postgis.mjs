// PostGIS load: arcgis-etl `export -o postgresql://…` (binary COPY into a staging table, one
// transaction, GIST index and primary key at the end) against `ogr2ogr -f PostgreSQL` (GDAL's COPY,
// its GIST index) from the same emulated layer, in the same run, into the same PostgreSQL.
// The emulator runs in its own child process (bench/export.mjs --emulator) and is warmed first, so
// both clients read pages served from memory; every client runs in a fresh child process (wall
// clock from spawn to exit, start-up included; peak RSS sampled from the process). Each table is
// checked (row count, geometries, a GIST index) and dropped. A database of its own is created
// (CREATE EXTENSION postgis) and dropped at the end.
// Run: npm run build && node bench/postgis.mjs [--points 1000000] [--polygons 200000]
//   --json      also print one JSON object (every figure) on the last stdout line
//   --quick     small sizes (also BENCH_QUICK=1)
//   --reps N    runs per client, round robin (default 1); --tools etl,ogr2ogr
// The server: DATABASE_URL, else PGHOST / PGPORT / PGUSER (default 127.0.0.1:5432, postgres);
// a password only from PGPASSWORD or ~/.pgpass.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { hasOgr2ogr, measure, median } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const EXPORT_BENCH = fileURLToPath(new URL('./export.mjs', import.meta.url));
const PAGE = 2000;
const TARGET_RATE = 100_000;
const TARGET_RATIO = 2;
const TARGET_RSS_MB = 250;

const [, , mode, ...args] = process.argv;
if (mode === '--client') await clientChild(args);
else await main(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
async function clientChild([layerUrl, output]) {
  const { createTransport } = await import('../dist/http/transport.js');
  const { ArcGISClient } = await import('../dist/client/arcgis-client.js');
  const { exportLayer } = await import('../dist/features/export.js');
  // the heap setting the CLI makes at its start (core/heap.ts): the library does not make it itself
  (await import('../dist/core/heap.js')).limitHeapGrowth();
  const transport = createTransport({ emit: () => {} });
  const client = new ArcGISClient({ transport });
  const stats = await exportLayer({ client, layerUrl, output, format: 'postgis' });
  await transport.close();
  process.stdout.write(
    `${JSON.stringify({ features: stats.features, peakRssKb: process.resourceUsage().maxRSS })}\n`,
  );
}

// ---------------------------------------------------------------------------------------------
function server() {
  const env = process.env;
  if (env.DATABASE_URL) {
    const url = new URL(env.DATABASE_URL);
    return {
      host: decodeURIComponent(url.hostname) || '127.0.0.1',
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username) || 'postgres',
    };
  }
  return {
    host: env.PGHOST || '127.0.0.1',
    port: Number(env.PGPORT || 5432),
    user: env.PGUSER || 'postgres',
  };
}

async function connect(database) {
  const c = new pg.Client({ ...server(), database });
  await c.connect();
  return c;
}

function parseArgs(argv) {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const opts = {
    json: argv.includes('--json'),
    quick,
    points: quick ? 50_000 : 1_000_000,
    polygons: quick ? 10_000 : 200_000,
    reps: 1,
    tools: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--points') opts.points = Number(argv[++i]);
    else if (a === '--polygons') opts.polygons = Number(argv[++i]);
    else if (a === '--reps') opts.reps = Math.max(1, Number(argv[++i]));
    else if (a === '--tools') opts.tools = argv[++i].split(',');
  }
  return opts;
}

async function check(db, table, geometryColumn, count) {
  const rows = await db.query(
    `SELECT count(*)::int AS n, count(${geometryColumn})::int AS g,
            (SELECT count(*)::int FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%USING gist%') AS gist
     FROM public.${table}`,
    [table],
  );
  const r = rows.rows[0];
  if (r.n !== count || r.g !== count || r.gist !== 1) {
    throw new Error(
      `${table}: ${r.n} rows, ${r.g} geometries, ${r.gist} GIST indexes (expected ${count}, ${count}, 1)`,
    );
  }
  await db.query(`DROP TABLE public.${table}`);
}

async function runClient(tool, url, database, table, count, geometryType) {
  const { host, port, user } = server();
  if (tool === 'ogr2ogr') {
    const source = `ESRIJSON:${url}/query?where=1%3D1&outFields=*&outSR=4326&orderByFields=OBJECTID+ASC&resultRecordCount=${PAGE}&f=json`;
    const run = await measure('ogr2ogr', [
      '-f',
      'PostgreSQL',
      `PG:host=${host} port=${port} user=${user} dbname=${database}`,
      source,
      '-nln',
      table,
      // Esri polygons may be multipart: GDAL needs to be told (arcgis-etl writes MultiPolygon too)
      ...(geometryType === 'polygons' ? ['-nlt', 'PROMOTE_TO_MULTI'] : []),
    ]);
    return { ms: run.ms, peakRssKb: run.hwmKb, features: count, geometryColumn: 'wkb_geometry' };
  }
  const output = `postgresql://${encodeURIComponent(user)}@${host}:${port}/${database}?table=public.${table}`;
  const run = await measure(process.execPath, [SELF, '--client', url, output]);
  const r = JSON.parse(run.stdout.trim().split('\n').at(-1));
  return {
    ms: run.ms,
    peakRssKb: Math.max(r.peakRssKb, run.hwmKb),
    features: r.features,
    geometryColumn: 'geom',
  };
}

async function main(argv) {
  const opts = parseArgs(argv);
  const database = `arcgis_etl_bench_${process.pid}`;
  const admin = await connect('postgres');
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const db = await connect(database);
  await db.query('CREATE EXTENSION postgis');
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-bench-postgis-'));
  const emulator = spawn(
    process.execPath,
    [EXPORT_BENCH, '--emulator', String(opts.points), String(opts.polygons), '0'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const rows = [];
  const report = [];
  try {
    const urls = await new Promise((resolve, reject) => {
      const rl = createInterface({ input: emulator.stdout });
      rl.once('line', (line) => resolve(JSON.parse(line)));
      emulator.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
    });
    const ogr = await hasOgr2ogr();
    const all = ['etl', ...(ogr ? ['ogr2ogr'] : [])];
    const tools = opts.tools ? all.filter((t) => opts.tools.includes(t)) : all;
    const labels = {
      etl: 'arcgis-etl (binary COPY, adaptive concurrency)',
      ogr2ogr: 'ogr2ogr -f PostgreSQL (GDAL ESRIJSON)',
    };
    const layers = [
      ['points', 'points', opts.points, urls.points],
      ['polygons', 'polygons with holes', opts.polygons, urls.polygons],
    ].filter(([, , count]) => count > 0);
    for (const [key, name, count, url] of layers) {
      // warm the emulator (it caches an answer on its second request): pbf pages as arcgis-etl
      // asks them, JSON pages as GDAL does
      for (let i = 0; i < 2; i++) {
        for (const tool of ['raw-parse', 'etl-c1']) {
          await measure(process.execPath, [
            EXPORT_BENCH,
            '--client',
            tool,
            url,
            join(dir, 'warm.geojsonl'),
            String(count),
          ]);
          await rm(join(dir, 'warm.geojsonl'), { force: true });
        }
      }
      const runs = Object.fromEntries(tools.map((t) => [t, []]));
      for (let rep = 0; rep < opts.reps; rep++) {
        for (const tool of tools) {
          const table = `${key}_${tool}_${rep}`;
          const r = await runClient(tool, url, database, table, count, key);
          await check(db, table, r.geometryColumn, count);
          runs[tool].push(r);
          process.stderr.write(`${key} ${tool} run ${rep + 1}: ${(r.ms / 1000).toFixed(2)} s\n`);
        }
      }
      const results = {};
      for (const tool of tools) {
        const list = runs[tool];
        const ms = median(list.map((r) => r.ms));
        results[tool] = {
          ms: Math.round(ms),
          featuresPerSecond: Math.round((count / ms) * 1000),
          peakRssMb: Math.round(Math.max(...list.map((r) => r.peakRssKb)) / 1024),
          runsMs: list.map((r) => Math.round(r.ms)),
        };
      }
      report.push({ layer: key, count, results });
      const etl = results.etl;
      for (const tool of tools) {
        const r = results[tool];
        rows.push({
          layer: `${name} (${count.toLocaleString('en-US')})`,
          client: labels[tool],
          seconds: (r.ms / 1000).toFixed(2),
          'features/s': r.featuresPerSecond.toLocaleString('en-US'),
          'peak RSS MB': r.peakRssMb,
          ...(etl
            ? { 'speed vs arcgis-etl': `${(r.featuresPerSecond / etl.featuresPerSecond).toFixed(2)}x` }
            : {}),
        });
      }
    }
  } finally {
    emulator.stdin.end();
    await db.end();
    const cleanup = await connect('postgres');
    await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await cleanup.end();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `PostGIS benchmark: ${opts.points.toLocaleString('en-US')} points, ${opts.polygons.toLocaleString('en-US')} polygons, page ${PAGE}, emulator in a child process${opts.reps > 1 ? `, median of ${opts.reps} runs` : ''}`,
  );
  console.table(rows);
  const targets = [];
  const points = report.find((l) => l.layer === 'points')?.results;
  if (points?.etl) {
    const rate = points.etl.featuresPerSecond;
    targets.push({
      target: `points/s >= ${TARGET_RATE.toLocaleString('en-US')}`,
      value: rate.toLocaleString('en-US'),
      met: rate >= TARGET_RATE,
    });
  }
  for (const { layer, results } of report) {
    if (results.etl && results.ogr2ogr) {
      const ratio = results.etl.featuresPerSecond / results.ogr2ogr.featuresPerSecond;
      targets.push({
        target: `${layer}: >= ${TARGET_RATIO}x ogr2ogr`,
        value: `${ratio.toFixed(2)}x`,
        met: ratio >= TARGET_RATIO,
      });
    }
    if (results.etl) {
      targets.push({
        target: `${layer}: peak RSS < ${TARGET_RSS_MB} MB`,
        value: `${results.etl.peakRssMb} MB`,
        met: results.etl.peakRssMb < TARGET_RSS_MB,
      });
    }
  }
  console.table(targets.map((t) => ({ ...t, met: t.met ? 'met' : 'NOT met' })));
  console.log(
    'Times are wall clock per client process (start-up included); peak RSS is the client process alone.',
  );
  if (opts.json) {
    console.log(
      JSON.stringify({
        bench: 'postgis',
        page: PAGE,
        reps: opts.reps,
        quick: opts.quick,
        layers: report,
        targets,
      }),
    );
  }
}
