/**
 * The lazy replica JSON reader gives exactly what JSON.parse gives, brackets and quotes inside
 * strings included, and refuses a cut document with DOWNLOAD_INVALID.
 */
import { describe, expect, it } from 'vitest';
import { scanReplica } from '../../src/features/bulk/replica-json.js';

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
