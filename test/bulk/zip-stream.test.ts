/**
 * Zips from export jobs are read from their file as streams: a GeoJSON zip of 200,000 points is
 * parsed to the exact set by a process whose heap is too small to hold the document (the compiled
 * parser in a child process with --max-old-space-size), and hostile entry names are refused.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import { zipFiles } from '../../src/emulator/replica/zip.js';
import { parseDownload } from '../../src/features/bulk/parse.js';
import { extractZip } from '../../src/features/bulk/zip.js';
import { tempDir } from './helpers.js';

const WORKER = fileURLToPath(new URL('./fixtures/parse-worker.mjs', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function dir(): Promise<string> {
  const made = await tempDir('arcgis-etl-zip-');
  cleanups.push(made.remove);
  return made.dir;
}

/** A FeatureCollection of `count` points: feature n has id n, n, `point n` and (n/1e4, -n/1e4). */
function collection(count: number): Buffer {
  const parts = ['{"type":"FeatureCollection","name":"pts","features":['];
  for (let n = 1; n <= count; n++) {
    parts.push(
      `${n > 1 ? ',' : ''}{"type":"Feature","id":${n},"properties":{"n":${n},"name":"point ${n}"},"geometry":{"type":"Point","coordinates":[${n / 1e4},${-n / 1e4}]}}`,
    );
  }
  parts.push(']}');
  return Buffer.from(parts.join(''));
}

function runWorker(
  args: string[],
  heapMb: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, WORKER, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('zips read from their file as streams', () => {
  it('a GeoJSON zip of 200,000 points is parsed to the exact set within a 40 MB heap', async () => {
    const root = await dir();
    const document = collection(200_000);
    // 26 MB of JSON: parsed whole (JSON.parse of the entry), it needs over 64 MB of heap
    expect(document.length).toBeGreaterThan(25 * 2 ** 20);
    const zip = join(root, 'download');
    await writeFile(zip, zipFiles([{ name: 'export/pts.geojson', data: document }]));
    const work = join(root, 'work');
    await mkdir(work);
    const { code, out, err } = await runWorker([zip, work], 40);
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(out) as { datasets: unknown[]; peakHeapMb: number };
    expect(result.datasets).toEqual([{ name: 'pts', count: 200_000, wrong: 0 }]);
    // the limit above bounds the old space; heapUsed adds the young generation, larger on newer
    // Node (Node 24 peaked at 45 MB here): still far below what the whole document would need
    expect(result.peakHeapMb).toBeLessThan(64);
  }, 120_000);

  it.each([
    ['../evil.geojson', 'a parent folder'],
    ['/evil.geojson', 'an absolute path'],
    ['a/../../evil.geojson', 'a parent folder inside'],
  ])('refuses an entry named %s (%s), writing nothing outside its folder', async (name) => {
    const root = await dir();
    const zip = join(root, 'download');
    await writeFile(
      zip,
      zipFiles([
        { name: 'fine.geojson', data: collection(3) },
        { name, data: collection(2) },
      ]),
    );
    const work = join(root, 'work', 'inner');
    await mkdir(work, { recursive: true });
    const error = await parseDownload(zip, work).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('DOWNLOAD_INVALID');
    expect((error as EtlError).message).toMatch(/not a valid zip \(invalid relative path|absolute path/);
    expect((await readdir(root)).sort()).toEqual(['download', 'work']);
    expect(await readdir(join(root, 'work'))).toEqual(['inner']);
  });

  it('refuses an entry whose data does not match its CRC, and a cut archive', async () => {
    const root = await dir();
    const zip = join(root, 'download');
    const good = zipFiles([{ name: 'a.geojson', data: collection(50) }]);
    const work = join(root, 'work');
    await mkdir(work);
    // a byte of the stored CRC changed: the entry unpacks, and does not match
    const crcAt = 14; // local header: signature, version, flags, method, time, date, then the CRC
    const badCrc = Buffer.from(good);
    badCrc[crcAt] = badCrc[crcAt]! ^ 0xff;
    const central = badCrc.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    badCrc[central + 16] = badCrc[central + 16]! ^ 0xff;
    await writeFile(zip, badCrc);
    await expect(parseDownload(zip, work)).rejects.toThrow(/not a valid zip \(.*crc/i);
    await writeFile(zip, good.subarray(0, good.length - 30));
    await expect(parseDownload(zip, work)).rejects.toThrow(/not a valid zip/);
  });

  it('refuses an archive that unpacks beyond the bound', async () => {
    const root = await dir();
    const zip = join(root, 'download');
    await writeFile(zip, zipFiles([{ name: 'a.geojson', data: collection(1000) }]));
    await expect(extractZip(zip, root, ['.geojson'], 1000)).rejects.toThrow(
      /unpacks to more than 1000 bytes/,
    );
  });
});
