import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startStub, USER } from './helpers.js';

function selfSigned(): { cert: string; key: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'emu-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tls = selfSigned();
if (!tls) console.warn('\n\n!!! openssl is not available: the emulator TLS test is SKIPPED !!!\n\n');

describe.skipIf(!tls)('TLS', () => {
  const agent = tls ? new Agent({ connect: { ca: tls.cert } }) : undefined;
  afterAll(async () => agent?.close());

  it('serves HTTPS with the given certificate, tokens and queries included', async () => {
    const emu = await startStub({ tls: tls! });
    try {
      expect(emu.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/arcgis$/);
      const info = await request(`${emu.restUrl}/info?f=json`, { dispatcher: agent! });
      const body = (await info.body.json()) as { authInfo: { tokenServicesUrl: string } };
      expect(body.authInfo.tokenServicesUrl).toMatch(/^https:\/\//);
      const tokenRes = await request(emu.tokenUrl, {
        dispatcher: agent!,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ f: 'json', ...USER }).toString(),
      });
      const { token } = (await tokenRes.body.json()) as { token: string };
      const q = await request(
        `${emu.layerUrl('Parcels')}/query?where=1%3D1&returnCountOnly=true&f=json&token=${token}`,
        {
          dispatcher: agent!,
        },
      );
      expect(await q.body.json()).toEqual({ count: 25 });
      // a client that does not trust the certificate fails
      await expect(request(`${emu.restUrl}/info?f=json`)).rejects.toThrow();
    } finally {
      await emu.stop();
    }
  });
});
