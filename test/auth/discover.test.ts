import { describe, expect, it } from 'vitest';
import {
  discoverTokenUrl,
  findRestRoot,
  normaliseTokenServicesUrl,
  readRestInfo,
} from '../../src/auth/discover.js';
import { EtlError } from '../../src/core/errors.js';
import { FakeTransport } from './fake-transport.js';

describe('findRestRoot', () => {
  it.each([
    [
      'https://gis.example.org/arcgis/rest/services/Parcels/FeatureServer/0',
      'server',
      'https://gis.example.org/arcgis/rest',
    ],
    [
      'https://gis.example.org/server/rest/services/A/MapServer/3/query?where=1=1',
      'server',
      'https://gis.example.org/server/rest',
    ],
    ['https://gis.example.org/rest/services/A/MapServer', 'server', 'https://gis.example.org/rest'],
    ['https://gis.example.org:6443/arcgis/rest', 'server', 'https://gis.example.org:6443/arcgis/rest'],
    ['https://gis.example.org/arcgis', 'server', 'https://gis.example.org/arcgis/rest'],
    [
      'https://gis.example.org/arcgis/rest/services/sharing/FeatureServer',
      'server',
      'https://gis.example.org/arcgis/rest',
    ],
    [
      'https://www.arcgis.com/sharing/rest/content/items/abc',
      'portal',
      'https://www.arcgis.com/sharing/rest',
    ],
    ['https://gis.example.org/portal/sharing/rest', 'portal', 'https://gis.example.org/portal/sharing/rest'],
    ['https://gis.example.org/portal/sharing', 'portal', 'https://gis.example.org/portal/sharing/rest'],
  ])('%s', (url, kind, root) => {
    expect(findRestRoot(url)).toEqual({ kind, root });
  });
});

describe('normaliseTokenServicesUrl', () => {
  it.each([
    ['https://gis.example.org/arcgis/tokens/', 'https://gis.example.org/arcgis/tokens/generateToken'],
    ['https://gis.example.org/arcgis/tokens', 'https://gis.example.org/arcgis/tokens/generateToken'],
    [
      'https://gis.example.org/arcgis/tokens/generateToken',
      'https://gis.example.org/arcgis/tokens/generateToken',
    ],
    [
      'https://gis.example.org/portal/sharing/rest/generateToken',
      'https://gis.example.org/portal/sharing/rest/generateToken',
    ],
    ['/server/tokens/', 'https://gis.example.org/server/tokens/generateToken'],
  ])('%s', (value, expected) => {
    expect(normaliseTokenServicesUrl(value, 'https://gis.example.org/server/rest/info')).toBe(expected);
  });
});

describe('discoverTokenUrl', () => {
  it('GETs {root}/rest/info?f=json under a non-/arcgis prefix and reads authInfo', async () => {
    const transport = new FakeTransport().push({
      body: {
        currentVersion: 11.1,
        fullVersion: '11.1.0',
        owningSystemUrl: 'https://gis.example.org/portal',
        authInfo: {
          isTokenBasedSecurity: true,
          tokenServicesUrl: 'https://gis.example.org/server/tokens/',
          shortLivedTokenValidity: 60,
        },
      },
    });
    const found = await discoverTokenUrl(
      'https://gis.example.org/server/rest/services/A/FeatureServer/0',
      transport,
    );
    expect(transport.calls[0]!.url).toBe('https://gis.example.org/server/rest/info');
    expect(transport.calls[0]!.options).toMatchObject({ method: 'GET', params: { f: 'json' } });
    expect(found).toEqual({
      kind: 'server',
      restRoot: 'https://gis.example.org/server/rest',
      tokenRequired: true,
      tokenUrl: 'https://gis.example.org/server/tokens/generateToken',
      isTokenBasedSecurity: true,
      shortLivedTokenValidityMinutes: 60,
      owningSystemUrl: 'https://gis.example.org/portal',
      currentVersion: 11.1,
    });
  });

  it('an unsecured server needs no token', async () => {
    const transport = new FakeTransport().push({
      body: { currentVersion: 10.81, authInfo: { isTokenBasedSecurity: false } },
    });
    const found = await discoverTokenUrl('https://gis.example.org/arcgis/rest/services', transport);
    expect(found).toMatchObject({ tokenRequired: false, tokenUrl: undefined, currentVersion: 10.81 });
  });

  it('a secured server without tokenServicesUrl is TOKEN_ENDPOINT_NOT_FOUND', async () => {
    const transport = new FakeTransport().push({ body: { authInfo: { isTokenBasedSecurity: true } } });
    await expect(
      discoverTokenUrl('https://gis.example.org/arcgis/rest/services', transport),
    ).rejects.toMatchObject({
      code: 'TOKEN_ENDPOINT_NOT_FOUND',
    });
  });

  it('a missing rest/info is TOKEN_ENDPOINT_NOT_FOUND; other failures pass through', async () => {
    const notFound = new FakeTransport().push({
      error: new EtlError('NOT_FOUND', 'Not Found', { status: 404 }),
    });
    await expect(
      discoverTokenUrl('https://gis.example.org/arcgis/rest/services', notFound),
    ).rejects.toMatchObject({
      code: 'TOKEN_ENDPOINT_NOT_FOUND',
    });
    const down = new FakeTransport().push({ error: new EtlError('RETRIES_EXHAUSTED', '503 x4') });
    await expect(
      discoverTokenUrl('https://gis.example.org/arcgis/rest/services', down),
    ).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
    });
  });

  it('a portal URL uses {portal}/sharing/rest/generateToken without a request', async () => {
    const transport = new FakeTransport();
    const found = await discoverTokenUrl(
      'https://gis.example.org/portal/sharing/rest/content/items/x',
      transport,
    );
    expect(found).toMatchObject({
      kind: 'portal',
      tokenRequired: true,
      tokenUrl: 'https://gis.example.org/portal/sharing/rest/generateToken',
    });
    expect(transport.calls).toHaveLength(0);
  });

  it('readRestInfo refuses a non-object answer', () => {
    expect(() => readRestInfo('<html/>', 'https://h/arcgis/rest')).toThrow(
      expect.objectContaining({ code: 'INVALID_RESPONSE' }),
    );
  });
});
