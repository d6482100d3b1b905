// f=pbf against f=json on a layer with Z and M (polylines): bytes per feature on the wire
// (uncompressed answer bodies, every page of the layer), client CPU to decode a page
// (decodeQueryPbf against JSON.parse, best of 20) and export throughput (arcgis-etl
// exportLayer to GeoJSONSeq, concurrency 4, median of the runs). The emulator runs in its own
// child process; pages are served from its cache after a warm-up pass.
// Run: npm run build && node bench/pbf-zm.mjs [--features N] [--reps N] [--json]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const PAGE = 2000;

if (process.argv[2] === '--emulator') await emulatorChild(Number(process.argv[3]));
else await main(process.argv.slice(2));

async function emulatorChild(count) {
  const { startEmulator } = await import('../dist/emulator/index.js');
  const emu = await startEmulator({
    layers: [
      {
        service: 'linesZM',
        generate: { count, geometry: 'polyline', seed: 3, hasZ: true, hasM: true },
        maxRecordCount: PAGE,
      },
    ],
  });
  process.stdout.write(`${JSON.stringify({ url: emu.layerUrl('linesZM') })}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await emu.stop();
    process.exit(0);
  });
}

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** Every page of the layer in one format: total body bytes and features. */
async function wireBytes(url, f, count) {
  let bytes = 0;
  for (let offset = 0; offset < count; offset += PAGE) {
    const body = new URLSearchParams({
      where: '1=1',
      outFields: '*',
      returnGeometry: 'true',
      returnZ: 'true',
      returnM: 'true',
      outSR: '4326',
      orderByFields: 'OBJECTID ASC',
      resultOffset: String(offset),
      resultRecordCount: String(PAGE),
      f,
    });
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      body,
      headers: { 'accept-encoding': 'identity' },
    });
    bytes += (await res.arrayBuffer()).byteLength;
  }
  return bytes;
}

/** Client CPU to decode one page: decodeQueryPbf(bytes) against JSON.parse(text), best of 20. */
async function decodeCost(url) {
  const { decodeQueryPbf } = await import('../dist/features/pbf-decode.js');
  const page = async (f) => {
    const body = new URLSearchParams({
      where: '1=1',
      outFields: '*',
      returnZ: 'true',
      returnM: 'true',
      outSR: '4326',
      resultRecordCount: String(PAGE),
      f,
    });
    return new Uint8Array(await (await fetch(`${url}/query`, { method: 'POST', body })).arrayBuffer());
  };
  const pbf = await page('pbf');
  const json = new TextDecoder().decode(await page('json'));
  const best = (fn) => {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      fn();
      min = Math.min(min, performance.now() - t);
    }
    return (min * 1000) / PAGE;
  };
  return { pbf: best(() => decodeQueryPbf(pbf)), json: best(() => JSON.parse(json)) };
}

async function exportOnce(url, queryFormat, output) {
  const { createTransport } = await import('../dist/http/transport.js');
  const { ArcGISClient } = await import('../dist/client/arcgis-client.js');
  const { exportLayer } = await import('../dist/features/export.js');
  const transport = createTransport({ emit: () => {} });
  const client = new ArcGISClient({ transport });
  const start = performance.now();
  const stats = await exportLayer({
    client,
    layerUrl: url,
    output,
    format: 'geojsonseq',
    concurrency: 4,
    queryFormat,
  });
  const ms = performance.now() - start;
  await transport.close();
  if (stats.queryFormat !== queryFormat) throw new Error(`asked ${queryFormat}, ran ${stats.queryFormat}`);
  return { ms, features: stats.features };
}

async function main(args) {
  const count = option(args, '--features', 50000);
  const reps = option(args, '--reps', 3);
  const child = spawn(process.execPath, [SELF, '--emulator', String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const first = await new Promise((resolve) =>
    createInterface({ input: child.stdout }).once('line', resolve),
  );
  const { url } = JSON.parse(first);
  const dir = await mkdtemp(join(tmpdir(), 'bench-pbf-zm-'));
  try {
    const result = {};
    for (const f of ['pbf', 'json']) {
      await wireBytes(url, f, count); // warm the emulator's page cache
      result[f] = { bytesPerFeature: (await wireBytes(url, f, count)) / count, ms: [] };
    }
    const decode = await decodeCost(url);
    for (let r = 0; r < reps; r++) {
      for (const f of ['pbf', 'json']) {
        const run = await exportOnce(url, f, join(dir, `${f}-${r}.geojsonl`));
        if (run.features !== count) throw new Error(`${f}: ${run.features} of ${count} features`);
        result[f].ms.push(run.ms);
      }
    }
    const rows = ['pbf', 'json'].map((f) => {
      const sorted = [...result[f].ms].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      return {
        format: f,
        bytesPerFeature: Math.round(result[f].bytesPerFeature),
        decodeMicrosPerFeature: Number(decode[f].toFixed(2)),
        featuresPerSecond: Math.round(count / (median / 1000)),
        medianMs: Math.round(median),
      };
    });
    console.log(
      `polylines with Z and M, ${count} features, ${PAGE}-row pages, exportLayer concurrency 4, median of ${reps}`,
    );
    for (const row of rows) {
      console.log(
        `${row.format.padEnd(5)} ${String(row.bytesPerFeature).padStart(6)} B/feature  ${String(row.decodeMicrosPerFeature).padStart(6)} µs/feature to decode  ${String(row.featuresPerSecond).padStart(7)} features/s  (${row.medianMs} ms)`,
      );
    }
    if (args.includes('--json')) console.log(JSON.stringify({ features: count, rows }));
  } finally {
    child.stdin.end();
    await rm(dir, { recursive: true, force: true });
  }
}
