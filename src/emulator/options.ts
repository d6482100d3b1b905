/**
 * EmulatorOptions with every default filled in and checked.
 */
import { EtlError } from '../core/errors.js';
import type { EmulatorOptions, FaultOptions, OAuthAppSpec, UserSpec } from './types.js';

export interface ResolvedOptions {
  host: string;
  port: number;
  prefix: string;
  portalPrefix: string;
  users: readonly UserSpec[];
  tokenMinutes: number;
  maxTokenMinutes: number;
  tokenLifetimeSeconds: number | undefined;
  lockoutAttempts: number;
  lockoutWindowMs: number;
  lockoutDurationMs: number;
  clockOffsetMs: number;
  faults: FaultOptions;
  seed: number;
  tls: EmulatorOptions['tls'];
  now: () => number;
  apps: readonly OAuthAppSpec[];
  refreshTokenLifetimeSeconds: number;
  /** Federation mode: server layers accept only exchanged (and API-key) tokens. */
  federated: boolean;
  /** The portal whose exchanged tokens the server honours, when not this emulator's own. */
  trustedPortal: string | undefined;
  /** A claimed owningSystemUrl (advertised as is). */
  owningSystemUrl: string | undefined;
  legacy: boolean;
  apiKeys: readonly string[];
  /** Queries served at once (undefined: unlimited). */
  capacity: number | undefined;
  /** Queries that may wait for an instance (undefined: unlimited). */
  queueLimit: number | undefined;
  refuseStatus: 429 | 503;
}

const TWO_WEEKS_SECONDS = 14 * 24 * 3600;

const FIFTEEN_MINUTES = 15 * 60_000;

export function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  const tokenMinutes = positive(options.tokenMinutes, 60, 'tokenMinutes');
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    prefix: normalizePrefix(options.prefix ?? '/arcgis', 'prefix'),
    portalPrefix: normalizePrefix(options.portalPrefix ?? '/portal', 'portalPrefix'),
    users: options.users ?? [],
    tokenMinutes,
    maxTokenMinutes: positive(options.maxTokenMinutes, 1440, 'maxTokenMinutes'),
    tokenLifetimeSeconds:
      options.tokenLifetimeSeconds === undefined
        ? undefined
        : positive(options.tokenLifetimeSeconds, 60, 'tokenLifetimeSeconds'),
    lockoutAttempts: Math.floor(positive(options.lockoutAttempts, 5, 'lockoutAttempts')),
    lockoutWindowMs: positive(options.lockoutWindowMs, FIFTEEN_MINUTES, 'lockoutWindowMs'),
    lockoutDurationMs: positive(options.lockoutDurationMs, FIFTEEN_MINUTES, 'lockoutDurationMs'),
    clockOffsetMs: options.clockOffsetMs ?? 0,
    faults: options.faults ?? {},
    seed: options.seed ?? 1,
    tls: options.tls,
    now: options.now ?? (() => Date.now()),
    apps: checkApps(options.apps ?? []),
    refreshTokenLifetimeSeconds: positive(
      options.refreshTokenLifetimeSeconds,
      TWO_WEEKS_SECONDS,
      'refreshTokenLifetimeSeconds',
    ),
    federated: options.federation?.enabled === true || options.owningSystemUrl !== undefined,
    trustedPortal: optionalUrl(
      options.federation?.enabled ? options.federation.trustedPortal : undefined,
      'federation.trustedPortal',
    ),
    owningSystemUrl: optionalUrl(options.owningSystemUrl, 'owningSystemUrl'),
    legacy: options.legacy === true,
    apiKeys: checkApiKeys(options.apiKeys ?? []),
    capacity: optionalCount(options.capacity, 1, 'capacity'),
    queueLimit: optionalCount(options.queueLimit, 0, 'queueLimit'),
    refuseStatus: checkRefuseStatus(options.refuseStatus),
  };
}

function optionalCount(value: number | undefined, min: number, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min) {
    throw new EtlError('USAGE', `Emulator option ${name} must be an integer >= ${min} (got ${value})`);
  }
  return value;
}

function checkRefuseStatus(value: number | undefined): 429 | 503 {
  if (value === undefined || value === 429 || value === 503) return value ?? 429;
  throw new EtlError('USAGE', `Emulator option refuseStatus must be 429 or 503 (got ${value})`);
}

function checkApps(apps: readonly OAuthAppSpec[]): readonly OAuthAppSpec[] {
  const ids = new Set<string>();
  for (const app of apps) {
    if (!app.clientId || ids.has(app.clientId)) {
      throw new EtlError('USAGE', `Emulator app client ids must be unique and non-empty (${app.clientId})`);
    }
    ids.add(app.clientId);
    for (const uri of app.redirectUris) {
      if (!URL.canParse(uri)) throw new EtlError('USAGE', `Invalid redirect URI for app ${app.clientId}`);
    }
    if (app.tokenMinutes !== undefined) positive(app.tokenMinutes, 30, 'apps[].tokenMinutes');
  }
  return apps.map((app) => ({ ...app, redirectUris: [...app.redirectUris] }));
}

function checkApiKeys(keys: readonly string[]): readonly string[] {
  for (const key of keys) {
    if (key.length < 8) throw new EtlError('USAGE', 'Emulator API keys must be at least 8 characters');
  }
  return [...keys];
}

/** A URL without its trailing slash. */
function optionalUrl(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (!URL.canParse(value)) throw new EtlError('USAGE', `Emulator option ${name} must be a URL`);
  return value.replace(/\/+$/, '');
}

/** `arcgis/` → `/arcgis`; `/` or `` → `` (served at the root). */
export function normalizePrefix(prefix: string, name: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  const withSlash = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(withSlash)) {
    throw new EtlError('USAGE', `Invalid emulator ${name}: ${prefix}`);
  }
  return withSlash;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new EtlError('USAGE', `Emulator option ${name} must be a positive number (got ${value})`);
  }
  return value;
}
