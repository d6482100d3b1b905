/**
 * Safe where clauses: field names are validated, OIDs must be safe integers, the user's clause is
 * parenthesised so that `a OR b` cannot escape the OID bounds.
 */

import { EtlError } from '../core/errors.js';
import { type EsriField, WHERE_KEYWORDS } from '../core/protocol.js';
import { toOid } from './oid.js';

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Throws USAGE unless `name` is a plain field name (and, when fields are given, one of them). */
export function validateFieldName(name: string, fields?: readonly EsriField[]): string {
  if (!FIELD_NAME.test(name) || WHERE_KEYWORDS.has(name.toUpperCase())) {
    throw new EtlError('USAGE', `Invalid field name: ${JSON.stringify(name)}`);
  }
  if (fields && !fields.some((f) => f.name === name)) {
    const match = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (match) return match.name;
    throw new EtlError('USAGE', `Unknown field ${JSON.stringify(name)}; the layer has: ${fieldList(fields)}`);
  }
  return name;
}

function fieldList(fields: readonly EsriField[]): string {
  const names = fields.map((f) => f.name);
  return names.length > 30 ? `${names.slice(0, 30).join(', ')}, …` : names.join(', ');
}

/** An OID usable in SQL: a safe integer (12.0 accepted), else USAGE. */
export function sqlOid(value: unknown): string {
  const oid = toOid(value);
  if (oid === undefined)
    throw new EtlError('USAGE', `Not an integer object id: ${String(value).slice(0, 40)}`);
  return String(oid);
}

export interface WhereParts {
  /** The user's where clause (empty, undefined or `1=1` mean everything). */
  userWhere?: string | undefined;
  oidField: string;
  /** OID >= min */
  min?: number | undefined;
  /** OID <= max */
  max?: number | undefined;
  /** OID > after (resume and strategy fallback) */
  after?: number | undefined;
}

/** `(${userWhere}) AND OID >= a AND OID <= b`, or `1=1` when nothing restricts. */
export function buildWhere(parts: WhereParts): string {
  const field = validateFieldName(parts.oidField);
  const clauses: string[] = [];
  const user = parts.userWhere?.trim();
  if (user && user !== '1=1') clauses.push(`(${checkUserWhere(user)})`);
  if (parts.after !== undefined) clauses.push(`${field} > ${sqlOid(parts.after)}`);
  if (parts.min !== undefined) clauses.push(`${field} >= ${sqlOid(parts.min)}`);
  if (parts.max !== undefined) clauses.push(`${field} <= ${sqlOid(parts.max)}`);
  return clauses.length === 0 ? '1=1' : clauses.join(' AND ');
}

/**
 * The user's clause must stay inside its parentheses: outside quoted strings and identifiers its
 * parentheses balance, and it holds no statement separator or comment.
 */
export function checkUserWhere(where: string): string {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < where.length; i++) {
    const c = where[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '[') quote = ']';
    else if (c === '(') depth++;
    else if (c === ')' && --depth < 0) break;
    else if (c === ';' || where.startsWith('--', i) || where.startsWith('/*', i)) {
      throw new EtlError(
        'USAGE',
        `--where may not contain ${JSON.stringify(c === ';' ? ';' : where.slice(i, i + 2))}`,
      );
    }
  }
  if (depth !== 0 || quote)
    throw new EtlError('USAGE', `--where has unbalanced parentheses or quotes: ${where.slice(0, 200)}`);
  return where;
}
