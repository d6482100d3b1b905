import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { createTransport } from '../../src/http/transport.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = hasOpenssl();
let dir = '';
let caPem = '';
let server: Server | undefined;
let origin = '';
let served = 0;

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'arcgis-etl-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=arcgis-etl test CA',
  );
  run('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const https = createServer(
    { key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) },
    (_req, res) => {
      served++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"currentVersion":11.3}');
    },
  );
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  server = https;
  origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available)('private CA', () => {
  it('fails at once (no retries) on an untrusted certificate', async () => {
    const time = new FakeTime();
    const transport = createTransport({ runtime: time.instantRuntime(), emit: () => {} });
    try {
      await transport.request(`${origin}/arcgis/rest/info`);
      expect.unreachable();
    } catch (error) {
      expect(isEtlError(error, 'NETWORK_ERROR')).toBe(true);
      expect(time.sleeps).toEqual([]);
      expect(transport.stats.requests).toBe(1);
    } finally {
      await transport.close();
    }
    expect(served).toBe(0);
  });

  it('trusts a private CA given with the ca option', async () => {
    const transport = createTransport({
      runtime: new FakeTime().instantRuntime(),
      emit: () => {},
      ca: caPem,
    });
    try {
      const response = await transport.request(`${origin}/arcgis/rest/info`, { method: 'GET' });
      expect(response.body).toEqual({ currentVersion: 11.3 });
      expect(served).toBe(1);
    } finally {
      await transport.close();
    }
  });
});
