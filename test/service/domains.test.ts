/**
 * --domains code|label|both: on a recorded real ArcGIS layer (Polk County, FL: string and integer
 * coded-value domains), and end to end against the emulator with subtypes whose domains differ
 * (resolved through the subtype field, `inherited` falling back to the field's own).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EsriField } from '../../src/core/protocol.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { domainAttributes, domainFields, layerDomains } from '../../src/features/domains.js';
import { exportLayer } from '../../src/features/export.js';
import { readSeq, rig, startSecured, tempDir } from '../extract/helpers.js';
import { recordedJson } from '../fixtures/recorded.js';

describe('recorded ArcGIS metadata (us-fl-polk)', () => {
  const meta = recordedJson<{ fields: EsriField[] }>('us-fl-polk/us-fl-polk-metadata.json');
  const page = recordedJson<{ features: { attributes: Record<string, unknown> }[] }>(
    'us-fl-polk/us-fl-polk-0.json',
  );
  const domains = layerDomains(meta.fields, meta as unknown as Record<string, unknown>);

  it('finds the coded-value domains, string and integer codes', () => {
    expect([...domains.fields].sort()).toEqual(['AddrLocation', 'DelRec', 'GPSFLG', 'LR', 'SiteType']);
    const a = page.features[0]!.attributes;
    expect(domains.label('SiteType', a)).toBe('Single Family');
    expect(domains.label('DelRec', a)).toBe('No');
    expect(domains.label('LR', a)).toBe('Left');
  });

  it('label replaces codes, both adds <field>_label', () => {
    const a = page.features[0]!.attributes;
    expect(a.GPSFLG).toBe('N');
    const label = domainAttributes(a, domains, 'label');
    expect(label).toMatchObject({
      SiteType: 'Single Family',
      DelRec: 'No',
      LR: 'Left',
      GPSFLG: 'Not Required',
    });
    const both = domainAttributes(a, domains, 'both');
    expect(both).toMatchObject({
      SiteType: 'R1',
      SiteType_label: 'Single Family',
      DelRec: 0,
      DelRec_label: 'No',
      GPSFLG_label: 'Not Required',
    });
    const fields = domainFields(meta.fields, domains, 'both').map((f) => f.name);
    expect(fields.slice(fields.indexOf('SiteType'), fields.indexOf('SiteType') + 2)).toEqual([
      'SiteType',
      'SiteType_label',
    ]);
  });
});

describe('emulator: domains and subtypes end to end', () => {
  let emu: EmulatorHandle;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'];
  beforeAll(async () => {
    emu = await startSecured({
      layers: [
        {
          service: 'Coded',
          generate: { count: 50, geometry: 'point', seed: 4 },
          domains: { category: names.map((name, code) => ({ code, name })) }, // 9 has no name
          subtypes: {
            field: 'category',
            types: [
              { id: 1, name: 'Odd one', domains: { category: [{ code: 1, name: 'subtype one' }] } },
              { id: 2, name: 'Inherits', domains: { category: 'inherited' } },
            ],
          },
        },
        { service: 'Plain', generate: { count: 5, geometry: 'point', seed: 4 } },
      ],
    });
    tmp = await tempDir('arcgis-etl-domains-');
  });
  afterAll(async () => {
    await emu.stop();
    await tmp.remove();
  });

  const run = async (
    service: string,
    domains: 'code' | 'label' | 'both',
    format: 'geojsonseq' | 'csv' = 'geojsonseq',
  ) => {
    const r = rig(emu);
    const warnings: string[] = [];
    r.client.emit = (e) => {
      if (e.type === 'warning') warnings.push(e.message);
    };
    const out = tmp.path(`${service}-${domains}.${format === 'csv' ? 'csv' : 'geojsonl'}`);
    await exportLayer({ client: r.client, layerUrl: emu.layerUrl(service), output: out, format, domains });
    await r.close();
    return { out, warnings };
  };

  const expectedLabel = (category: number) => (category === 1 ? 'subtype one' : (names[category] ?? null));

  it('label: every coded value as its label, the subtype domain first, an unnamed code as text', async () => {
    const { out } = await run('Coded', 'label');
    const layer = emu.layer('Coded');
    for (const f of await readSeq(out)) {
      const category = layer.feature(f.id as number)!.attributes.category as number;
      expect(f.properties.category).toBe(expectedLabel(category) ?? String(category));
    }
  });

  it('both: the code kept, <field>_label beside it, in GeoJSON and as a CSV column', async () => {
    const { out } = await run('Coded', 'both');
    const layer = emu.layer('Coded');
    for (const f of await readSeq(out)) {
      const category = layer.feature(f.id as number)!.attributes.category as number;
      expect(f.properties.category).toBe(category);
      expect(f.properties.category_label).toBe(expectedLabel(category));
    }
    const csv = await run('Coded', 'both', 'csv');
    const header = (await readFile(csv.out, 'utf8')).split('\n')[0]!;
    expect(header).toContain('category,category_label');
  });

  it('--domains label on a layer without domains is a warning, not an error', async () => {
    const { warnings } = await run('Plain', 'label');
    expect(warnings.join('\n')).toMatch(/--domains label: .* has no coded-value domains/);
  });
});
