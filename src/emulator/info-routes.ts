/**
 * `{prefix}/rest/info` and the portal's `sharing/rest` and `sharing/rest/info`.
 */

import { owningSystemUrl } from './federation.js';
import { resourcePage } from './html.js';
import { htmlReply, jsonReply, type Reply } from './reply.js';
import { type EmuRequest, format, wantsJson } from './request.js';
import { CURRENT_VERSION, FULL_VERSION } from './service-json.js';
import type { EmulatorState } from './state.js';

export const PORTAL_VERSION = '11.1';

export function restInfoRoute(state: EmulatorState, req: EmuRequest): Reply {
  if (!wantsJson(req)) return htmlReply(resourcePage('Server Information', req.path));
  const { prefix, tokenMinutes, legacy } = state.options;
  const owner = owningSystemUrl(state, req.origin);
  const soap = { soapUrl: `${req.origin}${prefix}/services`, secureSoapUrl: null };
  if (legacy) {
    // ArcGIS Server 10.0: no currentVersion, the legacy token service, no shortLivedTokenValidity
    const authInfo = state.securedServer
      ? { isTokenBasedSecurity: true, tokenServicesUrl: `${req.origin}${prefix}/tokens` }
      : { isTokenBasedSecurity: false };
    return jsonReply({ ...soap, authInfo }, format(req) === 'pjson');
  }
  const authInfo = state.securedServer
    ? {
        isTokenBasedSecurity: true,
        tokenServicesUrl:
          owner === undefined ? `${req.origin}${prefix}/tokens/` : `${owner}/sharing/rest/generateToken`,
        shortLivedTokenValidity: tokenMinutes,
      }
    : { isTokenBasedSecurity: false };
  return jsonReply(
    {
      currentVersion: CURRENT_VERSION,
      fullVersion: FULL_VERSION,
      ...(owner === undefined ? {} : { owningSystemUrl: owner }),
      ...soap,
      authInfo,
    },
    format(req) === 'pjson',
  );
}

export function portalRootRoute(_state: EmulatorState, req: EmuRequest): Reply {
  if (!wantsJson(req)) return htmlReply(resourcePage('Portal Sharing API', req.path));
  return jsonReply({ currentVersion: PORTAL_VERSION }, format(req) === 'pjson');
}

export function portalInfoRoute(state: EmulatorState, req: EmuRequest): Reply {
  if (!wantsJson(req)) return htmlReply(resourcePage('Portal Information', req.path));
  const base = `${req.origin}${state.options.portalPrefix}`;
  return jsonReply(
    {
      owningSystemUrl: base,
      authInfo: {
        tokenServicesUrl: `${base}/sharing/rest/generateToken`,
        isTokenBasedSecurity: true,
      },
    },
    format(req) === 'pjson',
  );
}
