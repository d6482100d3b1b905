/**
 * The lazy replica JSON reader gives exactly what JSON.parse gives, brackets and quotes inside
 * strings included, and refuses a cut document with DOWNLOAD_INVALID.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OidSet } from '../../src/features/bulk/oid-set.js';
import {
  jsonFileKind,
  ReplicaScanner,
  ROOT_FEATURES,
  replicaFeatures,
  replicaLayerIds,
} from '../../src/features/bulk/replica-stream.js';

const doc = {
  replicaName: 'r ] } "x"',
  replicaID: '{ABC}',
  extra: { nested: [1, [2, { a: '[' }]], flag: true, none: null },
  layers: [
    {
      id: 0,
      features: [
        {
          attributes: { OBJECTID: 1, note: 'a "quoted" ] } [ { \\ text', n: -1.5e-7 },
          geometry: { x: 1, y: 2 },
        },
        { attributes: { OBJECTID: 2, note: 'ünïcödé ✓', n: null }, geometry: null },
      ],
      attachments: [],
    },
    {
      features: [{ attributes: { OBJECTID: 7, 'k"ey\\': '\\' }, geometry: { paths: [[[1, 2]]] } }],
      id: 3,
    },
    { id: 4, features: [] },
  ],
};

/** The features the scanner hands out, by layer position. */
function collect(bytes: Buffer, size: number, only?: number) {
  const ids: [number, number][] = [];
  const features: [number, unknown][] = [];
  const scanner = new ReplicaScanner(
    {
      id: (layer, id) => ids.push([layer, id]),
      feature: (layer, text) => {
        for (const f of JSON.parse(`[${text}]`) as unknown[]) features.push([layer, f]);
      },
    },
    { only },
  );
  for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
  scanner.end();
  return { ids, features, scanner };
}

describe('ReplicaScanner (a replica file as a stream)', () => {
  it.each([1, 7, 64, 100_000])('gives what JSON.parse gives, fed in chunks of %i bytes', (size) => {
    for (const text of [JSON.stringify(doc, null, 1), JSON.stringify(doc)]) {
      const { ids, features, scanner } = collect(Buffer.from(text), size);
      expect(scanner.hasLayers).toBe(true);
      expect(ids).toEqual([
        [0, 0],
        [1, 3],
        [2, 4],
      ]);
      expect(features).toEqual(doc.layers.flatMap((l, i) => l.features.map((f) => [i, f])));
      // one layer's features only: the others are passed over
      expect(collect(Buffer.from(text), size, 1).features).toEqual([[1, doc.layers[1]!.features[0]]]);
    }
  });

  it.each([1, 5, 100_000])('reads a FeatureCollection fed in chunks of %i bytes', (size) => {
    const collection = {
      type: 'Feature\u0043ollection',
      features: [
        { type: 'Feature', id: 1, properties: { 'a\\b': '"}' }, geometry: null },
        { type: 'Feature', id: 2, properties: {}, geometry: { type: 'Point', coordinates: [1, 2] } },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(collection).replace('Feature\u0043', 'Feature\\u0043'));
    const { features, scanner } = collect(bytes, size, ROOT_FEATURES);
    expect(scanner.hasLayers).toBe(false);
    expect(scanner.hasFeatures).toBe(true);
    expect(scanner.rootType).toBe('FeatureCollection');
    expect(features).toEqual(collection.features.map((f) => [ROOT_FEATURES, f]));
  });

  it('hands out consecutive features together, a chunk at a time', () => {
    const texts: string[] = [];
    const scanner = new ReplicaScanner({ feature: (_layer, text) => texts.push(text) });
    scanner.push(Buffer.from(JSON.stringify(doc)));
    scanner.end();
    // layer 0's two features in one text, layer 3's one in another
    expect(texts.map((t) => (JSON.parse(`[${t}]`) as unknown[]).length)).toEqual([2, 1]);
  });

  it('reads the root features of a GeoJSON FeatureCollection', async () => {
    const collection = {
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'x' } },
      features: [
        {
          type: 'Feature',
          id: 1,
          properties: { a: '] }' },
          geometry: { type: 'Point', coordinates: [1, 2] },
        },
        { type: 'Feature', id: 2, properties: null, geometry: null },
      ],
    };
    const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-replica-'));
    try {
      const path = join(dir, 'a.geojson');
      await writeFile(path, JSON.stringify(collection, null, 2));
      expect(await jsonFileKind(path)).toEqual({ kind: 'geojson' });
      const got: unknown[] = [];
      for await (const f of replicaFeatures(path, ROOT_FEATURES)) got.push(f);
      expect(got).toEqual(collection.features);
      await writeFile(path, JSON.stringify({ features: [] }));
      expect(await jsonFileKind(path)).toEqual({ kind: 'other' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the layer ids and the features of a file, and refuses a cut one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-replica-'));
    try {
      const path = join(dir, 'replica.json');
      await writeFile(path, JSON.stringify(doc));
      expect(await replicaLayerIds(path)).toEqual([0, 3, 4]);
      const got: unknown[] = [];
      for await (const f of replicaFeatures(path, 0)) got.push(f);
      expect(got).toEqual(doc.layers[0]!.features);
      await writeFile(path, '{"type":"FeatureCollection","features":[]}');
      expect(await replicaLayerIds(path)).toBeUndefined();
      await writeFile(path, JSON.stringify(doc).slice(0, -40));
      await expect(replicaLayerIds(path)).rejects.toThrow(/The replica JSON is not valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('OidSet (repeats found with flat memory)', () => {
  it('answers as a Set does, in any order, keeping ordered OIDs as one range', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const set = new OidSet();
    const reference = new Set<unknown>();
    for (let i = 0; i < 5000; i++) {
      const oid = random() < 0.05 ? `x${Math.floor(random() * 20)}` : Math.floor(random() * 3000) - 100;
      expect(set.add(oid)).toBe(!reference.has(oid));
      reference.add(oid);
    }
    const ordered = new OidSet();
    for (let oid = 1; oid <= 1_000_000; oid++) ordered.add(oid);
    expect(ordered.ranges).toBe(1);
    expect(ordered.add(500_000)).toBe(false);
    expect(ordered.add(1_000_002)).toBe(true);
    expect(ordered.ranges).toBe(2);
    expect(ordered.add(1_000_001)).toBe(true);
    expect(ordered.ranges).toBe(1);
  });
});
