/**
 * Pages are encoded to UTF-8 feature by feature (Utf8Builder) instead of as one page string then
 * `Buffer.from`: the bytes must be exactly the old ones. Differential tests against the old way
 * (one string per page, `Buffer.from`), on random pieces of text, on random Esri features with
 * nasty values, and on the recorded real pages.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EsriField, EsriQueryResponse, LayerMetadata } from '../../src/core/protocol.js';
import { createFeatureConverter, type FeatureSchema } from '../../src/features/geometry/feature.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import type { WriterFormat } from '../../src/features/writers/types.js';
import { Utf8Builder } from '../../src/features/writers/utf8-builder.js';
import { createEncoder, createWriter } from '../../src/features/writers/writer.js';
import { recordedJson, recordedPageLayers } from '../fixtures/recorded.js';

/** Fixed for reproducible runs; FC_SEED / FC_RUNS explore more. */
const SEED = Number(process.env.FC_SEED ?? 20260214);
const RUNS = Number(process.env.FC_RUNS ?? 150);

const FORMATS: readonly WriterFormat[] = ['geojson', 'geojsonseq', 'csv'];

/** Text with what UTF-8 encoding can trip on: lone and split surrogates, astral characters. */
const piece = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 })
    .map((codes) => String.fromCharCode(...codes)),
  fc.constantFrom('\ud83d', '\ude00', '\ud83d\ude00', '😀', 'é', '\u2028', '', '\n', '\udbff', '\udc00'),
);

describe('Utf8Builder', () => {
  it('writes exactly Buffer.from(pieces.join(""))', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 0, max: 64 }), (pieces, capacity) => {
        const out = new Utf8Builder(capacity);
        for (const p of pieces) out.write(p);
        expect(out.finish().equals(Buffer.from(pieces.join('')))).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS * 4 },
    );
  });

  it('joins a surrogate pair split across pieces, even with empty pieces between', () => {
    const out = new Utf8Builder(0);
    for (const p of ['a\ud83d', '', '\ude00b', '\ud83d']) out.write(p);
    expect(out.finish()).toEqual(Buffer.from('a😀b\ud83d'));
    expect(Buffer.from('a😀b\ud83d').toString('hex')).toBe('61f09f988062efbfbd');
  });

  it('grows past its capacity', () => {
    const out = new Utf8Builder(1);
    const text = 'é😀x'.repeat(5000);
    for (let i = 0; i < 10; i++) out.write(text);
    expect(out.finish().equals(Buffer.from(text.repeat(10)))).toBe(true);
  });
});

/** The old encoders' page text, written out independently (one string per page). */
function referencePage(
  format: WriterFormat,
  schema: FeatureSchema,
  features: readonly GeoJSONFeature[],
  before: number,
): string {
  let out = '';
  features.forEach((feature, i) => {
    if (format === 'geojsonseq') out += `${JSON.stringify(feature)}\n`;
    else if (format === 'geojson') out += (before + i === 0 ? '\n' : ',\n') + JSON.stringify(feature);
    else out += createEncoder('csv', schema).page([feature], before + i);
  });
  return out;
}

/** Old way: header + page strings + footer, each `Buffer.from`; new way: the writer's bytes. */
async function bothWays(
  format: WriterFormat,
  schema: FeatureSchema,
  pages: readonly (readonly { attributes?: Record<string, unknown> | null; geometry?: unknown }[])[],
): Promise<{ old: Buffer; now: Buffer; bytesWritten: number }> {
  const convert = createFeatureConverter(schema);
  const encoder = createEncoder(format, schema);
  const chunks: Buffer[] = [Buffer.from(encoder.header())];
  let before = 0;
  for (const page of pages) {
    if (page.length === 0) continue;
    chunks.push(Buffer.from(referencePage(format, schema, page.map(convert), before)));
    before += page.length;
  }
  chunks.push(Buffer.from(encoder.footer(before)));

  const stream = new PassThrough();
  const received: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => received.push(chunk));
  const writer = await createWriter({ format, path: '-', schema, stream });
  for (const page of pages) await writer.writePage(page, convert);
  await writer.finish();
  return { old: Buffer.concat(chunks), now: Buffer.concat(received), bytesWritten: writer.bytesWritten };
}

// random schemas and Esri features, with the values JSON.stringify and UTF-8 treat specially
const fieldName = fc.oneof(
  fc.constantFrom('OBJECTID', 'name', '__proto__', 'constructor', 'toString', 'a"b\\c', 'é😀', '0', '17'),
  fc.string({ minLength: 1, maxLength: 6 }),
);
const fieldType = fc.constantFrom(
  'esriFieldTypeString',
  'esriFieldTypeDouble',
  'esriFieldTypeInteger',
  'esriFieldTypeDate',
  'esriFieldTypeGeometry',
);
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 5e-324, 1700000000000),
);
const scalar = fc.oneof(number, piece, fc.boolean(), fc.constant(null), fc.constant(undefined));
const value = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(piece, scalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: -1e13, max: 1e13 }).map((ms) => new Date(ms)) },
);
const coordinate = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: -1e3, max: 1e3 }) },
  { weight: 1, arbitrary: number },
);
const position = fc.array(coordinate, { minLength: 2, maxLength: 4 });
const geometry = fc.oneof(
  fc.constantFrom(null, undefined, {}),
  fc.record({ x: coordinate, y: coordinate }, { requiredKeys: [] }),
  fc.record({ x: coordinate, y: coordinate, z: coordinate, m: coordinate }),
  fc.record({ points: fc.array(position, { maxLength: 4 }) }),
  fc.record({ paths: fc.array(fc.array(position, { maxLength: 5 }), { maxLength: 3 }) }),
  fc.record({ rings: fc.array(fc.array(position, { maxLength: 7 }), { maxLength: 3 }) }),
);

const scenario = fc
  .record({
    fields: fc.uniqueArray(fc.record({ name: fieldName, type: fieldType }), {
      minLength: 1,
      maxLength: 6,
      selector: (f) => f.name,
    }),
    hasZ: fc.boolean(),
    hasM: fc.boolean(),
  })
  .chain(({ fields, hasZ, hasM }) => {
    const names = fields.map((f) => f.name);
    const attributes = fc.oneof(
      { weight: 8, arbitrary: fc.dictionary(fc.constantFrom(...names, 'extra'), value, { maxKeys: 8 }) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
    const feature = fc.record({ attributes, geometry }, { requiredKeys: [] });
    return fc.record({
      schema: fc.constant<FeatureSchema>({ oidField: names[0]!, fields: fields as EsriField[], hasZ, hasM }),
      pages: fc.array(fc.array(feature, { maxLength: 6 }), { maxLength: 4 }),
    });
  });

describe('writer bytes = old page strings through Buffer.from', () => {
  it.each(FORMATS)('random features (%s)', async (format) => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ schema, pages }) => {
        const { old, now, bytesWritten } = await bothWays(format, schema, pages);
        expect(now.equals(old)).toBe(true);
        expect(bytesWritten).toBe(old.length);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('an encoding failure (a circular value) still writes nothing and is an OUTPUT_ERROR', async () => {
    const schema: FeatureSchema = {
      oidField: 'OBJECTID',
      fields: [{ name: 'n', type: 'esriFieldTypeInteger' }],
    };
    const stream = new PassThrough();
    const writer = await createWriter({ format: 'geojsonseq', path: '-', schema, stream });
    const convert = createFeatureConverter(schema);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(
      writer.writePage([{ attributes: { n: 1 } }, { attributes: { n: circular } }], convert),
    ).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
    expect(writer.bytesWritten).toBe(0);
    await writer.writePage([{ attributes: { n: 2 } }], convert);
    expect(writer.bytesWritten).toBe(
      Buffer.byteLength('{"type":"Feature","geometry":null,"properties":{"n":2}}\n'),
    );
    await writer.abort();
  });
});

const layers = recordedPageLayers();

describe('recorded pages: writer bytes = old page strings', () => {
  it('finds the recorded pages', () => {
    expect(layers.length).toBeGreaterThanOrEqual(5);
  });

  it.each(layers)('%s', async (name) => {
    const page = recordedJson<EsriQueryResponse>(`${name}/${name}-0.json`);
    const metadata = recordedJson<LayerMetadata>(`${name}/${name}-metadata.json`);
    const fields: EsriField[] = metadata.fields ?? page.fields ?? [];
    const oidField =
      metadata.objectIdField ?? fields.find((f) => f.type === 'esriFieldTypeOID')?.name ?? 'OBJECTID';
    const schema: FeatureSchema = {
      oidField,
      fields,
      geometryType: page.geometryType,
      hasZ: page.hasZ,
      hasM: page.hasM,
    };
    const half = Math.ceil(page.features.length / 2);
    const pages = [page.features.slice(0, half), page.features.slice(half)];
    for (const format of FORMATS) {
      const { old, now } = await bothWays(format, schema, pages);
      expect(now.length).toBeGreaterThan(0);
      expect(now.equals(old)).toBe(true);
    }
  });
});
