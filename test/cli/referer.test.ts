/**
 * `--referer`: its help says exactly what is sent where, and that is what goes on the wire:
 * rest/info carries no Referer, the token request has it in its form body only, and the layer
 * requests carry it as the Referer header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeLayer, LAYER_PATH, type Scripted, scriptedServer, sendJson } from '../hostile/servers.js';
import { runInProcess } from './in-process.js';

const REFERER = 'https://app.example.com/etl';
const TOKEN_PATH = '/arcgis/tokens/generateToken';
let server: Scripted;
beforeAll(async () => {
  const layer = fakeLayer([]);
  server = await scriptedServer((req, res) => {
    if (req.path === '/arcgis/rest/info') {
      sendJson(res, {
        currentVersion: 11.1,
        authInfo: { isTokenBasedSecurity: true, tokenServicesUrl: '/arcgis/tokens/' },
      });
    } else if (req.path === TOKEN_PATH) {
      sendJson(res, { token: 'tok-referer-1', expires: Date.now() + 3_600_000, ssl: false });
    } else layer(req, res);
  });
});
afterAll(() => server.close());

describe('--referer', () => {
  it('the help says where the Referer goes', async () => {
    const help = await runInProcess(['info', '--help']);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('the token request sends it in its form body (not as a header;');
    expect(text).toContain('a federated server token exchange also sends it as its Referer header');
    expect(text).toContain('layer and service requests (metadata, queries) send it as the Referer header');
    expect(text).toContain('rest/info discovery sends none');
    expect(text).not.toContain('sent on every request');
  });

  it('the wire matches the help', async () => {
    const r = await runInProcess(['info', `${server.origin}${LAYER_PATH}`, '--referer', REFERER], {
      env: { ARCGIS_USERNAME: 'etl', ARCGIS_PASSWORD: 'pw-referer-test' },
    });
    expect(r.code, r.stderr).toBe(0);
    const info = server.requests.find((q) => q.path === '/arcgis/rest/info');
    const token = server.requests.find((q) => q.path === TOKEN_PATH);
    const layer = server.requests.find((q) => q.path === LAYER_PATH);
    expect(info?.headers.referer).toBeUndefined();
    expect(token?.headers.referer).toBeUndefined();
    expect(token?.form.get('client')).toBe('referer');
    expect(token?.form.get('referer')).toBe(REFERER);
    expect(layer?.headers.referer).toBe(REFERER);
  });
});
