/**
 * A URL with user info (`https://user:pw@host/…`) is refused wherever a URL enters (library and
 * CLI), with a message that names neither the user info nor the password, and nothing is written.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { EtlError } from '../../src/core/errors.js';
import { parseHttpUrl } from '../../src/core/url.js';
import { runInProcess } from '../cli/in-process.js';

const PW = 'Zq9';
const URL_WITH_PW = `http://bob:${PW}@127.0.0.1:9/arcgis/rest/services/A/FeatureServer/0`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etl-userinfo-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('URLs with user info', () => {
  it('parseHttpUrl refuses them, pointing at the environment, without echoing them', () => {
    let error: unknown;
    try {
      parseHttpUrl(`https://bob:${PW}@gis.example.com/arcgis/rest/services?token=x`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('INVALID_URL');
    expect((error as EtlError).message).toMatch(/ARCGIS_USERNAME/);
    expect((error as EtlError).message).toContain('https://gis.example.com/arcgis/rest/services');
    expect((error as EtlError).message).not.toContain(PW);
    expect((error as EtlError).message).not.toContain('bob');
    // a user name alone is refused too
    expect(() => parseHttpUrl('https://bob@gis.example.com/')).toThrow(/user name or password/);
  });

  it('connect() refuses them before any request, for the layer, the portal and the token URL', async () => {
    await expect(connect({ url: URL_WITH_PW })).rejects.toMatchObject({ code: 'INVALID_URL' });
    const clean = 'http://127.0.0.1:9/arcgis/rest/services/A/FeatureServer/0';
    await expect(
      connect({ url: clean, portal: `http://u:${PW}@127.0.0.1:9/portal`, credentials: { token: 'abcdef' } }),
    ).rejects.toMatchObject({ code: 'INVALID_URL' });
    await expect(
      connect({
        url: clean,
        tokenUrl: `http://u:${PW}@127.0.0.1:9/arcgis/tokens/generateToken`,
        credentials: { username: 'u', password: 'p' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_URL' });
  });

  it('the CLI refuses them with a usage error, prints no password and writes no file or checkpoint', async () => {
    const out = join(dir, 'out.geojson');
    for (const args of [
      ['export', URL_WITH_PW, '-o', out, '--resume'],
      ['token', URL_WITH_PW],
      ['info', URL_WITH_PW],
    ]) {
      const r = await runInProcess(args, { env: { ARCGIS_TOKEN: 'static-tok-1' }, cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error \[INVALID_URL\]: A URL must not carry a user name or password/);
      expect(r.stderr + r.stdout).not.toContain(PW);
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
