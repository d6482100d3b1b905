/** WGS84 ↔ Web Mercator (the only projection the emulator knows) and spatial reference parsing. */

const R = 6378137;
const MAX_LAT = 85.0511287798;
const WEB_MERCATOR = new Set([102100, 3857, 102113, 900913]);

export const WEB_MERCATOR_SR = { wkid: 102100, latestWkid: 3857 } as const;

export function isWebMercator(wkid: number): boolean {
  return WEB_MERCATOR.has(wkid);
}

export function toWebMercator(lon: number, lat: number): [number, number] {
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  const x = (R * lon * Math.PI) / 180;
  const y = R * Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360));
  return [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4];
}

export function fromWebMercator(x: number, y: number): [number, number] {
  const lon = (x / R) * (180 / Math.PI);
  const lat = (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * (180 / Math.PI);
  return [lon, lat];
}

/** A wkid from `4326`, `{"wkid":3857}` or `{"latestWkid":3857}`; undefined if none. */
export function parseSpatialReference(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const s = value.trim();
    if (/^\d+$/.test(s)) return Number(s);
    if (s.startsWith('{')) {
      try {
        return parseSpatialReference(JSON.parse(s));
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    const sr = value as { wkid?: unknown; latestWkid?: unknown };
    const wkid = Number(sr.wkid ?? sr.latestWkid);
    return Number.isFinite(wkid) ? wkid : undefined;
  }
  return undefined;
}
