import { describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import { type EtlError, isEtlError } from '../../src/core/errors.js';
import { fakeAuth, fakeTransport, tokenInvalid, tokenRequired } from './fakes.js';

const URL0 = 'https://gis.example.com/arcgis/rest/services/S/FeatureServer/0/query';

async function failure(promise: Promise<unknown>): Promise<EtlError> {
  try {
    await promise;
  } catch (error) {
    if (isEtlError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('ArcGISClient token placement', () => {
  it('puts the token in the POST form body by default, same-origin redirects only', async () => {
    const transport = fakeTransport(() => ({ ok: true }));
    const client = new ArcGISClient({ transport, auth: fakeAuth() });
    expect(await client.request(URL0, { where: '1=1' })).toEqual({ ok: true });
    const { options } = transport.calls[0]!;
    expect(options.params).toEqual({ where: '1=1', token: 'tok-1' });
    expect(options.method).toBeUndefined(); // the transport default: POST
    expect(options.redirect).toBe('same-origin');
    expect(options.headers?.['X-Esri-Authorization']).toBeUndefined();
  });

  it('can use the X-Esri-Authorization header instead', async () => {
    const transport = fakeTransport(() => ({}));
    const client = new ArcGISClient({ transport, auth: fakeAuth(), tokenPlacement: 'header' });
    await client.request(URL0, { where: '1=1' });
    const { options } = transport.calls[0]!;
    expect(options.headers?.['X-Esri-Authorization']).toBe('Bearer tok-1');
    expect(options.params).toEqual({ where: '1=1' });
  });

  it('can put it in the query string of a GET', async () => {
    const transport = fakeTransport(() => ({}));
    const client = new ArcGISClient({ transport, auth: fakeAuth(), tokenPlacement: 'query' });
    await client.request(URL0, {});
    expect(transport.calls[0]!.options.method).toBe('GET');
    expect(transport.calls[0]!.options.params?.token).toBe('tok-1');
  });

  it('sends the Referer of referer-bound tokens on every request', async () => {
    const transport = fakeTransport(() => ({}));
    const client = new ArcGISClient({ transport, auth: fakeAuth({ referer: 'https://app.example.com' }) });
    await client.request(URL0, {});
    await client.request(URL0, {});
    expect(transport.calls.map((c) => c.options.headers?.Referer)).toEqual([
      'https://app.example.com',
      'https://app.example.com',
    ]);
  });

  it('attaches nothing when the authenticator has no token for the origin, or without auth', async () => {
    const transport = fakeTransport(() => ({}));
    const scoped = new ArcGISClient({ transport, auth: fakeAuth({ origin: 'https://other.example.com' }) });
    await scoped.request(URL0, { a: 1 });
    const anonymous = new ArcGISClient({ transport });
    await anonymous.request(URL0, { a: 1 });
    for (const call of transport.calls) {
      expect(call.options.params).toEqual({ a: 1 });
      expect(call.options.headers?.['X-Esri-Authorization']).toBeUndefined();
    }
  });

  it('refuses plain http to a non-loopback host before asking for a token or sending anything', async () => {
    const transport = fakeTransport(() => ({}));
    let asked = 0;
    const auth = fakeAuth();
    const getToken = auth.getToken.bind(auth);
    auth.getToken = (url, o) => {
      asked++;
      return getToken(url, o);
    };
    const client = new ArcGISClient({ transport, auth });
    const error = await failure(
      client.request('http://gis.example.com/arcgis/rest/services/S/FeatureServer/0', {}),
    );
    expect(error.code).toBe('INSECURE_URL');
    expect(asked).toBe(0);
    expect(transport.calls).toHaveLength(0);
  });
});

describe('ArcGISClient reactive refresh', () => {
  it('invalidates and retries once with a fresh token after a 498', async () => {
    const transport = fakeTransport((call) =>
      call.options.params?.token === 'tok-1' ? tokenInvalid() : { features: [] },
    );
    const auth = fakeAuth();
    const client = new ArcGISClient({ transport, auth });
    expect(await client.request(URL0, {})).toEqual({ features: [] });
    expect(auth.invalidated).toEqual(['tok-1']);
    expect(transport.calls.map((c) => c.options.params?.token)).toEqual(['tok-1', 'tok-2']);
    expect(client.stats).toEqual({ requests: 2, retries: 0, reauths: 1 });
  });

  it('treats 499 with a token like 498', async () => {
    const transport = fakeTransport((_c, i) => (i === 0 ? tokenRequired() : { ok: 1 }));
    const client = new ArcGISClient({ transport, auth: fakeAuth() });
    expect(await client.request(URL0, {})).toEqual({ ok: 1 });
    expect(transport.calls).toHaveLength(2);
  });

  it('gives a clear error (no loop) when the fresh tokens are rejected too', async () => {
    const transport = fakeTransport(() => tokenInvalid());
    const client = new ArcGISClient({ transport, auth: fakeAuth() });
    const error = await failure(client.request(URL0, {}));
    expect(error.code).toBe('TOKEN_INVALID');
    expect(error.message).toMatch(/rejected again after refresh/);
    expect(transport.calls).toHaveLength(3);
  });

  it('replaces a fresh token that was revoked too (another process cached it just before a revoke-all)', async () => {
    const transport = fakeTransport((call) =>
      call.options.params?.token === 'tok-3' ? { features: [] } : tokenInvalid(),
    );
    const auth = fakeAuth();
    const client = new ArcGISClient({ transport, auth });
    expect(await client.request(URL0, {})).toEqual({ features: [] });
    expect(auth.invalidated).toEqual(['tok-1', 'tok-2']);
    expect(transport.calls.map((c) => c.options.params?.token)).toEqual(['tok-1', 'tok-2', 'tok-3']);
    expect(client.stats).toEqual({ requests: 3, retries: 0, reauths: 2 });
  });

  it('does not retry a static token: STATIC_TOKEN_INVALID', async () => {
    const transport = fakeTransport(() => tokenInvalid());
    const auth = fakeAuth({ canRefresh: false });
    const client = new ArcGISClient({ transport, auth });
    const error = await failure(client.request(URL0, {}));
    expect(error.code).toBe('STATIC_TOKEN_INVALID');
    expect(transport.calls).toHaveLength(1);
    expect(auth.invalidated).toEqual(['tok-1']);
  });

  it('explains a 499 without credentials', async () => {
    const transport = fakeTransport(() => tokenRequired());
    const client = new ArcGISClient({ transport });
    const error = await failure(client.request(URL0, {}));
    expect(error.code).toBe('TOKEN_REQUIRED');
    expect(error.message).toMatch(/ARCGIS_USERNAME\/ARCGIS_PASSWORD/);
    expect(transport.calls).toHaveLength(1);
  });

  it('passes other errors through untouched', async () => {
    const transport = fakeTransport(() => tokenInvalid());
    const client = new ArcGISClient({ transport });
    const error = await failure(client.request(URL0, {}));
    expect(error.code).toBe('TOKEN_INVALID');
    expect(transport.calls).toHaveLength(1);
  });

  it('shares concurrent 498s: every request retries once, the authenticator sees the same stale token', async () => {
    const transport = fakeTransport((call) => (call.options.params?.token === 'tok-1' ? tokenInvalid() : {}));
    const auth = fakeAuth();
    const client = new ArcGISClient({ transport, auth });
    await Promise.all([1, 2, 3, 4].map(() => client.request(URL0, {})));
    expect(auth.current()).toBe('tok-2');
    expect(auth.invalidated).toEqual(['tok-1', 'tok-1', 'tok-1', 'tok-1']);
    expect(transport.calls.filter((c) => c.options.params?.token === 'tok-2')).toHaveLength(4);
  });
});
