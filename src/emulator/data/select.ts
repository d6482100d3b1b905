/**
 * Which rows a query matches, in the order it asks for: OID range by binary search, objectIds,
 * residual where predicate, envelope, then orderByFields (ties broken by OID ascending).
 */

import booleanIntersects from '@turf/boolean-intersects';
import { type FieldSet, isNumericKind } from './fields.js';
import type { OrderBy, QueryPolygon, QueryRequest } from './query-params.js';
import { geojsonGeometryText } from './serialize-geometry.js';
import { type CellValue, type LayerData, lowerBound, rowOf, upperBound } from './store.js';
import { compileWhere } from './where.js';

/** Matched rows, in answer order. */
export interface Selection {
  readonly length: number;
  row(k: number): number;
}

class RangeSelection implements Selection {
  constructor(
    readonly start: number,
    readonly length: number,
    readonly reverse = false,
  ) {}
  row(k: number): number {
    return this.reverse ? this.start + this.length - 1 - k : this.start + k;
  }
}

class ListSelection implements Selection {
  readonly length: number;
  constructor(readonly rows: Uint32Array) {
    this.length = rows.length;
  }
  row(k: number): number {
    return this.rows[k]!;
  }
}

const EMPTY: Selection = new RangeSelection(0, 0);

function filterRows(
  data: LayerData,
  candidates: Selection,
  keep: ((row: number) => boolean) | undefined,
  envelope: [number, number, number, number] | undefined,
  polygon: QueryPolygon | undefined,
): Selection {
  if (!keep && !envelope) return candidates;
  const g = data.geometry;
  let inEnvelope: ((row: number) => boolean) | undefined;
  if (envelope) {
    const [xmin, ymin, xmax, ymax] = envelope;
    if (g.kind === 'point') {
      const { coords, dim } = g;
      inEnvelope = (row) => {
        const x = coords[row * dim]!;
        const y = coords[row * dim + 1]!;
        return x >= xmin && x <= xmax && y >= ymin && y <= ymax;
      };
    } else {
      const b = g.bbox;
      inEnvelope = (row) => {
        const o = row * 4;
        return b[o]! <= xmax && b[o + 2]! >= xmin && b[o + 1]! <= ymax && b[o + 3]! >= ymin;
      };
    }
  }
  const out = new Uint32Array(candidates.length);
  let n = 0;
  for (let k = 0; k < candidates.length; k++) {
    const row = candidates.row(k);
    if (inEnvelope && !inEnvelope(row)) continue;
    if (polygon && !intersects(g, row, polygon)) continue;
    if (keep && !keep(row)) continue;
    out[n++] = row;
  }
  return new ListSelection(out.slice(0, n));
}

/** Whether a row's geometry intersects a query polygon (rows without geometry never do). */
function intersects(g: LayerData['geometry'], row: number, polygon: QueryPolygon): boolean {
  const text = geojsonGeometryText(g, row, { z: false, m: false });
  if (text === 'null') return false;
  return booleanIntersects(JSON.parse(text) as Parameters<typeof booleanIntersects>[0], polygon);
}

function candidateRows(
  data: LayerData,
  objectIds: readonly number[] | undefined,
  oidMin: number,
  oidMax: number,
): Selection {
  const oids = data.oids;
  const lo = oidMin === Number.NEGATIVE_INFINITY ? 0 : lowerBound(oids, oidMin);
  const hi = oidMax === Number.POSITIVE_INFINITY ? oids.length : upperBound(oids, oidMax);
  if (hi <= lo) return EMPTY;
  if (!objectIds) return new RangeSelection(lo, hi - lo);
  const rows: number[] = [];
  for (const oid of objectIds) {
    const row = rowOf(oids, oid);
    if (row >= lo && row < hi) rows.push(row);
  }
  rows.sort((a, b) => a - b);
  const unique = rows.filter((r, i) => i === 0 || rows[i - 1] !== r);
  return new ListSelection(Uint32Array.from(unique));
}

/** The objectIds parameter and an `OID IN (...)` list together. */
function wantedOids(param: number[] | undefined, fromWhere: number[] | undefined): number[] | undefined {
  if (param === undefined) return fromWhere;
  if (fromWhere === undefined) return param;
  const allowed = new Set(fromWhere);
  return param.filter((oid) => allowed.has(oid));
}

function compareCells(a: CellValue, b: CellValue): number {
  // NULLs first in ascending order, as SQL Server and file geodatabases do
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function orderRows(sel: Selection, orderBy: readonly OrderBy[]): Selection {
  if (orderBy.length === 0 || sel.length < 2) return sel;
  const first = orderBy[0]!;
  if (first.field.isOid) {
    // OIDs are unique: later keys never matter
    if (!first.desc) return sel;
    if (sel instanceof RangeSelection) return new RangeSelection(sel.start, sel.length, !sel.reverse);
    const rows = new Uint32Array(sel.length);
    for (let k = 0; k < sel.length; k++) rows[k] = sel.row(sel.length - 1 - k);
    return new ListSelection(rows);
  }
  const n = sel.length;
  // numeric keys in typed arrays (NaN = NULL), others as values
  const keys = orderBy.map((o) => {
    const sign = o.desc ? -1 : 1;
    if (isNumericKind(o.field.kind)) {
      const col = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        const v = o.field.get(sel.row(k));
        col[k] = v === null ? Number.NaN : Number(v);
      }
      return { sign, num: col, any: undefined };
    }
    const col: CellValue[] = new Array(n);
    for (let k = 0; k < n; k++) col[k] = o.field.get(sel.row(k));
    return { sign, num: undefined, any: col };
  });
  const positions = new Uint32Array(n);
  for (let k = 0; k < n; k++) positions[k] = k;
  positions.sort((a, b) => {
    for (const key of keys) {
      let c: number;
      if (key.num) {
        const x = key.num[a]!;
        const y = key.num[b]!;
        if (x === y) continue;
        const xNull = Number.isNaN(x);
        const yNull = Number.isNaN(y);
        if (xNull && yNull) continue;
        c = xNull ? -1 : yNull ? 1 : x < y ? -1 : 1;
      } else {
        c = compareCells(key.any![a]!, key.any![b]!);
        if (c === 0) continue;
      }
      return c * key.sign;
    }
    return a - b;
  });
  const rows = new Uint32Array(n);
  for (let k = 0; k < n; k++) rows[k] = sel.row(positions[k]!);
  return new ListSelection(rows);
}

/** Matches and orders rows, remembering the last few answers (paging asks the same again). */
export class Selector {
  readonly #cache = new Map<string, Selection>();

  constructor(
    readonly data: LayerData,
    readonly fields: FieldSet,
    readonly cacheSize = 8,
  ) {}

  select(req: QueryRequest): Selection {
    const key = JSON.stringify([
      req.where ?? '',
      req.objectIds ?? null,
      req.envelope ?? null,
      req.polygon ?? null,
      req.orderBy.map((o) => [o.field.name, o.desc]),
    ]);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const compiled = compileWhere(req.where, this.fields);
    let sel: Selection = EMPTY;
    if (!compiled.never) {
      const objectIds = wantedOids(req.objectIds, compiled.oidList);
      const candidates = candidateRows(this.data, objectIds, compiled.oidMin, compiled.oidMax);
      sel = orderRows(
        filterRows(this.data, candidates, compiled.residual, req.envelope, req.polygon),
        req.orderBy,
      );
    }
    this.#cache.set(key, sel);
    if (this.#cache.size > this.cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return sel;
  }
}
