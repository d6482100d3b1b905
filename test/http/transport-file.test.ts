/**
 * `responseType: 'file'`: a download streamed into a file, hashed on the way (memory stays at one
 * chunk); a body cut short is retried from the start; a JSON error envelope is an error, not a file.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { createTransport, type HttpTransport } from '../../src/http/transport.js';
import type { FileBody } from '../../src/http/types.js';
import { type Handler, startServer, type TestServer } from './server.js';

let server: TestServer | undefined;
let transport: HttpTransport | undefined;
let dir: string | undefined;

async function setup(handler: Handler) {
  server = await startServer(handler);
  // a budget smaller than the file: a buffered read would wait for room forever
  transport = createTransport({
    runtime: new FakeTime().instantRuntime(() => 0.5),
    emit: () => {},
    maxBufferedBytes: 256 * 1024,
  });
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-file-'));
  return { transport, url: `${server.origin}/arcgis/rest/services/A/FeatureServer/0/3/attachments/1`, dir };
}

afterEach(async () => {
  await transport?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  transport = undefined;
  server = undefined;
  dir = undefined;
});

const DATA = Buffer.alloc(3 * 1024 * 1024 + 17, 7).map((_, i) => i % 251);

describe('transport, downloads into a file', () => {
  it('streams the body into the file and answers its size and sha256', async () => {
    const { transport, url, dir } = await setup((_q, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': DATA.length });
      // in pieces, as a large body arrives
      for (let i = 0; i < DATA.length; i += 65536) res.write(DATA.subarray(i, i + 65536));
      res.end();
    });
    const path = join(dir, 'photo.jpg');
    const res = await transport.request<FileBody>(url, { method: 'GET', responseType: 'file', toFile: path });
    expect(res.body.bytes).toBe(DATA.length);
    expect(res.body.sha256).toBe(createHash('sha256').update(DATA).digest('hex'));
    expect((await readFile(path)).equals(DATA)).toBe(true);
  });

  it('a body cut short is retried, and the file holds the whole second answer', async () => {
    let calls = 0;
    const { transport, url, dir } = await setup((_q, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': DATA.length });
      if (calls === 1) {
        res.write(DATA.subarray(0, 1000));
        res.destroy();
        return;
      }
      res.end(DATA);
    });
    const path = join(dir, 'cut.bin');
    const res = await transport.request<FileBody>(url, { method: 'GET', responseType: 'file', toFile: path });
    expect(calls).toBe(2);
    expect(res.body.bytes).toBe(DATA.length);
    expect((await readFile(path)).equals(DATA)).toBe(true);
  });

  it('a JSON error envelope is an error', async () => {
    const { transport, url, dir } = await setup((_q, res) => {
      const body = JSON.stringify({ error: { code: 400, message: 'Invalid attachment', details: [] } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    const answer = transport.request(url, { method: 'GET', responseType: 'file', toFile: join(dir, 'x') });
    await expect(answer).rejects.toSatisfy((e) => isEtlError(e, 'ARCGIS_ERROR'));
  });
});
