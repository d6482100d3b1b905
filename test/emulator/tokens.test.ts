import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { call, startStub, token, USER } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const BAD = {
  error: { code: 400, message: 'Unable to generate token.', details: ['Invalid username or password.'] },
};

describe('generateToken (server)', () => {
  it('issues a token on POST f=json: token, expires in epoch ms, ssl false', async () => {
    const time = new FakeTime();
    emu = await startStub({ now: () => time.now() });
    const res = await call(emu.tokenUrl, {
      form: { f: 'json', ...USER, client: 'requestip', expiration: '30' },
    });
    expect(res.status).toBe(200);
    const body = res.json<{ token: string; expires: number; ssl: boolean }>();
    expect(Object.keys(body).sort()).toEqual(['expires', 'ssl', 'token']);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(body.expires).toBe(time.now() + 30 * 60_000);
    expect(body.ssl).toBe(false);
    expect(emu.stats()).toMatchObject({ tokensIssued: { server: 1, portal: 0, legacy: 0 }, tokens: 1 });
  });

  it('refuses GET, and credentials in the query string, like a 10.3.1+ server (HTTP 200 envelope)', async () => {
    emu = await startStub();
    const qs = new URLSearchParams({ f: 'json', ...USER }).toString();
    for (const res of [
      await call(`${emu.tokenUrl}?${qs}`),
      await call(`${emu.tokenUrl}?${qs}`, { method: 'POST', body: '' }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ error: { code: 405, message: 'Method not supported' } });
    }
    expect(emu.stats().tokens).toBe(0);
  });

  it('reads multipart/form-data bodies too', async () => {
    emu = await startStub();
    const form = new FormData();
    for (const [k, v] of Object.entries({ f: 'json', ...USER, client: 'requestip' })) form.append(k, v);
    const res = await fetch(emu.tokenUrl, { method: 'POST', body: form });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { token?: string }).token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it('shows the token form to a plain GET without credentials', async () => {
    emu = await startStub();
    const res = await call(emu.tokenUrl);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<form method="post"/);
  });

  it('answers an HTML page without f=json (the default format is html)', async () => {
    emu = await startStub();
    const res = await call(emu.tokenUrl, { form: { ...USER } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<form/);
    expect(emu.stats().tokens).toBe(0);
  });

  it('answers bad credentials with the real envelope; usernames and passwords are case-sensitive', async () => {
    emu = await startStub();
    for (const creds of [
      { username: USER.username, password: 'wrong' },
      { username: USER.username.toUpperCase(), password: USER.password },
      { username: USER.username, password: USER.password.toLowerCase() },
    ]) {
      const res = await call(emu.tokenUrl, { form: { f: 'json', ...creds } });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual(BAD);
    }
    expect(emu.stats().badLogins).toBe(3);
    expect(emu.stats().tokens).toBe(0);
  });

  it('locks the account after N bad passwords: then even the right password is refused, until it expires', async () => {
    const time = new FakeTime();
    emu = await startStub({
      now: () => time.now(),
      lockoutAttempts: 3,
      lockoutWindowMs: 60_000,
      lockoutDurationMs: 300_000,
    });
    for (let i = 0; i < 3; i++) {
      expect(
        (await call(emu.tokenUrl, { form: { f: 'json', username: USER.username, password: 'nope' } })).json(),
      ).toEqual(BAD);
    }
    const locked = await call(emu.tokenUrl, { form: { f: 'json', ...USER } });
    expect(locked.json()).toEqual({
      error: {
        code: 400,
        message: 'Unable to generate token.',
        details: ['Too many invalid logon attempts. Try again later.'],
      },
    });
    // the portal endpoint shares the user store and its lockout
    const portalLocked = await call(`${emu.portalUrl}/sharing/rest/generateToken`, {
      form: { f: 'json', ...USER },
    });
    expect(portalLocked.json<{ error: { details: string[] } }>().error.details[0]).toMatch(
      /Too many invalid logon attempts/,
    );
    expect(emu.stats()).toMatchObject({ badLogins: 5, tokens: 0 });
    await time.advance(300_000);
    expect((await token(emu)).token).toBeTruthy();
  });

  it('does not lock when the bad passwords are spread beyond the window', async () => {
    const time = new FakeTime();
    emu = await startStub({ now: () => time.now(), lockoutAttempts: 2, lockoutWindowMs: 60_000 });
    await call(emu.tokenUrl, { form: { f: 'json', username: USER.username, password: 'nope' } });
    await time.advance(61_000);
    await call(emu.tokenUrl, { form: { f: 'json', username: USER.username, password: 'nope' } });
    expect((await token(emu)).token).toBeTruthy();
  });

  it('caps the expiration at maxTokenMinutes, defaults to tokenMinutes, and tokenLifetimeSeconds overrides all', async () => {
    const time = new FakeTime();
    emu = await startStub({ now: () => time.now(), tokenMinutes: 45, maxTokenMinutes: 120 });
    expect((await token(emu, { expiration: '100000' })).expires).toBe(time.now() + 120 * 60_000);
    expect((await token(emu)).expires).toBe(time.now() + 45 * 60_000);
    expect((await token(emu, { expiration: '5' })).expires).toBe(time.now() + 5 * 60_000);
    await emu.stop();
    emu = await startStub({ now: () => time.now(), tokenLifetimeSeconds: 3 });
    expect((await token(emu, { expiration: '60' })).expires).toBe(time.now() + 3000);
  });

  it('requires referer with client=referer and ip with client=ip (400 envelope)', async () => {
    emu = await startStub();
    const noReferer = await call(emu.tokenUrl, { form: { f: 'json', ...USER, client: 'referer' } });
    expect(noReferer.status).toBe(200);
    expect(noReferer.json()).toMatchObject({ error: { code: 400, message: 'Unable to generate token.' } });
    const noIp = await call(emu.tokenUrl, { form: { f: 'json', ...USER, client: 'ip' } });
    expect(noIp.json()).toMatchObject({ error: { code: 400 } });
    const badClient = await call(emu.tokenUrl, { form: { f: 'json', ...USER, client: 'martian' } });
    expect(badClient.json()).toMatchObject({ error: { code: 400 } });
    expect(emu.stats().tokens).toBe(0);
  });

  it('shifts expires by the server clock offset', async () => {
    const time = new FakeTime();
    emu = await startStub({ now: () => time.now(), clockOffsetMs: -120_000 });
    expect((await token(emu)).expires).toBe(time.now() - 120_000 + 60 * 60_000);
    emu.setClockOffset(3_600_000);
    expect((await token(emu)).expires).toBe(time.now() + 3_600_000 + 60 * 60_000);
  });
});

describe('token service root and legacy getToken', () => {
  it('answers request=getToken as plain text, by GET or POST, counted as legacy', async () => {
    emu = await startStub();
    const root = `${emu.url}/tokens`;
    const qs = new URLSearchParams({ request: 'getToken', ...USER, expiration: '10' }).toString();
    const viaGet = await call(`${root}?${qs}`);
    expect(viaGet.headers['content-type']).toMatch(/^text\/plain/);
    expect(viaGet.text).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const viaPost = await call(`${root}/`, { form: { request: 'getToken', ...USER } });
    expect(viaPost.text).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(viaPost.text).not.toBe(viaGet.text);
    // the token works on a secured layer
    const q = await call(
      `${emu.layerUrl('Parcels')}/query?where=1%3D1&returnCountOnly=true&f=json&token=${viaGet.text}`,
    );
    expect(q.json()).toEqual({ count: 25 });
    expect(emu.stats().tokensIssued).toMatchObject({ legacy: 2, server: 0 });
  });

  it('treats a POST f=json to the advertised tokens/ URL as generateToken', async () => {
    emu = await startStub();
    const info = (await call(`${emu.restUrl}/info?f=json`)).json<{
      authInfo: { tokenServicesUrl: string };
    }>();
    const body = await token(emu, {}, info.authInfo.tokenServicesUrl);
    expect(body.ssl).toBe(false);
    expect(emu.stats().tokensIssued).toMatchObject({ server: 1, legacy: 0 });
  });
});

describe('portal generateToken', () => {
  it('issues tokens with the same rules, counted separately', async () => {
    emu = await startStub();
    const url = `${emu.portalUrl}/sharing/rest/generateToken`;
    const body = await token(emu, { client: 'referer', referer: 'https://app.example' }, url);
    expect(body.ssl).toBe(false);
    expect((await call(`${url}?f=json`)).json()).toMatchObject({ error: { code: 405 } });
    expect((await call(url, { form: { f: 'json', username: USER.username, password: 'x' } })).json()).toEqual(
      BAD,
    );
    expect(emu.stats()).toMatchObject({
      tokensIssued: { server: 0, portal: 1, legacy: 0 },
      tokens: 1,
      badLogins: 1,
    });
    expect(emu.stats().requests).toMatchObject({ portalGenerateToken: 3 });
  });
});
