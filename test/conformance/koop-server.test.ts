/**
 * The conformance harness itself: Koop serves the generated layers exactly (count, OBJECTIDs, one
 * feature per source feature), behind the token plugin (no token → 499, a bad token → 498, a wrong
 * password → no token), advertises its generateToken in rest/info where our discovery finds it, and
 * shows the behaviours issue 11 is about (orderByFields on OBJECTID ignored, statistics `{}`,
 * maxRecordCount advertised, not enforced).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverTokenUrl } from '../../src/auth/discover.js';
import { createTransport } from '../../src/http/transport.js';
import { runBin } from '../cli/run-bin.js';
import { tempDir } from '../extract/helpers.js';
import { exportLayer, type KoopHandle, koopOids, koopToken, matrixLayers, startKoop } from './helpers.js';

let koop: KoopHandle;
const layers = matrixLayers();

beforeAll(async () => {
  koop = await startKoop({ layers });
});
afterAll(async () => {
  await koop?.stop();
});

async function query(layer: string, params: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(`${koop.layerUrl(layer)}/query`, {
    method: 'POST',
    body: new URLSearchParams({ f: 'json', where: '1=1', ...params }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('Koop conformance server', () => {
  it('advertises its generateToken (http, loopback) in rest/info, where our discovery finds it', async () => {
    const transport = createTransport();
    try {
      const found = await discoverTokenUrl(koop.layerUrl('points'), transport);
      expect(found).toMatchObject({ kind: 'server', tokenRequired: true, tokenUrl: koop.tokenUrl });
    } finally {
      await transport.close();
    }
  });

  it('refuses data without a token (499) and with an unknown one (498)', async () => {
    const none = await query('points', { returnCountOnly: 'true' });
    expect(none).toMatchObject({ error: { code: 499 } });
    const bad = await query('points', { returnCountOnly: 'true', token: 'not-a-token' });
    expect(bad).toMatchObject({ error: { code: 498 } });
  });

  it('issues no token for a wrong password', async () => {
    const response = await fetch(koop.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ username: koop.credentials.username, password: 'wrong', f: 'json' }),
    });
    const json = (await response.json()) as Record<string, unknown>;
    expect(json.token).toBeUndefined();
    expect(json).toMatchObject({ error: { code: 400 } });
  });

  it('serves every generated feature exactly once, with distinct non-dense OBJECTIDs', async () => {
    const token = await koopToken(koop);
    for (const layer of layers) {
      expect(await query(layer.name, { returnCountOnly: 'true', token })).toEqual({
        count: layer.features.length,
      });
      const ids = (await query(layer.name, { returnIdsOnly: 'true', token })).objectIds as number[];
      expect(new Set(ids).size).toBe(layer.features.length);
      const oids = await koopOids(koop, layer.name);
      expect(oids.size).toBe(layer.features.length);
      expect([...oids.values()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
      // hashed: not 1…n
      expect(Math.max(...ids)).toBeGreaterThan(layer.features.length * 10);
    }
  });

  it('shows the quirks of issue 11: OBJECTID order ignored, statistics {}, maxRecordCount only advertised', async () => {
    const token = await koopToken(koop);
    const page = await query('points', {
      token,
      outFields: 'OBJECTID',
      orderByFields: 'OBJECTID ASC',
      resultRecordCount: '100',
      returnGeometry: 'false',
    });
    const oids = (page.features as { attributes: { OBJECTID: number } }[]).map((f) => f.attributes.OBJECTID);
    expect(oids).toHaveLength(100);
    expect(oids).not.toEqual([...oids].sort((a, b) => a - b));

    const stats = await query('points', {
      token,
      outStatistics: JSON.stringify([
        { statisticType: 'min', onStatisticField: 'OBJECTID', outStatisticFieldName: 'lo' },
      ]),
    });
    expect(stats.features).toEqual([{ attributes: {} }]);

    const info = (await (
      await fetch(`${koop.layerUrl('capped')}?f=json&token=${encodeURIComponent(token)}`)
    ).json()) as { maxRecordCount: number };
    expect(info.maxRecordCount).toBe(40);
    const big = await query('capped', { token, resultRecordCount: '100', returnGeometry: 'false' });
    expect((big.features as unknown[]).length).toBe(100);
  });

  it('lets our CLI log in with ARCGIS_USERNAME/ARCGIS_PASSWORD, and refuses a wrong password clearly', async () => {
    const tmp = await tempDir('arcgis-etl-koop-login-');
    try {
      const before = koop.stats().tokens;
      const ok = await exportLayer(koop, 'capped', tmp.path('ok.geojsonseq'), ['--query-format', 'json']);
      expect(koop.stats().tokens).toBeGreaterThan(before);
      expect(ok.stderr).not.toContain('error [TOKEN_REQUIRED]');
      expect(ok.stderr).not.toContain(koop.credentials.password);
      const bad = await runWithPassword(tmp.path('bad.geojsonseq'), 'wrong-password');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^error \[[A-Z_]+\]: /m);
      expect(bad.stderr).not.toContain('wrong-password');
    } finally {
      await tmp.remove();
    }
  });
});

function runWithPassword(output: string, password: string) {
  return runBin(['export', koop.layerUrl('capped'), '-o', output], {
    env: { HOME: undefined, ARCGIS_USERNAME: koop.credentials.username, ARCGIS_PASSWORD: password },
  });
}
