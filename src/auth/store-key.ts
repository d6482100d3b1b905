/** The cache key of a credential: derived from who and where, never from the secret. */
import { createHash } from 'node:crypto';
import type { TokenProvider } from './types.js';

export const STORE_KEY_PREFIX = 'arcgis-etl:token:';

/**
 * `arcgis-etl:token:<sha256 of (token URL, username or client id, client type, referer)>`, so two
 * pipelines with the same credentials share one token and the key reveals nothing.
 */
export function deriveStoreKey(provider: Pick<TokenProvider, 'tokenUrl' | 'identity' | 'kind'>): string {
  const { username, clientId, client, referer } = provider.identity;
  const parts = [
    provider.tokenUrl,
    username === undefined ? '' : `u:${username}`,
    clientId === undefined ? '' : `c:${clientId}`,
    client ?? '',
    referer ?? '',
  ];
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
  return `${STORE_KEY_PREFIX}${digest}`;
}
