/** Pure parts: PKCE, the authorize URL, portal endpoints, legacy getToken parsing and detection. */
import { describe, expect, it } from 'vitest';
import { readRestInfo } from '../../src/auth/discover.js';
import { isLegacyServer, legacyTokenUrlOf } from '../../src/auth/legacy-detect.js';
import { LegacyTokenProvider, legacyMarginMs, readLegacyToken } from '../../src/auth/legacy-token.js';
import { portalEndpoints, samePortal } from '../../src/auth/oauth-endpoints.js';
import { authorizeUrl } from '../../src/auth/oauth-login.js';
import { createPkce, pkceChallenge } from '../../src/auth/pkce.js';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { redact } from '../../src/core/redact.js';
import { FakeTransport } from '../auth/fake-transport.js';
import { rejection, Transcript, uniqueSecret } from './helpers.js';

describe('PKCE', () => {
  it('matches the RFC 7636 appendix B vector', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes 43-character base64url verifiers, different every time, registered as secrets', () => {
    const a = createPkce();
    const b = createPkce();
    expect(a.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.verifier).not.toBe(b.verifier);
    expect(a.challenge).toBe(pkceChallenge(a.verifier));
    expect(a.method).toBe('S256');
    expect(redact(`verifier ${a.verifier}`)).not.toContain(a.verifier);
  });

  it('builds the authorize URL with response_type=code, S256 and state', () => {
    const url = new URL(
      authorizeUrl('https://gis.example.com/portal/sharing/rest/oauth2/authorize', {
        clientId: 'cli',
        redirectUri: 'http://127.0.0.1:5000/callback',
        challenge: 'abc',
        state: 'xyz',
        expirationMinutes: 60,
      }),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'cli',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:5000/callback',
      code_challenge: 'abc',
      code_challenge_method: 'S256',
      state: 'xyz',
      expiration: '60',
    });
  });
});

describe('portalEndpoints', () => {
  it('accepts every spelling of a portal URL', () => {
    for (const input of [
      'https://gis.example.com/portal',
      'https://gis.example.com/portal/',
      'https://gis.example.com/portal/sharing/rest',
      'https://gis.example.com/portal/sharing/rest/content/items?f=json',
    ]) {
      expect(portalEndpoints(input)).toEqual({
        portalUrl: 'https://gis.example.com/portal',
        sharingRest: 'https://gis.example.com/portal/sharing/rest',
        generateToken: 'https://gis.example.com/portal/sharing/rest/generateToken',
        token: 'https://gis.example.com/portal/sharing/rest/oauth2/token',
        authorize: 'https://gis.example.com/portal/sharing/rest/oauth2/authorize',
        revoke: 'https://gis.example.com/portal/sharing/rest/oauth2/revokeToken',
      });
    }
    expect(portalEndpoints('https://www.arcgis.com').token).toBe(
      'https://www.arcgis.com/sharing/rest/oauth2/token',
    );
    expect(samePortal('https://GIS.example.com/portal/', 'http://gis.example.com/portal/sharing/rest')).toBe(
      true,
    );
    expect(samePortal('https://gis.example.com/portal', 'https://other.example.com/portal')).toBe(false);
  });
});

describe('legacy 10.0 getToken', () => {
  const URL_10 = 'https://old.example.com/arcgis/tokens';

  it('POSTs request=getToken with the credentials in the body and reads a plain-text token', async () => {
    const time = new FakeTime();
    const password = uniqueSecret('legacy-pw');
    const transport = new FakeTransport().push({ body: 'LegacyTok3n_abc.DEF-123\n' });
    const provider = new LegacyTokenProvider({
      tokenUrl: 'https://old.example.com/arcgis/tokens/',
      username: 'etl',
      password,
      transport,
      clock: time,
      referer: 'https://etl.example.com',
      expirationMinutes: 60,
    });
    expect(provider.tokenUrl).toBe(URL_10);
    const grant = await provider.fetchToken({ reason: 'initial' });
    expect(grant.token).toBe('LegacyTok3n_abc.DEF-123');
    // requested 60 minutes, counted from the send time, minus 10% (6 min → capped at 5 min)
    expect(grant.expires).toBe(time.now() + 60 * 60_000 - 5 * 60_000);
    expect(grant.serverDate).toBeUndefined();
    const call = transport.calls[0]!;
    expect(call.url).toBe(`${URL_10}?request=getToken`);
    expect(call.url).not.toContain(password);
    expect(call.options).toMatchObject({ method: 'POST', responseType: 'text', redirect: 'error' });
    expect(call.options.params).toMatchObject({
      request: 'getToken',
      username: 'etl',
      password,
      expiration: 60,
      clientid: 'ref.https://etl.example.com',
    });
  });

  it('margin: 10% of the lifetime, at most 5 minutes', () => {
    expect(legacyMarginMs(10 * 60_000)).toBe(60_000);
    expect(legacyMarginMs(24 * 60 * 60_000)).toBe(5 * 60_000);
  });

  it('an HTML page or an error sentence is not a token', () => {
    expect(() => readLegacyToken('<html><body>Login</body></html>', URL_10)).toThrow(
      expect.objectContaining({ code: 'TOKEN_RESPONSE_INVALID' }),
    );
    expect(() => readLegacyToken('Invalid username or password', URL_10)).toThrow(
      expect.objectContaining({ code: 'BAD_CREDENTIALS' }),
    );
    expect(() => readLegacyToken('Unauthorized', URL_10)).toThrow(EtlError);
    expect(readLegacyToken('{"token":"json-shaped-token","expires":1}', URL_10)).toBe('json-shaped-token');
  });

  it('a refused password is BAD_CREDENTIALS without the password in it, not retried', async () => {
    const password = uniqueSecret('legacy-bad');
    const transcript = new Transcript();
    const transport = new FakeTransport().otherwise({
      error: new EtlError('BAD_CREDENTIALS', 'ArcGIS error 400: Unable to generate token.', {
        arcgisCode: 400,
      }),
    });
    const provider = new LegacyTokenProvider({ tokenUrl: URL_10, username: 'etl', password, transport });
    const error = await rejection(provider.fetchToken({ reason: 'initial' }), transcript);
    expect(error.code).toBe('BAD_CREDENTIALS');
    expect(transport.calls).toHaveLength(1);
    transcript.expectClean(password);
  });

  it('detection: no currentVersion (or < 10.1) → legacy; 10.1+ with …/tokens/ → generateToken', () => {
    const root = 'https://old.example.com/arcgis/rest';
    const old = readRestInfo(
      { authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: 'https://old.example.com/arcgis/tokens' } },
      root,
    );
    expect(isLegacyServer(old)).toBe(true);
    expect(legacyTokenUrlOf(old)).toBe('https://old.example.com/arcgis/tokens');
    const ten = readRestInfo(
      {
        currentVersion: 10,
        authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: 'https://old.example.com/arcgis/tokens' },
      },
      root,
    );
    expect(isLegacyServer(ten)).toBe(true);
    const modern = readRestInfo(
      {
        currentVersion: 11.1,
        authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: 'https://old.example.com/arcgis/tokens/' },
      },
      root,
    );
    expect(isLegacyServer(modern)).toBe(false);
    expect(legacyTokenUrlOf(modern)).toBeUndefined();
    const open = readRestInfo({ authInfo: { isTokenBasedSecurity: false } }, root);
    expect(isLegacyServer(open)).toBe(false);
  });
});
