/**
 * `maxAllowableOffset`: lines and rings generalised with Douglas–Peucker, as ArcGIS does, so that
 * no vertex removed lies farther than the offset from what is kept. The offset is in output units
 * (degrees for WGS84, metres for Web Mercator). A path keeps at least its two ends, a ring at least
 * four positions (three corners, closed); a ring that would lose more keeps every vertex. Points
 * and multipoints are answered as they are. Generalised copies are kept per offset.
 */
import { type Geometries, GeometryBuilder } from './store.js';

type Project = (x: number, y: number) => [number, number];

const copies = new WeakMap<Geometries, Map<string, Geometries>>();
/** Offsets kept per layer (a client's few values; more would only grow memory). */
const MAX_COPIES = 8;

export function generalized(g: Geometries, offset: number, project: Project | undefined): Geometries {
  if (g.kind === 'point' || g.kind === 'multipoint' || !(offset > 0)) return g;
  let byOffset = copies.get(g);
  if (byOffset === undefined) {
    byOffset = new Map();
    copies.set(g, byOffset);
  }
  const key = `${offset}|${project === undefined ? '' : 'p'}`;
  let copy = byOffset.get(key);
  if (copy === undefined) {
    copy = build(g, offset, project);
    if (byOffset.size >= MAX_COPIES) byOffset.delete(byOffset.keys().next().value!);
    byOffset.set(key, copy);
  }
  return copy;
}

function build(g: Geometries, offset: number, project: Project | undefined): Geometries {
  const rows = g.featurePart.length - 1;
  const out = new GeometryBuilder(g.kind, g.hasZ, g.hasM, rows);
  const ring = g.kind === 'polygon';
  for (let row = 0; row < rows; row++) {
    const first = g.featurePart[row]!;
    const last = g.featurePart[row + 1]!;
    if (first === last) {
      out.addNull();
      continue;
    }
    const parts: number[][] = [];
    for (let p = first; p < last; p++) {
      parts.push(simplifyPart(g, g.partPos[p]!, g.partPos[p + 1]!, offset, project, ring));
    }
    out.addParts(parts);
  }
  return out.build();
}

/** The positions of part [from, to) that Douglas–Peucker keeps, flat (`dim` values each). */
function simplifyPart(
  g: Geometries,
  from: number,
  to: number,
  offset: number,
  project: Project | undefined,
  ring: boolean,
): number[] {
  const n = to - from;
  const dim = g.dim;
  const all = Array.from(g.coords.subarray(from * dim, to * dim));
  if (n <= (ring ? 4 : 2)) return all;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = g.coords[(from + i) * dim]!;
    const y = g.coords[(from + i) * dim + 1]!;
    const [px, py] = project ? project(x, y) : [x, y];
    xs[i] = px;
    ys[i] = py;
  }
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  if (ring) {
    // a closed ring: split at the vertex farthest from the start, so both halves are open paths
    let far = 1;
    let best = -1;
    for (let i = 1; i < n - 1; i++) {
      const d = Math.hypot(xs[i]! - xs[0]!, ys[i]! - ys[0]!);
      if (d > best) {
        best = d;
        far = i;
      }
    }
    keep[far] = 1;
    douglasPeucker(xs, ys, 0, far, offset, keep);
    douglasPeucker(xs, ys, far, n - 1, offset, keep);
  } else {
    douglasPeucker(xs, ys, 0, n - 1, offset, keep);
  }
  let kept = 0;
  for (let i = 0; i < n; i++) kept += keep[i]!;
  if (ring && kept < 4) return all;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (keep[i] === 1) for (let k = 0; k < dim; k++) out.push(all[i * dim + k]!);
  }
  return out;
}

/** Marks in `keep` the vertices of (a, b) farther than `offset` from the kept chords (iterative). */
function douglasPeucker(
  xs: Float64Array,
  ys: Float64Array,
  a: number,
  b: number,
  offset: number,
  keep: Uint8Array,
): void {
  const stack: number[] = [a, b];
  while (stack.length > 0) {
    const end = stack.pop()!;
    const start = stack.pop()!;
    let far = -1;
    let best = offset;
    for (let i = start + 1; i < end; i++) {
      const d = segmentDistance(xs[i]!, ys[i]!, xs[start]!, ys[start]!, xs[end]!, ys[end]!);
      if (d > best) {
        best = d;
        far = i;
      }
    }
    if (far < 0) continue;
    keep[far] = 1;
    stack.push(start, far, far, end);
  }
}

/** Distance from (px, py) to the segment (ax, ay)–(bx, by). */
export function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
