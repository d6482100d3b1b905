/**
 * Trust, but verify, a server's f=pbf: the first pbf page is checked against f=json for a few of its
 * features: those the offset probe fetched in f=json (no request), else one extra small request. An emulator layer whose pbf lies the way Koop's
 * does (Integer/Date values cut to sint32) ends on JSON with the right values and a warning saying
 * why; a faithful one stays on pbf, Z and M layers included.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcGISClient } from '../../src/client/arcgis-client.js';
import { isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type ExportOptions, exportLayer } from '../../src/features/export.js';
import { expectSameAsSource, readSeq, rig, startSecured, tempDir } from './helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  emu = await startSecured({
    layers: [
      {
        service: 'Lying',
        generate: { count: 70, geometry: 'polyline', seed: 21, hasZ: true },
        maxRecordCount: 20,
        pbfQuirk: 'int32',
      },
      {
        service: 'Honest',
        generate: { count: 70, geometry: 'polygon', seed: 22, hasZ: true, hasM: true },
        maxRecordCount: 20,
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
  const events: EtlEvent[] = [];
  const out = tmp.path(`out-${++n}.geojsonl`);
  const before = emu.stats().requests.query ?? 0;
  try {
    const client = new ArcGISClient({ transport: r.transport, auth: r.auth, emit: (e) => events.push(e) });
    const stats = await exportLayer({
      client,
      layerUrl: emu.layerUrl(service),
      output: out,
      format: 'geojsonseq',
      concurrency: 1,
      ...options,
    });
    const warnings = events
      .filter((e) => e.type === 'warning')
      .map((e) => (e as { message: string }).message);
    return {
      stats,
      out,
      warnings,
      queries: (emu.stats().requests.query ?? 0) - before,
      text: await readFile(out, 'utf8'),
    };
  } finally {
    await r.close();
  }
}

describe("the server's pbf is checked against its json before an export takes it", () => {
  it('a pbf that cuts integers to 32 bits (Koop): the export ends on json, right values, the reason in a warning', async () => {
    const auto = await run('Lying');
    expect(auto.stats.queryFormat, auto.warnings.join('\n')).toBe('json');
    expect(auto.warnings).toEqual([
      expect.stringMatching(
        /^the server's pbf truncates field `created` to 32 bits \(OID \d+: \d+ in json, -?\d+ in pbf\); using f=json from here on$/,
      ),
    ]);
    expectSameAsSource(emu, 'Lying', await readSeq(auto.out), { ordered: true });
    const json = await run('Lying', { queryFormat: 'json' });
    expect(auto.text).toBe(json.text);
    // the check compares with the offset probe's first answer, asked in f=json with the export's
    // fields (no query of its own); the pbf page it turned down is asked again as json: one more
    expect(auto.queries).toBe(json.queries + 1);
  });

  it('without a probe answer to compare with (ids): one extra small query checks the first pbf page', async () => {
    const lying = await run('Lying', { strategy: 'ids' });
    expect(lying.stats.queryFormat).toBe('json');
    expect(lying.warnings).toEqual([
      expect.stringMatching(/^the server's pbf truncates field `created` to 32 bits/),
    ]);
    const lyingJson = await run('Lying', { strategy: 'ids', queryFormat: 'json' });
    expect(lying.text).toBe(lyingJson.text);
    expect(lying.queries).toBe(lyingJson.queries + 2); // the check, and the page asked again as json
    const honest = await run('Honest', { strategy: 'ids' });
    const honestJson = await run('Honest', { strategy: 'ids', queryFormat: 'json' });
    expect(honest.stats.queryFormat).toBe('pbf');
    expect(honest.text).toBe(honestJson.text);
    expect(honest.queries).toBe(honestJson.queries + 1);
  });

  it('forced pbf on a lying server: an error naming the field, nothing published', async () => {
    const error = await run('Lying', { queryFormat: 'pbf' }).catch((e: unknown) => e);
    expect(isEtlError(error, 'INVALID_RESPONSE'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/truncates field `created` to 32 bits/);
  });

  it('a faithful pbf (Z and M) stays on pbf, checked against the json the offset probe fetched: no extra query', async () => {
    const auto = await run('Honest');
    const json = await run('Honest', { queryFormat: 'json' });
    expect(auto.stats.queryFormat).toBe('pbf');
    expect(auto.warnings).toEqual([]);
    expect(auto.text).toBe(json.text);
    expect(auto.queries).toBe(json.queries);
    expectSameAsSource(emu, 'Honest', await readSeq(auto.out), { ordered: true });
  });
});
