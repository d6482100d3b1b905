/**
 * `auto`: unsupported strategies and failed probes move to the next strategy before anything is
 * written; a guard failing mid-way continues after the last written OID; the end count is checked.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { ClientRequestOptions } from '../../src/client/types.js';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import type { Params } from '../../src/http/types.js';
import { expectSameAsSource, pointLayer, readSeq, rig, startSecured, tempDir } from './helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      pointLayer('Points', 110),
      pointLayer('NoPaging', 80, { capabilities: { pagination: false } }),
      pointLayer('StatsOnly', 80, { capabilities: { pagination: false, idsOnly: false } }),
      pointLayer('Nothing', 80, { capabilities: { pagination: false, idsOnly: false, statistics: false } }),
    ],
  });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

let n = 0;
async function exportWith(service: string, options: Partial<Parameters<typeof exportLayer>[0]> = {}) {
  const r = rig(emu);
  const out = tmp.path(`auto-${++n}.geojsonl`);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output: out,
      format: 'geojsonseq',
      ...options,
    });
    return { stats, out, features: await readSeq(out) };
  } finally {
    await r.close();
  }
}

/** A client whose answers are tampered with, to play a broken server. */
class TamperingClient extends ArcGISClient {
  constructor(
    base: ArcGISClient,
    readonly tamper: (params: Params, body: Record<string, unknown>) => Record<string, unknown>,
  ) {
    super({ transport: base.transport, auth: base.auth });
  }
  override async request<T = unknown>(url: string, params: Params = {}, options: ClientRequestOptions = {}) {
    const body = await super.request<Record<string, unknown>>(url, params, options);
    return this.tamper(params, body) as T;
  }
}

describe('auto strategy selection', () => {
  it('uses offset paging when the layer supports it', async () => {
    const { stats, features } = await exportWith('Points');
    expect(stats.strategy).toBe('offset');
    expectSameAsSource(emu, 'Points', features, { ordered: true });
  });

  it('sends the count and the first page together (one round trip), and asks for the first page once', async () => {
    const r = rig(emu);
    const events: string[] = [];
    const kind = (params: Params) =>
      params.returnCountOnly ? 'count' : params.resultOffset === 0 ? 'first page' : 'other';
    class RecordingClient extends ArcGISClient {
      override async request<T = unknown>(
        url: string,
        params: Params = {},
        options: ClientRequestOptions = {},
      ) {
        if (!url.endsWith('/query')) return super.request<T>(url, params, options);
        events.push(`start ${kind(params)}`);
        try {
          return await super.request<T>(url, params, options);
        } finally {
          events.push(`end ${kind(params)}`);
        }
      }
    }
    const out = tmp.path(`together-${++n}.geojsonl`);
    try {
      const stats = await exportLayer({
        client: new RecordingClient({ transport: r.client.transport, auth: r.client.auth }),
        layerUrl: emu.layerUrl('Points'),
        output: out,
        format: 'geojsonseq',
      });
      expect(stats.strategy).toBe('offset');
      // both are asked before either answers
      expect(events.slice(0, 2).sort()).toEqual(['start count', 'start first page']);
      expect(events.filter((e) => e === 'start first page')).toHaveLength(1);
      expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    } finally {
      await r.close();
    }
  });

  it('falls back to ids without pagination', async () => {
    const { stats, features } = await exportWith('NoPaging');
    expect(stats.strategy).toBe('ids');
    expectSameAsSource(emu, 'NoPaging', features, { ordered: true });
  });

  it('falls back to oid ranges when returnIdsOnly is refused', async () => {
    const { stats, features } = await exportWith('StatsOnly');
    expect(stats.strategy).toBe('oid-range');
    expectSameAsSource(emu, 'StatsOnly', features, { ordered: true });
  });

  it('falls back to the envelope quadtree when statistics are refused too', async () => {
    const { stats, features } = await exportWith('Nothing');
    expect(stats.strategy).toBe('envelope');
    expectSameAsSource(emu, 'Nothing', features);
  });

  it('an explicit strategy the layer does not support fails clearly, before any output', async () => {
    const out = tmp.path('explicit.geojsonl');
    const r = rig(emu);
    const error = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('NoPaging'),
      output: out,
      format: 'geojsonseq',
      strategy: 'offset',
    }).catch((e: unknown) => e);
    await r.close();
    expect(isEtlError(error, 'NO_STRATEGY')).toBe(true);
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });

  it('a server that starts ignoring resultOffset mid-way: auto continues with ids after the last written OID', async () => {
    const { stats, features } = await exportWith('Points', {
      concurrency: 1,
      onProgress: (p) => {
        if (p.pages === 2) emu.setFaults({ ignoreResultOffset: true });
      },
    });
    emu.setFaults({});
    expect(stats.strategy).toBe('ids');
    expectSameAsSource(emu, 'Points', features, { ordered: true });
  });

  it('explicit offset: a server that starts ignoring resultOffset mid-way is a clear error, never duplicates', async () => {
    const r = rig(emu);
    const out = tmp.path('offset-midway.geojsonl');
    const error = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      strategy: 'offset',
      concurrency: 1,
      onProgress: (p) => {
        if (p.pages === 2) emu.setFaults({ ignoreResultOffset: true });
      },
    }).catch((e: unknown) => e);
    emu.setFaults({});
    await r.close();
    expect(isEtlError(error, 'EXTRACTION_INCOMPLETE')).toBe(true);
    expect((error as Error).message).toMatch(/repeats 25 features already written/);
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });
});

describe('cross-checks', () => {
  it('ends with EXTRACTION_INCOMPLETE naming the numbers when the count does not match (never silent)', async () => {
    const r = rig(emu);
    const client = new TamperingClient(r.client, (params, body) =>
      params.returnCountOnly ? { count: (body.count as number) + 1 } : body,
    );
    const out = tmp.path('short.geojsonl');
    for (const strategy of ['offset', 'auto'] as const) {
      const error = await exportLayer({
        client,
        layerUrl: emu.layerUrl('Points'),
        output: out,
        format: 'geojsonseq',
        strategy,
      }).catch((e: unknown) => e);
      expect(isEtlError(error, 'EXTRACTION_INCOMPLETE')).toBe(true);
      expect((error as Error).message).toMatch(/110 features .* 111/);
      expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
    }
    await r.close();
  });

  it('wrong OID statistics make oid-range step aside (auto) before anything is written', async () => {
    const r = rig(emu);
    const client = new TamperingClient(r.client, (params, body) => {
      if (!params.outStatistics) return body;
      const attributes = (body.features as { attributes: Record<string, number> }[])[0]!.attributes;
      return { ...body, features: [{ attributes: { ...attributes, THE_MAX: attributes.THE_MAX! - 10 } }] };
    });
    const out = tmp.path('stats.geojsonl');
    const stats = await exportLayer({
      client,
      layerUrl: emu.layerUrl('StatsOnly'),
      output: out,
      format: 'geojsonseq',
    });
    expect(stats.strategy).toBe('envelope');
    expectSameAsSource(emu, 'StatsOnly', await readSeq(out));
    const error = await exportLayer({
      client,
      layerUrl: emu.layerUrl('StatsOnly'),
      output: out,
      format: 'geojsonseq',
      strategy: 'oid-range',
      overwrite: true,
    }).catch((e: unknown) => e);
    expect(isEtlError(error, 'EXTRACTION_INCOMPLETE')).toBe(true);
    expect((error as Error).message).toMatch(/statistics look wrong/);
    await r.close();
  });

  it('an OID answered twice is written once, whatever the strategy', async () => {
    const r = rig(emu);
    const client = new TamperingClient(r.client, (_params, body) => {
      const features = body.features as unknown[] | undefined;
      if (!Array.isArray(features) || features.length === 0 || body.count !== undefined) return body;
      return { ...body, features: [...features, features[0], features[features.length - 1]] };
    });
    for (const strategy of ['offset', 'ids', 'oid-range', 'server-order', 'envelope'] as const) {
      const out = tmp.path(`dup-${strategy}.geojsonl`);
      const stats = await exportLayer({
        client,
        layerUrl: emu.layerUrl('Points'),
        output: out,
        format: 'geojsonseq',
        strategy,
      });
      expectSameAsSource(emu, 'Points', await readSeq(out), {
        ordered: strategy !== 'envelope' && strategy !== 'server-order',
      });
      expect(stats.features).toBe(110);
    }
    await r.close();
  });
});
