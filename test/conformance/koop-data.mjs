/**
 * The conformance suite's source layers, generated from a seeded PRNG (passed in, so the tests and
 * bench/koop.mjs draw the same numbers): every feature carries a stable `sid` (1…n, in file order)
 * to compare by, since Koop computes its own OBJECTIDs.
 * Plain JavaScript (typed by koop-data.d.mts) so that bench/koop.mjs runs it too.
 */

/** Non-ASCII, quotes, commas, line breaks, right-to-left, combining marks, astral planes. */
const NAMES = [
  'Zürich, ZH',
  'Café Örebro',
  'Straße 東京',
  'O\'Brien\'s "Corner"',
  'Ålesund – Nord',
  'القاهرة',
  'Ελληνικά',
  'Two\nlines',
  'e\u0301 combining',
  'Emoji 🗺️ map 𝄞',
  'Plain name',
  'Back\\slash',
];

/** Epoch milliseconds, 2000-01-01 … about 2025, on whole seconds. */
const BASE_DATE = Date.UTC(2000, 0, 1);
const DATE_SPAN_S = 25 * 365 * 86_400;

export const BASE_FIELDS = [
  { name: 'sid', type: 'Integer' },
  { name: 'name', type: 'String' },
  { name: 'value', type: 'Double' },
  { name: 'updated', type: 'Date' },
  { name: 'note', type: 'String' },
];

function round6(v) {
  return Math.round(v * 1e6) / 1e6;
}

function properties(random, sid) {
  return {
    sid,
    name: `${NAMES[Math.floor(random() * NAMES.length)]} #${sid}`,
    value: Math.round((random() * 2e6 - 1e6) * 100) / 100,
    updated: BASE_DATE + Math.floor(random() * DATE_SPAN_S) * 1000,
    note: random() < 0.2 ? null : `note ${Math.floor(random() * 1000)}`,
  };
}

function point(random) {
  return { type: 'Point', coordinates: [round6(random() * 340 - 170), round6(random() * 160 - 80)] };
}

/** A closed ring around (cx, cy): counter-clockwise, or clockwise for a hole (RFC 7946). */
function ring(random, cx, cy, radius, clockwise) {
  const n = 4 + Math.floor(random() * 5);
  const out = [];
  for (let i = 0; i < n; i++) {
    const angle = ((clockwise ? -1 : 1) * 2 * Math.PI * i) / n;
    out.push([round6(cx + radius * Math.cos(angle)), round6(cy + radius * Math.sin(angle))]);
  }
  out.push([out[0][0], out[0][1]]);
  return out;
}

/** One polygon's rings: an outer ring and, one time in three, a hole. */
function polygonRings(random, cx, cy) {
  const radius = 0.05 + random() * 0.2;
  const rings = [ring(random, cx, cy, radius, false)];
  if (random() < 1 / 3) rings.push(ring(random, cx, cy, radius / 3, true));
  return rings;
}

function polygon(random) {
  const cx = random() * 340 - 170;
  const cy = random() * 160 - 80;
  if (random() < 0.3) {
    const parts = 2 + Math.floor(random() * 2);
    const coordinates = [];
    for (let p = 0; p < parts; p++) coordinates.push(polygonRings(random, cx + p * 0.6, cy));
    return { type: 'MultiPolygon', coordinates };
  }
  return { type: 'Polygon', coordinates: polygonRings(random, cx, cy) };
}

function path(random, x, y) {
  const n = 2 + Math.floor(random() * 5);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push([round6(x + i * 0.01), round6(y + (random() - 0.5) * 0.02)]);
  }
  return out;
}

function line(random) {
  const x = random() * 340 - 170;
  const y = random() * 160 - 80;
  if (random() < 0.3)
    return { type: 'MultiLineString', coordinates: [path(random, x, y), path(random, x, y + 0.1)] };
  return { type: 'LineString', coordinates: path(random, x, y) };
}

/**
 * `count` features of one kind; `nullGeometries` of them (never the first: Koop reads the layer's
 * geometry type from feature 1) have a null geometry, spread over the layer.
 */
export function generateFeatures(random, kind, count, nullGeometries = 0) {
  const make = kind === 'point' ? point : kind === 'polygon' ? polygon : line;
  const stride = nullGeometries > 0 ? Math.floor(count / nullGeometries) : 0;
  const features = [];
  for (let i = 0; i < count; i++) {
    const sid = i + 1;
    const isNull = stride > 0 && i % stride === stride - 1 && i < stride * nullGeometries;
    const geometry = make(random);
    features.push({
      type: 'Feature',
      geometry: isNull ? null : geometry,
      properties: properties(random, sid),
    });
  }
  return features;
}

/** The 64-bit Integer value of issue 12: Koop's f=pbf writes it as sint32 (-807,048,216). */
export const BIG_WHEN = 1_700_000_001_000;

/** Points with `when`, an Integer field beyond 32 bits. */
export function generateEvents(random, count) {
  return generateFeatures(random, 'point', count).map((f, i) => ({
    ...f,
    properties: { ...f.properties, when: BIG_WHEN + i * 1000 },
  }));
}

/**
 * The 50,000-point layer of koop-big.test.ts and bench/koop.mjs: its size and seed. Koop's OBJECTIDs
 * are 31-bit hashes, so a layer this size often has two features with one OBJECTID (seeds 21-25
 * do); seed 26 has none (koop-big.test.ts checks it). Collisions have their own test.
 */
export const BIG_LAYER = { name: 'big', count: 50_000, seed: 26 };
