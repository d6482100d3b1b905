/**
 * The GeoPackage R-tree index (SQLite's rtree module), built in one pass at the end instead of one
 * R*-tree insert per feature (most of a GeoPackage export's time): the features' boxes are sorted
 * by the Hilbert value of their centres and packed into full nodes bottom-up, which are written
 * straight into the virtual table's shadow tables (`<name>_node`, `_rowid`, `_parent`) in SQLite's
 * own node format: a 2-byte tree depth (root only), a 2-byte cell count, then cells of a 64-bit id
 * and minX, maxX, minY, maxY as 32-bit floats, all big-endian. The floats are rounded outward, as
 * the rtree module rounds them. Newer GDAL versions build their GeoPackage index the same way.
 *
 * Where SQLite refuses writes to shadow tables (its defensive flag cannot be cleared), the boxes
 * are inserted through the virtual table instead, in Hilbert order: slower, the same index.
 */
import { hilbertOrder } from '../fgb/hilbert.js';
import { quoteId } from './ddl.js';
import type { SqlDatabase, SqlValue } from './sqlite.js';

const CELL_BYTES = 24;
/** Rows per multi-row INSERT into `_rowid` (2 parameters a row, under SQLite's 32766 limit). */
const ROWID_BATCH = 500;

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);

/** The largest float32 ≤ d. */
export function floatDown(d: number): number {
  f32[0] = d;
  if (f32[0] <= d) return f32[0];
  bits[0] = f32[0] > 0 ? bits[0]! - 1 : f32[0] === 0 ? -0x7fffffff : bits[0]! + 1;
  return f32[0];
}

/** The smallest float32 ≥ d. */
export function floatUp(d: number): number {
  f32[0] = d;
  if (f32[0] >= d) return f32[0];
  bits[0] = f32[0] < 0 ? bits[0]! - 1 : f32[0] === 0 ? 1 : bits[0]! + 1;
  return f32[0];
}

/**
 * Feature ids and their boxes, collected as rows are written: ids as float64 (exact to 2^53),
 * boxes as minX, minY, maxX, maxY float32 rounded outward (what the index stores anyway).
 */
export class BoxList {
  ids = new Float64Array(1024);
  boxes = new Float32Array(4096);
  count = 0;

  add(id: number, minX: number, minY: number, maxX: number, maxY: number): void {
    if (this.count === this.ids.length) {
      const ids = new Float64Array(this.ids.length * 2);
      ids.set(this.ids);
      this.ids = ids;
      const boxes = new Float32Array(this.boxes.length * 2);
      boxes.set(this.boxes);
      this.boxes = boxes;
    }
    const i = this.count++;
    this.ids[i] = id;
    this.boxes[4 * i] = floatDown(minX);
    this.boxes[4 * i + 1] = floatDown(minY);
    this.boxes[4 * i + 2] = floatUp(maxX);
    this.boxes[4 * i + 3] = floatUp(maxY);
  }

  /** minX, minY, maxX, maxY of every box (undefined when there is none). */
  extent(): [number, number, number, number] | undefined {
    if (this.count === 0) return undefined;
    let a = Number.POSITIVE_INFINITY;
    let b = Number.POSITIVE_INFINITY;
    let c = Number.NEGATIVE_INFINITY;
    let d = Number.NEGATIVE_INFINITY;
    const boxes = this.boxes;
    for (let i = 0; i < this.count; i++) {
      if (boxes[4 * i]! < a) a = boxes[4 * i]!;
      if (boxes[4 * i + 1]! < b) b = boxes[4 * i + 1]!;
      if (boxes[4 * i + 2]! > c) c = boxes[4 * i + 2]!;
      if (boxes[4 * i + 3]! > d) d = boxes[4 * i + 3]!;
    }
    return [a, b, c, d];
  }
}

/** The box of a GeoPackage geometry blob: its envelope, or a point's coordinates (undefined: empty). */
export function blobBox(blob: Uint8Array): [number, number, number, number] | undefined {
  if (blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) return undefined;
  const flags = blob[3]!;
  if ((flags & 0x10) !== 0) return undefined;
  const little = (flags & 0x01) === 1;
  const envelope = (flags >> 1) & 0x07;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (envelope !== 0) {
    // every envelope kind starts with minX, maxX, minY, maxY
    const minX = view.getFloat64(8, little);
    const maxX = view.getFloat64(16, little);
    const minY = view.getFloat64(24, little);
    const maxY = view.getFloat64(32, little);
    return [minX, minY, maxX, maxY];
  }
  const sizes = [0, 32, 48, 48, 64];
  const at = 8 + (sizes[envelope] ?? 0);
  // a WKB point: byte order, type, x, y
  if (blob.length < at + 21) return undefined;
  const le = blob[at] === 1;
  const type = view.getUint32(at + 1, le) % 1000;
  if (type !== 1) return undefined;
  const x = view.getFloat64(at + 5, le);
  const y = view.getFloat64(at + 13, le);
  if (Number.isNaN(x) || Number.isNaN(y)) return undefined;
  return [x, y, x, y];
}

interface Level {
  /** Node number of the level's first node (its nodes are numbered consecutively). */
  first: number;
  nodes: number;
}

/**
 * Fills the empty rtree `name` with `list`, inside the caller's transaction. Returns how it was
 * built: 'packed' (shadow tables written), or 'inserted' (through the virtual table).
 */
export function loadRtree(
  db: SqlDatabase,
  name: string,
  list: BoxList,
  extent: readonly number[],
): 'packed' | 'inserted' {
  const count = list.count;
  if (count === 0) return 'packed';
  const order = hilbertOrder(list.boxes, count, extent);
  if (!db.allowShadowWrites(true)) return insertEach(db, name, list, order);
  try {
    writePacked(db, name, list, order);
    return 'packed';
  } catch (error) {
    if (!/may not be modified/i.test(error instanceof Error ? error.message : String(error))) throw error;
    // refused before anything was written (the first statement is the one refused)
    return insertEach(db, name, list, order);
  } finally {
    db.allowShadowWrites(false);
  }
}

function insertEach(db: SqlDatabase, name: string, list: BoxList, order: Uint32Array): 'inserted' {
  const insert = db.prepare(`INSERT INTO ${quoteId(name)} VALUES (?, ?, ?, ?, ?)`);
  const b = list.boxes;
  for (const i of order) {
    insert.run(list.ids[i]!, b[4 * i]!, b[4 * i + 2]!, b[4 * i + 1]!, b[4 * i + 3]!);
  }
  return 'inserted';
}

function writePacked(db: SqlDatabase, name: string, list: BoxList, order: Uint32Array): void {
  const node = quoteId(`${name}_node`);
  const rowid = quoteId(`${name}_rowid`);
  const parent = quoteId(`${name}_parent`);
  // the node size SQLite chose when it created the table (it reads it back from the root)
  db.exec(`DELETE FROM ${rowid}`);
  db.exec(`DELETE FROM ${parent}`);
  const size = Number(db.prepare(`SELECT length(data) AS n FROM ${node} WHERE nodeno = 1`).get()?.n ?? 0);
  const capacity = Math.floor((size - 4) / CELL_BYTES);
  if (capacity < 2) throw new Error(`the R-tree ${name} has an unexpected node size (${size} bytes)`);
  db.exec(`DELETE FROM ${node}`);

  const count = list.count;
  // level sizes, leaves first; numbered root first (the root is node 1)
  const sizes = [Math.ceil(count / capacity)];
  while (sizes.at(-1)! > 1) sizes.push(Math.ceil(sizes.at(-1)! / capacity));
  const depth = sizes.length - 1;
  const levels: Level[] = new Array(sizes.length);
  let next = 1;
  for (let l = sizes.length - 1; l >= 0; l--) {
    levels[l] = { first: next, nodes: sizes[l]! };
    next += sizes[l]!;
  }

  const insertNode = db.prepare(`INSERT INTO ${node} (nodeno, data) VALUES (?, ?)`);
  const insertParent = db.prepare(`INSERT INTO ${parent} (nodeno, parentnode) VALUES (?, ?)`);
  const blob = new Uint8Array(size);
  const view = new DataView(blob.buffer);

  // each level's boxes (minX, maxX, minY, maxY per node), from the level below
  let below = new Float32Array(0);
  for (let l = 0; l <= depth; l++) {
    const level = levels[l]!;
    const items = l === 0 ? count : sizes[l - 1]!;
    const boxes = new Float32Array(level.nodes * 4);
    for (let n = 0; n < level.nodes; n++) {
      blob.fill(0);
      const start = n * capacity;
      const end = Math.min(start + capacity, items);
      let minX = Number.POSITIVE_INFINITY;
      let maxX = Number.NEGATIVE_INFINITY;
      let minY = Number.POSITIVE_INFINITY;
      let maxY = Number.NEGATIVE_INFINITY;
      for (let k = start; k < end; k++) {
        let id: number;
        let a: number;
        let b: number;
        let c: number;
        let d: number;
        if (l === 0) {
          const i = order[k]!;
          id = list.ids[i]!;
          a = list.boxes[4 * i]!;
          b = list.boxes[4 * i + 2]!;
          c = list.boxes[4 * i + 1]!;
          d = list.boxes[4 * i + 3]!;
        } else {
          id = levels[l - 1]!.first + k;
          a = below[4 * k]!;
          b = below[4 * k + 1]!;
          c = below[4 * k + 2]!;
          d = below[4 * k + 3]!;
        }
        const at = 4 + (k - start) * CELL_BYTES;
        view.setUint32(at, Math.floor(id / 0x100000000));
        view.setUint32(at + 4, id >>> 0);
        view.setFloat32(at + 8, a);
        view.setFloat32(at + 12, b);
        view.setFloat32(at + 16, c);
        view.setFloat32(at + 20, d);
        if (a < minX) minX = a;
        if (b > maxX) maxX = b;
        if (c < minY) minY = c;
        if (d > maxY) maxY = d;
      }
      if (l === depth) view.setUint16(0, depth);
      view.setUint16(2, end - start);
      const nodeno = level.first + n;
      insertNode.run(nodeno, blob);
      boxes[4 * n] = minX;
      boxes[4 * n + 1] = maxX;
      boxes[4 * n + 2] = minY;
      boxes[4 * n + 3] = maxY;
      if (l < depth) insertParent.run(nodeno, levels[l + 1]!.first + Math.floor(n / capacity));
    }
    below = boxes;
  }

  // id → leaf, in id order (the ids were collected ascending: an append-only B-tree)
  const leafOf = new Uint32Array(count);
  const leafFirst = levels[0]!.first;
  for (let k = 0; k < count; k++) leafOf[order[k]!] = leafFirst + Math.floor(k / capacity);
  const values = (rows: number) => Array.from({ length: rows }, () => '(?, ?)').join(', ');
  const batch = db.prepare(`INSERT INTO ${rowid} (rowid, nodeno) VALUES ${values(ROWID_BATCH)}`);
  const params: SqlValue[] = new Array(ROWID_BATCH * 2);
  let i = 0;
  for (; i + ROWID_BATCH <= count; i += ROWID_BATCH) {
    for (let j = 0; j < ROWID_BATCH; j++) {
      params[2 * j] = list.ids[i + j]!;
      params[2 * j + 1] = leafOf[i + j]!;
    }
    batch.run(...params);
  }
  if (i < count) {
    const rest = count - i;
    const tail: SqlValue[] = new Array(rest * 2);
    for (let j = 0; j < rest; j++) {
      tail[2 * j] = list.ids[i + j]!;
      tail[2 * j + 1] = leafOf[i + j]!;
    }
    db.prepare(`INSERT INTO ${rowid} (rowid, nodeno) VALUES ${values(rest)}`).run(...tail);
  }
}
