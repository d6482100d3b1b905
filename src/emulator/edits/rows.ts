/**
 * Row-level reads and writes of the columnar store for edits: a row's geometry as parts, and an
 * Esri JSON geometry as parts (the `GeometryBuilder.addParts` shape).
 */
import type { CellValue, Geometries } from '../data/store.js';

/** The parts of a row (flat positions, `dim` values each); null for a null geometry. */
export function rowParts(g: Geometries, row: number): number[][] | null {
  if (g.kind === 'point') {
    const at = row * g.dim;
    if (Number.isNaN(g.coords[at]!)) return null;
    return [Array.from(g.coords.subarray(at, at + g.dim))];
  }
  const first = g.featurePart[row]!;
  const last = g.featurePart[row + 1]!;
  if (first === last) return null;
  const parts: number[][] = [];
  for (let p = first; p < last; p++) {
    parts.push(Array.from(g.coords.subarray(g.partPos[p]! * g.dim, g.partPos[p + 1]! * g.dim)));
  }
  return parts;
}

function flat(positions: unknown, dim: number): number[] | undefined {
  if (!Array.isArray(positions)) return undefined;
  const out: number[] = [];
  for (const p of positions) {
    if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') return undefined;
    for (let k = 0; k < dim; k++) out.push(typeof p[k] === 'number' ? (p[k] as number) : 0);
  }
  return out;
}

/**
 * Parts of an Esri JSON geometry for a layer of `kind`; null for a missing geometry, undefined
 * for one that does not fit the layer.
 */
export function esriGeometryParts(geometry: unknown, g: Geometries): number[][] | null | undefined {
  if (geometry === null || geometry === undefined) return null;
  if (typeof geometry !== 'object') return undefined;
  const o = geometry as Record<string, unknown>;
  const dim = g.dim;
  switch (g.kind) {
    case 'point': {
      if (typeof o.x !== 'number' || typeof o.y !== 'number') return undefined;
      const p = [o.x, o.y];
      if (g.hasZ) p.push(typeof o.z === 'number' ? o.z : 0);
      if (g.hasM) p.push(typeof o.m === 'number' ? o.m : 0);
      return [p];
    }
    case 'multipoint': {
      const part = flat(o.points, dim);
      return part ? [part] : undefined;
    }
    case 'polyline':
    case 'polygon': {
      const list = g.kind === 'polyline' ? o.paths : o.rings;
      if (!Array.isArray(list)) return undefined;
      const parts: number[][] = [];
      for (const path of list) {
        const part = flat(path, dim);
        if (!part) return undefined;
        parts.push(part);
      }
      return parts;
    }
  }
}

/** A JSON attribute value as a cell of a field type; undefined when it does not fit. */
export function cellOf(value: unknown, type: string): CellValue | undefined {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'esriFieldTypeString':
    case 'esriFieldTypeGUID':
    case 'esriFieldTypeGlobalID':
      return typeof value === 'string' ? value : undefined;
    case 'esriFieldTypeInteger':
    case 'esriFieldTypeSmallInteger':
    case 'esriFieldTypeBigInteger':
      return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
    default:
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  }
}
