/**
 * Dependencies loaded on first use instead of at start-up, so that a command loads only what it
 * needs (the Redis client, BullMQ, the PostgreSQL driver, … cost a quarter of a second together).
 * Only for CommonJS packages; the types come from `typeof import('…')` at the call site.
 */
import { createRequire } from 'node:module';

export const requireOnUse: NodeJS.Require = createRequire(import.meta.url);
