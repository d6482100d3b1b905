/**
 * `arcgis-etl login`: the OAuth 2.0 authorization-code flow with PKCE (S256) and a loopback
 * redirect, for a public client (no secret). The browser is opened through an injected
 * `openBrowser(url)`; the code is exchanged with the verifier; the refresh token is saved in the
 * token cache (encrypted when the store has a key) and the access token cached for the next command.
 */
import { EtlError } from '../core/errors.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import type { Transport } from '../http/types.js';
import type { TokenStore } from '../stores/types.js';
import { startLoopbackReceiver } from './loopback.js';
import { portalEndpoints } from './oauth-endpoints.js';
import { parseOAuthGrant } from './oauth-grant.js';
import {
  DEFAULT_REFRESH_TOKEN_LIFETIME_MS,
  type OAuthSession,
  oauthUserTokenKey,
  writeSession,
} from './oauth-session.js';
import { createPkce, createState } from './pkce.js';
import { postTokenRequest } from './token-request.js';
import { recordFromGrant } from './validity.js';

export type OpenBrowser = (url: string) => void | Promise<void>;

export interface LoginOptions {
  portal: string;
  clientId: string;
  transport: Transport;
  /** Where the sign-in is saved (the token cache later commands use). */
  store: TokenStore;
  /** Shows the authorization URL to the user (default: written to stderr). */
  openBrowser?: OpenBrowser;
  /** Refresh-token lifetime to ask for, in minutes (the portal's default when absent). */
  expirationMinutes?: number;
  /** How long to wait for the browser (default 5 min). */
  timeoutMs?: number;
  /** Loopback host (default 127.0.0.1) and port (default 0: a free one). */
  host?: string;
  port?: number;
  runtime?: Partial<Runtime>;
  signal?: AbortSignal;
}

export interface LoginResult {
  portalUrl: string;
  clientId: string;
  username: string | undefined;
  /** Local epoch ms. */
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
  redirectUri: string;
}

export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;

export const printToStderr: OpenBrowser = (url) => {
  process.stderr.write(`Open this URL in a browser to sign in:\n  ${url}\n`);
};

/** The authorization URL (pure). */
export function authorizeUrl(
  authorizeEndpoint: string,
  params: {
    clientId: string;
    redirectUri: string;
    challenge: string;
    state: string;
    expirationMinutes?: number | undefined;
  },
): string {
  const url = new URL(authorizeEndpoint);
  url.searchParams.set('client_id', params.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', params.redirectUri);
  url.searchParams.set('code_challenge', params.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', params.state);
  if (params.expirationMinutes !== undefined)
    url.searchParams.set('expiration', String(params.expirationMinutes));
  return url.toString();
}

export async function loginWithBrowser(options: LoginOptions): Promise<LoginResult> {
  if (!options.clientId) throw new EtlError('MISSING_CREDENTIALS', 'login needs a client id (--client-id)');
  const endpoints = portalEndpoints(options.portal);
  const runtime = resolveRuntime(options.runtime);
  const receiver = await startLoopbackReceiver({
    ...(options.host ? { host: options.host } : {}),
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  const stop = new AbortController();
  try {
    const pkce = createPkce();
    const state = createState();
    const url = authorizeUrl(endpoints.authorize, {
      clientId: options.clientId,
      redirectUri: receiver.redirectUri,
      challenge: pkce.challenge,
      state,
      expirationMinutes: options.expirationMinutes,
    });
    await (options.openBrowser ?? printToStderr)(url);
    const callback = await waitFor(
      receiver.callback,
      runtime,
      options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS,
      stop.signal,
      options.signal,
    );
    const params = callback.params;
    if (params.has('error')) {
      const reason = params.get('error_description') ?? params.get('error') ?? 'unknown';
      throw new EtlError('BAD_CREDENTIALS', `The sign-in was refused or cancelled (${reason})`, {
        url: redactUrl(endpoints.authorize),
      });
    }
    if (params.get('state') !== state) {
      throw new EtlError(
        'BAD_CREDENTIALS',
        'The sign-in redirect carried the wrong state: refusing it (possible CSRF)',
      );
    }
    const code = params.get('code');
    if (!code)
      throw new EtlError('TOKEN_RESPONSE_INVALID', 'The sign-in redirect carried no authorization code');
    registerSecret(code);
    const who = `client ${options.clientId}`;
    const response = await postTokenRequest(
      options.transport,
      endpoints.token,
      {
        grant_type: 'authorization_code',
        client_id: options.clientId,
        code,
        redirect_uri: receiver.redirectUri,
        code_verifier: pkce.verifier,
        f: 'json',
      },
      { who, ...(options.signal ? { signal: options.signal } : {}) },
    );
    const now = runtime.clock.now();
    const grant = parseOAuthGrant(response.body, endpoints.token, now, response.serverDate, who);
    if (grant.refreshToken === undefined) {
      throw new EtlError(
        'TOKEN_RESPONSE_INVALID',
        'The portal answered no refresh_token: later commands could not sign in',
        {
          url: redactUrl(endpoints.token),
        },
      );
    }
    const skew = grant.serverDate === undefined ? 0 : grant.serverDate - now;
    const session: OAuthSession = {
      tokenUrl: endpoints.token,
      clientId: options.clientId,
      refreshToken: grant.refreshToken,
      issuedAt: now,
      refreshTokenExpiresAt:
        grant.refreshTokenExpires === undefined
          ? now + DEFAULT_REFRESH_TOKEN_LIFETIME_MS
          : grant.refreshTokenExpires - skew,
      redirectUri: receiver.redirectUri,
      ...(grant.username ? { username: grant.username } : {}),
    };
    await writeSession(options.store, session, now);
    const record = recordFromGrant(
      {
        token: grant.token,
        expires: grant.expires,
        ...(grant.serverDate === undefined ? {} : { serverDate: grant.serverDate }),
      },
      {
        kind: 'oauth-refresh-token',
        tokenUrl: endpoints.token,
        identity: { clientId: options.clientId },
        refreshable: true,
        fetchToken: notUsed,
      },
      now,
      [new URL(endpoints.portalUrl).origin],
    );
    await options.store.set(
      oauthUserTokenKey(endpoints.token, options.clientId),
      record,
      record.expiresAt - now,
    );
    return {
      portalUrl: endpoints.portalUrl,
      clientId: options.clientId,
      username: grant.username,
      accessTokenExpiresAt: record.expiresAt,
      refreshTokenExpiresAt: session.refreshTokenExpiresAt,
      redirectUri: receiver.redirectUri,
    };
  } finally {
    stop.abort();
    await receiver.close();
  }
}

function notUsed(): never {
  throw new Error('not used');
}

async function waitFor<T>(
  promise: Promise<T>,
  runtime: Runtime,
  timeoutMs: number,
  stop: AbortSignal,
  user: AbortSignal | undefined,
): Promise<T> {
  const both = user ? AbortSignal.any([stop, user]) : stop;
  const timeout = runtime.sleep(timeoutMs, both).then(
    () => {
      throw new EtlError('TIMEOUT', `No sign-in came back within ${Math.round(timeoutMs / 1000)} s`);
    },
    (reason: unknown) => {
      if (user?.aborted) throw new EtlError('ABORTED', 'The sign-in was cancelled', { cause: reason });
      return new Promise<never>(() => {}); // stopped because the callback came
    },
  );
  return Promise.race([promise, timeout]);
}
