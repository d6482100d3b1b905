/**
 * From CLI flags to EmulatorOptions, and the lines the CLI prints once the emulator is up.
 * (Users given as flags are throw-away credentials of a local emulator, not secrets.)
 */
import { EtlError } from '../core/errors.js';
import { CONTROL_PREFIX } from './control-routes.js';
import { GENERATED_GEOMETRIES } from './data/generate.js';
import { FAULT_KINDS } from './faults.js';
import type {
  EmulatorHandle,
  EmulatorOptions,
  FaultOptions,
  FaultRates,
  GeneratedGeometry,
  LayerSpec,
  OAuthAppSpec,
  UserSpec,
} from './types.js';

type Num = number | string;

export interface EmulatorCliFlags {
  port?: Num;
  host?: string;
  /** A folder of *.geojson / *.json files, one layer each. */
  data?: string;
  /** `user:password`, repeatable. */
  users?: string[];
  tokenMinutes?: Num;
  maxTokenMinutes?: Num;
  tokenLifetimeSeconds?: Num;
  /** `service:geometry:count[:seed]`, e.g. `parcels:polygon:50000`, repeatable (seed defaults to `seed`). */
  generate?: string[];
  maxRecordCount?: Num;
  prefix?: string;
  portalPrefix?: string;
  /** Serve the generated layers without token even when users exist (data-folder layers stay secured). */
  unsecured?: boolean;
  /** Generated layers are read-only (default: editable, with edit and change tracking, attachments). */
  readOnly?: boolean;
  /** Generated layers are editable: the default, kept for scripts (contradicts `readOnly`). */
  editable?: boolean;
  lockoutAttempts?: Num;
  clockOffsetMs?: Num;
  seed?: Num;
  latencyMs?: Num;
  /** Service time per 1,000 features answered, in ms. */
  msPer1000Features?: Num;
  /** Queries served at once; the others queue. */
  capacity?: Num;
  /** Queries that may queue; beyond, refused with `refuseStatus`. */
  queueLimit?: Num;
  /** 429 (default) or 503. */
  refuseStatus?: Num;
  /** `kind=rate`, e.g. `http503=0.05`, repeatable. Kinds: http429 http500 http502 http503 http504 reset truncate html. */
  faults?: string[];
  faultScope?: string;
  retryAfterSeconds?: Num;
  ignoreResultOffset?: boolean;
  extraRow?: boolean;
  shortPageExceeded?: boolean;
  failAbove?: Num;
  /** Ignore orderByFields on the OID; serve rows in a fixed shuffled file order. */
  ignoreOrderBy?: boolean;
  /** Cap feature pages at this many rows without exceededTransferLimit. */
  pageCap?: Num;
  /** Answer outStatistics with `{}`. */
  emptyStatistics?: boolean;
  /** Honour resultOffset only up to this offset (deeper: an empty page). */
  offsetDepth?: Num;
  /** Share (0..1) of generated features with a null geometry. */
  nullGeometries?: Num;
  /** `clientId[:secret]@redirectUri[,redirectUri…]`, repeatable (no secret: a public app, PKCE only). */
  apps?: string[];
  /** API keys accepted on the server's layers, repeatable. */
  apiKeys?: string[];
  refreshTokenLifetimeSeconds?: Num;
  /** Federate the server with the emulator's portal. */
  federation?: boolean;
  /** Claim this owningSystemUrl in rest/info (implies federation). */
  owningSystemUrl?: string;
  /** Behave like ArcGIS Server 10.0 (legacy getToken only). */
  legacy?: boolean;
  /** Export jobs run this many ms on the server clock. */
  jobMs?: Num;
}

export function emulatorCommandOptions(flags: EmulatorCliFlags): EmulatorOptions {
  const maxRecordCount = optionalInt(flags.maxRecordCount, 'max-record-count', 1);
  const seed = optionalInt(flags.seed, 'seed', 0);
  const layers = (flags.generate ?? [])
    .map((g) => parseGenerate(g, maxRecordCount, flags.unsecured, seed))
    .map((spec): LayerSpec => (flags.readOnly ? { ...spec, editing: false } : spec));
  if (flags.readOnly && flags.editable) {
    throw new EtlError('USAGE', '--read-only and --editable exclude each other');
  }
  const users = (flags.users ?? []).map(parseUser);
  const faults = parseFaults(flags);
  const apps = (flags.apps ?? []).map(parseApp);
  const options: EmulatorOptions = {
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...defined('port', optionalInt(flags.port, 'port', 0)),
    ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
    ...(flags.portalPrefix === undefined ? {} : { portalPrefix: flags.portalPrefix }),
    ...(flags.data === undefined ? {} : { dataDir: flags.data }),
    ...(layers.length === 0 ? {} : { layers }),
    ...(users.length === 0 ? {} : { users }),
    ...defined('tokenMinutes', optionalNumber(flags.tokenMinutes, 'token-minutes')),
    ...defined('maxTokenMinutes', optionalNumber(flags.maxTokenMinutes, 'max-token-minutes')),
    ...defined('tokenLifetimeSeconds', optionalNumber(flags.tokenLifetimeSeconds, 'token-lifetime-seconds')),
    ...defined('lockoutAttempts', optionalInt(flags.lockoutAttempts, 'lockout-attempts', 1)),
    ...defined('clockOffsetMs', optionalNumber(flags.clockOffsetMs, 'clock-offset-ms', true)),
    ...defined('seed', seed),
    ...(faults === undefined ? {} : { faults }),
    ...(apps.length === 0 ? {} : { apps }),
    ...(flags.apiKeys === undefined || flags.apiKeys.length === 0 ? {} : { apiKeys: [...flags.apiKeys] }),
    ...defined(
      'refreshTokenLifetimeSeconds',
      optionalNumber(flags.refreshTokenLifetimeSeconds, 'refresh-token-lifetime-seconds'),
    ),
    ...(flags.federation ? { federation: { enabled: true } } : {}),
    ...(flags.owningSystemUrl === undefined ? {} : { owningSystemUrl: flags.owningSystemUrl }),
    ...(flags.legacy ? { legacy: true } : {}),
    ...defined('capacity', optionalInt(flags.capacity, 'capacity', 1)),
    ...defined('queueLimit', optionalInt(flags.queueLimit, 'queue-limit', 0)),
    ...defined('refuseStatus', refuseStatus(flags.refuseStatus)),
    ...(flags.jobMs === undefined
      ? {}
      : { jobs: { durationMs: optionalNumber(flags.jobMs, 'job-ms') ?? 0 } }),
  };
  return options;
}

function parseApp(text: string): OAuthAppSpec {
  const at = text.indexOf('@');
  const head = at < 0 ? '' : text.slice(0, at);
  const redirectUris =
    at < 0
      ? []
      : text
          .slice(at + 1)
          .split(',')
          .filter((u) => u !== '');
  const colon = head.indexOf(':');
  const clientId = colon < 0 ? head : head.slice(0, colon);
  const clientSecret = colon < 0 ? undefined : head.slice(colon + 1);
  if (!clientId || clientSecret === '' || redirectUris.length === 0) {
    throw new EtlError('USAGE', '--app expects clientId[:secret]@redirectUri[,redirectUri…]');
  }
  return { clientId, ...(clientSecret === undefined ? {} : { clientSecret }), redirectUris };
}

/** API keys from a key file (one per line, `#` comments) and an environment value (comma-separated). */
export function apiKeysFrom(fileText: string | undefined, envValue: string | undefined): string[] {
  const fromFile = (fileText ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const fromEnv = (envValue ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  return [...new Set([...fromFile, ...fromEnv])];
}

/** The lines the CLI prints: server, token and portal URLs, each layer, the control endpoint. */
export function describeEmulator(handle: EmulatorHandle): string[] {
  const origin = new URL(handle.url).origin;
  const lines = [
    `ArcGIS Server  ${handle.restUrl}/services`,
    `Token URL      ${handle.tokenUrl}`,
    `Portal         ${handle.portalUrl}/sharing/rest`,
  ];
  const { auth } = handle;
  if (auth.legacy) lines.push(`Legacy 10.0    ${handle.url}/tokens?request=getToken`);
  if (auth.clientIds.length > 0) {
    lines.push(`OAuth          ${auth.authorizeUrl}  (apps: ${auth.clientIds.join(', ')})`);
    lines.push(`OAuth token    ${auth.oauthTokenUrl}`);
  }
  if (auth.owningSystemUrl !== undefined) lines.push(`Federation     server trusts ${auth.owningSystemUrl}`);
  if (auth.apiKeys > 0) lines.push(`API keys       ${auth.apiKeys} accepted on the server`);
  for (const layer of handle.layers()) {
    lines.push(
      `Layer          ${handle.layerUrl(layer.service, layer.id)}  (${layer.count} features, ${layer.geometryType})`,
    );
  }
  lines.push(`Control        ${origin}${CONTROL_PREFIX}stats`);
  return lines;
}

function parseUser(text: string): UserSpec {
  const at = text.indexOf(':');
  if (at <= 0 || at === text.length - 1) {
    throw new EtlError('USAGE', 'A user must be given as user:password');
  }
  return { username: text.slice(0, at), password: text.slice(at + 1) };
}

function parseGenerate(
  text: string,
  maxRecordCount: number | undefined,
  unsecured: boolean | undefined,
  defaultSeed: number | undefined,
): LayerSpec {
  const [service, geometry, count, seed, ...extra] = text.split(':');
  if (!service || !geometry || !count || extra.length > 0) {
    throw new EtlError('USAGE', `--generate expects service:geometry:count[:seed], got "${text}"`);
  }
  if (!GENERATED_GEOMETRIES.includes(geometry as GeneratedGeometry)) {
    throw new EtlError('USAGE', `Unknown geometry "${geometry}" (one of ${GENERATED_GEOMETRIES.join(', ')})`);
  }
  const n = optionalInt(count, 'generate count', 0) as number;
  const s = optionalInt(seed === '' ? undefined : seed, 'generate seed', 0) ?? defaultSeed;
  return {
    service,
    generate: { count: n, geometry: geometry as GeneratedGeometry, ...(s === undefined ? {} : { seed: s }) },
    ...(maxRecordCount === undefined ? {} : { maxRecordCount }),
    ...(unsecured ? { secured: false } : {}),
  };
}

function parseFaults(flags: EmulatorCliFlags): FaultOptions | undefined {
  const rates: FaultRates = {};
  for (const entry of flags.faults ?? []) {
    const [kind, rate] = entry.split('=');
    if (!kind || !FAULT_KINDS.includes(kind as keyof FaultRates)) {
      throw new EtlError('USAGE', `Unknown fault "${kind ?? entry}" (one of ${FAULT_KINDS.join(', ')})`);
    }
    const r = Number(rate);
    if (rate === undefined || rate === '' || !Number.isFinite(r) || r < 0 || r > 1) {
      throw new EtlError('USAGE', `Fault rate for ${kind} must be between 0 and 1`);
    }
    rates[kind as keyof FaultRates] = r;
  }
  const scope = flags.faultScope;
  if (scope !== undefined && scope !== 'query' && scope !== 'all') {
    throw new EtlError('USAGE', `--fault-scope must be query or all, got "${scope}"`);
  }
  const faults: FaultOptions = {
    ...(Object.keys(rates).length === 0 ? {} : { rates }),
    ...defined('latencyMs', optionalNumber(flags.latencyMs, 'latency-ms')),
    ...defined('msPer1000Features', optionalNumber(flags.msPer1000Features, 'ms-per-1000-features')),
    ...defined('retryAfterSeconds', optionalNumber(flags.retryAfterSeconds, 'retry-after-seconds')),
    ...(scope === undefined ? {} : { scope }),
    ...(flags.ignoreResultOffset ? { ignoreResultOffset: true } : {}),
    ...(flags.extraRow ? { extraRow: true } : {}),
    ...(flags.shortPageExceeded ? { shortPageExceeded: true } : {}),
    ...defined('failAbove', optionalInt(flags.failAbove, 'fail-above', 0)),
    ...(flags.ignoreOrderBy ? { ignoreOrderBy: true } : {}),
    ...defined('pageCap', optionalInt(flags.pageCap, 'page-cap', 1)),
    ...(flags.emptyStatistics ? { emptyStatistics: true } : {}),
    ...defined('offsetDepth', optionalInt(flags.offsetDepth, 'offset-depth', 0)),
    ...defined('nullGeometries', share(flags.nullGeometries, 'null-geometries')),
  };
  return Object.keys(faults).length === 0 ? undefined : faults;
}

function refuseStatus(value: Num | undefined): 429 | 503 | undefined {
  const n = optionalInt(value, 'refuse-status', 0);
  if (n === undefined || n === 429 || n === 503) return n;
  throw new EtlError('USAGE', '--refuse-status must be 429 or 503');
}

function share(value: Num | undefined, name: string): number | undefined {
  const n = optionalNumber(value, name);
  if (n !== undefined && n > 1) throw new EtlError('USAGE', `--${name} must be between 0 and 1`);
  return n;
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function optionalNumber(value: Num | undefined, name: string, allowNegative = false): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || (!allowNegative && n < 0)) {
    throw new EtlError('USAGE', `--${name} must be a ${allowNegative ? '' : 'non-negative '}number`);
  }
  return n;
}

function optionalInt(value: Num | undefined, name: string, min: number): number | undefined {
  const n = optionalNumber(value, name);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < min) throw new EtlError('USAGE', `--${name} must be an integer >= ${min}`);
  return n;
}
