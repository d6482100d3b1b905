/**
 * --attachments against the emulator: every file downloaded once with the token and its sha256 in
 * the manifest; a rerun after an interrupted run downloads only what is missing; hostile names
 * stay inside the folder; per-feature listing when queryAttachments is not offered; downloads
 * through injected faults.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type AttachmentEntry, downloadAttachments } from '../../src/features/attachments/download.js';
import { safeFileName } from '../../src/features/attachments/names.js';
import type { RequestOptions, Transport } from '../../src/http/types.js';
import { pointLayer, rig, startSecured, type TempDir, tempDir } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: TempDir;
const uploaded = new Map<string, Uint8Array>();

const HOSTILE = [
  '../../escape.txt',
  '/etc/passwd',
  'nul\u0000byte.txt',
  '..',
  '..\\..\\win.txt',
  'a/../../b.bin',
];

async function addAttachment(service: string, oid: number, name: string, data: Uint8Array, type: string) {
  const r = rig(emu);
  const token = await r.auth!.getToken(emu.layerUrl(service));
  await r.close();
  const form = new FormData();
  form.append('f', 'json');
  form.append('token', token);
  form.append('attachment', new Blob([data], { type }), name);
  const res = await fetch(`${emu.layerUrl(service)}/${oid}/addAttachment`, { method: 'POST', body: form });
  const body = (await res.json()) as { addAttachmentResult?: { objectId: number } };
  const id = body.addAttachmentResult?.objectId;
  if (id === undefined) throw new Error(`addAttachment failed: ${JSON.stringify(body)}`);
  uploaded.set(`${service}/${oid}/${id}`, data);
  return id;
}

function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

beforeAll(async () => {
  emu = await startSecured({
    layers: [
      pointLayer('Photos', 12, { editing: {} }),
      pointLayer('Legacy', 6, { editing: { queryAttachments: false } }),
      pointLayer('Hostile', 3, { editing: {} }),
    ],
  });
  tmp = await tempDir('arcgis-etl-attachments-');
  for (const oid of [1, 2, 5, 9, 12]) {
    await addAttachment('Photos', oid, `photo ${oid}.jpg`, bytes(oid, 5000 + oid * 7), 'image/jpeg');
  }
  await addAttachment('Photos', 2, 'report.pdf', bytes(99, 20_000), 'application/pdf');
  await addAttachment(
    'Photos',
    5,
    'notes.txt',
    new TextEncoder().encode('plain text {not json}\n'),
    'text/plain',
  );
  await addAttachment('Photos', 9, 'data.json', new TextEncoder().encode('{"a":1}'), 'application/json');
  for (const oid of [2, 4])
    await addAttachment('Legacy', oid, `scan-${oid}.png`, bytes(oid + 50, 3000), 'image/png');
  let n = 0;
  for (const name of HOSTILE)
    await addAttachment('Hostile', 1 + (n++ % 3), name, bytes(n, 100), 'text/plain');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

async function download(service: string, dir: string) {
  const r = rig(emu);
  try {
    return await downloadAttachments({ client: r.client, layerUrl: emu.layerUrl(service), dir });
  } finally {
    await r.close();
  }
}

async function manifest(dir: string): Promise<AttachmentEntry[]> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as AttachmentEntry[];
}

async function expectFilesMatch(service: string, dir: string): Promise<void> {
  const entries = await manifest(dir);
  const expected = [...uploaded.keys()].filter((k) => k.startsWith(`${service}/`));
  expect(entries.map((e) => `${service}/${e.oid}/${e.id}`).sort()).toEqual(expected.sort());
  for (const e of entries) {
    const data = uploaded.get(`${service}/${e.oid}/${e.id}`)!;
    const onDisk = await readFile(join(dir, e.path));
    expect(Buffer.compare(onDisk, Buffer.from(data))).toBe(0);
    expect(e.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(e.size).toBe(data.byteLength);
  }
}

describe('downloadAttachments', () => {
  it('downloads every attachment once (queryAttachments), with matching sha256 in the manifest', async () => {
    const dir = tmp.path('photos');
    emu.resetStats();
    const stats = await download('Photos', dir);
    expect(stats).toMatchObject({ attachments: 8, downloaded: 8, skipped: 0, listing: 'queryAttachments' });
    expect(emu.stats().requests.attachmentData).toBe(8);
    await expectFilesMatch('Photos', dir);
    const entries = await manifest(dir);
    expect(entries.find((e) => e.name === 'report.pdf')).toMatchObject({
      oid: 2,
      contentType: 'application/pdf',
    });
    expect(entries.map((e) => e.path)).toContain(
      `2/${entries.find((e) => e.name === 'report.pdf')!.id}-report.pdf`,
    );
  });

  it('after an interrupted run, a rerun downloads only what is missing', async () => {
    const dir = tmp.path('photos');
    const entries = await manifest(dir);
    // the run was killed: no manifest yet, two files not downloaded, a temp file left behind
    await rm(join(dir, 'manifest.json'));
    await rm(join(dir, entries[0]!.path));
    await rm(join(dir, entries[5]!.path));
    await writeFile(join(dir, `${entries[3]!.path}.dead.part`), 'half');
    emu.resetStats();
    const stats = await download('Photos', dir);
    expect(stats).toMatchObject({ attachments: 8, downloaded: 2, skipped: 6 });
    expect(emu.stats().requests.attachmentData).toBe(2);
    await expectFilesMatch('Photos', dir);
    // a file changed on disk no longer matches the manifest's hash: it is downloaded again
    const changed = join(dir, entries[2]!.path);
    const original = await readFile(changed);
    original[0] = (original[0]! + 1) % 256;
    await writeFile(changed, original);
    emu.resetStats();
    expect(await download('Photos', dir)).toMatchObject({ downloaded: 1, skipped: 7 });
    await expectFilesMatch('Photos', dir);
  });

  it('a run stopped mid-way (aborted) leaves whole files only; the rerun downloads the rest, each once', async () => {
    const dir = tmp.path('photos-aborted');
    const r = rig(emu);
    const stop = new AbortController();
    let downloads = 0;
    const inner = r.transport;
    const counting: Transport = {
      stats: inner.stats,
      close: () => inner.close(),
      request: async <T>(url: string, options?: RequestOptions) => {
        const answer = await inner.request<T>(url, options);
        if (/\/attachments\/\d+$/.test(url) && ++downloads === 3) stop.abort(new Error('killed'));
        return answer;
      },
    };
    const client = new ArcGISClient({ transport: counting, auth: r.auth });
    emu.resetStats();
    await expect(
      downloadAttachments({
        client,
        layerUrl: emu.layerUrl('Photos'),
        dir,
        concurrency: 1,
        signal: stop.signal,
      }),
    ).rejects.toThrow();
    await r.close();
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    const done = emu.stats().requests.attachmentData ?? 0;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(8);
    emu.resetStats();
    const stats = await download('Photos', dir);
    expect(stats.downloaded + stats.skipped).toBe(8);
    expect(emu.stats().requests.attachmentData).toBe(stats.downloaded);
    expect(stats.downloaded).toBeLessThanOrEqual(8 - 2);
    await expectFilesMatch('Photos', dir);
  });

  it('lists per feature when queryAttachments is not offered, and downloads through faults', async () => {
    const dir = tmp.path('legacy');
    emu.setFaults({ rates: { http503: 0.3 }, scope: 'all', retryAfterSeconds: 0 }, 5);
    try {
      const stats = await download('Legacy', dir);
      expect(stats).toMatchObject({ attachments: 2, downloaded: 2, listing: 'perFeature' });
    } finally {
      emu.setFaults({});
    }
    await expectFilesMatch('Legacy', dir);
  });

  it('hostile names are sanitised and cannot escape the folder', async () => {
    const dir = tmp.path('hostile/inside');
    const outsideBefore = await readdir(tmp.dir);
    const stats = await download('Hostile', dir);
    expect(stats.downloaded).toBe(HOSTILE.length);
    expect(await readdir(tmp.dir)).toEqual([...outsideBefore, 'hostile'].sort());
    // the server kept the names as uploaded
    expect((await manifest(dir)).map((e) => e.name).sort()).toEqual([...HOSTILE].sort());
    expect(await readdir(tmp.path('hostile'))).toEqual(['inside']);
    for (const e of await manifest(dir)) {
      expect(e.path).toMatch(/^\d+\/\d+-[^/\\\u0000]+$/);
      expect(resolve(dir, e.path).startsWith(`${resolve(dir)}/`)).toBe(true);
    }
    await expectFilesMatch('Hostile', dir);
    expect(safeFileName('../../x')).toBe('_.._x');
    expect(safeFileName('..')).toBe('attachment');
    expect(safeFileName('a\u0000b')).toBe('ab');
  });
});
