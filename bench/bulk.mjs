// Bulk export benchmark: `arcgis-etl bulk` (createReplica, replica JSON) against `arcgis-etl
// export` (paged queries) on the same layer of the emulator, every request answered after a fixed
// latency (a remote server), wall clock and peak RSS of each CLI run, both outputs checked to hold
// every feature. The emulator runs in its own child process; each client is a fresh `node` process.
//
// Run: npm run build && node bench/bulk.mjs [features=1000000] [--latency MS=200] [--page N=2000] [--json] [--quick]
//   --quick   100,000 features (a smoke check)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countLines, measure } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

if (process.argv[2] === '--emulator') await emulatorChild(process.argv.slice(3));
else await main(process.argv.slice(2));

async function emulatorChild([count, latency, page]) {
  const { startEmulator } = await import('../dist/emulator/index.js');
  const emu = await startEmulator({
    // every request (metadata, queries, createReplica, status polls, the download) waits
    faults: { latencyMs: Number(latency), scope: 'all' },
    layers: [
      {
        service: 'points',
        generate: { count: Number(count), geometry: 'point', seed: 1 },
        maxRecordCount: Number(page),
      },
    ],
  });
  process.stdout.write(`${JSON.stringify({ layer: emu.layerUrl('points') })}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await emu.stop();
    process.exit(0);
  });
}

function parseArgs(argv) {
  const opts = { count: 1_000_000, latency: 200, page: 2000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--latency') opts.latency = Number(argv[++i]);
    else if (a === '--page') opts.page = Number(argv[++i]);
    else if (a === '--json') opts.json = true;
    else if (a === '--quick') opts.count = 100_000;
    else if (/^\d+$/.test(a)) opts.count = Number(a);
  }
  return opts;
}

async function startEmulatorChild(opts) {
  const child = spawn(
    process.execPath,
    [SELF, '--emulator', String(opts.count), String(opts.latency), String(opts.page)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const urls = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(text.slice(0, newline)));
    });
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`the emulator exited ${code}`)));
  });
  return { urls, stop: () => child.stdin.end() };
}

async function main(argv) {
  const opts = parseArgs(argv);
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-bench-bulk-'));
  const emulator = await startEmulatorChild(opts);
  try {
    const layer = emulator.urls.layer;
    const service = layer.replace(/\/\d+$/, '');
    const env = { ...process.env, NODE_OPTIONS: '--max-old-space-size=6144' };
    const runs = {};
    // export: adaptive concurrency, as users run it
    const exportOut = join(dir, 'export.geojsonl');
    const exp = await measure(process.execPath, [CLI, 'export', layer, '-o', exportOut, '-q'], { env });
    runs.export = { ms: exp.ms, peakRssKb: exp.hwmKb, features: await countLines(exportOut) };
    // bulk: createReplica (async, replica JSON), polled, downloaded, parsed, written
    const bulkDir = join(dir, 'bulk');
    const blk = await measure(
      process.execPath,
      [CLI, 'bulk', service, '-o', `${bulkDir}/`, '-f', 'geojsonseq', '-q'],
      { env },
    );
    runs.bulk = {
      ms: blk.ms,
      peakRssKb: blk.hwmKb,
      features: await countLines(join(bulkDir, 'points.geojsonl')),
    };
    for (const [tool, r] of Object.entries(runs)) {
      if (r.features !== opts.count) throw new Error(`${tool} wrote ${r.features} features of ${opts.count}`);
    }
    const ratio = runs.export.ms / runs.bulk.ms;
    const rows = Object.entries(runs).map(([tool, r]) => ({
      tool,
      seconds: (r.ms / 1000).toFixed(1),
      peakRssMb: Math.round(r.peakRssKb / 1024),
      features: r.features.toLocaleString('en-US'),
    }));
    console.log(
      `Bulk benchmark: ${opts.count.toLocaleString('en-US')} points, page ${opts.page}, every request answered after ${opts.latency} ms (emulator in a child process)`,
    );
    console.table(rows);
    console.log(`export / bulk wall clock: ${ratio.toFixed(2)}× (above 1: bulk is faster)`);
    if (opts.json) {
      console.log(
        JSON.stringify({
          bench: 'bulk',
          features: opts.count,
          latencyMs: opts.latency,
          page: opts.page,
          exportMs: Math.round(runs.export.ms),
          bulkMs: Math.round(runs.bulk.ms),
          exportPeakRssMb: Math.round(runs.export.peakRssKb / 1024),
          bulkPeakRssMb: Math.round(runs.bulk.peakRssKb / 1024),
          exportOverBulk: Number(ratio.toFixed(3)),
        }),
      );
    }
  } finally {
    emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
