/**
 * What a store persists: only the known TokenRecord fields (never anything else a caller might
 * have attached, such as a password), and a shape check for what comes back.
 */
import type { TokenClientType } from '../core/protocol.js';
import type { TokenRecord } from './types.js';

const CLIENT_TYPES: readonly string[] = ['requestip', 'referer', 'ip'];

/** A copy of `record` with only the TokenRecord fields. */
export function toStoredRecord(record: TokenRecord): TokenRecord {
  const out: TokenRecord = {
    token: record.token,
    expiresAt: record.expiresAt,
    issuedAt: record.issuedAt,
    tokenUrl: record.tokenUrl,
    scope: record.scope,
    kind: record.kind,
  };
  if (record.username !== undefined) out.username = record.username;
  if (record.clientId !== undefined) out.clientId = record.clientId;
  if (record.client !== undefined) out.client = record.client;
  if (record.referer !== undefined) out.referer = record.referer;
  if (record.refreshToken !== undefined) out.refreshToken = record.refreshToken;
  if (record.refreshTokenExpiresAt !== undefined) out.refreshTokenExpiresAt = record.refreshTokenExpiresAt;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** The record, when `value` has the TokenRecord shape; otherwise undefined. */
export function parseStoredRecord(value: unknown): TokenRecord | undefined {
  if (!isObject(value)) return undefined;
  const { token, expiresAt, issuedAt, tokenUrl, scope, kind } = value;
  if (typeof token !== 'string' || token.length === 0) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) return undefined;
  if (typeof tokenUrl !== 'string' || typeof scope !== 'string' || typeof kind !== 'string') return undefined;
  if (!optionalString(value.username) || !optionalString(value.clientId)) return undefined;
  if (!optionalString(value.referer) || !optionalString(value.refreshToken)) return undefined;
  if (value.client !== undefined && !CLIENT_TYPES.includes(String(value.client))) return undefined;
  const refreshExpires = value.refreshTokenExpiresAt;
  if (refreshExpires !== undefined && typeof refreshExpires !== 'number') return undefined;
  const record: TokenRecord = { token, expiresAt, issuedAt, tokenUrl, scope, kind };
  if (typeof value.username === 'string') record.username = value.username;
  if (typeof value.clientId === 'string') record.clientId = value.clientId;
  if (value.client !== undefined) record.client = value.client as TokenClientType;
  if (typeof value.referer === 'string') record.referer = value.referer;
  if (typeof value.refreshToken === 'string') record.refreshToken = value.refreshToken;
  if (typeof refreshExpires === 'number') record.refreshTokenExpiresAt = refreshExpires;
  return record;
}
