/**
 * The few calls of better-sqlite3 the GeoPackage writer makes, typed here (better-sqlite3 ships no
 * types). better-sqlite3 12.x is SQLite built with the R-tree module, which GeoPackage's spatial
 * index needs (node-sqlite3-wasm, a WASM build that writes real files, has no R-tree).
 */
import { createRequire } from 'node:module';
import { EtlError } from '../../core/errors.js';

export type SqlValue = number | bigint | string | Uint8Array | null;

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}

type DatabaseConstructor = new (path: string, options?: { fileMustExist?: boolean }) => SqlDatabase;

let constructorCache: DatabaseConstructor | undefined;

function databaseConstructor(): DatabaseConstructor {
  if (constructorCache === undefined) {
    try {
      constructorCache = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
    } catch (cause) {
      throw new EtlError(
        'OUTPUT_ERROR',
        'GeoPackage output needs better-sqlite3, which did not load (was its native build approved and built? run npm ci)',
        { cause },
      );
    }
  }
  return constructorCache;
}

/** Opens an existing SQLite file. */
export function openDatabase(path: string): SqlDatabase {
  const Database = databaseConstructor();
  return new Database(path, { fileMustExist: true });
}
