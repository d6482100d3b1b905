/**
 * A database of our own per test file on the shared PostgreSQL (PG* variables or DATABASE_URL,
 * else 127.0.0.1:5432 as postgres), with PostGIS, dropped at the end. Off CI an unreachable
 * server skips loudly; with CI=true the tests run and fail.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireOrSkip } from '../stores/redis-helpers.js';

export interface ServerAddress {
  host: string;
  port: number;
  user: string;
}

/** The shared server: DATABASE_URL, else PGHOST / PGPORT / PGUSER, else 127.0.0.1:5432 as postgres. */
export function sharedServer(env: NodeJS.ProcessEnv = process.env): ServerAddress {
  if (env.DATABASE_URL) {
    const url = new URL(env.DATABASE_URL);
    return {
      host: decodeURIComponent(url.hostname) || '127.0.0.1',
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username) || 'postgres',
    };
  }
  return {
    host: env.PGHOST || '127.0.0.1',
    port: Number(env.PGPORT || 5432),
    user: env.PGUSER || 'postgres',
  };
}

export async function client(server: ServerAddress, database: string): Promise<pg.Client> {
  const c = new pg.Client({ ...server, database, connectionTimeoutMillis: 3_000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function serverReachable(server: ServerAddress = sharedServer()): Promise<boolean> {
  try {
    const c = await client(server, 'postgres');
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Whether to run the PostGIS tests here (skips loudly off CI when no server answers). */
export async function postgisTestsRun(): Promise<boolean> {
  return requireOrSkip(
    await serverReachable(),
    `PostGIS tests (no PostgreSQL at ${describe(sharedServer())})`,
  );
}

function describe(s: ServerAddress): string {
  return `${s.user}@${s.host}:${s.port}`;
}

export interface TestDatabase {
  name: string;
  server: ServerAddress;
  /** A connection to it (closed by drop). */
  db: pg.Client;
  /** `postgresql://user@host:port/name?table=<table>`. */
  url(table: string): string;
  /** The environment a CLI child needs to reach it (no password: trust auth, or PGPASSWORD as given). */
  env(): Record<string, string | undefined>;
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    values?: unknown[],
  ): Promise<R[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(server: ServerAddress = sharedServer()): Promise<TestDatabase> {
  const name = `arcgis_etl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await client(server, 'postgres');
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const opened = await openTestDatabase(server, name);
  await opened.query('CREATE EXTENSION postgis');
  return opened;
}

/** A TestDatabase for a database that is there already (after a server restart). */
export async function openTestDatabase(server: ServerAddress, name: string): Promise<TestDatabase> {
  const db = await client(server, name);
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  return {
    name,
    server,
    db,
    url: (table) =>
      `postgresql://${encodeURIComponent(server.user)}@${host}:${server.port}/${name}?table=${table}`,
    env: () => ({ PGPASSWORD: process.env.PGPASSWORD }),
    query: async (sql, values) => (await db.query(sql, values)).rows,
    drop: async () => {
      await db.end().catch(() => {});
      const a = await client(server, 'postgres');
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
