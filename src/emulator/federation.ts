/**
 * Federation: which portal a server trusts, server-root normalization for `serverUrl`, and an
 * in-process directory of running emulator portals, so a second emulator can honour tokens
 * exchanged at the first one's portal (real federated servers share a key with their portal).
 */
import type { EmulatorState } from './state.js';
import type { TokenRegistry } from './tokens.js';

export interface PortalDirectoryEntry {
  readonly tokens: TokenRegistry;
  readonly now: () => number;
}

const portals = new Map<string, PortalDirectoryEntry>();

/** Lower-case, without a trailing slash or a `/sharing/rest…` tail. */
export function portalKey(url: string): string {
  return url
    .trim()
    .replace(/\/sharing(\/rest)?(\/.*)?$/i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

/** Makes a running portal findable by other emulators in this process; returns the unregister. */
export function registerPortal(url: string, entry: PortalDirectoryEntry): () => void {
  const key = portalKey(url);
  portals.set(key, entry);
  return () => {
    if (portals.get(key) === entry) portals.delete(key);
  };
}

export function findPortal(url: string): PortalDirectoryEntry | undefined {
  return portals.get(portalKey(url));
}

/**
 * A server root as a comparable key: `http://Host:1/arcgis/rest/services/x` → `http://host:1/arcgis`.
 * Undefined when not an http(s) URL.
 */
export function normalizeServerUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const path = url.pathname.replace(/\/rest(\/.*)?$/i, '').replace(/\/+$/, '');
  return `${url.origin}${path}`.toLowerCase();
}

/** The owningSystemUrl advertised by rest/info (undefined when not federated). */
export function owningSystemUrl(state: EmulatorState, origin: string): string | undefined {
  const o = state.options;
  if (!o.federated) return undefined;
  return o.owningSystemUrl ?? o.trustedPortal ?? `${origin}${o.portalPrefix}`;
}

/** Whether `serverUrl` (normalized) names this server, as addressed now or as started. */
export function isThisServer(
  state: EmulatorState,
  requestOrigin: string,
  serverUrl: string | undefined,
): boolean {
  if (serverUrl === undefined) return false;
  const { prefix } = state.options;
  return [`${requestOrigin}${prefix}`, `${state.origin}${prefix}`].some(
    (root) => normalizeServerUrl(root) === serverUrl,
  );
}
