/**
 * Issue 11, "What was seen": servers unlike ours (Koop-like: orderByFields ignored on a computed
 * OID, hashed OIDs; pages capped without exceededTransferLimit; null geometries). Each finding is
 * reproduced against the emulator's quirk switches: `auto` gets the exact set, explicit strategies
 * get it or fail clearly, and a resumed run never completes a wrong file.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { ClientRequestOptions } from '../../src/client/types.js';
import { isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import type { EmulatorHandle, FaultOptions, LayerSpec } from '../../src/emulator/types.js';
import { checkpointPath, writeCheckpoint } from '../../src/features/checkpoint.js';
import { exportLayer } from '../../src/features/export.js';
import { Extraction, type StrategyChoice } from '../../src/features/extract.js';
import { fetchLayerInfo } from '../../src/features/metadata.js';
import type { Params } from '../../src/http/types.js';
import { expectSameAsSource, readSeq, rig, startSecured, tempDir } from './helpers.js';

const MAX = 200;
const hashed = (service: string, count: number, extra: Partial<LayerSpec> = {}): LayerSpec => ({
  service,
  generate: { count, geometry: 'point', seed: 11, oidMode: 'hashed' },
  maxRecordCount: MAX,
  ...extra,
});

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      hashed('Koop', 667),
      hashed('NoIds', 667, { capabilities: { idsOnly: false } }),
      {
        service: 'Polygons',
        generate: { count: 400, geometry: 'polygon', seed: 3, nullGeometries: 0.1 },
        maxRecordCount: 100,
      },
      {
        service: 'Lines',
        generate: { count: 300, geometry: 'polyline', seed: 4, nullGeometries: 0.07 },
        maxRecordCount: 100,
      },
    ],
  });
  tmp = await tempDir('arcgis-etl-quirks-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

/** A client that can tamper with answers and records the events. */
class Client extends ArcGISClient {
  readonly events: EtlEvent[] = [];
  constructor(
    base: ArcGISClient,
    readonly tamper?: (params: Params, body: Record<string, unknown>) => Record<string, unknown>,
  ) {
    const events: EtlEvent[] = [];
    super({ transport: base.transport, auth: base.auth, emit: (e) => events.push(e) });
    this.events = events;
  }
  override async request<T = unknown>(url: string, params: Params = {}, options: ClientRequestOptions = {}) {
    const body = await super.request<Record<string, unknown>>(url, params, options);
    return (this.tamper ? this.tamper(params, body) : body) as T;
  }
  warnings(): string[] {
    return this.events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
  }
}

let n = 0;
async function run(
  service: string,
  faults: FaultOptions,
  options: Partial<Parameters<typeof exportLayer>[0]> = {},
  tamper?: (params: Params, body: Record<string, unknown>) => Record<string, unknown>,
) {
  emu.setFaults(faults);
  const r = rig(emu);
  const client = new Client(r.client, tamper);
  const out = tmp.path(`q-${++n}.geojsonl`);
  try {
    const result = await exportLayer({
      client,
      layerUrl: emu.layerUrl(service),
      output: out,
      format: 'geojsonseq',
      queryFormat: 'json',
      ...options,
    }).then(
      (stats) => ({ stats, error: undefined }),
      (error: unknown) => ({ stats: undefined, error }),
    );
    return { ...result, out, client };
  } finally {
    emu.setFaults({});
    await r.close();
  }
}

describe('finding 1: a server that ignores orderByFields on its OID (Koop)', () => {
  it('the raw order is checked: explicit offset refuses before writing, naming the real cause', async () => {
    for (const pageSize of [1, 2, 50, 500]) {
      const { error, out } = await run('Koop', { ignoreOrderBy: true }, { strategy: 'offset', pageSize });
      expect(isEtlError(error, 'EXTRACTION_INCOMPLETE'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/ignores orderByFields on OBJECTID/);
      expect((error as Error).message).not.toMatch(/ignores resultOffset/);
      expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
    }
  });

  it('auto gets the exact set at every page size and concurrency, whatever the first OIDs of the file', async () => {
    for (const [pageSize, concurrency] of [
      [1, 1],
      [3, 4],
      [50, 1],
      [50, 4],
      [500, 4],
    ] as const) {
      const { stats, error, out, client } = await run(
        'Koop',
        { ignoreOrderBy: true },
        { pageSize, concurrency },
      );
      expect(error, `page size ${pageSize}`).toBeUndefined();
      expect(stats!.strategy).not.toBe('offset');
      expect(client.warnings().join('\n')).toMatch(
        /strategy offset left: The server ignores orderByFields on OBJECTID/,
      );
      expectSameAsSource(emu, 'Koop', await readSeq(out));
    }
  });

  it("auto pages in the server's own order once its probe sees the order ignored: no id list, no request wasted", async () => {
    for (const concurrency of [1, 4]) {
      const queries: Params[] = [];
      const { stats, error, out, client } = await run(
        'Koop',
        { ignoreOrderBy: true },
        { pageSize: 100, concurrency },
        (params, body) => {
          if (params.where !== undefined) queries.push(params); // queries, not the layer's metadata
          return body;
        },
      );
      expect(error).toBeUndefined();
      expect(stats!.strategy).toBe('server-order');
      expect(client.warnings().join('\n')).toMatch(
        /strategy offset left: The server ignores orderByFields on OBJECTID \(ordered by OBJECTID ASC, offset 0 answered/,
      );
      expectSameAsSource(emu, 'Koop', await readSeq(out));
      // no id list, no objectIds query; the probe is the first page (offset 0, a full page, asked
      // with orderByFields): its answer, in the server's own order, is server-order's first page
      expect(queries.filter((q) => q.returnIdsOnly || q.objectIds)).toHaveLength(0);
      const ordered = queries.filter((q) => q.orderByFields && q.returnGeometry !== false);
      expect(ordered).toHaveLength(1);
      expect(ordered[0]).toMatchObject({ resultOffset: 0, resultRecordCount: 100 });
      // the count, then the pages: 667 features by 100, each asked once
      const feature = queries.filter((q) => !q.returnCountOnly && q.returnGeometry !== false);
      expect(feature.map((q) => Number(q.resultOffset)).sort((a, b) => a - b)).toEqual([
        0, 100, 200, 300, 400, 500, 600,
      ]);
      expect(queries).toHaveLength(1 + 7);
    }
  });

  it('with --resume (output in OID order) auto does not page in the server order: offset, then ids', async () => {
    const { stats, error, out } = await run('Koop', { ignoreOrderBy: true }, { pageSize: 100, resume: true });
    expect(error).toBeUndefined();
    expect(stats!.strategy).toBe('ids');
    expectSameAsSource(emu, 'Koop', await readSeq(out), { ordered: true });
  });

  it('the page-2 guard names the real cause when order breaks after pages were written', async () => {
    emu.setFaults({});
    const r = rig(emu);
    const client = new Client(r.client);
    const out = tmp.path('midway.geojsonl');
    const error = await exportLayer({
      client,
      layerUrl: emu.layerUrl('Koop'),
      output: out,
      format: 'geojsonseq',
      strategy: 'offset',
      concurrency: 1,
      pageSize: 40,
      onProgress: (p) => {
        if (p.pages === 1) emu.setFaults({ ignoreOrderBy: true });
      },
    }).catch((e: unknown) => e);
    emu.setFaults({});
    await r.close();
    expect(isEtlError(error, 'EXTRACTION_INCOMPLETE')).toBe(true);
    expect((error as Error).message).toMatch(/ignores orderByFields on OBJECTID/);
  });

  it('auto hands over after the last OID only when the server counts exactly what was written up to it', async () => {
    // ordered pages, then the order breaks: the 80 written are all OIDs up to the last one
    emu.setFaults({});
    const r = rig(emu);
    const client = new Client(r.client);
    const out = tmp.path('handoff.geojsonl');
    const stats = await exportLayer({
      client,
      layerUrl: emu.layerUrl('Koop'),
      output: out,
      format: 'geojsonseq',
      concurrency: 1,
      pageSize: 40,
      onProgress: (p) => {
        if (p.pages === 2) emu.setFaults({ ignoreOrderBy: true });
      },
    });
    emu.setFaults({});
    await r.close();
    expect(stats.strategy).toBe('ids');
    expect(stats.duplicatesDropped).toBe(0);
    expectSameAsSource(emu, 'Koop', await readSeq(out), { ordered: true });
  });

  it('never assumes every OID up to the last one was written: a page that skipped one makes the successor start over', async () => {
    let skipped: number | undefined;
    const { stats, error, out, client } = await run(
      'Koop',
      {},
      { pageSize: 50, concurrency: 1 },
      (params, body) => {
        // the first feature page loses its third feature: written OIDs then have a hole below the last one
        if (params.resultOffset !== 0 || params.returnGeometry === false || skipped !== undefined)
          return body;
        const features = body.features as { attributes: { OBJECTID: number } }[];
        skipped = features[2]!.attributes.OBJECTID;
        return { ...body, features: features.filter((_, i) => i !== 2) };
      },
    );
    expect(error).toBeUndefined();
    expect(skipped).toBeDefined();
    expect(client.warnings().join('\n')).toMatch(/starts over and drops what was written/);
    expect(stats!.duplicatesDropped).toBe(666);
    const features = await readSeq(out);
    expectSameAsSource(emu, 'Koop', features);
    expect(features.at(-1)!.id).toBe(skipped);
  });
});

describe('finding 2: a resumed run never completes a wrong file', () => {
  it('a checkpoint whose partial output is not every feature up to its last OID is detected: the export starts over', async () => {
    // what main left after run 1 against Koop: a page of 50 unsorted features holding the largest OID
    const full = tmp.path('koop-full.geojsonl');
    expect((await run('Koop', {}, { output: full })).error).toBeUndefined();
    const lines = (await readFile(full, 'utf8')).split('\n').filter(Boolean);
    const picked = [...lines.slice(0, 49).filter((_, i) => i % 2 === 0), ...lines.slice(-25)];
    const out = tmp.path('koop-resumed.geojsonl');
    const partial = `${picked.join('\n')}\n`;
    await writeFile(`${out}.partial`, partial);
    const layer = emu.layer('Koop');
    await writeCheckpoint(checkpointPath(out), {
      version: 1,
      layerUrl: emu.layerUrl('Koop'),
      where: '1=1',
      fields: ['*'],
      format: 'geojsonseq',
      outSR: '4326',
      strategy: 'offset',
      bytes: Buffer.byteLength(partial),
      features: picked.length,
      lastOid: layer.objectIds().at(-1)!,
    });
    const { stats, error, client } = await run(
      'Koop',
      { ignoreOrderBy: true },
      { output: out, resume: true },
    );
    expect(error).toBeUndefined();
    expect(stats!.resumed).toBe(false);
    expect(client.warnings().join('\n')).toMatch(
      /checkpoint holds 50 features up to OID \d+, but the server counts 667 there; starting over/,
    );
    expectSameAsSource(emu, 'Koop', await readSeq(out));
    expect(existsSync(checkpointPath(out))).toBe(false);
  });

  it('the extraction refuses to continue a partial output the server does not agree with', async () => {
    const r = rig(emu);
    try {
      const layer = await fetchLayerInfo(r.client, emu.layerUrl('Koop'));
      const oids = emu.layer('Koop').objectIds();
      const extraction = new Extraction({ client: r.client, layer, after: oids[99]!, held: 80 });
      const error = await (async () => {
        for await (const _ of extraction.pages());
      })().catch((e: unknown) => e);
      expect(isEtlError(error, 'CHECKPOINT_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(
        /holds 80 features up to OID \d+, but the server counts 100 there/,
      );
    } finally {
      await r.close();
    }
  });

  it('the end check covers the resumed part: the whole output against the count of the whole query', async () => {
    const r = rig(emu);
    try {
      // the server counts one feature more than it serves (but agrees with the checkpoint)
      const client = new Client(r.client, (params, body) =>
        params.returnCountOnly && !String(params.where).includes('<=')
          ? { count: (body.count as number) + 1 }
          : body,
      );
      const layer = await fetchLayerInfo(client, emu.layerUrl('Koop'));
      const oids = emu.layer('Koop').objectIds();
      const extraction = new Extraction({ client, layer, after: oids[99]!, held: 100, queryFormat: 'json' });
      const error = await (async () => {
        for await (const _ of extraction.pages());
      })().catch((e: unknown) => e);
      expect(isEtlError(error, 'EXTRACTION_INCOMPLETE')).toBe(true);
      expect((error as Error).message).toMatch(/Extracted 667 features but the layer counts 668/);
    } finally {
      await r.close();
    }
  });

  it('a server capping pages silently: run 1 finishes, and a resumed run finishes with every feature', async () => {
    const { stats, error, out } = await run('Koop', { pageCap: 30 }, { resume: true, pageSize: 100 });
    expect(error).toBeUndefined();
    expect(stats!.features).toBe(667);
    expectSameAsSource(emu, 'Koop', await readSeq(out), { ordered: true });
  });
});

describe('finding 3: pages capped below maxRecordCount without exceededTransferLimit', () => {
  for (const strategy of ['offset', 'ids', 'oid-range', 'server-order', 'envelope', 'auto'] as const) {
    it(`${strategy} shrinks its pages to what the server gives and gets every feature`, async () => {
      const { stats, error, out, client } = await run('Koop', { pageCap: 37 }, { strategy, pageSize: 150 });
      expect(error).toBeUndefined();
      expect(stats!.features).toBe(667);
      expectSameAsSource(emu, 'Koop', await readSeq(out), {
        ordered: strategy !== 'envelope' && strategy !== 'server-order',
      });
      if (strategy !== 'envelope') expect(client.warnings().join('\n')).toMatch(/at most 37 features per/);
    });
  }

  it('without an id list too: oid-range and envelope learn the cap with one OID-only query and split what reaches it', async () => {
    for (const strategy of ['oid-range', 'envelope', 'auto'] as const) {
      const { stats, error, out, client } = await run(
        'NoIds',
        { pageCap: 37, ignoreOrderBy: true },
        { strategy, pageSize: 150 },
      );
      expect(error, strategy).toBeUndefined();
      expect(stats!.features).toBe(667);
      expectSameAsSource(emu, 'NoIds', await readSeq(out));
      // auto: offset sees the ignored order in its probe and pages in the server's own order,
      // which learns the cap from its short pages
      expect(client.warnings().join('\n')).toMatch(
        strategy === 'auto'
          ? /at most 37 features per page without exceededTransferLimit; paging by 37/
          : /at most 37 features per query without exceededTransferLimit; (ranges|envelope cells) answering 37 are split/,
      );
    }
  });

  it('offsets honoured only up to a depth: offset leaves at the depth, the next strategy continues after the last OID', async () => {
    const { stats, error, out, client } = await run(
      'Koop',
      { offsetDepth: 250 },
      { pageSize: 100, concurrency: 1 },
    );
    expect(error).toBeUndefined();
    expect(stats!.strategy).toBe('ids');
    expect(client.warnings().join('\n')).toMatch(/honours resultOffset only up to a depth/);
    expectSameAsSource(emu, 'Koop', await readSeq(out), { ordered: true });
  });
});

describe('finding 4: null geometries', () => {
  for (const service of ['Polygons', 'Lines']) {
    it(`envelope (${service}): after the quadtree, what no envelope sees is fetched by the id list difference`, async () => {
      const source = emu.layer(service);
      const nulls = source.objectIds().filter((oid) => !source.feature(oid)!.geometry).length;
      expect(nulls).toBeGreaterThan(10);
      const { stats, error, out, client } = await run(service, {}, { strategy: 'envelope', pageSize: 40 });
      expect(error).toBeUndefined();
      expect(stats!.features).toBe(source.count);
      expect(client.warnings().join('\n')).toMatch(new RegExp(`${nulls} features were in no envelope`));
      expectSameAsSource(emu, service, await readSeq(out));
    });
  }

  it('every strategy and auto get the null geometries', async () => {
    for (const strategy of ['auto', 'offset', 'ids', 'oid-range', 'server-order'] as StrategyChoice[]) {
      const { error, out } = await run('Lines', {}, { strategy, pageSize: 40 });
      expect(error, strategy).toBeUndefined();
      expectSameAsSource(emu, 'Lines', await readSeq(out));
    }
  });
});
