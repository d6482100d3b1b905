/** ClientCredentialsProvider against a scripted transport: parameters, units, errors. */
import { describe, expect, it } from 'vitest';
import { ClientCredentialsProvider } from '../../src/auth/oauth-client-credentials.js';
import { deriveStoreKey } from '../../src/auth/store-key.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { FakeTransport } from '../auth/fake-transport.js';
import { rejection, Transcript, uniqueSecret } from './helpers.js';

const PORTAL = 'https://gis.example.com/portal';
const TOKEN_URL = `${PORTAL}/sharing/rest/oauth2/token`;

function setup(answer: (n: number) => unknown, options: { serverSkewMs?: number; sendDate?: boolean } = {}) {
  const time = new FakeTime();
  const secret = uniqueSecret('app-secret');
  let n = 0;
  const transport = new FakeTransport().otherwise(() => {
    n++;
    const serverNow = time.now() + (options.serverSkewMs ?? 0);
    return {
      body: answer(n),
      serverDate: options.sendDate === false ? undefined : Math.floor(serverNow / 1000) * 1000,
    };
  });
  const transcript = new Transcript();
  const provider = new ClientCredentialsProvider({
    portal: PORTAL,
    clientId: 'etl-app',
    clientSecret: secret,
    transport,
    clock: time,
    expirationMinutes: 90,
  });
  const manager = new TokenManager({ provider, runtime: time.runtime(), emit: transcript.emit });
  return { time, secret, transport, provider, manager, transcript };
}

describe('ClientCredentialsProvider', () => {
  it('POSTs grant_type=client_credentials with the secret in the form body only, expiration in minutes', async () => {
    const { transport, manager, secret, transcript } = setup((n) => ({
      access_token: `app-token-${n}-abcdefgh`,
      expires_in: 7200,
    }));
    const token = await manager.getToken(`${PORTAL}/sharing/rest/portals/self`);
    expect(token).toBe('app-token-1-abcdefgh');
    expect(transport.calls).toHaveLength(1);
    const call = transport.calls[0]!;
    expect(call.url).toBe(TOKEN_URL);
    expect(call.url).not.toContain(secret);
    expect(call.options.method).toBe('POST');
    expect(call.options.redirect).toBe('error');
    expect(call.options.params).toEqual({
      grant_type: 'client_credentials',
      client_id: 'etl-app',
      client_secret: secret,
      expiration: 90,
      f: 'json',
    });
    transcript.expectClean(secret, token);
  });

  it('reads expires_in as SECONDS from the server Date: expiresAt = now + s*1000, skew removed', async () => {
    const skew = 5 * 60_000; // the server clock runs 5 minutes ahead
    const { time, manager } = setup(() => ({ access_token: 'tok-skewed-abcdefgh', expires_in: 3600 }), {
      serverSkewMs: skew,
    });
    const start = time.now();
    await manager.getToken(`${PORTAL}/sharing/rest`);
    expect(manager.expiresAt).toBe(start + 3_600_000);
  });

  it('without a Date header, expires_in counts from the local clock', async () => {
    const { time, provider } = setup(() => ({ access_token: 'tok-nodate-abcdefgh', expires_in: 60 }), {
      sendDate: false,
    });
    const grant = await provider.fetchToken({ reason: 'initial' });
    expect(grant.expires).toBe(time.now() + 60_000);
    expect(grant.serverDate).toBeUndefined();
  });

  it('refreshes like any token: inside the safety window a new one is fetched, once', async () => {
    const { time, transport, manager } = setup((n) => ({
      access_token: `app-${n}-abcdefgh`,
      expires_in: 1800,
    }));
    const url = `${PORTAL}/sharing/rest/content`;
    expect(await manager.getToken(url)).toBe('app-1-abcdefgh');
    await time.advance(1800_000 - 119_000);
    const again = await Promise.all([manager.getToken(url), manager.getToken(url), manager.getToken(url)]);
    expect(again).toEqual(['app-2-abcdefgh', 'app-2-abcdefgh', 'app-2-abcdefgh']);
    expect(transport.calls).toHaveLength(2);
    expect(manager.stats).toMatchObject({ generated: 2, refreshed: 1 });
  });

  it('derives the store key from the client id and token URL, never from the secret', () => {
    const { provider, secret } = setup(() => ({}));
    const other = new ClientCredentialsProvider({
      portal: PORTAL,
      clientId: 'etl-app',
      clientSecret: uniqueSecret('another'),
      transport: new FakeTransport(),
    });
    expect(deriveStoreKey(provider)).toBe(deriveStoreKey(other));
    expect(deriveStoreKey(provider)).not.toContain(secret);
    const otherApp = new ClientCredentialsProvider({
      portal: PORTAL,
      clientId: 'another-app',
      clientSecret: secret,
      transport: new FakeTransport(),
    });
    expect(deriveStoreKey(otherApp)).not.toBe(deriveStoreKey(provider));
  });

  it('an invalid secret is BAD_CREDENTIALS at once: one request, never retried, sticky, secret-free', async () => {
    const { secret, transport, manager, transcript } = setup(() => ({}));
    const refusal = new EtlError('ARCGIS_ERROR', 'ArcGIS error 400: Invalid client_secret', {
      status: 200,
      arcgisCode: 400,
      url: TOKEN_URL,
    });
    transport.otherwise({ error: refusal });
    const url = `${PORTAL}/sharing/rest`;
    const first = await rejection(manager.getToken(url), transcript);
    expect(first.code).toBe('BAD_CREDENTIALS');
    const second = await rejection(manager.getToken(url), transcript);
    expect(second.code).toBe('BAD_CREDENTIALS');
    expect(transport.calls).toHaveLength(1);
    const retry = transport.calls[0]!.options.retry;
    expect(retry === false ? [] : retry?.statuses).not.toContain(400);
    transcript.expectClean(secret);
  });

  it('the plain OAuth error shape ({"error":"invalid_client"}) is a refusal too', async () => {
    const { provider, transcript, secret } = setup(() => ({
      error: 'invalid_client',
      error_description: 'Invalid client credentials',
    }));
    const error = await rejection(provider.fetchToken({ reason: 'initial' }), transcript);
    expect(error.code).toBe('BAD_CREDENTIALS');
    transcript.expectClean(secret);
  });

  it('an answer without a numeric expires_in is TOKEN_RESPONSE_INVALID', async () => {
    const { provider } = setup(() => ({ access_token: 'tok-noexp-abcdefgh' }));
    expect((await rejection(provider.fetchToken({ reason: 'initial' }))).code).toBe('TOKEN_RESPONSE_INVALID');
  });

  it('refuses plain http to a non-loopback portal and an empty secret', () => {
    expect(
      () =>
        new ClientCredentialsProvider({
          portal: 'http://gis.example.com/portal',
          clientId: 'a',
          clientSecret: 'abcdef',
          transport: new FakeTransport(),
        }),
    ).toThrow(expect.objectContaining({ code: 'INSECURE_URL' }));
    expect(
      () =>
        new ClientCredentialsProvider({
          portal: PORTAL,
          clientId: 'a',
          clientSecret: '',
          transport: new FakeTransport(),
        }),
    ).toThrow(expect.objectContaining({ code: 'MISSING_CREDENTIALS' }));
  });
});
