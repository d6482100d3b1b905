/**
 * The lazy replica JSON reader gives exactly what JSON.parse gives, brackets and quotes inside
 * strings included, and refuses a cut document with DOWNLOAD_INVALID.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanReplica } from '../../src/features/bulk/replica-json.js';
import { ReplicaScanner, replicaFeatures, replicaLayerIds } from '../../src/features/bulk/replica-stream.js';

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
    { features: [], id: 3 },
  ],
};

describe('scanReplica', () => {
  it('reads every layer and feature as JSON.parse does', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(doc, null, 1));
    const layers = scanReplica(bytes)!;
    expect(layers.map((l) => [l.id, [...l.features]])).toEqual(doc.layers.map((l) => [l.id, l.features]));
  });

  it('answers undefined for a document without layers, and refuses a cut one', () => {
    expect(
      scanReplica(new TextEncoder().encode('{"type":"FeatureCollection","features":[]}')),
    ).toBeUndefined();
    const text = JSON.stringify(doc);
    expect(() => scanReplica(new TextEncoder().encode(text.slice(0, text.length - 40)))).toThrow(
      /The replica JSON is not valid/,
    );
  });
});

describe('ReplicaScanner (a replica file as a stream)', () => {
  it.each([1, 7, 64, 100_000])('gives what JSON.parse gives, fed in chunks of %i bytes', (size) => {
    const bytes = Buffer.from(JSON.stringify(doc, null, 1));
    const ids: [number, number][] = [];
    const features: [number, unknown][] = [];
    const scanner = new ReplicaScanner({
      id: (layer, id) => ids.push([layer, id]),
      feature: (layer, text) => features.push([layer, JSON.parse(text)]),
    });
    for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
    scanner.end();
    expect(scanner.hasLayers).toBe(true);
    expect(ids).toEqual([
      [0, 0],
      [1, 3],
    ]);
    expect(features).toEqual(doc.layers[0]!.features.map((f) => [0, f]));
  });

  it('reads the layer ids and the features of a file, and refuses a cut one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-replica-'));
    try {
      const path = join(dir, 'replica.json');
      await writeFile(path, JSON.stringify(doc));
      expect(await replicaLayerIds(path)).toEqual([0, 3]);
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
