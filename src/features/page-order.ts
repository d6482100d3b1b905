/**
 * Puts a page of features in OID order, drops duplicates and features a filter rejects.
 */
import type { EsriFeature } from '../core/protocol.js';
import { featureOid } from './oid.js';

export interface OrderedPage {
  features: EsriFeature[];
  oids: number[];
}

export function orderPage(
  features: readonly EsriFeature[],
  oidField: string,
  keep?: (oid: number) => boolean,
): OrderedPage {
  const pairs: { oid: number; feature: EsriFeature }[] = [];
  let sorted = true;
  let prev = -Infinity;
  for (const feature of features) {
    const oid = featureOid(feature.attributes ?? {}, oidField);
    if (keep && !keep(oid)) continue;
    if (oid <= prev) sorted = false;
    prev = oid;
    pairs.push({ oid, feature });
  }
  if (!sorted) pairs.sort((a, b) => a.oid - b.oid);
  const out: OrderedPage = { features: [], oids: [] };
  for (const { oid, feature } of pairs) {
    if (out.oids.length > 0 && out.oids[out.oids.length - 1] === oid) continue;
    out.features.push(feature);
    out.oids.push(oid);
  }
  return out;
}
