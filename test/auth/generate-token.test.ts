import { describe, expect, it } from 'vitest';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { parseTokenGrant } from '../../src/auth/grant.js';
import { TOKEN_RETRY_STATUSES } from '../../src/auth/token-request.js';
import { EtlError } from '../../src/core/errors.js';
import type { RetryPolicy } from '../../src/http/types.js';
import { badCredentials, FakeTransport } from './fake-transport.js';

const SERVER_TOKEN_URL = 'https://gis.example.org/server/tokens/generateToken';
const expires = Date.UTC(2026, 0, 1, 1);

function provider(
  transport: FakeTransport,
  extra: Partial<ConstructorParameters<typeof GenerateTokenProvider>[0]> = {},
) {
  return new GenerateTokenProvider({
    tokenUrl: SERVER_TOKEN_URL,
    username: 'Etl.Bot',
    password: 'pw-secret-1',
    transport,
    ...extra,
  });
}

describe('GenerateTokenProvider', () => {
  it('POSTs username, password, client, expiration (minutes) and f=json in the form body', async () => {
    const transport = new FakeTransport().push({
      body: { token: 'tok-abcd', expires },
      serverDate: expires - 3_600_000,
    });
    const grant = await provider(transport, { expirationMinutes: 90 }).fetchToken({ reason: 'initial' });
    expect(grant).toEqual({ token: 'tok-abcd', expires, serverDate: expires - 3_600_000 });
    const call = transport.calls[0]!;
    expect(call.url).toBe(SERVER_TOKEN_URL);
    expect(call.options.method).toBe('POST');
    expect(call.options.redirect).toBe('error');
    expect(call.options.params).toEqual({
      username: 'Etl.Bot',
      password: 'pw-secret-1',
      client: 'requestip',
      expiration: 90,
      f: 'json',
    });
  });

  it('client=referer sends the referer and exposes it in the identity', async () => {
    const transport = new FakeTransport().push({ body: { token: 'tok-abcd', expires } });
    const p = provider(transport, { referer: 'https://etl.example.com' });
    await p.fetchToken({ reason: 'initial' });
    expect(transport.calls[0]!.options.params).toMatchObject({
      client: 'referer',
      referer: 'https://etl.example.com',
    });
    expect(p.identity).toEqual({
      username: 'Etl.Bot',
      client: 'referer',
      referer: 'https://etl.example.com',
    });
  });

  it('client=ip sends the ip', async () => {
    const transport = new FakeTransport().push({ body: { token: 'tok-abcd', expires } });
    await provider(transport, { client: 'ip', ip: '203.0.113.7' }).fetchToken({ reason: 'initial' });
    expect(transport.calls[0]!.options.params).toMatchObject({ client: 'ip', ip: '203.0.113.7' });
    expect(transport.calls[0]!.options.params).not.toHaveProperty('referer');
  });

  it('refuses incomplete client settings, a missing password and non-loopback http', () => {
    const t = new FakeTransport();
    expect(() => provider(t, { client: 'referer' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => provider(t, { client: 'ip' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => provider(t, { password: '' })).toThrow(
      expect.objectContaining({ code: 'MISSING_CREDENTIALS' }),
    );
    expect(() => provider(t, { tokenUrl: 'http://gis.example.org/arcgis/tokens/generateToken' })).toThrow(
      expect.objectContaining({ code: 'INSECURE_URL' }),
    );
    expect(() => provider(t, { expirationMinutes: 0 })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(provider(t, { tokenUrl: 'http://127.0.0.1:8080/arcgis/tokens/generateToken?x=1' }).tokenUrl).toBe(
      'http://127.0.0.1:8080/arcgis/tokens/generateToken',
    );
  });

  it('reads the password from a function each time (password commands, vaults)', async () => {
    const transport = new FakeTransport().otherwise({ body: { token: 'tok-abcd', expires } });
    let n = 0;
    const p = provider(transport, { password: async () => `pw-from-vault-${++n}` });
    await p.fetchToken({ reason: 'initial' });
    await p.fetchToken({ reason: 'expiring' });
    expect(transport.calls.map((c) => c.options.params?.password)).toEqual([
      'pw-from-vault-1',
      'pw-from-vault-2',
    ]);
    const failing = provider(transport, { password: () => Promise.reject(new Error('vault sealed')) });
    await expect(failing.fetchToken({ reason: 'initial' })).rejects.toMatchObject({
      code: 'MISSING_CREDENTIALS',
    });
  });

  it('validates the answer: a non-empty token and a finite numeric expires', async () => {
    for (const body of [
      { expires },
      { token: '', expires },
      { token: 'tok-abcd' },
      { token: 'tok-abcd', expires: '1767229200000' },
      { token: 'tok-abcd', expires: Number.NaN },
      { token: 'tok-abcd', expires: Number.POSITIVE_INFINITY },
      '<html>login</html>',
      null,
      [],
    ]) {
      const transport = new FakeTransport().push({ body });
      await expect(provider(transport).fetchToken({ reason: 'initial' })).rejects.toMatchObject({
        code: 'TOKEN_RESPONSE_INVALID',
      });
    }
  });

  it('bad credentials: exactly one request, BAD_CREDENTIALS, never retried', async () => {
    const transport = new FakeTransport().push({ error: badCredentials(SERVER_TOKEN_URL) });
    await expect(provider(transport).fetchToken({ reason: 'initial' })).rejects.toMatchObject({
      code: 'BAD_CREDENTIALS',
    });
    expect(transport.calls).toHaveLength(1);
    const retry = transport.calls[0]!.options.retry as Partial<RetryPolicy>;
    expect(retry.statuses).toEqual(TOKEN_RETRY_STATUSES);
    expect(retry.statuses).not.toContain(400);
  });

  it('maps an unclassified 400 envelope or a lockout message to a credential error', async () => {
    const envelope = new EtlError('ARCGIS_ERROR', 'Unable to generate token.', {
      arcgisCode: 400,
      details: ['Invalid username or password.'],
    });
    const locked = new EtlError('ARCGIS_ERROR', 'Too many invalid logon attempts. Try again later.', {
      arcgisCode: 400,
    });
    const t = new FakeTransport().push(
      { error: envelope },
      { body: { error: { code: 400, message: 'Unable to generate token.' } } },
      { error: locked },
    );
    const p = provider(t);
    await expect(p.fetchToken({ reason: 'initial' })).rejects.toMatchObject({
      code: 'BAD_CREDENTIALS',
      arcgisCode: 400,
    });
    await expect(p.fetchToken({ reason: 'initial' })).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    await expect(p.fetchToken({ reason: 'initial' })).rejects.toMatchObject({ code: 'ACCOUNT_LOCKED' });
    expect(t.calls).toHaveLength(3);
  });

  it('defers transient faults to the transport retry policy and passes its error through', async () => {
    const exhausted = new EtlError('RETRIES_EXHAUSTED', 'gave up after 4 attempts (429, 503, 503, 503)', {
      attempts: 4,
      status: 503,
    });
    const t = new FakeTransport().push({ error: exhausted });
    await expect(provider(t).fetchToken({ reason: 'initial' })).rejects.toBe(exhausted);
    expect(t.calls).toHaveLength(1);
    const retry = t.calls[0]!.options.retry as Partial<RetryPolicy>;
    expect(retry.statuses).toContain(429);
    expect(retry.statuses).toContain(503);
  });

  it('a caller-supplied retry policy cannot make credential failures retryable', async () => {
    const t = new FakeTransport().push({ body: { token: 'tok-abcd', expires } });
    await provider(t, {
      retry: {
        maxAttempts: 7,
        statuses: [400, 429, 498, 503],
        errorCodes: ['BAD_CREDENTIALS', 'NETWORK_ERROR'],
      },
    }).fetchToken({ reason: 'initial' });
    expect(t.calls[0]!.options.retry).toEqual({
      maxAttempts: 7,
      statuses: [429, 503],
      errorCodes: ['NETWORK_ERROR'],
    });
  });
});

describe('parseTokenGrant', () => {
  it('keeps ssl and pins expires as epoch milliseconds', () => {
    expect(
      parseTokenGrant({ token: 'tok-1234', expires: 1767229200000, ssl: true }, SERVER_TOKEN_URL),
    ).toEqual({
      token: 'tok-1234',
      expires: 1767229200000,
      ssl: true,
    });
  });
});
