import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const ON_CI = process.env.CI === 'true' || process.env.CI === '1';

function makeRawClient(url: string) {
  return createClient({ url, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
}

export type RawClient = ReturnType<typeof makeRawClient>;

/** A plain client for looking at what the store wrote (fails fast, never reconnects). */
export async function rawClient(url = REDIS_URL): Promise<RawClient> {
  const client = makeRawClient(url);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  try {
    const client = await rawClient(url);
    await client.ping();
    await client.close();
    return true;
  } catch {
    return false;
  }
}

/** A prefix no other test run uses. */
export function uniquePrefix(): string {
  return `arcgis-etl-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

export async function deleteByPrefix(client: RawClient, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
  if (keys.length > 0) await client.del(keys);
}

/** Off CI a missing dependency skips loudly; on CI it fails. */
export function requireOrSkip(available: boolean, what: string): boolean {
  if (available) return true;
  if (ON_CI) return true; // run, and fail
  console.warn(`\n!!! SKIPPING ${what}: not available here (set CI=true to make this a failure) !!!\n`);
  return false;
}
