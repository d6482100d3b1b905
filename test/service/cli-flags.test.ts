/**
 * The CLI's filter and geometry flags: bad input is one clear line (exit 2) before any request;
 * --geometry reads a file or standard input; --no-geometry writes null geometries.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { readSeq, startSecured, tempDir, USER } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
beforeAll(async () => {
  emu = await startSecured({
    layers: [{ service: 'Pts', generate: { count: 80, geometry: 'point', seed: 2 }, maxRecordCount: 30 }],
  });
  tmp = await tempDir('arcgis-etl-cli-flags-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const usage = async (args: string[], pattern: RegExp, stdin?: string) => {
  emu.resetStats();
  const r = await runInProcess(['export', emu.layerUrl('Pts'), ...args], {
    env,
    ...(stdin === undefined ? {} : { stdin }),
  });
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(pattern);
  expect(emu.stats().requests.query ?? 0).toBe(0);
};

describe('export flags', () => {
  it('bad --bbox, --geometry and --precision are one USAGE line, before any query', async () => {
    const out = ['-o', tmp.path('x.geojson')];
    await usage(
      [...out, '--bbox', '1,2,3'],
      /--bbox must be four numbers minx,miny,maxx,maxy \(got "1,2,3"\)/,
    );
    await usage([...out, '--bbox', '1,x,3,4'], /--bbox must be four numbers/);
    await usage([...out, '--bbox', '5,0,1,1'], /min ≤ max/);
    await usage([...out, '--geometry', tmp.path('missing.json')], /--geometry: cannot read/);
    await writeFile(tmp.path('line.json'), '{"type":"LineString","coordinates":[[0,0],[1,1]]}');
    await usage(
      [...out, '--geometry', tmp.path('line.json')],
      /must be a GeoJSON Polygon or MultiPolygon.*not LineString/,
    );
    await usage([...out, '--geometry', '-'], /not valid JSON/, 'nope');
    await usage(
      [...out, '--bbox', '0,0,1,1', '--geometry', tmp.path('line.json')],
      /cannot be used together/,
    );
    await usage(
      [...out, '--no-geometry', '--precision', '3'],
      /--no-geometry cannot be used with --precision/,
    );
    await usage([...out, '--limit', '0'], /positive integer/);
  });

  it('--geometry - reads the polygon from standard input; --no-geometry writes null geometries', async () => {
    const e = emu.layer('Pts').metadata().extent!;
    const polygon = {
      type: 'Polygon',
      coordinates: [
        [
          [e.xmin, e.ymin],
          [e.xmax, e.ymin],
          [e.xmin, e.ymax],
          [e.xmin, e.ymin],
        ],
      ],
    };
    const out = tmp.path('tri.geojsonl');
    const r = await runInProcess(
      ['export', emu.layerUrl('Pts'), '-o', out, '--geometry', '-', '--no-geometry'],
      {
        env,
        stdin: JSON.stringify(polygon),
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const features = await readSeq(out);
    expect(features.length).toBeGreaterThan(0);
    expect(features.length).toBeLessThan(80);
    expect(features.every((f) => f.geometry === null)).toBe(true);
    expect(await readFile(out, 'utf8')).not.toContain('"coordinates"');
  });
});

describe('value and order flags', () => {
  it('bad --dates, --aliases, --order-by and --datum-transformation are one USAGE line, before any query', async () => {
    const geojson = ['-o', tmp.path('v.geojson')];
    const csv = ['-o', tmp.path('v.csv')];
    await usage([...geojson, '--dates', 'local'], /--dates must be one of epoch, iso \(got "local"\)/);
    await usage([...csv, '--dates', 'iso'], /--dates applies to GeoJSON and GeoJSONSeq outputs, not csv/);
    await usage([...geojson, '--aliases'], /--aliases names CSV columns/);
    await usage([...geojson, '--order-by', 'value sideways'], /--order-by must be a field name/);
    await usage([...geojson, '--order-by', 'value', '--resume'], /--order-by cannot be resumed/);
    await usage(
      [...geojson, '--order-by', 'value', '--strategy', 'ids'],
      /cannot be combined with --strategy ids/,
    );
    await usage(
      [...geojson, '--datum-transformation', 'NAD27'],
      /--datum-transformation must be a transformation wkid/,
    );
    await usage(
      [...geojson, '--no-geometry', '--datum-transformation', '1241'],
      /--no-geometry cannot be used with .*--datum-transformation/,
    );
  });

  it('--order-by value DESC --limit 5 --aliases to CSV: the five largest values, headed by aliases', async () => {
    const out = tmp.path('top.csv');
    const r = await runInProcess(
      ['export', emu.layerUrl('Pts'), '-o', out, '--order-by', 'value DESC', '--limit', '5', '--aliases'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const rows = (await readFile(out, 'utf8')).trim().split('\r\n');
    // the emulator's layers track edits by default: the edit fields (no aliases) come too
    expect(rows[0]).toBe(
      'OBJECTID,name,category,value,created,note,CreationDate,Creator,EditDate,Editor,geometry',
    );
    const layer = emu.layer('Pts');
    const top = layer
      .objectIds()
      .map((oid) => layer.feature(oid)!.attributes)
      .sort(
        (a, b) =>
          (b.value as number) - (a.value as number) || (a.OBJECTID as number) - (b.OBJECTID as number),
      )
      .slice(0, 5)
      .map((a) => String(a.OBJECTID));
    expect(rows.slice(1).map((row) => row.split(',')[0])).toEqual(top);
  });
});
