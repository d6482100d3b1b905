/**
 * Path → route. Route names are what `stats().requests` counts.
 */

import { matchEditingRoute } from './edits/paths.js';
import { htmlPage } from './html.js';
import { portalInfoRoute, portalRootRoute, restInfoRoute } from './info-routes.js';
import { itemRoute, parseItemPath } from './jobs/item-routes.js';
import { authorizeRoute } from './oauth-authorize.js';
import { revokeTokenRoute } from './oauth-revoke.js';
import { oauthTokenRoute } from './oauth-token.js';
import { communitySelfRoute, portalSelfRoute } from './portal-routes.js';
import { parseReplicaPath, replicaRoute } from './replica/routes.js';
import { htmlReply, type Reply } from './reply.js';
import type { EmuRequest } from './request.js';
import { parseServicePath, routeName, servicesRoute } from './service-routes.js';
import type { EmulatorState } from './state.js';
import { generateTokenRoute, tokensRootRoute } from './token-routes.js';

export interface Route {
  name: string;
  handle(state: EmulatorState, req: EmuRequest): Reply;
}

const notFound: Route = {
  name: 'notFound',
  handle: () => htmlReply(htmlPage('404 Not Found', '<p>The requested resource was not found.</p>'), 404),
};

/** Portal routes under `{portalPrefix}`, by lower-cased path. */
const PORTAL_ROUTES: Record<string, Route> = {
  '/sharing/rest/oauth2/authorize': { name: 'oauthAuthorize', handle: authorizeRoute },
  '/sharing/rest/oauth2/token': { name: 'oauthToken', handle: oauthTokenRoute },
  '/sharing/rest/oauth2/revoketoken': { name: 'revokeToken', handle: revokeTokenRoute },
  '/sharing/rest/portals/self': { name: 'portalSelf', handle: portalSelfRoute },
  '/sharing/rest/community/self': { name: 'communitySelf', handle: communitySelfRoute },
};

export function matchRoute(state: EmulatorState, rawPath: string): Route {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const { prefix, portalPrefix } = state.options;
  if (path.startsWith(prefix)) {
    const rest = path.slice(prefix.length);
    if (rest === '/rest/info') return { name: 'info', handle: restInfoRoute };
    // ArcGIS Server 10.0 has no generateToken
    if (rest.toLowerCase() === '/tokens/generatetoken' && !state.options.legacy) {
      return { name: 'generateToken', handle: (s, r) => generateTokenRoute(s, r, 'server') };
    }
    if (rest === '/tokens') return { name: 'tokens', handle: tokensRootRoute };
    if (rest === '/rest/services' || rest.startsWith('/rest/services/')) {
      const sub = rest.slice('/rest/services'.length);
      // `…/FeatureServer/jobs/{id}` is one path for two kinds of job (as on ArcGIS): the replica
      // registry answers its own ids, every other id is an extractChanges job (edits/routes.ts)
      const replica = parseReplicaPath(sub);
      if (replica && (replica.kind !== 'replicaStatus' || state.jobs.get(replica.jobId))) {
        return { name: replica.kind, handle: (s, r) => replicaRoute(s, r, replica) };
      }
      const editing = matchEditingRoute(sub);
      if (editing) return editing;
      const parsed = parseServicePath(sub);
      return { name: routeName(parsed), handle: (s, r) => servicesRoute(s, r, parsed) };
    }
  }
  if (path.startsWith(portalPrefix)) {
    const rest = path.slice(portalPrefix.length);
    if (rest === '/sharing/rest') return { name: 'portalRoot', handle: portalRootRoute };
    if (rest === '/sharing/rest/info') return { name: 'portalInfo', handle: portalInfoRoute };
    if (rest.toLowerCase() === '/sharing/rest/generatetoken') {
      return { name: 'portalGenerateToken', handle: (s, r) => generateTokenRoute(s, r, 'portal') };
    }
    const portalRoute = PORTAL_ROUTES[rest.toLowerCase()];
    if (portalRoute) return portalRoute;
    const item = parseItemPath(rest);
    if (item) return { name: item.kind, handle: (s, r) => itemRoute(s, r, item) };
  }
  return notFound;
}
