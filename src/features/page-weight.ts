/**
 * An estimate of the memory a page of Esri features holds once decoded (JavaScript objects: an
 * attributes object, a geometry of arrays of positions), for the byte budget of the pages in
 * flight (ordered-pool.ts). Counted, not measured: a base per feature, per attribute and per
 * vertex, sized from the heap of decoded pages (about 450 bytes a point feature with 10 fields,
 * 2,100 a polygon of 21 vertices).
 */
import type { EsriFeature, EsriGeometry } from '../core/protocol.js';
import type { PoolBudget } from './ordered-pool.js';

const FEATURE_BYTES = 96;
const ATTRIBUTE_BYTES = 32;
const VERTEX_BYTES = 80;
/** Pages of features in flight weigh at most this much by default (`PoolBudget.bytes`). */
export const DEFAULT_PAGE_BUDGET_BYTES = 64 * 1024 * 1024;

/** Estimated bytes of a page of features. */
export function pageWeight(features: readonly EsriFeature[]): number {
  let bytes = 0;
  for (let i = 0; i < features.length; i++) {
    const feature = features[i]!;
    let attributes = 0;
    for (const _ in feature.attributes) attributes++;
    bytes += FEATURE_BYTES + attributes * ATTRIBUTE_BYTES + vertices(feature.geometry) * VERTEX_BYTES;
  }
  return bytes;
}

function vertices(geometry: EsriGeometry | null | undefined): number {
  if (geometry === null || geometry === undefined) return 0;
  const parts =
    'rings' in geometry
      ? geometry.rings
      : 'paths' in geometry
        ? geometry.paths
        : 'curveRings' in geometry
          ? geometry.curveRings
          : 'curvePaths' in geometry
            ? geometry.curvePaths
            : undefined;
  if (Array.isArray(parts)) {
    let n = 0;
    for (const part of parts) n += Array.isArray(part) ? part.length : 1;
    return n;
  }
  if ('points' in geometry && Array.isArray(geometry.points)) return geometry.points.length;
  return 1;
}

/** The byte budget of an extraction's pages in flight: `bytes` (default 64 MB) of `pageWeight`. */
export function pageBudget(bytes: number | undefined): PoolBudget<EsriFeature[]> {
  return { bytes: bytes ?? DEFAULT_PAGE_BUDGET_BYTES, weigh: pageWeight };
}

/** `pageBudget` for a pool whose results carry their page as `features`. */
export function taggedPageBudget<R extends { features: EsriFeature[] }>(
  bytes: number | undefined,
): PoolBudget<R> {
  return { bytes: bytes ?? DEFAULT_PAGE_BUDGET_BYTES, weigh: (result) => pageWeight(result.features) };
}
