/**
 * EmulatorOptions with every default filled in and checked.
 */
import { EtlError } from '../core/errors.js';
import type { EmulatorOptions, FaultOptions, UserSpec } from './types.js';

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
}

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
  };
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
