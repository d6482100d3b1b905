/**
 * The OAuth 2.0 endpoints of a portal (ArcGIS Online or Enterprise), from any form of its URL:
 * `https://www.arcgis.com`, `https://host/portal`, `https://host/portal/sharing/rest[/…]`.
 */
import { parseHttpUrl } from '../core/url.js';
import { checkCredentialUrl } from './credential-errors.js';

export interface PortalEndpoints {
  /** `https://host/portal` (no trailing slash): what a federated server's `owningSystemUrl` names. */
  portalUrl: string;
  /** `{portal}/sharing/rest` */
  sharingRest: string;
  /** `{portal}/sharing/rest/generateToken` */
  generateToken: string;
  /** `{portal}/sharing/rest/oauth2/token` */
  token: string;
  /** `{portal}/sharing/rest/oauth2/authorize` */
  authorize: string;
  /** `{portal}/sharing/rest/oauth2/revokeToken` */
  revoke: string;
}

/** Pure: no request. HTTPS is required (plain http only on loopback hosts). */
export function portalEndpoints(portal: string): PortalEndpoints {
  const url = parseHttpUrl(portal);
  url.search = '';
  url.hash = '';
  const segments = url.pathname.split('/');
  const sharing = segments.findIndex((s) => s.toLowerCase() === 'sharing');
  const basePath = (sharing === -1 ? url.pathname : segments.slice(0, sharing).join('/')).replace(/\/+$/, '');
  url.pathname = basePath;
  const portalUrl = `${url.origin}${basePath}`;
  const sharingRest = `${portalUrl}/sharing/rest`;
  return {
    portalUrl,
    sharingRest,
    generateToken: checkCredentialUrl(`${sharingRest}/generateToken`),
    token: checkCredentialUrl(`${sharingRest}/oauth2/token`),
    authorize: checkCredentialUrl(`${sharingRest}/oauth2/authorize`),
    revoke: checkCredentialUrl(`${sharingRest}/oauth2/revokeToken`),
  };
}

/** Two portal URLs name the same portal (scheme, case and a trailing `/sharing/rest…` ignored). */
export function samePortal(a: string, b: string): boolean {
  return portalKey(a) === portalKey(b);
}

function portalKey(url: string): string {
  return url
    .trim()
    .replace(/[?#].*$/, '')
    .replace(/^https?:\/\//i, '')
    .replace(/\/sharing(\/.*)?$/i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}
