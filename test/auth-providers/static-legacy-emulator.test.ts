/** API keys and static tokens (never refreshed), and the automatic choice of the 10.0 getToken. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { emulatorEnv } from './emulators.js';
import { rejection, Transcript, uniqueSecret } from './helpers.js';

describe('API keys and static tokens', () => {
  it('an API key works, and once revoked its 498 is a clear STATIC_TOKEN_INVALID: one request, no retry loop', async () => {
    const apiKey = uniqueSecret('AAPK');
    const { emu, layerUrl, time, transport } = await emulatorEnv({ apiKeys: [apiKey] });
    const t = new Transcript();
    const connection = await connect({
      url: layerUrl,
      credentials: { apiKey },
      transport,
      runtime: time.runtime(),
      emit: t.emit,
      logger: t.logger,
    });
    await connection.client.request(`${layerUrl}/query`, { where: '1=1' });
    emu.revokeAll();
    emu.resetStats();
    const error = await rejection(connection.client.request(`${layerUrl}/query`, { where: '1=1' }), t);
    expect(error.code).toBe('STATIC_TOKEN_INVALID');
    expect(error.message).toMatch(/cannot be refreshed/);
    expect(emu.stats().requests.query).toBe(1);
    expect(emu.stats().rejected.invalidToken).toBe(1);
    expect(emu.stats().tokens).toBe(0);
    // and it stays refused without asking the server again and again
    const again = await rejection(connection.client.request(`${layerUrl}/query`, { where: '1=1' }), t);
    expect(again.code).toBe('STATIC_TOKEN_INVALID');
    expect(emu.stats().requests.query ?? 0).toBeLessThanOrEqual(1);
    t.expectClean(apiKey);
    await connection.close();
  });

  it('a static token is sent only to the origins it is for', async () => {
    const token = uniqueSecret('static');
    const { layerUrl, time, transport } = await emulatorEnv();
    const connection = await connect({
      url: layerUrl,
      credentials: { token },
      transport,
      runtime: time.runtime(),
    });
    expect(await connection.auth?.getToken(layerUrl)).toBe(token);
    expect(
      await connection.auth?.getToken('https://elsewhere.example.com/arcgis/rest/services'),
    ).toBeUndefined();
    await connection.close();
  });
});

describe('legacy ArcGIS Server 10.0', () => {
  it('is detected from rest/info (no currentVersion) and served by tokens?request=getToken (plain text)', async () => {
    const { emu, layerUrl, user, time, transport } = await emulatorEnv({ legacy: true });
    const t = new Transcript();
    const connection = await connect({
      url: layerUrl,
      credentials: user,
      transport,
      runtime: time.runtime(),
      emit: t.emit,
    });
    expect(connection.tokenUrl).toBe(`${emu.url}/tokens`);
    const pages = await Promise.all(
      [1, 2, 3].map(() =>
        connection.client.request<{ features: unknown[] }>(`${layerUrl}/query`, { where: '1=1' }),
      ),
    );
    expect(pages[0]?.features.length).toBe(10);
    const stats = emu.stats();
    expect(stats.tokensIssued.legacy).toBe(1);
    expect(stats.tokensIssued.server ?? 0).toBe(0);
    expect(stats.requests.generateToken ?? 0).toBe(0);
    // 60 minutes asked, 10.0 says nothing: 60 min − 5 min margin from the send time
    expect(connection.auth?.expiresAt).toBe(time.now() + 55 * 60_000);
    t.expectClean(user.password);
    await connection.close();
  });

  it('a bad password on 10.0 is BAD_CREDENTIALS after one request', async () => {
    const { emu, layerUrl, user, time, transport } = await emulatorEnv({ legacy: true });
    const t = new Transcript();
    const wrong = `${user.password}-nope`;
    const connection = await connect({
      url: layerUrl,
      credentials: { username: user.username, password: wrong },
      transport,
      runtime: time.runtime(),
      emit: t.emit,
    });
    const error = await rejection(connection.client.request(`${layerUrl}/query`, { where: '1=1' }), t);
    expect(error.code).toBe('BAD_CREDENTIALS');
    expect(emu.stats().badLogins).toBe(1);
    expect(emu.stats().requests.tokens).toBe(1);
    t.expectClean(wrong, user.password);
    await connection.close();
  });

  it('a 10.1+ server keeps generateToken', async () => {
    const { emu, layerUrl, user, time, transport } = await emulatorEnv();
    const connection = await connect({
      url: layerUrl,
      credentials: user,
      transport,
      runtime: time.runtime(),
    });
    await connection.client.request(`${layerUrl}/query`, { where: '1=1' });
    expect(connection.tokenUrl).toBe(`${emu.url}/tokens/generateToken`);
    expect(emu.stats().tokensIssued.server).toBe(1);
    expect(emu.stats().tokensIssued.legacy ?? 0).toBe(0);
    await connection.close();
  });
});
