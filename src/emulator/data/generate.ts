/**
 * Deterministic generated layers: geometry from a seeded stream, attributes derived from
 * (seed, row) on demand so that a million rows cost only their OIDs and coordinates.
 */
import { EtlError } from '../../core/errors.js';
import { seededRandom } from '../../core/time.js';
import type { GeneratedGeometry, GenerateSpec } from '../types.js';
import { hash3, unit3 } from './hash.js';
import { type Column, GeometryBuilder, type GeometryKind, type LayerData } from './store.js';

/** Every geometry a generated layer can have. */
export const GENERATED_GEOMETRIES: readonly GeneratedGeometry[] = [
  'point',
  'multipoint',
  'polyline',
  'polygon',
  'multipolygon',
  'mixed-polygon',
];

/** Largest generated layer (protects the emulator from a typo like 1e10). */
export const MAX_GENERATED = 20_000_000;

/** Name stems: non-ASCII, quotes, commas, a line break and spreadsheet-formula starters. */
export const NAME_STEMS: readonly string[] = [
  'Main Street',
  'Café Örebro',
  "O'Brien's Corner",
  'Smith, John',
  '=SUM(A1:A9)',
  'Say "hello"',
  'Straße 東京',
  'Plain name',
  '+cmd|calc',
  '@risky',
  'Ålesund – Nord',
  'Zürich, ZH',
  'Back\\slash',
  '-2+3',
  'Two\nlines',
  'Emoji 🗺️ map',
];

const NOTES: readonly string[] = ['needs review', 'checked; ok', 'see "plan B", page 2', 'vérifié'];

const BASE_DATE = Date.UTC(2000, 0, 1);
const DATE_SPAN_S = Math.floor(25 * 365.25 * 86400);

function round7(v: number): number {
  return Math.round(v * 1e7) / 1e7;
}
function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function kindOf(geometry: GeneratedGeometry): GeometryKind {
  if (geometry === 'point' || geometry === 'multipoint' || geometry === 'polyline') return geometry;
  return 'polygon';
}

/** The generated attribute columns (everything but the OID). */
export function generatedColumns(seed: number): Column[] {
  return [
    {
      field: { name: 'name', type: 'esriFieldTypeString', alias: 'name', length: 64, nullable: true },
      get: (row) => `${NAME_STEMS[hash3(seed, row, 1) % NAME_STEMS.length]} ${row + 1}`,
    },
    {
      field: { name: 'category', type: 'esriFieldTypeInteger', alias: 'category', nullable: true },
      get: (row) => hash3(seed, row, 2) % 10,
    },
    {
      field: { name: 'value', type: 'esriFieldTypeDouble', alias: 'value', nullable: true },
      get: (row) => round2(unit3(seed, row, 3) * 10000 - 1000),
    },
    {
      field: { name: 'created', type: 'esriFieldTypeDate', alias: 'created', length: 8, nullable: true },
      get: (row) => BASE_DATE + Math.floor(unit3(seed, row, 4) * DATE_SPAN_S) * 1000,
    },
    {
      field: { name: 'note', type: 'esriFieldTypeString', alias: 'note', length: 255, nullable: true },
      get: (row) => {
        const h = hash3(seed, row, 5);
        return h % 10 < 7 ? null : `${NOTES[h % NOTES.length]} #${row + 1}`;
      },
    },
  ];
}

/** OIDs for `count` rows, ascending and unique. */
export function generateOids(spec: GenerateSpec, seed: number): Float64Array {
  const n = spec.count;
  const oids = new Float64Array(n);
  const mode = spec.oidMode ?? 'dense';
  if (mode === 'dense') {
    const first = spec.firstOid ?? 1;
    for (let i = 0; i < n; i++) oids[i] = first + i;
  } else if (mode === 'sparse') {
    const jumpAt = Math.floor((n * 2) / 3);
    let oid = 0;
    for (let i = 0; i < n; i++) {
      const h = hash3(seed, i, 21);
      oid += 1 + (h % 5 === 0 ? (h >>> 8) % 50 : 0);
      if (i === jumpAt && n > 1) oid += 2 ** 31;
      oids[i] = oid;
    }
  } else {
    for (let i = 0; i < n; i++) {
      oids[i] = 1 + hash3(seed, i, 31) * 2 ** 20 + (hash3(seed, i, 32) >>> 12);
    }
    oids.sort();
    for (let i = 1; i < n; i++) if (oids[i]! <= oids[i - 1]!) oids[i] = oids[i - 1]! + 1;
  }
  return oids;
}

interface Ctx {
  rand: () => number;
  hasZ: boolean;
  hasM: boolean;
}

function position(ctx: Ctx, x: number, y: number, out: number[]): void {
  out.push(round7(x), round7(y));
  if (ctx.hasZ) out.push(round2(ctx.rand() * 1000));
  if (ctx.hasM) out.push(round2(ctx.rand() * 100));
}

/** A closed ring around (cx, cy); clockwise = Esri outer ring. */
function ring(ctx: Ctx, cx: number, cy: number, r: number, clockwise: boolean): number[] {
  const vertices = 4 + Math.floor(ctx.rand() * 9);
  const a0 = ctx.rand() * Math.PI * 2;
  const step = ((clockwise ? -1 : 1) * Math.PI * 2) / vertices;
  const out: number[] = [];
  for (let k = 0; k < vertices; k++) {
    const rr = r * (0.7 + 0.3 * ctx.rand());
    const a = a0 + k * step;
    position(ctx, cx + rr * Math.cos(a), cy + rr * Math.sin(a), out);
  }
  const dim = 2 + (ctx.hasZ ? 1 : 0) + (ctx.hasM ? 1 : 0);
  out.push(...out.slice(0, dim));
  return out;
}

/** One polygon part: an outer ring and optionally one or two holes. */
function polygonPart(ctx: Ctx, cx: number, cy: number, r: number, holes: number): number[][] {
  const rings = [ring(ctx, cx, cy, r, true)];
  if (holes === 1) rings.push(ring(ctx, cx, cy, r * 0.3, false));
  if (holes === 2) {
    rings.push(ring(ctx, cx - r * 0.35, cy, r * 0.2, false));
    rings.push(ring(ctx, cx + r * 0.35, cy, r * 0.2, false));
  }
  return rings;
}

function multiPolygon(ctx: Ctx, cx: number, cy: number, r: number): number[][] {
  const parts = 2 + Math.floor(ctx.rand() * 3);
  const rings: number[][] = [];
  for (let j = 0; j < parts; j++) {
    const holes = ctx.rand() < 0.4 ? 1 + Math.floor(ctx.rand() * 2) : 0;
    rings.push(...polygonPart(ctx, cx + j * 2.5 * r, cy + (j % 2) * r, r, holes));
  }
  return rings;
}

function rowGeometry(ctx: Ctx, geometry: GeneratedGeometry, cx: number, cy: number): number[][] {
  const r = 0.001 + ctx.rand() * 0.009;
  switch (geometry) {
    case 'multipoint': {
      const n = 2 + Math.floor(ctx.rand() * 5);
      const out: number[] = [];
      for (let k = 0; k < n; k++)
        position(ctx, cx + (ctx.rand() - 0.5) * r, cy + (ctx.rand() - 0.5) * r, out);
      return [out];
    }
    case 'polyline': {
      const paths = ctx.rand() < 0.25 ? 2 : 1;
      const out: number[][] = [];
      for (let p = 0; p < paths; p++) {
        let x = cx + p * r * 3;
        let y = cy;
        const n = 2 + Math.floor(ctx.rand() * 7);
        const path: number[] = [];
        for (let k = 0; k < n; k++) {
          position(ctx, x, y, path);
          x += (ctx.rand() - 0.3) * r;
          y += (ctx.rand() - 0.5) * r;
        }
        out.push(path);
      }
      return out;
    }
    case 'polygon':
      return polygonPart(ctx, cx, cy, r, ctx.rand() < 0.3 ? 1 : 0);
    case 'multipolygon':
      return multiPolygon(ctx, cx, cy, r);
    case 'mixed-polygon': {
      const pick = ctx.rand();
      if (pick < 0.5) return polygonPart(ctx, cx, cy, r, 0);
      if (pick < 0.75) return polygonPart(ctx, cx, cy, r, ctx.rand() < 0.5 ? 1 : 2);
      return multiPolygon(ctx, cx, cy, r);
    }
    default:
      return [];
  }
}

function validate(spec: GenerateSpec): void {
  if (!Number.isInteger(spec.count) || spec.count < 0 || spec.count > MAX_GENERATED) {
    throw new EtlError('USAGE', `generate.count must be an integer between 0 and ${MAX_GENERATED}`);
  }
  if (!GENERATED_GEOMETRIES.includes(spec.geometry)) {
    throw new EtlError('USAGE', `generate.geometry must be one of ${GENERATED_GEOMETRIES.join(', ')}`);
  }
  if (spec.oidMode !== undefined && !['dense', 'sparse', 'hashed'].includes(spec.oidMode)) {
    throw new EtlError('USAGE', 'generate.oidMode must be dense, sparse or hashed');
  }
  const share = spec.nullGeometries ?? 0;
  if (!(share >= 0 && share <= 1))
    throw new EtlError('USAGE', 'generate.nullGeometries must be between 0 and 1');
  const first = spec.firstOid ?? 1;
  if (!Number.isSafeInteger(first) || first < 0 || !Number.isSafeInteger(first + spec.count)) {
    throw new EtlError('USAGE', 'generate.firstOid must be a non-negative safe integer');
  }
}

/** Generates a whole layer, deterministically from `spec.seed` (default 1). */
export function generateLayerData(spec: GenerateSpec, oidField: string): LayerData {
  validate(spec);
  const seed = (spec.seed ?? 1) >>> 0;
  const hasZ = spec.hasZ === true;
  const hasM = spec.hasM === true;
  const kind = kindOf(spec.geometry);
  const builder = new GeometryBuilder(kind, hasZ, hasM, spec.count);
  const ctx: Ctx = { rand: seededRandom(seed), hasZ, hasM };
  const { rand } = ctx;
  const nullShare = spec.nullGeometries ?? 0;
  for (let i = 0; i < spec.count; i++) {
    const cx = -120 + rand() * 50;
    const cy = 25 + rand() * 24;
    // the random draws of a null row are made all the same: the other rows do not depend on the share
    const isNull = nullShare > 0 && unit3(seed, i, 51) < nullShare;
    if (kind === 'point') {
      const z = hasZ ? round2(rand() * 1000) : 0;
      const m = hasM ? round2(rand() * 100) : 0;
      if (isNull) builder.addNull();
      else builder.addPoint(round7(cx), round7(cy), z, m);
    } else {
      const parts = rowGeometry(ctx, spec.geometry, cx, cy);
      if (isNull) builder.addNull();
      else builder.addParts(parts);
    }
  }
  return {
    oids: generateOids(spec, seed),
    geometry: builder.build(),
    oidField,
    columns: generatedColumns(seed),
    displayField: 'name',
  };
}
