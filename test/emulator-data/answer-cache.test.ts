import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AnswerCache, answerBytes } from '../../src/emulator/data/answer-cache.js';
import { loadLayers } from '../../src/emulator/data/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatedLayer, EmulatorHandle } from '../../src/emulator/types.js';
import { oidsOf, q, textOf } from './helpers.js';

const MAX = 40;
let layer: EmulatedLayer;

beforeAll(async () => {
  [layer] = (await loadLayers({
    layers: [
      { service: 'c', generate: { count: 100, geometry: 'mixed-polygon', seed: 4 }, maxRecordCount: MAX },
    ],
  })) as [EmulatedLayer];
});

const page = (offset: number, extra: Record<string, string> = {}) => ({
  where: '1=1',
  outFields: '*',
  orderByFields: 'OBJECTID ASC',
  resultOffset: String(offset),
  resultRecordCount: String(MAX),
  f: 'json',
  ...extra,
});

describe('cached feature answers', () => {
  it('caches a page on its second request and answers it from the cache after that', () => {
    const first = layer.query(page(0));
    expect(answerBytes(first)).toBeUndefined(); // a single read costs nothing
    const second = layer.query(page(0));
    const third = layer.query(page(0));
    expect(third).toBe(second);
    expect(second.body).toBe(first.body);
    const bytes = answerBytes(second);
    expect(bytes).toBeInstanceOf(Buffer);
    expect(bytes!.equals(Buffer.from(textOf(first), 'utf8'))).toBe(true);
    expect(oidsOf(JSON.parse(textOf(third)))).toEqual(Array.from({ length: MAX }, (_, i) => i + 1));
  });

  it('shares an answer between requests that differ only in what does not change it', () => {
    layer.query(page(40));
    const base = layer.query(page(40));
    // the token, parameter order, spacing around the where clause and case of field names
    const same = layer.query({
      f: 'json',
      token: 'anything',
      resultRecordCount: String(MAX),
      resultOffset: '40',
      orderByFields: 'objectid ASC',
      outFields: '*',
      where: ' 1=1 ',
    });
    expect(same).toBe(base);
  });

  it('keeps pages, formats, fields and faults apart', () => {
    const a = q(layer, page(0));
    const b = q(layer, page(40));
    expect(oidsOf(b)[0]).toBe(41);
    expect(oidsOf(a)[0]).toBe(1);
    const geojson = JSON.parse(textOf(layer.query(page(0, { f: 'geojson' })))) as { type: string };
    expect(geojson.type).toBe('FeatureCollection');
    const few = q(layer, page(0, { outFields: 'name' }));
    expect(Object.keys(few.features[0]!.attributes)).toEqual(['OBJECTID', 'name']);
    // a fault changes the answer, and its answer never leaks into fault-free requests
    const extra = q(layer, page(0), { extraRow: true });
    expect(extra.features).toHaveLength(MAX + 1);
    expect(q(layer, page(0)).features).toHaveLength(MAX);
    const ignored = q(layer, page(40), { ignoreResultOffset: true });
    expect(oidsOf(ignored)[0]).toBe(1);
    expect(oidsOf(q(layer, page(40)))[0]).toBe(41);
  });

  it('does not cache counts, ids or statistics', () => {
    const count = layer.query({ where: '1=1', returnCountOnly: 'true', f: 'json' });
    expect(layer.query({ where: '1=1', returnCountOnly: 'true', f: 'json' })).not.toBe(count);
    expect(answerBytes(count)).toBeUndefined();
    expect(JSON.parse(textOf(count))).toEqual({ count: 100 });
  });
});

describe('AnswerCache', () => {
  /** Offers an answer twice, as two requests of the same page do. */
  const store = (cache: AnswerCache, key: string, body: string) => {
    cache.set(key, body, 'text/plain');
    return cache.set(key, body, 'text/plain');
  };

  it('keeps nothing from a single pass', () => {
    const cache = new AnswerCache(1000);
    for (let i = 0; i < 50; i++) expect(cache.set(`k${i}`, 'x', 'text/plain').body).toBe('x');
    expect(cache.size).toBe(0);
    expect(cache.get('k1')).toBeUndefined();
  });

  it('evicts the least recently used answers past its size bound', () => {
    const cache = new AnswerCache(100);
    store(cache, 'a', 'x'.repeat(20));
    store(cache, 'b', 'y'.repeat(20));
    cache.get('a'); // a is now more recent than b
    store(cache, 'c', 'z'.repeat(20));
    store(cache, 'd', 'w'.repeat(20));
    store(cache, 'e', 'v'.repeat(25)); // 105 bytes: the least recent (b) goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.body).toBe('x'.repeat(20));
    expect(cache.bytes).toBeLessThanOrEqual(100);
    expect(cache.size).toBe(4);
  });

  it('never keeps an answer larger than a quarter of its bound, but still returns it', () => {
    const cache = new AnswerCache(100);
    const big = store(cache, 'big', 'é'.repeat(20)); // 40 bytes in UTF-8
    expect(big.body).toBe('é'.repeat(20));
    expect(answerBytes(big)?.length).toBe(40);
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe('the server sends cached bytes', () => {
  let emu: EmulatorHandle | undefined;
  afterEach(async () => {
    await emu?.stop();
    emu = undefined;
  });

  it('answers a repeated page with the same bytes and the right Content-Length', async () => {
    emu = await startEmulator({
      layers: [{ service: 'P', generate: { count: 60, geometry: 'point', seed: 9 }, maxRecordCount: 25 }],
    });
    const url = `${emu.layerUrl('P')}/query?${new URLSearchParams(page(25))}`;
    const get = async () => {
      const res = await request(url);
      const body = Buffer.from(await res.body.arrayBuffer());
      return { length: Number(res.headers['content-length']), body };
    };
    const first = await get();
    const second = await get(); // cached now
    const third = await get();
    expect(second.body.equals(first.body)).toBe(true);
    expect(third.body.equals(first.body)).toBe(true);
    expect(third.length).toBe(third.body.length);
    const text = third.body.toString('utf8');
    expect(/[^\u0000-\u007f]/.test(text)).toBe(true); // generated names are not ASCII
    expect(oidsOf(JSON.parse(text))[0]).toBe(26);

    // a truncated answer is cut from the cached bytes without damaging them
    emu.setFaults({ rates: { truncate: 1 } });
    const cut = await get();
    expect(cut.body.length).toBe(Math.floor(first.body.length / 2));
    emu.setFaults({});
    expect((await get()).body.equals(first.body)).toBe(true);
  });
});
