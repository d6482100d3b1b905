/**
 * The auth stack over the real transport (createTransport) against a node:http token server.
 * Time is a FakeTime whose sleeps complete at once but advance the clock: retry delays are exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { discoverTokenUrl } from '../../src/auth/discover.js';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { createTransport, type HttpTransport } from '../../src/http/transport.js';
import { type RunningTokenServer, startTokenServer, type TokenServerBehaviour } from './token-server.js';

const PASSWORD = `integration-pw-${Math.random().toString(36).slice(2)}`;
const open: { server: RunningTokenServer; transport: HttpTransport }[] = [];

afterEach(async () => {
  for (const { server, transport } of open.splice(0)) {
    await transport.close();
    await server.close();
  }
});

async function stack(behaviour: Partial<TokenServerBehaviour> & { skewMs?: number } = {}) {
  const time = new FakeTime(Date.now());
  const events: EtlEvent[] = [];
  const server = await startTokenServer({
    now: () => time.now() + (behaviour.skewMs ?? 0),
    password: PASSWORD,
    ...behaviour,
  });
  const runtime = time.instantRuntime(() => 0.5);
  const transport = createTransport({ runtime, emit: (e) => events.push(e) });
  open.push({ server, transport });
  const serviceUrl = `${server.origin}/server/rest/services/Parcels/FeatureServer/0`;
  const found = await discoverTokenUrl(serviceUrl, transport);
  const provider = new GenerateTokenProvider({
    tokenUrl: found.tokenUrl!,
    username: 'etl-bot',
    password: PASSWORD,
    transport,
  });
  const manager = new TokenManager({ provider, runtime, emit: (e) => events.push(e) });
  return { time, server, transport, manager, events, serviceUrl, found };
}

describe('TokenManager + GenerateTokenProvider over the real transport', () => {
  it('discovers the token URL, then 1,000 concurrent cold calls make one POST with a form body', async () => {
    const { server, manager, serviceUrl, found } = await stack();
    expect(found.tokenUrl).toBe(`${server.origin}/server/tokens/generateToken`);
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => manager.getToken(serviceUrl)));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe(server.issued[0]);
    expect(server.tokenRequests()).toBe(1);
    const request = server.seen.find((s) => s.path.endsWith('/generateToken'))!;
    expect(request.method).toBe('POST');
    expect(request.query).toBe('');
    expect(Object.fromEntries(request.form)).toEqual({
      username: 'etl-bot',
      password: PASSWORD,
      client: 'requestip',
      expiration: '60',
      f: 'json',
    });
  });

  it('honours Retry-After on a 429 during generation, then succeeds', async () => {
    const { server, manager, serviceUrl, time, events } = await stack({
      script: ['429'],
      retryAfterSeconds: 7,
    });
    const before = time.now();
    const token = await manager.getToken(serviceUrl);
    expect(token).toBe(server.issued[0]);
    expect(server.tokenRequests()).toBe(2);
    expect(time.sleeps).toEqual([7000]);
    expect(time.now() - before).toBe(7000);
    expect(events.find((e) => e.type === 'request.retry')).toMatchObject({ delayMs: 7000 });
  });

  it('bad credentials: exactly one request and BAD_CREDENTIALS, even with retries configured', async () => {
    const { server, manager, serviceUrl, time } = await stack({ script: ['bad-credentials'] });
    await expect(manager.getToken(serviceUrl)).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    await expect(manager.getToken(serviceUrl)).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    expect(server.tokenRequests()).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it('a token endpoint that keeps failing gives RETRIES_EXHAUSTED, not cached; the next call succeeds', async () => {
    const { server, manager, serviceUrl } = await stack({
      script: ['503', '503', '503', '503', '503', '503'],
    });
    await expect(manager.getToken(serviceUrl)).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
      attempts: 6,
    });
    expect(server.tokenRequests()).toBe(6);
    const token = await manager.getToken(serviceUrl);
    expect(token).toBe(server.issued[0]);
    expect(server.tokenRequests()).toBe(7);
  });

  it('corrects the skew of a server whose clock is 10 minutes ahead, from its Date header', async () => {
    const { manager, serviceUrl, time, server } = await stack({
      skewMs: 10 * 60_000,
      lifetimeMs: 5 * 60_000,
    });
    await manager.getToken(serviceUrl);
    const expected = time.now() + 5 * 60_000;
    // The Date header has a one-second resolution.
    expect(Math.abs(manager.expiresAt! - expected)).toBeLessThan(1000);
    await time.advance(5 * 60_000);
    await manager.getToken(serviceUrl);
    expect(server.tokenRequests()).toBe(2);
  });

  it('puts no password or token in any event', async () => {
    const { manager, serviceUrl, events, server } = await stack({ script: ['429'] });
    const token = (await manager.getToken(serviceUrl))!;
    await manager.invalidate(token, '498');
    await manager.getToken(serviceUrl);
    const text = JSON.stringify(events);
    expect(events.length).toBeGreaterThan(3);
    expect(text).not.toContain(PASSWORD);
    for (const t of server.issued) expect(text).not.toContain(t);
  });
});
