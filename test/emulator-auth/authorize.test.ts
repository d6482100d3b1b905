import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  authorizeParams,
  CONFIDENTIAL,
  call,
  oauthErr,
  PUBLIC,
  pkce,
  REDIRECT,
  redirected,
  signIn,
  startAuth,
  USER,
} from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    out[m[1] as string] = (m[2] as string).replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
  }
  return out;
}

describe('oauth2/authorize', () => {
  it('GET shows a sign-in form carrying the OAuth parameters; posting it redirects with code and state', async () => {
    emu = await startAuth();
    const params = authorizeParams(pkce(), { state: 'a&b"<c>' });
    const page = await call(`${emu.auth.authorizeUrl}?${new URLSearchParams(params)}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const action = /<form method="post" action="([^"]+)">/.exec(page.text)?.[1];
    expect(action).toBe(new URL(emu.auth.authorizeUrl).pathname);
    const fields = hiddenFields(page.text);
    expect(fields).toEqual(params);
    // a scripted browser fills the form in and submits it
    const res = await call(`${new URL(emu.url).origin}${action}`, { form: { ...fields, ...USER } });
    const target = redirected(res);
    expect(`${target.origin}${target.pathname}`).toBe(params.redirect_uri);
    expect(target.searchParams.get('state')).toBe('a&b"<c>');
    expect(target.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{30,}$/);
    expect(emu.stats()).toMatchObject({ requests: { oauthAuthorize: 2 }, badLogins: 0, tokens: 0 });
  });

  it('accepts username/password posted straight to the authorize URL (scripted tests)', async () => {
    emu = await startAuth();
    const target = redirected(await signIn(emu, authorizeParams(pkce())));
    expect(target.searchParams.get('code')).toBeTruthy();
    expect(target.searchParams.get('state')).toBe('st-42');
  });

  it('bad credentials show the form again with an error, count as bad logins, and lock the account', async () => {
    emu = await startAuth({ lockoutAttempts: 3 });
    const params = authorizeParams(pkce());
    for (let i = 0; i < 3; i++) {
      const res = await signIn(emu, params, { username: USER.username, password: 'wrong' });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Invalid username or password.');
      expect(res.text).toContain('<form method="post"');
      expect(res.text).not.toContain('wrong');
    }
    // locked: even the right password is refused
    const locked = await signIn(emu, params);
    expect(locked.status).toBe(200);
    expect(locked.text).toContain('Too many invalid logon attempts');
    expect(emu.stats().badLogins).toBe(4);
    // missing credentials: the form again, not a bad login
    const empty = await call(`${emu.auth.authorizeUrl}?${new URLSearchParams(params)}`, {
      form: { username: '' },
    });
    expect(empty.text).toContain('Enter your username and password.');
    expect(emu.stats().badLogins).toBe(4);
  });

  it('lockout ends after lockoutDurationMs on the injected clock', async () => {
    const time = new FakeTime();
    emu = await startAuth({ lockoutAttempts: 1, lockoutDurationMs: 60_000, now: () => time.now() });
    const params = authorizeParams(pkce());
    await signIn(emu, params, { username: USER.username, password: 'wrong' });
    expect((await signIn(emu, params)).status).toBe(200);
    await time.advance(60_000);
    expect(redirected(await signIn(emu, params)).searchParams.get('code')).toBeTruthy();
  });

  it('never redirects to an unknown client or an unregistered redirect_uri: error page (or JSON with f=json)', async () => {
    emu = await startAuth();
    const p = pkce();
    for (const params of [
      authorizeParams(p, { client_id: 'unknown' }),
      authorizeParams(p, { redirect_uri: 'https://evil.example/callback' }),
      authorizeParams(p, { redirect_uri: 'https://app.example/callback/other' }),
      // loopback any-port matching is for loopback hosts only, and keeps the path
      authorizeParams(p, { redirect_uri: 'http://127.0.0.1:9/elsewhere' }),
    ]) {
      for (const res of [
        await signIn(emu, params),
        await call(`${emu.auth.authorizeUrl}?${new URLSearchParams(params)}`),
      ]) {
        expect(res.status).toBe(400);
        expect(res.headers.location).toBeUndefined();
        expect(res.text).toMatch(/Invalid (client_id|redirect_uri)/);
      }
    }
    const json = await call(
      `${emu.auth.authorizeUrl}?${new URLSearchParams({ ...authorizeParams(p, { client_id: 'x' }), f: 'json' })}`,
    );
    expect(json.json()).toEqual(oauthErr(400, 'invalid_request', 'Invalid client_id'));
    const noRedirect = await call(`${emu.auth.authorizeUrl}?client_id=${PUBLIC.clientId}&f=json`);
    expect(noRedirect.json()).toEqual(oauthErr(400, 'invalid_request', 'redirect_uri not specified'));
    expect(emu.stats().badLogins).toBe(0);
  });

  it('redirects protocol errors: response_type, missing PKCE for a public app, unknown challenge method, cancel', async () => {
    emu = await startAuth();
    const p = pkce();
    const cases: [Record<string, string>, string, string][] = [
      [
        authorizeParams(p, { response_type: 'token' }),
        'unsupported_response_type',
        'Only response_type=code',
      ],
      [authorizeParams(p, { code_challenge: '' }), 'invalid_request', 'code_challenge required'],
      [
        authorizeParams(p, { code_challenge_method: 'S512' }),
        'invalid_request',
        'Invalid code_challenge_method',
      ],
    ];
    for (const [params, error, description] of cases) {
      const target = redirected(await signIn(emu, params));
      expect(target.searchParams.get('error')).toBe(error);
      expect(target.searchParams.get('error_description')).toContain(description);
      expect(target.searchParams.get('state')).toBe('st-42');
      expect(target.searchParams.get('code')).toBeNull();
    }
    const cancelled = await call(`${emu.auth.authorizeUrl}?${new URLSearchParams(authorizeParams(p))}`, {
      form: { cancel: 'Cancel' },
    });
    expect(redirected(cancelled).searchParams.get('error')).toBe('access_denied');
  });

  it('lets a confidential app sign in without PKCE (server-side apps), keeping a redirect_uri with a query', async () => {
    emu = await startAuth({ apps: [{ ...CONFIDENTIAL, redirectUris: [`${REDIRECT}?app=1`] }] });
    const target = redirected(
      await signIn(emu, {
        client_id: CONFIDENTIAL.clientId,
        response_type: 'code',
        redirect_uri: `${REDIRECT}?app=1`,
      }),
    );
    expect(target.searchParams.get('app')).toBe('1');
    expect(target.searchParams.get('code')).toBeTruthy();
    expect(target.searchParams.has('state')).toBe(false);
  });
});
