import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { call, startStub, token } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const TOKEN_REQUIRED = {
  error: { code: 499, message: 'Token Required', messageCode: 'GWM_0003', details: ['Token Required'] },
};
const INVALID = { error: { code: 498, message: 'Invalid token.', details: ['Invalid token.'] } };
const COUNT = 'where=1%3D1&returnCountOnly=true&f=json';

describe('secured resources', () => {
  it('answer 499 (HTTP 200) without a token, on layer, service and query', async () => {
    emu = await startStub();
    for (const url of [
      `${emu.layerUrl('Parcels')}?f=json`,
      `${emu.restUrl}/services/Parcels/FeatureServer?f=json`,
      `${emu.layerUrl('Parcels')}/query?${COUNT}`,
    ]) {
      const res = await call(url);
      expect(res.status).toBe(200);
      expect(res.json()).toEqual(TOKEN_REQUIRED);
    }
    expect(emu.stats().rejected).toEqual({ tokenRequired: 3, invalidToken: 0 });
  });

  it('answer 498 to a bogus token, and work with a valid one (form, query, both headers)', async () => {
    emu = await startStub();
    const query = `${emu.layerUrl('Parcels')}/query`;
    expect((await call(`${query}?${COUNT}&token=bogus-token-123`)).json()).toEqual(INVALID);
    const { token: t } = await token(emu);
    expect(
      (await call(query, { form: { where: '1=1', returnCountOnly: 'true', f: 'json', token: t } })).json(),
    ).toEqual({ count: 25 });
    expect((await call(`${query}?${COUNT}&token=${t}`)).json()).toEqual({ count: 25 });
    expect(
      (await call(`${query}?${COUNT}`, { headers: { 'X-Esri-Authorization': `Bearer ${t}` } })).json(),
    ).toEqual({ count: 25 });
    expect((await call(`${query}?${COUNT}`, { headers: { Authorization: `Bearer ${t}` } })).json()).toEqual({
      count: 25,
    });
    expect(
      (await call(`${query}?${COUNT}`, { headers: { Authorization: 'Bearer nope-nope' } })).json(),
    ).toEqual(INVALID);
    expect(emu.stats().rejected).toEqual({ tokenRequired: 0, invalidToken: 2 });
  });

  it('answer 498 once the token expired on the injected clock', async () => {
    const time = new FakeTime();
    emu = await startStub({ now: () => time.now(), tokenLifetimeSeconds: 60 });
    const { token: t } = await token(emu);
    const url = `${emu.layerUrl('Parcels')}/query?${COUNT}&token=${t}`;
    await time.advance(59_999);
    expect((await call(url)).json()).toEqual({ count: 25 });
    await time.advance(1);
    expect((await call(url)).json()).toEqual(INVALID);
  });

  it('answer 498 to revoked tokens (revokeAll), new tokens still work', async () => {
    emu = await startStub();
    const { token: t } = await token(emu);
    emu.revokeAll();
    expect((await call(`${emu.layerUrl('Parcels')}/query?${COUNT}&token=${t}`)).json()).toEqual(INVALID);
    const { token: fresh } = await token(emu);
    expect((await call(`${emu.layerUrl('Parcels')}/query?${COUNT}&token=${fresh}`)).json()).toEqual({
      count: 25,
    });
  });

  it('bind client=referer tokens to the Referer header', async () => {
    emu = await startStub();
    const referer = 'https://etl.example.org';
    const { token: t } = await token(emu, { client: 'referer', referer });
    const url = `${emu.layerUrl('Parcels')}/query?${COUNT}&token=${t}`;
    expect((await call(url)).json()).toEqual(INVALID);
    expect((await call(url, { headers: { Referer: 'https://other.example.org' } })).json()).toEqual(INVALID);
    expect((await call(url, { headers: { Referer: referer } })).json()).toEqual({ count: 25 });
    expect((await call(url, { headers: { Referer: `${referer}/maps/page` } })).json()).toEqual({ count: 25 });
    expect((await call(url, { headers: { Referer: `${referer}.evil.test` } })).json()).toEqual(INVALID);
  });

  it('bind client=ip tokens to that address, and requestip tokens to the caller', async () => {
    emu = await startStub();
    const foreign = await token(emu, { client: 'ip', ip: '10.1.2.3' });
    expect((await call(`${emu.layerUrl('Parcels')}/query?${COUNT}&token=${foreign.token}`)).json()).toEqual(
      INVALID,
    );
    const local = await token(emu, { client: 'ip', ip: '127.0.0.1' });
    expect((await call(`${emu.layerUrl('Parcels')}/query?${COUNT}&token=${local.token}`)).json()).toEqual({
      count: 25,
    });
    const requestIp = await token(emu, { client: 'requestip' });
    expect((await call(`${emu.layerUrl('Parcels')}/query?${COUNT}&token=${requestIp.token}`)).json()).toEqual(
      { count: 25 },
    );
  });

  it('serve unsecured layers without a token, but still reject an invalid one', async () => {
    emu = await startStub();
    expect((await call(`${emu.layerUrl('Public')}/query?${COUNT}`)).json()).toEqual({ count: 5 });
    expect((await call(`${emu.layerUrl('Public')}/query?${COUNT}&token=stale-token-x`)).json()).toEqual(
      INVALID,
    );
  });

  it('need no token at all on a server without users', async () => {
    emu = await startStub({ users: [] });
    expect((await call(`${emu.layerUrl('Parcels')}/query?${COUNT}&token=whatever`)).json()).toEqual({
      count: 25,
    });
  });
});
