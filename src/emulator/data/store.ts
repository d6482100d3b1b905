/**
 * Columnar storage of an emulated layer: OIDs and coordinates in typed arrays, attributes as
 * columns (derived on demand for generated data, stored compactly for loaded data).
 * Rows are kept in ascending OID order: row index order == OID order.
 */
import type { EsriField } from '../../core/protocol.js';

export type GeometryKind = 'point' | 'multipoint' | 'polyline' | 'polygon';

export type CellValue = string | number | null;

/** One attribute column (never the OID). */
export interface Column {
  readonly field: EsriField;
  get(row: number): CellValue;
}

/**
 * Geometries of every row.
 * - `point`: row i is position i (`coords[i*dim]`); a NaN x means a null geometry.
 * - other kinds: row i owns parts `featurePart[i]..featurePart[i+1]`; part p owns positions
 *   `partPos[p]..partPos[p+1]`; no parts means a null geometry. Rings are in Esri order
 *   (outer clockwise, holes counter-clockwise), all in one flat list per feature.
 */
export interface Geometries {
  readonly kind: GeometryKind;
  readonly hasZ: boolean;
  readonly hasM: boolean;
  /** Values per position: 2 + hasZ + hasM. */
  readonly dim: number;
  readonly coords: Float64Array;
  readonly featurePart: Uint32Array;
  readonly partPos: Uint32Array;
  /** Non-point kinds: xmin, ymin, xmax, ymax per row (NaN for a null geometry). */
  readonly bbox: Float64Array;
}

export interface LayerData {
  /** Ascending, unique. Float64 because OIDs can exceed 2^31. */
  readonly oids: Float64Array;
  readonly geometry: Geometries;
  readonly oidField: string;
  /** Attribute columns, in layer field order (the OID field comes first in metadata). */
  readonly columns: readonly Column[];
  readonly displayField: string;
}

/** A Float64Array that grows. */
class F64 {
  data: Float64Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  done(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

class U32 {
  data: Uint32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Uint32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  done(): Uint32Array {
    return this.data.slice(0, this.length);
  }
}

/** Builds a `Geometries` row by row. Positions are flat arrays with `dim` values each. */
export class GeometryBuilder {
  readonly dim: number;
  readonly #coords: F64;
  readonly #featurePart: U32;
  readonly #partPos: U32;
  readonly #bbox: F64;
  #positions = 0;
  #parts = 0;

  constructor(
    readonly kind: GeometryKind,
    readonly hasZ: boolean,
    readonly hasM: boolean,
    expectedRows = 16,
  ) {
    this.dim = 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0);
    const perRow = kind === 'point' ? 1 : 12;
    this.#coords = new F64(expectedRows * this.dim * perRow);
    this.#featurePart = new U32(kind === 'point' ? 1 : expectedRows + 1);
    this.#partPos = new U32(kind === 'point' ? 1 : expectedRows * 2);
    this.#bbox = new F64(kind === 'point' ? 1 : expectedRows * 4);
    if (kind !== 'point') {
      this.#featurePart.push(0);
      this.#partPos.push(0);
    }
  }

  /** Point layers only. Missing z/m are written as 0. */
  addPoint(x: number, y: number, z = 0, m = 0): void {
    const c = this.#coords;
    c.push(x);
    c.push(y);
    if (this.hasZ) c.push(z);
    if (this.hasM) c.push(m);
  }

  addNull(): void {
    if (this.kind === 'point') {
      for (let k = 0; k < this.dim; k++) this.#coords.push(Number.NaN);
      return;
    }
    this.#featurePart.push(this.#parts);
    for (let k = 0; k < 4; k++) this.#bbox.push(Number.NaN);
  }

  /** Non-point layers: one row made of parts (each a flat position list). */
  addParts(parts: readonly (readonly number[])[]): void {
    if (this.kind === 'point') {
      const p = parts[0];
      if (!p || p.length < 2) this.addNull();
      else this.addPoint(p[0]!, p[1]!, p[2] ?? 0, p[3] ?? 0);
      return;
    }
    let xmin = Number.POSITIVE_INFINITY;
    let ymin = Number.POSITIVE_INFINITY;
    let xmax = Number.NEGATIVE_INFINITY;
    let ymax = Number.NEGATIVE_INFINITY;
    const dim = this.dim;
    for (const part of parts) {
      const n = Math.floor(part.length / dim);
      if (n === 0) continue;
      for (let k = 0; k < n * dim; k++) this.#coords.push(part[k]!);
      for (let k = 0; k < n; k++) {
        const x = part[k * dim]!;
        const y = part[k * dim + 1]!;
        if (x < xmin) xmin = x;
        if (x > xmax) xmax = x;
        if (y < ymin) ymin = y;
        if (y > ymax) ymax = y;
      }
      this.#positions += n;
      this.#parts++;
      this.#partPos.push(this.#positions);
    }
    this.#featurePart.push(this.#parts);
    if (xmin === Number.POSITIVE_INFINITY) {
      for (let k = 0; k < 4; k++) this.#bbox.push(Number.NaN);
    } else {
      this.#bbox.push(xmin);
      this.#bbox.push(ymin);
      this.#bbox.push(xmax);
      this.#bbox.push(ymax);
    }
  }

  build(): Geometries {
    return {
      kind: this.kind,
      hasZ: this.hasZ,
      hasM: this.hasM,
      dim: this.dim,
      coords: this.#coords.done(),
      featurePart: this.kind === 'point' ? new Uint32Array(0) : this.#featurePart.done(),
      partPos: this.kind === 'point' ? new Uint32Array(0) : this.#partPos.done(),
      bbox: this.kind === 'point' ? new Float64Array(0) : this.#bbox.done(),
    };
  }
}

/** Number of rows described by a `Geometries`. */
export function geometryRows(g: Geometries): number {
  return g.kind === 'point' ? g.coords.length / g.dim : g.featurePart.length - 1;
}

/** The bbox of row `row` as [xmin, ymin, xmax, ymax], or undefined for a null geometry. */
export function rowBbox(g: Geometries, row: number): [number, number, number, number] | undefined {
  if (g.kind === 'point') {
    const x = g.coords[row * g.dim]!;
    const y = g.coords[row * g.dim + 1]!;
    return Number.isNaN(x) ? undefined : [x, y, x, y];
  }
  const b = row * 4;
  const xmin = g.bbox[b]!;
  return Number.isNaN(xmin) ? undefined : [xmin, g.bbox[b + 1]!, g.bbox[b + 2]!, g.bbox[b + 3]!];
}

/** The extent of every geometry, or undefined when all are null. */
export function layerExtent(g: Geometries): [number, number, number, number] | undefined {
  let xmin = Number.POSITIVE_INFINITY;
  let ymin = Number.POSITIVE_INFINITY;
  let xmax = Number.NEGATIVE_INFINITY;
  let ymax = Number.NEGATIVE_INFINITY;
  if (g.kind === 'point') {
    const { coords, dim } = g;
    for (let o = 0; o < coords.length; o += dim) {
      const x = coords[o]!;
      if (Number.isNaN(x)) continue;
      const y = coords[o + 1]!;
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
  } else {
    const b = g.bbox;
    for (let o = 0; o < b.length; o += 4) {
      if (Number.isNaN(b[o]!)) continue;
      if (b[o]! < xmin) xmin = b[o]!;
      if (b[o + 1]! < ymin) ymin = b[o + 1]!;
      if (b[o + 2]! > xmax) xmax = b[o + 2]!;
      if (b[o + 3]! > ymax) ymax = b[o + 3]!;
    }
  }
  return xmin === Number.POSITIVE_INFINITY ? undefined : [xmin, ymin, xmax, ymax];
}

/** Twice the signed area of a ring (positive = counter-clockwise in a y-up frame). */
export function ringArea2(coords: ArrayLike<number>, start: number, end: number, dim: number): number {
  let sum = 0;
  for (let k = start; k < end - 1; k++) {
    const a = k * dim;
    const b = (k + 1) * dim;
    sum += coords[a]! * coords[b + 1]! - coords[b]! * coords[a + 1]!;
  }
  // closing edge (zero when the ring is closed)
  const last = (end - 1) * dim;
  const first = start * dim;
  sum += coords[last]! * coords[first + 1]! - coords[first]! * coords[last + 1]!;
  return sum;
}

/** Index of the first row whose OID is >= value. */
export function lowerBound(oids: Float64Array, value: number): number {
  let lo = 0;
  let hi = oids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (oids[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first row whose OID is > value. */
export function upperBound(oids: Float64Array, value: number): number {
  let lo = 0;
  let hi = oids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (oids[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The row of an OID, or -1. */
export function rowOf(oids: Float64Array, oid: number): number {
  const i = lowerBound(oids, oid);
  return i < oids.length && oids[i] === oid ? i : -1;
}
