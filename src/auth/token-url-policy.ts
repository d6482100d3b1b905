/**
 * Where credentials may be sent when the server, not the user, names the place. `rest/info`
 * (`authInfo.tokenServicesUrl`, `owningSystemUrl`) is answered by the server or by anything in
 * front of it, so a token service it names is trusted only when it is:
 * - on the origin of the URL the user gave (same scheme, host and port: the emulator on loopback
 *   http included), or
 * - over https on the same registrable domain (`gis.example.com` and `portal.example.com`, per the
 *   Public Suffix List with its private section, so `a.github.io` and `b.github.io` differ), or
 * - ArcGIS Online (`www.arcgis.com`, `*.maps.arcgis.com`) over https, for a layer on ArcGIS
 *   Online's hosted servers (`services*.arcgis.com`, `*.arcgis.com`).
 * Anything else is TOKEN_URL_UNTRUSTED, naming the host: the user must say `--token-url` or
 * `--portal`. A token service or portal given explicitly is the user's choice and is not checked.
 */
import { getDomain } from 'tldts';
import { EtlError } from '../core/errors.js';
import { parseHttpUrl } from '../core/url.js';

/** The registrable domain (eTLD+1) of a host name; undefined for IP addresses and bare suffixes. */
export function registrableDomain(hostname: string): string | undefined {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return undefined;
  return getDomain(host, { allowPrivateDomains: true }) ?? undefined;
}

const ONLINE_TOKEN_HOST = /^(?:www\.arcgis\.com|[a-z0-9-]+\.maps\.arcgis\.com)$/i;
const ONLINE_LAYER_HOST = /^(?:services\d*\.arcgis\.com|[a-z0-9-]+\.maps\.arcgis\.com|www\.arcgis\.com)$/i;

/** Why a server-named URL may receive credentials, or undefined when it may not. */
export function trustOf(
  userUrl: string,
  namedUrl: string,
): 'same-origin' | 'same-site' | 'arcgis-online' | undefined {
  const user = parseHttpUrl(userUrl);
  const named = parseHttpUrl(namedUrl);
  if (user.origin === named.origin) return 'same-origin';
  if (named.protocol !== 'https:') return undefined;
  if (ONLINE_TOKEN_HOST.test(named.hostname) && ONLINE_LAYER_HOST.test(user.hostname)) return 'arcgis-online';
  const userDomain = registrableDomain(user.hostname);
  // arcgis.com hosts many organisations: only the documented hosts above, not any *.arcgis.com
  if (userDomain === undefined || userDomain === 'arcgis.com') return undefined;
  return userDomain === registrableDomain(named.hostname) ? 'same-site' : undefined;
}

/**
 * Throws TOKEN_URL_UNTRUSTED unless `namedUrl` (a token service or portal named by the server's
 * `rest/info`) may receive the credentials meant for `userUrl`. `what` says what named it.
 */
export function checkServerNamedUrl(userUrl: string, namedUrl: string, what: string): void {
  if (trustOf(userUrl, namedUrl) !== undefined) return;
  const user = parseHttpUrl(userUrl);
  const named = parseHttpUrl(namedUrl);
  const why = named.protocol !== 'https:' ? 'over plain http' : `on another site than ${user.hostname}`;
  throw new EtlError(
    'TOKEN_URL_UNTRUSTED',
    `The server's ${what} names ${named.host} ${why}: credentials are not sent there unless you say so (give --token-url or --portal with that host if you trust it)`,
    { url: named.origin },
  );
}
