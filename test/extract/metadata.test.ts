/**
 * Layer metadata: recorded real answers (OID field rules, defaults) and the emulator (non-layer URLs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  fetchLayerInfo,
  findOidField,
  normalizeLayerUrl,
  parseLayerInfo,
} from '../../src/features/metadata.js';
import { parseBounds } from '../../src/features/strategies/oid-range.js';
import { fakeTransport } from '../client/fakes.js';
import { recordedJson } from '../fixtures/recorded.js';
import { pointLayer, rig, startSecured } from './helpers.js';

const client = new ArcGISClient({ transport: fakeTransport(() => ({ count: 469 })) });
const URL0 = 'https://gis.example.com/arcgis/rest/services/S/MapServer/0';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isEtlError(error) ? error.code : 'other';
  }
  return undefined;
}

describe('recorded layer metadata', () => {
  it('reads a 10.1 layer: OID field by type (dotted name), default capabilities, maxRecordCount', async () => {
    const info = parseLayerInfo(client, URL0, recordedJson('us-ca-tuolumne/us-ca-tuolumne-metadata.json'));
    expect(info.oidField).toBe('SHAPE.fid');
    expect(info.maxRecordCount).toBe(1000);
    expect(info.supportsPagination).toBe(false);
    expect(info.supportsStatistics).toBe(true);
    expect(info.geometryType).toBe('esriGeometryPolygon');
    expect(await info.count()).toBe(469);
  });

  it('prefers the esriFieldTypeOID field over a string field named OID, reads advanced capabilities', async () => {
    const info = parseLayerInfo(client, URL0, recordedJson('us-il-chicago/metadata.json'));
    expect(info.oidField).toBe('OBJECTID');
    expect(info.supportsPagination).toBe(true);
    expect(info.maxRecordCount).toBe(100000);
    expect(info.extent?.spatialReference?.wkid).toBe(102100);
  });

  it('defaults maxRecordCount to 1000 when a 10.0 server omits it', async () => {
    const info = parseLayerInfo(client, URL0, recordedJson('us-mo-columbia/us-mo-columbia-metadata.json'));
    expect(info.maxRecordCount).toBe(1000);
    expect(info.currentVersion).toBe(10.01);
    expect(info.oidField).toBe('OBJECTID');
  });

  it('reads min/max statistics whatever the server named them', async () => {
    const tuolumne = recordedJson('us-ca-tuolumne/us-ca-tuolumne-statistics.json');
    const madison = recordedJson('us-ms-madison/us-ms-madison-outStatistics.json');
    const polk = recordedJson('us-fl-polk/us-fl-polk-statistics.json');
    const first = (f: Record<string, unknown>) =>
      (f.features as { attributes: Record<string, unknown> }[])[0]!.attributes;
    expect(parseBounds(first(tuolumne))).toEqual({ min: 1, max: 167 });
    expect(parseBounds(first(madison))).toEqual({ min: 0, max: 43 });
    expect(parseBounds(first(polk))).toEqual({ min: 2335900, max: 2670953 });
    expect(parseBounds({ THE_MIN: 1.5, THE_MAX: 3 })).toBeUndefined();
    expect(parseBounds({ THE_MIN: 9, THE_MAX: 3 })).toBeUndefined();
  });

  it('finds the OID field by name as a last resort, else OID_FIELD_NOT_FOUND', () => {
    expect(findOidField({}, [{ name: 'fid', type: 'esriFieldTypeInteger' }])).toBe('fid');
    expect(findOidField({ objectIdField: 'MYID' }, [])).toBe('MYID');
    expect(code(() => findOidField({}, [{ name: 'NAME', type: 'esriFieldTypeString' }]))).toBe(
      'OID_FIELD_NOT_FOUND',
    );
  });

  it('rejects a layer without fields, and names the layers of a service URL', () => {
    expect(code(() => parseLayerInfo(client, URL0, { name: 'x', type: 'Feature Layer' }))).toBe(
      'LAYER_METADATA_INVALID',
    );
    let message = '';
    try {
      parseLayerInfo(client, URL0, { layers: [{ id: 0, name: 'Parcels' }], tables: [] });
    } catch (error) {
      expect(isEtlError(error, 'LAYER_NOT_FOUND')).toBe(true);
      message = (error as Error).message;
    }
    expect(message).toContain(`${URL0}/0 (Parcels)`);
  });

  it('normalises layer URLs', () => {
    expect(normalizeLayerUrl('https://h/arcgis/rest/services/S/FeatureServer/0/query?where=1%3D1')).toBe(
      'https://h/arcgis/rest/services/S/FeatureServer/0',
    );
    expect(normalizeLayerUrl('https://h/arcgis/rest/services/S/FeatureServer/3/')).toBe(
      'https://h/arcgis/rest/services/S/FeatureServer/3',
    );
  });
});

describe('layer metadata from the emulator', () => {
  let emu: EmulatorHandle;
  beforeAll(async () => {
    emu = await startSecured({ layers: [pointLayer('Points', 30)] });
  });
  afterAll(() => emu.stop());

  it('reads a secured layer and counts with a where clause', async () => {
    const r = rig(emu);
    const info = await fetchLayerInfo(r.client, `${emu.layerUrl('Points')}/`);
    expect(info.oidField).toBe('OBJECTID');
    expect(info.maxRecordCount).toBe(25);
    expect(info.supportsPagination).toBe(true);
    expect(await info.count()).toBe(30);
    expect(await info.count('OBJECTID <= 10')).toBe(10);
    await r.close();
  });

  it('a service URL or a missing layer is LAYER_NOT_FOUND with a helpful message', async () => {
    const r = rig(emu);
    const service = emu.layerUrl('Points').replace(/\/0$/, '');
    const e1 = await fetchLayerInfo(r.client, service).catch((e: unknown) => e);
    expect(isEtlError(e1, 'LAYER_NOT_FOUND')).toBe(true);
    expect((e1 as Error).message).toMatch(
      /is a service, not a layer: use one of its layers: .*FeatureServer\/0/,
    );
    const e2 = await fetchLayerInfo(r.client, emu.layerUrl('Points', 7)).catch((e: unknown) => e);
    expect(isEtlError(e2, 'LAYER_NOT_FOUND')).toBe(true);
    await r.close();
  });
});
