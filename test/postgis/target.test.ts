/** The PostGIS target: URL, PG* variables, DATABASE_URL, --table; passwords refused, never shown. */
import { describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import { redact } from '../../src/core/redact.js';
import { formatForOutput } from '../../src/features/writers/formats.js';
import { isPostgisOutput, parsePostgisTarget, parseTableName } from '../../src/outputs/postgis/target.js';

const NO_ENV = {};

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('USAGE');
    return (error as EtlError).message;
  }
  throw new Error('no error');
}

describe('PostGIS target', () => {
  it('a full URL', () => {
    const t = parsePostgisTarget('postgresql://gis@db.example:6543/city?table=roads.segments', {
      env: NO_ENV,
    });
    expect(t).toEqual({
      connection: { host: 'db.example', port: 6543, user: 'gis', database: 'city' },
      schema: 'roads',
      table: 'segments',
      display: 'postgresql://gis@db.example:6543/city?table=roads.segments',
    });
    expect(parsePostgisTarget('postgres://gis@h/city?table=t', { env: NO_ENV }).schema).toBe('public');
  });

  it('the rest from PGHOST, PGPORT, PGUSER, PGDATABASE; then defaults', () => {
    const env = { PGHOST: 'pg.local', PGPORT: '5433', PGUSER: 'etl', PGDATABASE: 'gis' };
    expect(parsePostgisTarget('postgresql://', { table: 'x', env }).connection).toEqual({
      host: 'pg.local',
      port: 5433,
      user: 'etl',
      database: 'gis',
    });
    // the URL wins over the variables, part by part
    expect(parsePostgisTarget('postgresql:///db2?user=other&table=x', { env }).connection).toEqual({
      host: 'pg.local',
      port: 5433,
      user: 'other',
      database: 'db2',
    });
    expect(parsePostgisTarget('postgresql://', { table: 'x', env: { USER: 'me' } }).connection).toEqual({
      host: 'localhost',
      port: 5432,
      user: 'me',
      database: 'me',
    });
  });

  it('DATABASE_URL when the output URL names no server', () => {
    const env = { DATABASE_URL: 'postgres://app@10.0.0.5:5432/prod', PGHOST: 'ignored' };
    const t = parsePostgisTarget('postgresql://', { table: 'public.x', env });
    expect(t.connection).toEqual({ host: '10.0.0.5', port: 5432, user: 'app', database: 'prod' });
    expect(parsePostgisTarget('postgresql://u@h/d?table=x', { env }).connection.host).toBe('h');
  });

  it('sockets, IPv6, sslmode, escaped names', () => {
    const s = parsePostgisTarget('postgresql:///gis?host=/var/run/postgresql&table=t', {
      env: { USER: 'me' },
    });
    expect(s.connection.host).toBe('/var/run/postgresql');
    expect(s.display).toBe('postgresql://me@%2Fvar%2Frun%2Fpostgresql:5432/gis?table=public.t');
    const v6 = parsePostgisTarget('postgresql://u@[::1]:5432/d?table=t&sslmode=verify-full', { env: NO_ENV });
    expect(v6.connection).toMatchObject({ host: '::1', ssl: { rejectUnauthorized: true } });
    expect(v6.display).toBe('postgresql://u@[::1]:5432/d?table=public.t');
    expect(
      parsePostgisTarget('postgresql://u@h/d?table=t&sslmode=disable', { env: NO_ENV }).connection.ssl,
    ).toBe(false);
    expect(
      parsePostgisTarget('postgresql://us%40er@h/d%20b?table=t', { env: NO_ENV }).connection,
    ).toMatchObject({
      user: 'us@er',
      database: 'd b',
    });
    expect(
      usage(() => parsePostgisTarget('postgresql://u@h/d?table=t&sslmode=prefer', { env: NO_ENV })),
    ).toBe('sslmode must be one of disable, require, verify-ca, verify-full, got "prefer"');
  });

  it('a password in the URL or DATABASE_URL is refused, and never shown again', () => {
    const secret = 'pa55-W0rd-xyz';
    const m = usage(() => parsePostgisTarget(`postgresql://gis:${secret}@h/d?table=t`, { env: NO_ENV }));
    expect(m).toContain('The output URL holds a password');
    expect(m).toContain('PGPASSWORD or ~/.pgpass');
    expect(m).not.toContain(secret);
    // registered: any later message that would carry it is redacted
    expect(redact(`connection string postgresql://gis:${secret}@h`)).not.toContain(secret);
    const other = 'an0ther-S3cret';
    const d = usage(() =>
      parsePostgisTarget('postgresql://', { table: 't', env: { DATABASE_URL: `postgres://u:${other}@h/d` } }),
    );
    expect(d).toMatch(/^DATABASE_URL holds a password/);
    expect(d).not.toContain(other);
    expect(
      usage(() => parsePostgisTarget('postgresql://u@h/d?table=t&password=x', { env: NO_ENV })),
    ).toContain('holds a password');
  });

  it('no table, two tables, unknown parameters, bad ports', () => {
    expect(usage(() => parsePostgisTarget('postgresql://u@h/d', { env: NO_ENV }))).toMatch(
      /^A PostGIS output needs a table/,
    );
    expect(usage(() => parsePostgisTarget('postgresql://u@h/d?table=a', { table: 'b', env: NO_ENV }))).toBe(
      'The output URL says table=a and --table says b: give the table once',
    );
    expect(parsePostgisTarget('postgresql://u@h/d?table=a', { table: 'a', env: NO_ENV }).table).toBe('a');
    expect(usage(() => parsePostgisTarget('postgresql://u@h/d?table=a&foo=1', { env: NO_ENV }))).toMatch(
      /unknown parameter "foo": the parameters are table, sslmode, host, port, user, dbname$/,
    );
    expect(usage(() => parsePostgisTarget('postgresql://u@h/d?table=a&table=b', { env: NO_ENV }))).toMatch(
      /gives the parameter "table" more than once/,
    );
    expect(
      usage(() => parsePostgisTarget('postgresql://u@h/d', { table: 't', env: { PGPORT: 'x' } })),
    ).toMatch(/port must be a number/);
  });

  it('table names: schema.name, quoted parts, exact case, PostgreSQL length', () => {
    expect(parseTableName('roads')).toEqual({ schema: 'public', table: 'roads' });
    expect(parseTableName('Roads.Segments')).toEqual({ schema: 'Roads', table: 'Segments' });
    expect(parseTableName('"my.schema"."a ""b"" c"')).toEqual({ schema: 'my.schema', table: 'a "b" c' });
    expect(parseTableName('"Über"')).toEqual({ schema: 'public', table: 'Über' });
    for (const bad of ['', '.x', 'x.', 'a.b.c', '"open', 'a"b', '"a"x', 'é'.repeat(32)]) {
      expect(() => parseTableName(bad), bad).toThrow(/is not schema\.name or name/);
    }
    expect(parseTableName('x'.repeat(63)).table).toHaveLength(63);
  });

  it('a postgresql:// output is the postgis format, whatever the extension says', () => {
    expect(isPostgisOutput('postgresql://u@h/d?table=t.geojson')).toBe(true);
    expect(isPostgisOutput('POSTGRES://x')).toBe(true);
    expect(isPostgisOutput('postgresql.geojson')).toBe(false);
    expect(formatForOutput('postgresql://u@h/d?table=t')).toBe('postgis');
    expect(formatForOutput('postgresql://u@h/d?table=t', 'postgis')).toBe('postgis');
    expect(() => formatForOutput('postgresql://u@h/d?table=t', 'csv')).toThrow(/postgis format, not csv/);
    expect(() => formatForOutput('out.geojson', 'postgis')).toThrow(/writes to a database/);
  });
});
