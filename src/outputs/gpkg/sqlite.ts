/**
 * SQLite with the R-tree module (GeoPackage's spatial index needs it), behind the few calls the
 * GeoPackage writer makes: Node's own `node:sqlite` where Node has it (22.13 and later), else
 * better-sqlite3 12.x (a native build; node-sqlite3-wasm, a WASM build that writes real files, has
 * no R-tree module). A native module is built for one Node ABI, so the built-in one is preferred
 * whenever it exists.
 */
import { createRequire } from 'node:module';
import { EtlError } from '../../core/errors.js';

export type SqlValue = number | bigint | string | Uint8Array | null;

export interface SqlStatement {
  run(...params: SqlValue[]): unknown;
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

interface RawDatabase {
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  close(): void;
  /** better-sqlite3: clears its defensive flag (which keeps shadow tables read-only). */
  unsafeMode?(on: boolean): unknown;
  /** node:sqlite 24.12 and later. */
  enableDefensive?(on: boolean): void;
}

export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  close(): void;
  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  transaction(fn: () => void): void;
  /**
   * Lets this connection write the shadow tables of virtual tables (SQLite's defensive flag off),
   * or forbids it again. False when the flag cannot be changed here.
   */
  allowShadowWrites(on: boolean): boolean;
}

type Open = (path: string) => RawDatabase;

let opener: Open | undefined;

/** `node:sqlite`, without the one-time "experimental" warning some Node versions print on load. */
function builtinSqlite(): Open | undefined {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (get === undefined) return undefined;
  const original = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/sqlite/i.test(text)) return;
    (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    const mod = get.call(process, 'node:sqlite') as
      | { DatabaseSync: new (path: string) => RawDatabase }
      | undefined;
    if (mod?.DatabaseSync === undefined) return undefined;
    return (path) => new mod.DatabaseSync(path);
  } catch {
    return undefined;
  } finally {
    process.emitWarning = original;
  }
}

function betterSqlite(): Open {
  let Database: new (path: string, options: { fileMustExist: boolean }) => RawDatabase;
  try {
    Database = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  } catch (cause) {
    throw new EtlError(
      'OUTPUT_ERROR',
      'GeoPackage output needs better-sqlite3 on this Node version, and it did not load (was its native build approved and run? npm ci builds it)',
      { cause },
    );
  }
  return (path) => new Database(path, { fileMustExist: true });
}

/** Opens an existing SQLite file. */
export function openDatabase(path: string): SqlDatabase {
  opener ??= builtinSqlite() ?? betterSqlite();
  const db = opener(path);
  return {
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    allowShadowWrites(on) {
      if (db.unsafeMode !== undefined) {
        db.unsafeMode(on);
        return true;
      }
      if (db.enableDefensive !== undefined) {
        db.enableDefensive(!on);
        return true;
      }
      // node:sqlite before 24.12 never sets the flag (SQLite's default is off)
      return true;
    },
    transaction(fn) {
      db.exec('BEGIN IMMEDIATE');
      try {
        fn();
      } catch (error) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // SQLite already rolled the transaction back (e.g. after SQLITE_FULL)
        }
        throw error;
      }
      db.exec('COMMIT');
    },
  };
}
