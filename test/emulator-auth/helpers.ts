/**
 * Helpers for the emulator's OAuth, federation, legacy and API-key tests: an emulator over stub
 * layers with one confidential and one public app, PKCE material, and a scripted sign-in.
 */
import { createHash, randomBytes } from 'node:crypto';
import { serveEmulator } from '../../src/emulator/server.js';
import type { EmulatorHandle, EmulatorOptions, OAuthAppSpec } from '../../src/emulator/types.js';
import { call, type RawResponse, stubLayer, USER } from '../emulator/helpers.js';

export { call, type RawResponse, stubLayer, USER };

export const REDIRECT = 'https://app.example/callback';
export const LOOPBACK = 'http://127.0.0.1/callback';

export const CONFIDENTIAL: OAuthAppSpec = {
  clientId: 'etl-server-app',
  clientSecret: 'app-Secret-0123456789',
  redirectUris: [REDIRECT],
};
export const PUBLIC: OAuthAppSpec = { clientId: 'etl-cli', redirectUris: [LOOPBACK, REDIRECT] };

/** Server `Parcels` (secured, 25 features) and `Public` (open), users [USER], both apps. */
export function startAuth(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return serveEmulator(
    {
      users: [USER],
      apps: [CONFIDENTIAL, PUBLIC],
      layers: [{ service: 'Parcels' }, { service: 'Public', secured: false }],
      ...options,
    },
    [stubLayer('Parcels', 25), stubLayer('Public', 5)],
  );
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The query of an authorize URL for the public app with S256 PKCE. */
export function authorizeParams(
  p: Pkce,
  extra: Record<string, string> = {},
  clientId = PUBLIC.clientId,
): Record<string, string> {
  return {
    client_id: clientId,
    response_type: 'code',
    redirect_uri: LOOPBACK.replace('127.0.0.1', '127.0.0.1:53682'),
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    state: 'st-42',
    ...extra,
  };
}

/** POSTs credentials straight to authorize (a scripted browser); returns the 302 answer. */
export function signIn(
  emu: EmulatorHandle,
  params: Record<string, string>,
  creds: { username: string; password: string } = USER,
): Promise<RawResponse> {
  return call(`${emu.auth.authorizeUrl}?${new URLSearchParams(params)}`, { form: { ...creds } });
}

/** The `code` (and `state`) of a redirect. */
export function redirected(res: RawResponse): URL {
  const location = res.headers.location;
  if (res.status !== 302 || !location) throw new Error(`expected a redirect, got ${res.status}: ${res.text}`);
  return new URL(location);
}

export async function codeFor(
  emu: EmulatorHandle,
  p: Pkce,
  extra: Record<string, string> = {},
): Promise<string> {
  const code = redirected(await signIn(emu, authorizeParams(p, extra))).searchParams.get('code');
  if (!code) throw new Error('no code');
  return code;
}

export interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
  username?: string;
  ssl?: boolean;
  error?: { code: number; error: string; error_description: string; message: string; details: string[] };
}

export async function oauthToken(emu: EmulatorHandle, form: Record<string, string>): Promise<TokenAnswer> {
  const res = await call(emu.auth.oauthTokenUrl, { form });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return res.json<TokenAnswer>();
}

/** Exchanges a code of the public app (PKCE S256) for tokens. */
export async function userTokens(emu: EmulatorHandle): Promise<Required<Omit<TokenAnswer, 'error'>>> {
  const p = pkce();
  const code = await codeFor(emu, p);
  const body = await oauthToken(emu, {
    grant_type: 'authorization_code',
    client_id: PUBLIC.clientId,
    code,
    redirect_uri: authorizeParams(p).redirect_uri as string,
    code_verifier: p.verifier,
  });
  if (!body.access_token) throw new Error(JSON.stringify(body));
  return body as Required<Omit<TokenAnswer, 'error'>>;
}

/** The count query of a layer with a token (form body); the parsed answer. */
export async function countWith(
  emu: EmulatorHandle,
  token: string,
  service = 'Parcels',
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await call(`${emu.layerUrl(service)}/query`, {
    form: { where: '1=1', returnCountOnly: 'true', f: 'json', token },
    headers,
  });
  return res.json();
}

export function oauthErr(code: number, error: string, description: string) {
  return { error: { code, error, error_description: description, message: description, details: [] } };
}

export const INVALID_TOKEN = { error: { code: 498, message: 'Invalid token.', details: ['Invalid token.'] } };
