/**
 * Feature queries over f=pbf and f=json: `auto` picks pbf when the layer lists it, both wire formats
 * export byte-identical files, and a pbf answer that cannot be used (a 400 refusing the format, an
 * undecodable body, a JSON answer instead) is asked again as JSON, never lost.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import { isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type ExportOptions, exportLayer } from '../../src/features/export.js';
import type { WriterFormat } from '../../src/features/writers/types.js';
import { createTransport } from '../../src/http/transport.js';
import { forward, paramsOf, relay, sendJson, startServer } from '../http/server.js';
import { expectSameAsSource, readSeq, rig, startSecured, tempDir } from './helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;

const LAYERS = {
  Points: { geometry: 'point', count: 130 },
  PointsZM: { geometry: 'point', count: 60, hasZ: true, hasM: true },
  Multipoints: { geometry: 'multipoint', count: 50, hasZ: true },
  Lines: { geometry: 'polyline', count: 50, hasM: true },
  Parcels: { geometry: 'mixed-polygon', count: 70 },
} as const;

beforeAll(async () => {
  emu = await startSecured({
    layers: [
      ...Object.entries(LAYERS).map(([service, spec], i) => ({
        service,
        generate: { seed: 10 + i, oidMode: 'sparse' as const, ...spec },
        maxRecordCount: 20,
      })),
      {
        service: 'OldServer',
        generate: { count: 45, geometry: 'point', seed: 4 },
        maxRecordCount: 20,
        capabilities: { pbf: false },
      },
      // public: the spoiling proxy below carries no token
      {
        service: 'Open',
        generate: { count: 90, geometry: 'point', seed: 5 },
        maxRecordCount: 20,
        secured: false,
      },
    ],
  });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

let n = 0;
async function run(service: string, options: Partial<ExportOptions> = {}) {
  const r = rig(emu);
  const out = tmp.path(`out-${++n}.${options.format === 'csv' ? 'csv' : 'geojsonl'}`);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output: out,
      format: 'geojsonseq',
      ...options,
    });
    return { stats, out, text: await readFile(out, 'utf8') };
  } finally {
    await r.close();
  }
}

describe('auto picks f=pbf when the layer lists PBF (Z and M layers too)', () => {
  for (const service of Object.keys(LAYERS)) {
    it(`${service}: the pbf export equals the json export byte for byte, and the source`, async () => {
      const pbf = await run(service);
      const json = await run(service, { queryFormat: 'json' });
      expect(pbf.stats.queryFormat).toBe('pbf');
      expect(json.stats.queryFormat).toBe('json');
      expect(pbf.text).toBe(json.text);
      expectSameAsSource(emu, service, await readSeq(pbf.out), { ordered: true });
    });
  }

  for (const format of ['geojson', 'csv'] as WriterFormat[]) {
    it(`${format}: pbf and json exports are identical`, async () => {
      const pbf = await run('Parcels', { format });
      const json = await run('Parcels', { format, queryFormat: 'json' });
      expect(pbf.stats.queryFormat).toBe('pbf');
      expect(pbf.text).toBe(json.text);
    });
  }

  it('a where clause, chosen fields and outSR 3857 work over pbf (coordinates within 0.1 mm)', async () => {
    const options: Partial<ExportOptions> = {
      where: 'category < 5',
      fields: ['name', 'created'],
      outSR: 3857,
    };
    const pbf = await run('Points', options);
    const json = await run('Points', { ...options, queryFormat: 'json' });
    expect(pbf.stats.queryFormat).toBe('pbf');
    const a = await readSeq(pbf.out);
    const b = await readSeq(json.out);
    expect(a.map((f) => f.id)).toEqual(b.map((f) => f.id));
    expect(a.map((f) => f.properties)).toEqual(b.map((f) => f.properties));
    for (let i = 0; i < a.length; i++) {
      const [x1, y1] = (a[i]!.geometry as { coordinates: number[] }).coordinates;
      const [x2, y2] = (b[i]!.geometry as { coordinates: number[] }).coordinates;
      expect(Math.abs(x1! - x2!)).toBeLessThanOrEqual(5e-5);
      expect(Math.abs(y1! - y2!)).toBeLessThanOrEqual(5e-5);
    }
  });

  it('a layer without PBF is queried in json; forcing pbf there fails with the server reason', async () => {
    const auto = await run('OldServer');
    expect(auto.stats.queryFormat).toBe('json');
    expect(auto.stats.features).toBe(45);
    const error = await run('OldServer', { queryFormat: 'pbf' }).catch((e: unknown) => e);
    expect(isEtlError(error)).toBe(true);
    expect((error as Error).message).toMatch(/pbf is not supported/);
  });

  it('an ArcGIS Server 10.0 (legacy) emulator offers no PBF: auto exports in json', async () => {
    const legacy = await startSecured({
      legacy: true,
      layers: [
        {
          service: 'Old',
          generate: { count: 30, geometry: 'point', seed: 6 },
          maxRecordCount: 20,
          secured: false,
        },
      ],
    });
    const r = rig(legacy, { auth: false });
    try {
      const meta = legacy.layer('Old').metadata() as { supportedQueryFormats?: string };
      expect(meta.supportedQueryFormats).not.toMatch(/pbf/i);
      const stats = await exportLayer({
        client: r.client,
        layerUrl: legacy.layerUrl('Old'),
        output: tmp.path('legacy.geojsonl'),
        format: 'geojsonseq',
      });
      expect(stats.queryFormat).toBe('json');
      expect(stats.features).toBe(30);
    } finally {
      await r.close();
      await legacy.stop();
    }
  });

  it('refuses an unknown query format before any request', async () => {
    const error = await run('Points', { queryFormat: 'xml' as never }).catch((e: unknown) => e);
    expect(isEtlError(error, 'USAGE')).toBe(true);
    expect((error as Error).message).toMatch(/auto, json, pbf/);
  });
});

/** A proxy in front of the emulator that spoils its f=pbf feature answers in one way. */
type Spoil = 'refuse' | 'garbage' | 'curve' | 'answer-json';
async function proxy(spoil: Spoil): Promise<{ origin: string; close(): Promise<void>; spoiled: number[] }> {
  const spoiled: number[] = [];
  const target = new URL(emu.url).origin;
  const server = await startServer(async (_req, res, recorded) => {
    const params = paramsOf(recorded);
    const isPbfQuery = recorded.url.includes('/query') && params.get('f') === 'pbf';
    if (isPbfQuery && spoil === 'refuse') {
      spoiled.push(1);
      sendJson(res, {
        error: { code: 400, message: 'Invalid or missing input parameters.', details: ["'f' is invalid"] },
      });
      return;
    }
    if (isPbfQuery && spoil === 'garbage') {
      spoiled.push(1);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      // a whole answer, malformed: a point feature with three coordinates in a 2D layer
      res.end(Buffer.from([0x12, 0x0b, 0x0a, 0x09, 0x7a, 0x07, 0x12, 0x05, 0x1a, 0x03, 0x02, 0x04, 0x06]));
      return;
    }
    if (isPbfQuery && spoil === 'curve') {
      spoiled.push(1);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      // a polygon feature carrying true curves (curveGeometry, Feature field 7) instead of a geometry
      res.end(Buffer.from([0x12, 0x08, 0x0a, 0x06, 0x38, 0x03, 0x7a, 0x02, 0x3a, 0x00]));
      return;
    }
    if (isPbfQuery && spoil === 'answer-json') params.set('f', 'json');
    relay(res, await forward(target, recorded, params));
  });
  return { origin: server.origin, spoiled, close: () => server.close() };
}

describe('a pbf answer that cannot be used is asked again as json', () => {
  for (const spoil of ['refuse', 'garbage', 'curve', 'answer-json'] as const) {
    it(`${spoil}: every feature once, a warning, json from then on`, async () => {
      const p = await proxy(spoil);
      const events: EtlEvent[] = [];
      const transport = createTransport({ retry: { baseDelayMs: 1, maxDelayMs: 2 }, emit: () => {} });
      const client = new ArcGISClient({ transport, emit: (e) => events.push(e) });
      const out = tmp.path(`proxy-${spoil}.geojsonl`);
      try {
        const layerUrl = emu.layerUrl('Open').replace(new URL(emu.url).origin, p.origin);
        const stats = await exportLayer({
          client,
          layerUrl,
          output: out,
          format: 'geojsonseq',
          concurrency: 1,
        });
        expect(stats.queryFormat).toBe('json');
        expectSameAsSource(emu, 'Open', await readSeq(out), { ordered: true });
        const warnings = events
          .filter((e) => e.type === 'warning')
          .map((e) => (e as { message: string }).message);
        if (spoil === 'answer-json') {
          expect(p.spoiled).toHaveLength(0);
        } else {
          const why = {
            refuse: /f=pbf answer .* cannot be used.*using f=json/,
            // true curves: the page is asked again as JSON (densified), never a feature without geometry
            curve: /f=pbf answer .* cannot be used .*curve geometry.*using f=json/,
            garbage: /^the pbf answer is malformed: .*; using f=json from here on$/,
          }[spoil];
          expect(
            warnings.some((m) => why.test(m)),
            warnings.join('\n'),
          ).toBe(true);
          expect(warnings.some((m) => /invalid JSON/.test(m))).toBe(false);
          // only one query got a pbf answer (the offset probe's second: its first asks f=json, the
          // reference of the pbf check): refused or undecodable once (a whole 200 answer that does
          // not decode is not retried); never asked again after
          expect(p.spoiled.length).toBe(1);
        }
        // forcing pbf: no fallback, the reason surfaces
        if (spoil !== 'answer-json') {
          const error = await exportLayer({
            client,
            layerUrl,
            output: tmp.path(`forced-${spoil}.geojsonl`),
            format: 'geojsonseq',
            queryFormat: 'pbf',
          }).catch((e: unknown) => e);
          expect(isEtlError(error)).toBe(true);
        }
      } finally {
        await transport.close();
        await p.close();
      }
    });
  }
});
