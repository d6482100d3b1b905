/**
 * Property tests on random valid Esri polygons: outer rings clockwise, holes counter-clockwise
 * inside them, rings shuffled, plus degenerate rings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { esriGeometryToGeoJSON } from '../../src/features/geometry/toGeoJSON.js';
import type { GeometryIssue } from '../../src/features/geometry/types.js';
import { area2 } from './normalize.js';

/** A star-shaped ring around (cx, cy), radii in [r·0.5, r], counter-clockwise unless `clockwise`. */
function star(
  cx: number,
  cy: number,
  r: number,
  radii: readonly number[],
  jitter: readonly number[],
  clockwise: boolean,
) {
  const n = radii.length;
  const ring = radii.map((k, i) => {
    const a = ((i + jitter[i]! * 0.8) / n) * 2 * Math.PI;
    const rr = r * (0.5 + 0.5 * k);
    return [cx + rr * Math.cos(a), cy + rr * Math.sin(a)];
  });
  if (clockwise) ring.reverse();
  return ring;
}

/** Fixed for reproducible runs; FC_SEED / FC_RUNS explore more. */
const SEED = Number(process.env.FC_SEED ?? 20260101);

const unit = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const shape = (min: number, max: number) =>
  fc
    .integer({ min, max })
    .chain((n) =>
      fc.tuple(
        fc.array(unit, { minLength: n, maxLength: n }),
        fc.array(unit, { minLength: n, maxLength: n }),
      ),
    );
const starShape = shape(3, 12);
/**
 * Outer rings have at least 8 vertices: angular gaps stay under 81°, so the ring contains the disk
 * of radius 0.38·r around its centre, where the holes go.
 */
const outerShape = shape(8, 16);

interface Case {
  rings: number[][][];
  /** For each ring: 'outer' (index of its polygon), 'hole' (index of the polygon it belongs to), or 'degenerate'. */
  roles: ({ kind: 'outer' | 'hole'; polygon: number } | { kind: 'degenerate' })[];
  closed: boolean;
}

const polygonCase: fc.Arbitrary<Case> = fc
  .record({
    polygons: fc.array(
      fc.record({
        outer: outerShape,
        r: fc.double({ min: 1, max: 1e5, noNaN: true }),
        holes: fc.array(starShape, { maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    degenerate: fc.array(fc.oneof(fc.constant('short' as const), fc.constant('flat' as const)), {
      maxLength: 2,
    }),
    origin: fc.tuple(
      fc.double({ min: -1e7, max: 1e7, noNaN: true }),
      fc.double({ min: -1e7, max: 1e7, noNaN: true }),
    ),
    closed: fc.boolean(),
    order: fc.array(unit, { minLength: 30, maxLength: 30 }),
  })
  .map(({ polygons, degenerate, origin, closed, order }) => {
    const rings: number[][][] = [];
    const roles: Case['roles'] = [];
    let cx = origin[0];
    polygons.forEach((p, index) => {
      const cy = origin[1];
      rings.push(star(cx, cy, p.r, p.outer[0], p.outer[1], true));
      roles.push({ kind: 'outer', polygon: index });
      // holes in a 2×2 grid of cells (centres at ±c, radius 0.9·c) inside the disk of radius 0.38·r
      const cell = p.r * 0.16;
      p.holes.forEach((h, k) => {
        const hx = cx + (k % 2 === 0 ? -cell : cell);
        const hy = cy + (k < 2 ? -cell : cell);
        rings.push(star(hx, hy, cell * 0.9, h[0], h[1], false));
        roles.push({ kind: 'hole', polygon: index });
      });
      cx += p.r * 3;
    });
    for (const d of degenerate) {
      rings.push(
        d === 'short'
          ? [
              [cx, 0],
              [cx + 1, 1],
            ]
          : [
              [cx, 0],
              [cx, 1],
              [cx, 2],
              [cx, 0],
            ],
      );
      roles.push({ kind: 'degenerate' });
    }
    // shuffle rings and roles together
    const idx = rings.map((_, i) => i).sort((a, b) => order[a % 30]! - order[b % 30]! || a - b);
    const shuffled = idx.map((i) => rings[i]!);
    return {
      rings: shuffled.map((ring) => (closed && ring.length > 2 ? [...ring, ring[0]!.slice()] : ring)),
      roles: idx.map((i) => roles[i]!),
      closed,
    };
  });

function polygonsOf(g: ReturnType<typeof esriGeometryToGeoJSON>): number[][][][] {
  if (g?.type === 'Polygon') return [g.coordinates];
  if (g?.type === 'MultiPolygon') return g.coordinates;
  return [];
}

describe('random valid Esri polygons', () => {
  it('come out RFC 7946-wound, with every vertex, every non-degenerate ring, and each hole in its own outer ring', () => {
    fc.assert(
      fc.property(polygonCase, ({ rings, roles }) => {
        const issues: GeometryIssue[] = [];
        const out = esriGeometryToGeoJSON({ rings }, { onIssue: (i) => issues.push(i) });
        const polys = polygonsOf(out);

        // orientation: outer counter-clockwise, holes clockwise; rings closed
        for (const poly of polys) {
          poly.forEach((ring, i) => {
            expect(ring.length).toBeGreaterThanOrEqual(4);
            expect(ring[0]).toEqual(ring[ring.length - 1]);
            if (i === 0) expect(area2(ring)).toBeGreaterThan(0);
            else expect(area2(ring)).toBeLessThan(0);
          });
        }

        // nothing dropped but the degenerate rings, and those reported
        const degenerate = roles.filter((r) => r.kind === 'degenerate').length;
        const outerCount = roles.filter((r) => r.kind === 'outer').length;
        expect(polys.length).toBe(outerCount);
        expect(polys.reduce((n, p) => n + p.length, 0)).toBe(rings.length - degenerate);
        expect(issues.map((i) => i.kind)).toEqual(Array(degenerate).fill('degenerate-ring'));
        expect(issues.map((i) => i.index).sort()).toEqual(
          roles.flatMap((r, i) => (r.kind === 'degenerate' ? [i] : [])).sort(),
        );

        // every input vertex of a kept ring appears in the output
        const seen = new Set(polys.flat(2).map((p) => `${p[0]},${p[1]}`));
        rings.forEach((ring, i) => {
          if (roles[i]!.kind === 'degenerate') return;
          for (const p of ring) expect(seen.has(`${p[0]},${p[1]}`)).toBe(true);
        });

        // each hole sits in the polygon of its own outer ring
        const polygonOfVertex = new Map<string, number>();
        polys.forEach((poly, k) => {
          for (const p of poly[0]!) polygonOfVertex.set(`${p[0]},${p[1]}`, k);
        });
        const outerOf = new Map<number, number>();
        rings.forEach((ring, i) => {
          const role = roles[i]!;
          if (role.kind === 'outer')
            outerOf.set(role.polygon, polygonOfVertex.get(`${ring[0]![0]},${ring[0]![1]}`)!);
        });
        rings.forEach((ring, i) => {
          const role = roles[i]!;
          if (role.kind !== 'hole') return;
          const poly = polys[outerOf.get(role.polygon)!]!;
          const key = `${ring[0]![0]},${ring[0]![1]}`;
          expect(poly.slice(1).some((hole) => hole.some((p) => `${p[0]},${p[1]}` === key))).toBe(true);
        });
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300), seed: SEED },
    );
  });

  it('promote every hole to an outer ring when there is no outer ring, and report each', () => {
    fc.assert(
      fc.property(fc.array(starShape, { minLength: 1, maxLength: 5 }), (shapes) => {
        const rings = shapes.map((s, i) => star(i * 10, 0, 2, s[0], s[1], false));
        const issues: GeometryIssue[] = [];
        const polys = polygonsOf(esriGeometryToGeoJSON({ rings }, { onIssue: (i) => issues.push(i) }));
        expect(polys).toHaveLength(rings.length);
        for (const poly of polys) {
          expect(poly).toHaveLength(1);
          expect(area2(poly[0]!)).toBeGreaterThan(0);
        }
        expect(issues.map((i) => i.kind)).toEqual(Array(rings.length).fill('orphan-hole'));
      }),
      { numRuns: 100, seed: SEED },
    );
  });
});
