/** SQL text for the PostGIS writer: quoted identifiers and the table's DDL. */
import type { TablePlan } from './columns.js';
import { MAX_IDENTIFIER_BYTES } from './target.js';

/** `"name"` with inner quotes doubled: every identifier we write is quoted (names kept exactly). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

export function literal(text: string): string {
  const escaped = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${escaped.replace(/\\/g, '\\\\')}'` : `'${escaped}'`;
}

/** Cuts a name to PostgreSQL's identifier length (in bytes, on a character boundary), keeping `suffix`. */
export function fitIdentifier(stem: string, suffix = ''): string {
  const room = MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix);
  let out = stem;
  while (Buffer.byteLength(out) > room) out = out.slice(0, -1);
  // never end on half of a surrogate pair
  if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  return out + suffix;
}

/** Column definitions of the table (plus the staging row number when `rowColumn` is given). */
export function columnDefinitions(plan: TablePlan, rowColumn?: string): string {
  const defs = plan.columns.map((c) => `${ident(c.name)} ${c.type}`);
  if (plan.geometry) defs.push(`${ident(plan.geometry.name)} ${plan.geometry.sql}`);
  if (rowColumn !== undefined) defs.push(`${ident(rowColumn)} bigint NOT NULL`);
  return defs.join(', ');
}

/** The columns a COPY writes, in the order of the encoded tuples. */
export function copyColumns(plan: TablePlan, rowColumn?: string): string {
  const names = plan.columns.map((c) => ident(c.name));
  if (plan.geometry) names.push(ident(plan.geometry.name));
  if (rowColumn !== undefined) names.push(ident(rowColumn));
  return names.join(', ');
}
