/**
 * How the values of an Esri position map to a GeoJSON position.
 *
 * Esri positions are [x, y], [x, y, z] (hasZ), [x, y, m] (hasM only: the third value is M, not Z)
 * or [x, y, z, m]. GeoJSON keeps x, y, then z when the geometry has Z, then m only with `keepM`
 * and Z. A missing or non-numeric z in a Z geometry becomes 0 (what GDAL's ESRIJSON reader does),
 * so every position of a geometry has the same dimension.
 */
import type { Position } from './types.js';

export interface PositionLayout {
  /** Index of z in the Esri position, or -1. */
  zIndex: number;
  /** Index of m in the Esri position when m is kept, or -1. */
  mIndex: number;
  /**
   * An Esri position that is already the GeoJSON one (as many finite numbers as the layout keeps) is
   * used as it is, not copied: for callers that neither use nor change the input afterwards.
   */
  reuse: boolean;
}

export const XY: PositionLayout = { zIndex: -1, mIndex: -1, reuse: false };
const XYZ: PositionLayout = { zIndex: 2, mIndex: -1, reuse: false };
const XYZM: PositionLayout = { zIndex: 2, mIndex: 3, reuse: false };
const LAYOUTS = [XY, XYZ, XYZM];
const REUSING = LAYOUTS.map((layout) => ({ ...layout, reuse: true }));

export function positionLayout(hasZ: boolean, hasM: boolean, keepM: boolean, reuse = false): PositionLayout {
  const at = !hasZ ? 0 : hasM && keepM ? 2 : 1;
  return (reuse ? REUSING : LAYOUTS)[at]!;
}

/**
 * The GeoJSON position of an Esri one (a fresh array, unless the layout reuses it), or undefined
 * when x or y is not a finite number.
 */
export function copyPosition(p: unknown, layout: PositionLayout): Position | undefined {
  if (!Array.isArray(p)) return undefined;
  if (layout.reuse && isGeoJSONPosition(p, layout)) return p as Position;
  const x = p[0];
  const y = p[1];
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
    return undefined;
  }
  if (layout.zIndex < 0) return [x, y];
  const z = p[layout.zIndex];
  const zz = typeof z === 'number' && Number.isFinite(z) ? z : 0;
  if (layout.mIndex < 0) return [x, y, zz];
  const m = p[layout.mIndex];
  return [x, y, zz, typeof m === 'number' && Number.isFinite(m) ? m : 0];
}

/** Exactly the values the layout keeps, each a finite number. */
function isGeoJSONPosition(p: readonly unknown[], layout: PositionLayout): boolean {
  const length = layout.zIndex < 0 ? 2 : layout.mIndex < 0 ? 3 : 4;
  if (p.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const v = p[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  }
  return true;
}
