/**
 * Where a PostGIS export goes: `postgresql://user@host:5432/db?table=schema.name`, or
 * `postgresql://` and `--table schema.name` with the rest from DATABASE_URL or the PG* variables.
 * A password is refused in every URL (it comes from PGPASSWORD or ~/.pgpass, which the driver
 * reads itself); what is shown of the target (`display`) never holds one.
 */
import { EtlError } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';

/** Longest PostgreSQL identifier, in bytes (NAMEDATALEN - 1); a longer one would be cut silently. */
export const MAX_IDENTIFIER_BYTES = 63;

export interface PostgisConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  /** From `sslmode`; undefined: the driver's default (PGSSLMODE). */
  ssl?: boolean | { rejectUnauthorized: boolean } | undefined;
}

export interface PostgisTarget {
  /** The server, user and database (never a password: the driver reads PGPASSWORD or ~/.pgpass). */
  connection: PostgisConnection;
  schema: string;
  table: string;
  /** `postgresql://user@host:port/db?table=schema.table`: for messages (never a password). */
  display: string;
}

const SCHEMES = /^postgres(?:ql)?:\/\//i;
const PARAMETERS = ['table', 'sslmode', 'host', 'port', 'user', 'dbname'] as const;
const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** `postgresql://…` or `postgres://…`: a PostGIS output, not a file. */
export function isPostgisOutput(output: string): boolean {
  return SCHEMES.test(output);
}

export interface ParseTargetOptions {
  /** `--table schema.name` (the URL's `?table=` may say the same, not something else). */
  table?: string | undefined;
  /** Default process.env: DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE, USER. */
  env?: NodeJS.ProcessEnv | undefined;
}

interface UrlParts {
  host?: string | undefined;
  port?: string | undefined;
  user?: string | undefined;
  database?: string | undefined;
  table?: string | undefined;
  sslmode?: string | undefined;
}

/** Parses the output (see the module comment). USAGE for anything unclear, never echoing a password. */
export function parsePostgisTarget(output: string, options: ParseTargetOptions = {}): PostgisTarget {
  const env = options.env ?? process.env;
  const own = parseUrl(output, 'the output URL');
  const empty = own.host === undefined && own.user === undefined && own.database === undefined;
  const databaseUrl = env.DATABASE_URL?.trim();
  const base = empty && databaseUrl ? parseUrl(databaseUrl, 'DATABASE_URL') : {};
  const parts: UrlParts = { ...base, ...definedOnly(own) };

  const tableText = pickTable(own.table, options.table);
  const { schema, table } = parseTableName(tableText);
  const user = parts.user ?? nonEmpty(env.PGUSER) ?? nonEmpty(env.USER) ?? 'postgres';
  const host = parts.host ?? nonEmpty(env.PGHOST) ?? 'localhost';
  const portText = parts.port ?? nonEmpty(env.PGPORT) ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EtlError('USAGE', `The PostgreSQL port must be a number from 1 to 65535, got "${portText}"`);
  }
  const database = parts.database ?? nonEmpty(env.PGDATABASE) ?? user;
  const connection: PostgisConnection = { host, port, user, database };
  if (parts.sslmode !== undefined) connection.ssl = sslFor(parts.sslmode);
  const shownHost = host.startsWith('/') ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host;
  const display = `postgresql://${encodeURIComponent(user)}@${shownHost}:${port}/${encodeURIComponent(database)}?table=${quoteIfNeeded(schema)}.${quoteIfNeeded(table)}`;
  return { connection, schema, table, display };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function definedOnly(parts: UrlParts): UrlParts {
  return Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined)) as UrlParts;
}

function pickTable(fromUrl: string | undefined, fromFlag: string | undefined): string {
  const flag = fromFlag?.trim() || undefined;
  if (fromUrl !== undefined && flag !== undefined && fromUrl !== flag) {
    throw new EtlError(
      'USAGE',
      `The output URL says table=${fromUrl} and --table says ${flag}: give the table once`,
    );
  }
  const text = fromUrl ?? flag;
  if (text === undefined) {
    throw new EtlError(
      'USAGE',
      'A PostGIS output needs a table: -o "postgresql://user@host:5432/db?table=schema.name", or --table schema.name',
    );
  }
  return text;
}

function parseUrl(text: string, what: string): UrlParts {
  if (!isPostgisOutput(text)) {
    throw new EtlError('USAGE', `${capitalized(what)} must start with postgresql:// (or postgres://)`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new EtlError('USAGE', `${capitalized(what)} is not a valid postgresql:// URL`, { cause });
  }
  const user = decode(url.username, what);
  if (url.password !== '' || url.searchParams.has('password')) {
    registerSecret(safeDecode(url.password));
    registerSecret(url.searchParams.get('password'));
    throw new EtlError(
      'USAGE',
      `${capitalized(what)} holds a password: the PostgreSQL password comes from PGPASSWORD or ~/.pgpass only, never from a URL or a flag; remove it (postgresql://${user === '' ? '' : `${encodeURIComponent(user)}@`}host:port/db?table=schema.name)`,
    );
  }
  const parts: UrlParts = {};
  for (const key of url.searchParams.keys()) {
    if (!(PARAMETERS as readonly string[]).includes(key)) {
      throw new EtlError(
        'USAGE',
        `${capitalized(what)} has an unknown parameter "${key}": the parameters are ${PARAMETERS.join(', ')}`,
      );
    }
    if (url.searchParams.getAll(key).length > 1) {
      throw new EtlError('USAGE', `${capitalized(what)} gives the parameter "${key}" more than once`);
    }
  }
  const param = (key: (typeof PARAMETERS)[number]) => nonEmpty(url.searchParams.get(key) ?? undefined);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  parts.host = nonEmpty(host === '' ? undefined : decode(host, what)) ?? param('host');
  parts.port = nonEmpty(url.port) ?? param('port');
  parts.user = nonEmpty(user) ?? param('user');
  const path = url.pathname.replace(/^\//, '');
  if (path.includes('/'))
    throw new EtlError('USAGE', `${capitalized(what)} names a database with a "/" in it`);
  parts.database = nonEmpty(decode(path, what)) ?? param('dbname');
  parts.table = param('table');
  parts.sslmode = param('sslmode');
  return parts;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (cause) {
    throw new EtlError('USAGE', `${capitalized(what)} has a badly escaped part (%…)`, { cause });
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function sslFor(mode: string): PostgisConnection['ssl'] {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      throw new EtlError('USAGE', `sslmode must be one of ${SSL_MODES.join(', ')}, got "${mode}"`);
  }
}

/**
 * `schema.name`, `name` (schema `public`), with `"Quoted"."Names"` for dots, capitals or spaces as
 * SQL writes them. Unquoted names are taken as written (no folding to lower case).
 */
export function parseTableName(text: string): { schema: string; table: string } {
  const parts: string[] = [];
  let i = 0;
  const bad = (why: string) =>
    new EtlError('USAGE', `The table "${text}" is not schema.name or name (${why})`);
  while (i <= text.length) {
    let part = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw bad('a quote is not closed');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i];
        i++;
      }
    } else {
      while (i < text.length && text[i] !== '.') {
        if (text[i] === '"') throw bad('a quote inside a name');
        part += text[i];
        i++;
      }
    }
    if (part === '') throw bad('an empty name');
    if (Buffer.byteLength(part) > MAX_IDENTIFIER_BYTES) {
      throw bad(`"${part}" is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes`);
    }
    if (part.includes('\0')) throw bad('a NUL character');
    parts.push(part);
    if (i === text.length) break;
    if (text[i] !== '.') throw bad('text after a quoted name');
    i++;
    if (i === text.length) throw bad('an empty name');
  }
  if (parts.length === 1) return { schema: 'public', table: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, table: parts[1]! };
  throw bad('more than two parts');
}

function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A file name for what is kept beside a run (its checkpoint): `<db>.<schema>.<table>.postgis`. */
export function targetFileStem(target: PostgisTarget): string {
  const safe = (s: string) => s.replace(/[/\\\0:*?"<>|]/g, '_');
  return `${safe(target.connection.database)}.${safe(target.schema)}.${safe(target.table)}.postgis`;
}
