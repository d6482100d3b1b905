// Helpers shared by the benchmarks that run clients as child processes (export.mjs, koop.mjs).
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/**
 * Runs a command, sampling its peak RSS (VmHWM) and its CPU time (user + system, as of the last
 * sample: up to 10 ms short) from /proc while it runs; `env` replaces ours.
 */
export function measure(command, argv, { env } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    let hwmKb = 0;
    let cpuMs = 0;
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setInterval(async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        if (kb > hwmKb) hwmKb = kb;
        // fields 14 and 15 of /proc/<pid>/stat (after the command name in parentheses): clock ticks
        const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]);
        if (ticks * 10 > cpuMs) cpuMs = ticks * 10;
      } catch {
        // exited
      }
    }, 10);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const ms = performance.now() - start;
      if (code !== 0) reject(new Error(`${command} exited ${code}: ${stderr.slice(-500)}`));
      else resolve({ stdout, ms, hwmKb, cpuMs });
    });
  });
}

export async function countLines(path) {
  let n = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) if (line.trim()) n++;
  return n;
}

export async function hasOgr2ogr() {
  try {
    await measure('ogr2ogr', ['--version']);
    return true;
  } catch {
    return false;
  }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Writes Esri JSON features as GeoJSONSeq (Terraformer, as a queryAllFeatures user would), in 1 MiB chunks. */
export async function writeEsriAsGeoJSONSeq(features, output) {
  const { arcgisToGeoJSON } = await import('@terraformer/arcgis');
  const out = createWriteStream(output);
  let chunk = '';
  for (const f of features) {
    chunk += `${JSON.stringify(arcgisToGeoJSON(f, 'OBJECTID'))}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise((r) => out.once('finish', r));
}

/**
 * A bench's emulator process: generated `points` and `polygons` layers (optional latency), their
 * URLs printed as one JSON line, stopped when stdin ends.
 */
export async function emulatorChild([points, polygons, latency], page) {
  const { startEmulator } = await import('../dist/emulator/index.js');
  const emu = await startEmulator({
    ...(Number(latency) > 0 ? { faults: { latencyMs: Number(latency) } } : {}),
    layers: [
      {
        service: 'points',
        generate: { count: Number(points), geometry: 'point', seed: 1 },
        maxRecordCount: page,
      },
      {
        service: 'polygons',
        generate: { count: Number(polygons), geometry: 'mixed-polygon', seed: 2 },
        maxRecordCount: page,
      },
    ],
  });
  process.stdout.write(
    `${JSON.stringify({ points: emu.layerUrl('points'), polygons: emu.layerUrl('polygons') })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await emu.stop();
    process.exit(0);
  });
}
