import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { encodeParams, encodeRequest, MAX_GET_URL_LENGTH } from '../../src/http/encode.js';
import { createUrlPolicy } from '../../src/http/url-policy.js';

describe('encodeParams', () => {
  it('skips null/undefined, writes booleans and numbers, adds f=json', () => {
    const out = encodeParams({
      where: '1=1',
      returnGeometry: false,
      resultOffset: 0,
      a: undefined,
      b: null,
      ok: true,
    });
    expect(out.toString()).toBe('where=1%3D1&returnGeometry=false&resultOffset=0&ok=true&f=json');
  });
  it('keeps a given f', () => {
    expect(encodeParams({ f: 'pjson' }).getAll('f')).toEqual(['pjson']);
  });
});

describe('encodeRequest', () => {
  it('puts GET params in the query string, merged over the URL query, and POST params in the body', () => {
    const get = encodeRequest('https://h/x?where=a&keep=1', 'GET', { where: 'b' });
    expect(get.method).toBe('GET');
    expect(get.url.search).toBe('?where=b&keep=1&f=json');
    const post = encodeRequest('https://h/x', 'POST', { where: '1=1' });
    expect(post).toMatchObject({ method: 'POST', body: 'where=1%3D1&f=json', switchedToPost: false });
    expect(post.url.search).toBe('');
  });
  it('does not add f when the URL already has one', () => {
    expect(encodeRequest('https://h/x?f=pjson', 'GET', {}).url.searchParams.getAll('f')).toEqual(['pjson']);
  });
  it('turns a GET longer than 2000 characters into a POST with the params in the body', () => {
    const objectIds = Array.from({ length: 600 }, (_, i) => i + 1).join(',');
    const out = encodeRequest('https://h/arcgis/rest/services/x/FeatureServer/0/query', 'GET', { objectIds });
    expect(out).toMatchObject({ method: 'POST', switchedToPost: true });
    expect(new URLSearchParams(out.body).get('objectIds')).toBe(objectIds);
    expect(out.url.search).toBe('');
    const short = encodeRequest('https://h/q', 'GET', { objectIds: 'x'.repeat(MAX_GET_URL_LENGTH - 40) });
    expect(short.method).toBe('GET');
  });
});

describe('createUrlPolicy', () => {
  it('accepts https', () => {
    expect(createUrlPolicy()('https://services.arcgis.com/x').host).toBe('services.arcgis.com');
  });
  it('refuses plain http to a non-loopback host, naming the host', () => {
    try {
      createUrlPolicy()('http://gis.example.org/arcgis/rest/info');
      expect.unreachable();
    } catch (error) {
      expect(isEtlError(error, 'INSECURE_URL')).toBe(true);
      expect((error as Error).message).toContain('gis.example.org');
    }
  });
  it('allows loopback http with one warning per origin', () => {
    const events: EtlEvent[] = [];
    const check = createUrlPolicy((e) => events.push(e));
    check('http://127.0.0.1:8080/a');
    check('http://127.0.0.1:8080/b');
    check('http://localhost:9090/a');
    expect(events.filter((e) => e.type === 'warning')).toHaveLength(2);
  });
  it('rejects non-http schemes', () => {
    expect(() => createUrlPolicy()('ftp://h/x')).toThrow(/scheme/);
  });
});
