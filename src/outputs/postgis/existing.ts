/**
 * An existing target table (append, upsert): its columns must take the layer's fields without
 * loss, and its geometry column the layer's geometry. Every clash is named in one line.
 */
import type { PgType, TablePlan } from './columns.js';

export interface ExistingColumn {
  name: string;
  /** `format_type(atttypid, NULL)`: `integer`, `character varying`, `geometry`, … */
  type: string;
  /** `format_type(atttypid, atttypmod)`: `character varying(20)`, `geometry(Point,4326)`, … */
  fullType: string;
  notNull: boolean;
  hasDefault: boolean;
  /** Geometry columns: from geometry_columns (upper-case type, e.g. POINT, GEOMETRY). */
  geometryType?: string | undefined;
  srid?: number | undefined;
  dims?: number | undefined;
}

/** The column types each of our types goes into without losing anything. */
const ACCEPTED_BY: Record<PgType, readonly string[]> = {
  smallint: ['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'],
  integer: ['integer', 'bigint', 'numeric', 'double precision'],
  bigint: ['bigint', 'numeric'],
  real: ['real', 'double precision', 'numeric'],
  'double precision': ['double precision', 'numeric'],
  text: ['text', 'character varying', 'character', 'citext'],
  'timestamp with time zone': ['timestamp with time zone'],
  date: ['date', 'timestamp with time zone', 'timestamp without time zone'],
  'time without time zone': ['time without time zone'],
};

export interface Fit {
  /** The existing table's geometry column the layer's geometry goes into. */
  geometryColumn: string | undefined;
  /** What clashes (empty when the layer fits). */
  problems: string[];
}

export function checkFit(plan: TablePlan, existing: readonly ExistingColumn[], key?: string): Fit {
  const problems: string[] = [];
  const byName = new Map(existing.map((c) => [c.name, c]));
  for (const column of plan.columns) {
    const found = byName.get(column.name);
    if (!found) {
      problems.push(`no column "${column.name}" (the layer's ${column.esriType} field)`);
    } else if (!ACCEPTED_BY[column.type].includes(found.type)) {
      problems.push(
        `column "${column.name}" is ${found.fullType}, the layer's ${column.esriType} needs ${column.type}`,
      );
    }
  }
  let geometryColumn: string | undefined;
  const geometries = existing.filter((c) => c.type === 'geometry');
  if (plan.geometry) {
    const want = plan.geometry;
    const chosen = geometries.length === 1 ? geometries[0] : geometries.find((c) => c.name === want.name);
    if (!chosen) {
      problems.push(
        geometries.length === 0
          ? 'no geometry column'
          : `several geometry columns and none named "${want.name}"`,
      );
    } else {
      geometryColumn = chosen.name;
      const type = (chosen.geometryType ?? 'GEOMETRY').toUpperCase().replace(/Z?M?$/, '');
      const typeFits = type === 'GEOMETRY' || type === want.type.toUpperCase();
      const sridFits = chosen.srid === undefined || chosen.srid === 0 || chosen.srid === want.srid;
      const dimsFit = chosen.dims === undefined || type === 'GEOMETRY' || chosen.dims === (want.hasZ ? 3 : 2);
      if (!typeFits || !sridFits || !dimsFit) {
        problems.push(`geometry column "${chosen.name}" is ${chosen.fullType}, the layer needs ${want.sql}`);
      }
    }
  }
  const filled = new Set(plan.columns.map((c) => c.name));
  if (geometryColumn !== undefined) filled.add(geometryColumn);
  for (const column of existing) {
    if (column.notNull && !column.hasDefault && !filled.has(column.name)) {
      problems.push(`column "${column.name}" is NOT NULL without a default, and the layer has no such field`);
    }
  }
  if (key !== undefined && !byName.has(key)) {
    if (!problems.some((p) => p.startsWith(`no column "${key}"`))) problems.push(`no key column "${key}"`);
  }
  return { geometryColumn, problems };
}
