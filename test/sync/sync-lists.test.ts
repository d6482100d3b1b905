/**
 * Sync with change sets larger than one OID list: every `IN (…)` list a sync sends holds at most
 * OID_LIST_CHUNK OIDs and goes in a POST body; the changes are still exported exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { inList, OID_LIST_CHUNK } from '../../src/features/sync/sync.js';
import type { RequestOptions, Transport } from '../../src/http/types.js';
import { pointLayer, readSeq, rig, startSecured, type TempDir, tempDir } from '../extract/helpers.js';
import { syncInto } from './helpers.js';

const T0 = Date.UTC(2026, 3, 1, 8, 0, 0);
let now = T0;
let emu: EmulatorHandle;
let tmp: TempDir;

beforeAll(async () => {
  emu = await startSecured({
    now: () => now,
    layers: [
      pointLayer('Many', 1300, { maxRecordCount: 2000 }),
      pointLayer('ManyDated', 1300, { maxRecordCount: 2000, editing: { changeTracking: false } }),
    ],
  });
  tmp = await tempDir('arcgis-etl-sync-lists-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

interface Sent {
  url: string;
  method: string;
  where: string;
}

async function syncRecording(service: string, out: string): Promise<{ sent: Sent[]; upserts: number }> {
  const sent: Sent[] = [];
  const recording = (inner: Transport): Transport => ({
    stats: inner.stats,
    close: () => inner.close(),
    request: <T>(url: string, options?: RequestOptions) => {
      const where = options?.params?.where;
      if (typeof where === 'string') sent.push({ url, method: options?.method ?? 'POST', where });
      return inner.request<T>(url, options);
    },
  });
  const stats = await syncInto(
    emu,
    tmp,
    service,
    out,
    {},
    (r) => new ArcGISClient({ transport: recording(r.transport), auth: r.auth }),
  );
  return { sent, upserts: stats.upserts };
}

function longestList(where: string): number {
  let longest = 0;
  for (const m of where.matchAll(/IN \(([^)]*)\)/g)) longest = Math.max(longest, m[1]!.split(',').length);
  return longest;
}

async function updateMany(service: string, oids: number[]): Promise<void> {
  const r = rig(emu);
  try {
    await r.client.request(`${emu.layerUrl(service)}/applyEdits`, {
      updates: JSON.stringify(oids.map((oid) => ({ attributes: { OBJECTID: oid, name: `bulk ${oid}` } }))),
    });
  } finally {
    await r.close();
  }
}

describe('OID lists of a sync', () => {
  it('inList chunks a long list into IN lists joined by OR', () => {
    expect(inList('OBJECTID', [1, 2, 3], 2)).toBe('(OBJECTID IN (1,2) OR OBJECTID IN (3))');
    expect(inList('OBJECTID', [4], 2)).toBe('OBJECTID IN (4)');
  });

  it.each(['Many', 'ManyDated'])(
    '%s: a change set of 1,200 (more than one list) is exported once, in lists of at most 500, POSTed',
    async (service) => {
      await syncRecording(service, `${service}-1.geojsonl`);
      now += 60_000;
      const changed = Array.from({ length: 1200 }, (_, i) => i + 50);
      await updateMany(service, changed);
      // a second edit at the same instant later makes 1,200 OIDs sit on the high-water mark
      const { sent, upserts } = await syncRecording(service, `${service}-2.geojsonl`);
      expect(upserts).toBe(1200);
      const ids = (await readSeq(tmp.path(`${service}-2.geojsonl`))).map((f) => f.id);
      expect(ids).toEqual(changed);
      expect(sent.length).toBeGreaterThan(0);
      for (const s of sent) {
        expect(s.method).toBe('POST');
        expect(longestList(s.where)).toBeLessThanOrEqual(OID_LIST_CHUNK);
      }
      // the next run excludes the 1,200 OIDs at the boundary instant, again in lists of ≤ 500
      const again = await syncRecording(service, `${service}-3.geojsonl`);
      expect(again.upserts).toBe(0);
      for (const s of again.sent) expect(longestList(s.where)).toBeLessThanOrEqual(OID_LIST_CHUNK);
      if (service === 'ManyDated') expect(again.sent.some((s) => longestList(s.where) === 500)).toBe(true);
    },
  );
});
