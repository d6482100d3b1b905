/**
 * Exports against a secured emulator: tokens expiring or revoked mid-export, bad passwords, the
 * origin policy, referer-bound tokens, token placement, public layers.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import { isEtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { originOf } from '../../src/core/url.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { createTransport } from '../../src/http/transport.js';
import { fakeAuth } from '../client/fakes.js';
import { expectSameAsSource, pointLayer, readSeq, rig, startSecured, tempDir, USER } from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
const stops: (() => Promise<void>)[] = [];
beforeAll(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});
afterAll(() => tmp.remove());

async function emulator(options: Parameters<typeof startSecured>[0] = {}): Promise<EmulatorHandle> {
  const emu = await startSecured({ layers: [pointLayer('Points', 110)], ...options });
  stops.push(() => emu.stop());
  return emu;
}

let n = 0;
const output = () => tmp.path(`auth-${++n}.geojsonl`);

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A plain node:http server that records what it receives and answers `answer`. */
async function recorder(
  host: string,
  answer: (req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<{ origin: string; received: Recorded[] }> {
  const received: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const a = answer(req);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { origin: `http://${host}:${(server.address() as AddressInfo).port}`, received };
}

function carriesToken(r: Recorded): boolean {
  return (
    /(^|[?&])token=/.test(r.url) ||
    /(^|&)token=/.test(r.body) ||
    r.headers['x-esri-authorization'] !== undefined ||
    r.headers.authorization !== undefined
  );
}

describe('tokens during an export', () => {
  it('refreshes a token that expires mid-export (proactive, clock shared with the server)', async () => {
    const time = new FakeTime(Date.UTC(2026, 0, 1));
    const emu = await emulator({ tokenLifetimeSeconds: 300, now: () => time.now() });
    const r = rig(emu, { authRuntime: time.runtime() });
    stops.push(r.close);
    const out = output();
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      concurrency: 1,
      onProgress: (p) => {
        if (p.pages === 2) time.set(time.now() + 250_000); // inside the 120 s safety window
      },
    });
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    expect(stats.tokensGenerated).toBe(2);
    expect(stats.tokenRefreshes).toBe(1);
    expect(emu.stats().tokens).toBe(2);
    expect(emu.stats().rejected.invalidToken).toBe(0);
  });

  it('recovers when the server says the token expired (reactive: 498 → one refresh)', async () => {
    let serverNow = Date.UTC(2026, 0, 1);
    const emu = await emulator({ tokenLifetimeSeconds: 600, now: () => serverNow });
    const r = rig(emu);
    stops.push(r.close);
    const out = output();
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      concurrency: 1, // page 3 is requested after page 2 is written
      onProgress: (p) => {
        if (p.pages === 2) serverNow += 3_600_000;
      },
    });
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    expect(emu.stats().tokens).toBe(2);
    expect(stats.tokenRefreshes).toBe(1);
    expect(r.client.stats.reauths).toBeGreaterThanOrEqual(1);
    expect(emu.stats().rejected.invalidToken).toBeGreaterThanOrEqual(1);
  });

  it('revokeAll in the middle: exactly one extra token request, the export completes', async () => {
    const emu = await emulator({ layers: [pointLayer('Points', 400)] }); // 16 pages: many still to fetch
    const r = rig(emu);
    stops.push(r.close);
    const out = output();
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      concurrency: 4,
      onProgress: (p) => {
        if (p.pages === 3) emu.revokeAll();
      },
    });
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    expect(emu.stats().tokens).toBe(2);
    expect(stats.tokensGenerated).toBe(2);
    expect(emu.stats().rejected.invalidToken).toBeGreaterThanOrEqual(1);
  });

  it('a wrong password: one token request, BAD_CREDENTIALS, no output file left', async () => {
    const emu = await emulator();
    const r = rig(emu, { password: 'not-the-password' });
    stops.push(r.close);
    const out = output();
    const error = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'BAD_CREDENTIALS')).toBe(true);
    expect((error as Error).message).not.toContain('not-the-password');
    expect(emu.stats().requests.generateToken).toBe(1);
    expect(emu.stats().badLogins).toBe(1);
    expect(emu.stats().requests.query ?? 0).toBe(0);
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });

  it('a token rejected again after the refresh is a clear error, not a loop', async () => {
    const emu = await emulator();
    const transport = createTransport();
    stops.push(() => transport.close());
    const auth = fakeAuth(); // tokens the server never issued: 498 every time
    const client = new ArcGISClient({ transport, auth });
    const out = output();
    const error = await exportLayer({
      client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'TOKEN_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/rejected again after refresh/);
    // the first token and two fresh ones (the second fresh one only because the first was rejected too)
    expect(emu.stats().rejected.invalidToken).toBe(3);
    expect(auth.invalidated).toEqual(['tok-1', 'tok-2']);
    expect(existsSync(out)).toBe(false);
  });
});

describe('origins, referer, placement', () => {
  it('refuses a plain http:// URL on a non-loopback host before any request', async () => {
    const emu = await emulator();
    const r = rig(emu);
    stops.push(r.close);
    const error = await exportLayer({
      client: r.client,
      layerUrl: 'http://gis.example.com/arcgis/rest/services/Points/FeatureServer/0',
      output: output(),
      format: 'geojsonseq',
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'INSECURE_URL')).toBe(true);
    expect(r.transport.stats.requests).toBe(0);
    expect(emu.stats().tokens).toBe(0);
  });

  it('never sends the token to another origin (another port, another loopback address)', async () => {
    const emu = await emulator();
    const r = rig(emu);
    stops.push(r.close);
    // a real export first, so that a token exists and could leak
    await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: output(),
      format: 'geojsonseq',
    });
    const answer499 = () => ({ status: 200, body: '{"error":{"code":499,"message":"Token Required"}}' });
    const samePortOtherHost = await recorder('127.0.0.2', answer499);
    const otherPort = await recorder('127.0.0.1', answer499);
    for (const origin of [samePortOtherHost.origin, otherPort.origin]) {
      const error = await exportLayer({
        client: r.client,
        layerUrl: `${origin}/arcgis/rest/services/Points/FeatureServer/0`,
        output: output(),
        format: 'geojsonseq',
      }).catch((e: unknown) => e);
      expect(isEtlError(error, 'TOKEN_REQUIRED')).toBe(true);
    }
    const received = [...samePortOtherHost.received, ...otherPort.received];
    expect(received.length).toBe(2);
    expect(received.some(carriesToken)).toBe(false);
    // localhost is another origin than 127.0.0.1 for the same port
    expect(await r.auth!.getToken(emu.layerUrl('Points').replace('127.0.0.1', 'localhost'))).toBeUndefined();
    expect(await r.auth!.getToken(emu.layerUrl('Points'))).toBeDefined();
  });

  it('never follows a redirect to another origin with the token', async () => {
    const emu = await emulator();
    const foreign = await recorder('127.0.0.2', () => ({ status: 200, body: '{}' }));
    const redirector = await recorder('127.0.0.1', (req) => ({
      status: 307,
      headers: { location: `${foreign.origin}${req.url}` },
    }));
    const transport = createTransport();
    stops.push(() => transport.close());
    const provider = new GenerateTokenProvider({ tokenUrl: emu.tokenUrl, ...USER, transport });
    const auth = new TokenManager({ provider, scope: [originOf(emu.url), redirector.origin] });
    const client = new ArcGISClient({ transport, auth });
    const error = await exportLayer({
      client,
      layerUrl: `${redirector.origin}/arcgis/rest/services/Points/FeatureServer/0`,
      output: output(),
      format: 'geojsonseq',
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'REDIRECT_BLOCKED')).toBe(true);
    expect(redirector.received.length).toBe(1);
    expect(carriesToken(redirector.received[0]!)).toBe(true); // the trusted origin did get it
    expect(foreign.received).toEqual([]);
  });

  it('a referer-bound token carries its Referer on every request', async () => {
    const emu = await emulator();
    const r = rig(emu, { referer: 'https://app.example.com/' });
    stops.push(r.close);
    const out = output();
    await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
    });
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    expect(emu.stats().rejected.invalidToken).toBe(0);
    expect(emu.stats().tokens).toBe(1);
  });

  for (const placement of ['header', 'query'] as const) {
    it(`works with the token in the ${placement}`, async () => {
      const emu = await emulator();
      const r = rig(emu, { placement });
      stops.push(r.close);
      const out = output();
      await exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('Points'),
        output: out,
        format: 'geojsonseq',
      });
      expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
      expect(emu.stats().rejected).toEqual({ invalidToken: 0, tokenRequired: 0 });
    });
  }

  it('exports a public layer with no credentials at all', async () => {
    const emu = await emulator({ layers: [pointLayer('Open', 60, { secured: false })] });
    const r = rig(emu, { auth: false });
    stops.push(r.close);
    const out = output();
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Open'),
      output: out,
      format: 'geojsonseq',
    });
    expectSameAsSource(emu, 'Open', await readSeq(out), { ordered: true });
    expect(stats.tokensGenerated).toBe(0);
    expect(emu.stats().tokens).toBe(0);
  });

  it('a secured layer without credentials says how to provide them', async () => {
    const emu = await emulator();
    const r = rig(emu, { auth: false });
    stops.push(r.close);
    const error = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: output(),
      format: 'geojsonseq',
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'TOKEN_REQUIRED')).toBe(true);
    expect((error as Error).message).toMatch(/ARCGIS_USERNAME\/ARCGIS_PASSWORD/);
  });
});
