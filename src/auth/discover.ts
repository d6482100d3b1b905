/**
 * Finds the token endpoint for any ArcGIS URL: a portal (`…/sharing/rest…`) uses
 * `{portal}/sharing/rest/generateToken`; a server (`…/rest/services/…`, whatever the prefix:
 * `/arcgis`, `/server`, none) is asked `{root}/rest/info?f=json` for `authInfo.tokenServicesUrl`.
 */
import { EtlError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { parseHttpUrl } from '../core/url.js';
import type { Transport } from '../http/types.js';

export interface TokenDiscovery {
  kind: 'portal' | 'server';
  /** `https://host/arcgis/rest` or `https://host/portal/sharing/rest`. */
  restRoot: string;
  /** Whether the server wants a token at all. */
  tokenRequired: boolean;
  /** The generateToken endpoint; undefined when no token is needed. */
  tokenUrl: string | undefined;
  isTokenBasedSecurity: boolean;
  /** `authInfo.shortLivedTokenValidity`, in minutes (10.1+). */
  shortLivedTokenValidityMinutes: number | undefined;
  /** The portal a federated server trusts (10.1 SP1+). */
  owningSystemUrl: string | undefined;
  currentVersion: number | undefined;
}

export interface DiscoverOptions {
  signal?: AbortSignal;
}

const ONLINE_PORTAL_HOST = /^(?:www\.arcgis\.com|arcgis\.com|[a-z0-9-]+\.maps\.arcgis\.com)$/i;

/** Splits a URL at its REST root. Pure: no request. */
export function findRestRoot(anyUrl: string): { kind: 'portal' | 'server'; root: string } {
  const url = parseHttpUrl(anyUrl);
  url.search = '';
  url.hash = '';
  const segments = url.pathname.split('/');
  const lower = segments.map((s) => s.toLowerCase());
  const sharing = lower.indexOf('sharing');
  const rest = lower.indexOf('rest');
  if (sharing !== -1 && (rest === -1 || sharing < rest)) {
    url.pathname = `${segments.slice(0, sharing).join('/')}/sharing/rest`;
    return { kind: 'portal', root: trimSlash(url.toString()) };
  }
  if (rest !== -1) {
    url.pathname = `${segments.slice(0, rest).join('/')}/rest`;
    return { kind: 'server', root: trimSlash(url.toString()) };
  }
  // ArcGIS Online's portal (www.arcgis.com, an organisation's *.maps.arcgis.com), any page of it
  if (ONLINE_PORTAL_HOST.test(url.hostname)) {
    url.pathname = '/sharing/rest';
    return { kind: 'portal', root: trimSlash(url.toString()) };
  }
  // A portal's home app: https://host/portal/home/…
  const home = lower.indexOf('home');
  if (home > 0) {
    url.pathname = `${segments.slice(0, home).join('/')}/sharing/rest`;
    return { kind: 'portal', root: trimSlash(url.toString()) };
  }
  // A bare server root such as https://host/arcgis.
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/rest`;
  return { kind: 'server', root: trimSlash(url.toString()) };
}

export async function discoverTokenUrl(
  anyUrl: string,
  transport: Transport,
  options: DiscoverOptions = {},
): Promise<TokenDiscovery> {
  const { kind, root } = findRestRoot(anyUrl);
  if (kind === 'portal') return portalDiscovery(root);
  const infoUrl = `${root}/info`;
  let body: unknown;
  try {
    body = await getInfo(infoUrl, transport, options);
  } catch (error) {
    if (isMissing(error)) {
      // A bare root without /rest (https://host/portal) may be a portal: ask its sharing/rest/info.
      const portal = isBareRoot(anyUrl) ? await probePortal(root, transport, options) : undefined;
      if (portal !== undefined) return portal;
      throw new EtlError('TOKEN_ENDPOINT_NOT_FOUND', `No ArcGIS REST info at ${redactUrl(infoUrl)}`, {
        cause: error,
        url: redactUrl(infoUrl),
      });
    }
    throw error;
  }
  return readRestInfo(body, root, infoUrl);
}

async function getInfo(url: string, transport: Transport, options: DiscoverOptions): Promise<unknown> {
  const response = await transport.request(url, {
    method: 'GET',
    params: { f: 'json' },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return response.body;
}

function isMissing(error: unknown): boolean {
  return error instanceof EtlError && (error.code === 'NOT_FOUND' || error.status === 404);
}

/** No `rest`, `sharing` or `home` segment: findRestRoot appended `/rest` to it. */
function isBareRoot(anyUrl: string): boolean {
  const segments = parseHttpUrl(anyUrl).pathname.toLowerCase().split('/');
  return !segments.includes('rest') && !segments.includes('sharing');
}

/** `{root}/sharing/rest/info` answered as a portal does: a portal discovery, else undefined. */
async function probePortal(
  serverRoot: string,
  transport: Transport,
  options: DiscoverOptions,
): Promise<TokenDiscovery | undefined> {
  const portalRoot = `${serverRoot.replace(/\/rest$/, '')}/sharing/rest`;
  let body: unknown;
  try {
    body = await getInfo(`${portalRoot}/info`, transport, options);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object' || !('authInfo' in body)) return undefined;
  return portalDiscovery(portalRoot);
}

function portalDiscovery(root: string): TokenDiscovery {
  return {
    kind: 'portal',
    restRoot: root,
    tokenRequired: true,
    tokenUrl: `${root}/generateToken`,
    isTokenBasedSecurity: true,
    shortLivedTokenValidityMinutes: undefined,
    owningSystemUrl: undefined,
    currentVersion: undefined,
  };
}

/** Interprets a `rest/info` answer. Exported for tests and for callers that already have it. */
export function readRestInfo(body: unknown, restRoot: string, infoUrl = `${restRoot}/info`): TokenDiscovery {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new EtlError('INVALID_RESPONSE', `rest/info did not answer a JSON object`, {
      url: redactUrl(infoUrl),
    });
  }
  const info = body as Record<string, unknown>;
  const auth = (info.authInfo !== null && typeof info.authInfo === 'object' ? info.authInfo : {}) as Record<
    string,
    unknown
  >;
  const isTokenBasedSecurity = auth.isTokenBasedSecurity === true;
  const validity = toNumber(auth.shortLivedTokenValidity);
  const owningSystemUrl = typeof info.owningSystemUrl === 'string' ? info.owningSystemUrl : undefined;
  const currentVersion = toNumber(info.currentVersion);
  const base = {
    kind: 'server' as const,
    restRoot,
    isTokenBasedSecurity,
    shortLivedTokenValidityMinutes: validity,
    owningSystemUrl,
    currentVersion,
  };
  if (!isTokenBasedSecurity) return { ...base, tokenRequired: false, tokenUrl: undefined };
  const raw = typeof auth.tokenServicesUrl === 'string' ? auth.tokenServicesUrl.trim() : '';
  if (raw === '') {
    throw new EtlError(
      'TOKEN_ENDPOINT_NOT_FOUND',
      `The server at ${redactUrl(restRoot)} uses token security but advertises no tokenServicesUrl`,
      { url: redactUrl(infoUrl) },
    );
  }
  return { ...base, tokenRequired: true, tokenUrl: normaliseTokenServicesUrl(raw, infoUrl) };
}

/** `…/tokens/` and `…/tokens` get `generateToken` appended; relative values resolve against rest/info. */
export function normaliseTokenServicesUrl(value: string, infoUrl: string): string {
  let url: URL;
  try {
    url = new URL(value, infoUrl);
  } catch (cause) {
    throw new EtlError('TOKEN_ENDPOINT_NOT_FOUND', `Unusable tokenServicesUrl: ${value.slice(0, 200)}`, {
      cause,
    });
  }
  url.search = '';
  url.hash = '';
  if (/\/tokens\/?$/i.test(url.pathname)) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/generateToken`;
  }
  return url.toString();
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function toNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}
