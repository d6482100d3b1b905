/**
 * The REAL @esri/arcgis-rest-request, given our adapter as `authentication`, against the emulator:
 * the cases where that library alone goes wrong.
 */
import { ArcGISAuthError, request } from '@esri/arcgis-rest-request';
import { describe, expect, it } from 'vitest';
import { FederatedAuthenticator } from '../../src/auth/federation.js';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { REST_JS_NODE_REFERER, toArcGISRestAuthentication } from '../../src/auth/rest-js-adapter.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import type { HttpResponse, RequestOptions, Transport } from '../../src/http/types.js';
import { type Env, emulatorEnv } from './emulators.js';
import { rejection, Transcript } from './helpers.js';

/** The real transport, with a switch that makes the token endpoint answer 503 (retries exhausted). */
function flaky(inner: Transport): Transport & { down: boolean; tokenCalls: number } {
  const wrapper = {
    down: false,
    tokenCalls: 0,
    get stats() {
      return inner.stats;
    },
    async request<T>(url: string, options?: RequestOptions): Promise<HttpResponse<T>> {
      if (/generateToken/i.test(url)) {
        wrapper.tokenCalls++;
        if (wrapper.down) {
          throw new EtlError('RETRIES_EXHAUSTED', `Request to ${url} gave up after 4 attempts (HTTP 503)`, {
            status: 503,
            attempts: 4,
          });
        }
      }
      return inner.request<T>(url, options);
    },
    close: () => inner.close(),
  };
  return wrapper;
}

function serverManager(env: Env, transport: Transport, t: Transcript) {
  return new TokenManager({
    provider: new GenerateTokenProvider({
      tokenUrl: env.emu.tokenUrl,
      username: env.user.username,
      password: env.user.password,
      transport,
    }),
    runtime: env.time.runtime(),
    emit: t.emit,
  });
}

const QUERY = { params: { where: '1=1', f: 'json' as const } };

describe('arcgis-rest-js interop (toArcGISRestAuthentication)', () => {
  it('5 concurrent 498s → 1 token request, all 5 requests succeed', async () => {
    const env = await emulatorEnv();
    const t = new Transcript();
    const manager = serverManager(env, env.transport, t);
    const authentication = toArcGISRestAuthentication(manager, {
      portal: env.emu.portalUrl,
      clock: env.time,
    });
    const url = `${env.layerUrl}/query`;
    await request(url, { ...QUERY, authentication });
    expect(env.emu.stats().tokensIssued.server).toBe(1);
    env.emu.revokeAll(); // every request now meets a 498
    const pages = await Promise.all(
      Array.from(
        { length: 5 },
        () => request(url, { ...QUERY, authentication }) as Promise<{ features: unknown[] }>,
      ),
    );
    expect(pages.every((p) => p.features.length === 10)).toBe(true);
    const stats = env.emu.stats();
    expect(stats.rejected.invalidToken).toBe(5);
    expect(stats.tokensIssued.server).toBe(2);
    expect(manager.stats).toMatchObject({ generated: 2, refreshed: 1, invalidated: 1 });
    expect(authentication.portal).toBe(`${env.emu.portalUrl}/sharing/rest`);
    t.expectClean(env.user.password);
  });

  it('a failed refresh is not remembered: the request fails, the next one (server recovered) succeeds', async () => {
    const env = await emulatorEnv();
    const t = new Transcript();
    const transport = flaky(env.transport);
    const manager = serverManager(env, transport, t);
    const authentication = toArcGISRestAuthentication(manager, { clock: env.time });
    const url = `${env.layerUrl}/query`;
    await request(url, { ...QUERY, authentication });
    env.emu.revokeAll();
    transport.down = true;
    const error = await rejection(request(url, { ...QUERY, authentication }), t);
    expect(error).toBeInstanceOf(EtlError);
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    transport.down = false;
    const page = (await request(url, { ...QUERY, authentication })) as { features: unknown[] };
    expect(page.features).toHaveLength(10);
    expect(env.emu.stats().tokensIssued.server).toBe(2);
    expect(transport.tokenCalls).toBe(3);
    expect(manager.stats.failed).toBe(1);
    t.expectClean(env.user.password);
  });

  it('a federated server 498 → a new server token (the portal token is kept)', async () => {
    const serverTime = new FakeTime(Date.now());
    const clientTime = new FakeTime(serverTime.now());
    const env = await emulatorEnv({ federation: { enabled: true } }, serverTime);
    const portalAuth = new TokenManager({
      provider: new GenerateTokenProvider({
        tokenUrl: `${env.emu.portalUrl}/sharing/rest/generateToken`,
        username: env.user.username,
        password: env.user.password,
        transport: env.transport,
      }),
      runtime: clientTime.runtime(),
    });
    const federated = new FederatedAuthenticator({
      portal: env.emu.portalUrl,
      portalAuth,
      transport: env.transport,
      runtime: clientTime.runtime(),
      referer: REST_JS_NODE_REFERER,
      expirationMinutes: 5,
    });
    const authentication = toArcGISRestAuthentication(federated, { clock: clientTime });
    const url = `${env.layerUrl}/query`;
    await request(url, { ...QUERY, authentication });
    expect(env.emu.stats().tokensIssued).toMatchObject({ portal: 1, federated: 1 });
    await serverTime.advance(6 * 60_000); // the server token expired at the server; we do not know it yet
    const pages = await Promise.all([1, 2, 3].map(() => request(url, { ...QUERY, authentication })));
    expect(pages).toHaveLength(3);
    const stats = env.emu.stats();
    expect(stats.rejected.invalidToken).toBeGreaterThanOrEqual(1);
    expect(stats.tokensIssued).toMatchObject({ portal: 1, federated: 2 });
    expect(portalAuth.stats.invalidated).toBe(0);
  });

  it('a static token cannot refresh: arcgis-rest-js surfaces its ArcGISAuthError without looping', async () => {
    const apiKey = `AAPK-${Math.random().toString(36).slice(2)}-key`;
    const env = await emulatorEnv({ apiKeys: [apiKey] });
    const { StaticTokenProvider } = await import('../../src/auth/static-token.js');
    const manager = new TokenManager({
      provider: new StaticTokenProvider({ token: apiKey, scope: [env.layerUrl] }),
      runtime: env.time.runtime(),
    });
    const authentication = toArcGISRestAuthentication(manager);
    expect(authentication.canRefresh).toBe(false);
    env.emu.revokeAll();
    const error = await rejection(request(`${env.layerUrl}/query`, { ...QUERY, authentication }));
    expect(error).toBeInstanceOf(ArcGISAuthError);
    expect(env.emu.stats().requests.query).toBe(1);
  });
});
