/**
 * When a server needs the 10.0 `tokens?request=getToken` API instead of `generateToken`: its
 * `rest/info` has no `currentVersion` (10.0 and older did not send one) or a version below 10.1.
 * (An advertised `…/tokens` without `generateToken` alone is not enough: 10.1+ servers advertise
 * `…/tokens/` too, and they do have generateToken.)
 */
import type { TokenDiscovery } from './discover.js';
import { legacyTokenUrl } from './legacy-token.js';

export function isLegacyServer(discovery: TokenDiscovery): boolean {
  if (discovery.kind !== 'server' || !discovery.tokenRequired || discovery.tokenUrl === undefined)
    return false;
  return discovery.currentVersion === undefined || discovery.currentVersion < 10.1;
}

/** The legacy endpoint (`{server}/arcgis/tokens`) of a server found to be legacy; else undefined. */
export function legacyTokenUrlOf(discovery: TokenDiscovery): string | undefined {
  if (!isLegacyServer(discovery) || discovery.tokenUrl === undefined) return undefined;
  return legacyTokenUrl(discovery.tokenUrl);
}
