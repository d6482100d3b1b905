/**
 * `createTokenStore(spec)`: the store named on the command line or in config.
 * - undefined, '' or `memory` → MemoryStore (the default; nothing shared);
 * - `file` → FileStore at the default path; `file:PATH` → FileStore at PATH;
 * - `redis` → RedisStore at `$REDIS_URL`; `redis://…` / `rediss://…` → RedisStore at that URL.
 */
import { EtlError } from '../core/errors.js';
import type { Emit, Logger } from '../core/events.js';
import { redactUrl } from '../core/redact.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { FileStore } from './file.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { TokenStore } from './types.js';

export interface CreateTokenStoreOptions {
  runtime?: Partial<Runtime>;
  emit?: Emit;
  logger?: Logger;
  /** Cache passphrase (file and Redis stores); default `ARCGIS_ETL_CACHE_KEY`; `null` turns it off. */
  key?: string | null;
  /** Redis key prefix (default `arcgis-etl:`). */
  prefix?: string;
  lockTtlMs?: number;
  lockWaitMs?: number;
  /** Where `REDIS_URL` is read from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export const TOKEN_STORE_SPECS = 'memory, file, file:PATH, redis, redis://HOST:PORT/DB or rediss://…';

export function createTokenStore(
  spec: string | undefined,
  options: CreateTokenStoreOptions = {},
): TokenStore {
  const value = spec?.trim() ?? '';
  const runtime = resolveRuntime(options.runtime);
  const common = {
    runtime,
    ...(options.emit === undefined ? {} : { emit: options.emit }),
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.lockTtlMs === undefined ? {} : { lockTtlMs: options.lockTtlMs }),
    ...(options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }),
  };
  if (value === '' || value === 'memory') {
    return new MemoryStore({ clock: runtime.clock, sleep: runtime.sleep });
  }
  if (value === 'file') return new FileStore(common);
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length);
    if (!path) throw new EtlError('USAGE', 'The token store "file:" needs a path (file:PATH)');
    return new FileStore({ ...common, path });
  }
  let url: string | undefined;
  if (value === 'redis') {
    url = (options.env ?? process.env).REDIS_URL;
    if (!url)
      throw new EtlError('USAGE', 'The token store "redis" needs REDIS_URL (or give redis://HOST:PORT/DB)');
  } else if (/^rediss?:\/\//i.test(value)) {
    url = value;
  }
  if (url !== undefined) {
    return new RedisStore({
      ...common,
      url,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }
  throw new EtlError(
    'USAGE',
    `Unknown token store "${redactUrl(value).slice(0, 100)}" (use ${TOKEN_STORE_SPECS})`,
  );
}
