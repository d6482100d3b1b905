/**
 * FlatGeobuf output with its packed Hilbert R-tree index. The index comes before the features and
 * needs them all, so features are first streamed to a temp file (only their boxes, offsets and
 * sizes stay in memory: 44 bytes a feature); `finish` writes the header, the index and the
 * features in Hilbert order to a second temp file, fsyncs it and renames it onto the target.
 */
import { Buffer } from 'node:buffer';
import { readSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { basename } from 'node:path';
import { EtlError } from '../../core/errors.js';
import type { GeoJSONFeature } from '../../features/geometry/types.js';
import type { CreateWriterOptions, FeatureWriter } from '../../features/writers/types.js';
import { GrowBuffer } from '../common/grow-buffer.js';
import { epsgCode, esriWkt } from '../common/prj.js';
import { outputError, publishedMode, TempDir, type TempFile } from '../common/temp-dir.js';
import { WriterLifecycle } from '../common/writer-lifecycle.js';
import { columnsOf, encodeHeader, FeatureEncoder, type FgbColumn, headerGeometryType } from './encode.js';
import { hilbertOrder, writeTree } from './hilbert.js';

const NODE_SIZE = 16;

/** Growable Float64Array. */
class Doubles {
  data = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

export async function createFlatGeobufWriter(options: CreateWriterOptions): Promise<FeatureWriter> {
  if (options.path === '-' || options.path === '') {
    throw new EtlError('USAGE', 'FlatGeobuf is written to a file (-o name.fgb), not to standard output');
  }
  if (options.resume !== undefined && (options.resume.bytes > 0 || options.resume.features > 0)) {
    throw new EtlError('USAGE', 'A FlatGeobuf export cannot be resumed: run it again without --resume');
  }
  const { schema } = options;
  const columns = columnsOf(schema.fields);
  const dir = await TempDir.create(options.path);
  let features: TempFile;
  try {
    features = await dir.file('features');
  } catch (error) {
    await dir.discard();
    throw error;
  }
  const wkid = options.outSR ?? 4326;
  return new FlatGeobufWriter({
    path: options.path,
    dir,
    features,
    columns,
    geometryType: headerGeometryType(schema.geometryType),
    hasZ: schema.hasZ === true,
    index: options.flatgeobuf?.index !== false,
    crs: { code: epsgCode(wkid), wkt: esriWkt(wkid) },
  });
}

interface Setup {
  path: string;
  dir: TempDir;
  features: TempFile;
  columns: FgbColumn[];
  geometryType: number;
  hasZ: boolean;
  index: boolean;
  crs: { code: number; wkt: string | undefined };
}

class FlatGeobufWriter implements FeatureWriter {
  readonly format = 'flatgeobuf' as const;
  readonly tempPath: string;
  readonly #s: Setup;
  readonly #encoder: FeatureEncoder;
  readonly #page = new GrowBuffer(1 << 20);
  /** Per feature: minX, minY, maxX, maxY (NaN without geometry). */
  readonly #boxes = new Doubles();
  /** Per feature: its size-prefixed length in bytes. */
  readonly #sizes = new Doubles();
  #features = 0;
  readonly #life = new WriterLifecycle();

  constructor(setup: Setup) {
    this.#s = setup;
    this.tempPath = setup.dir.path;
    this.#encoder = new FeatureEncoder(setup.columns, setup.geometryType, setup.hasZ);
  }

  get bytesWritten(): number {
    return this.#s.features.size;
  }

  get featuresWritten(): number {
    return this.#features;
  }

  writePage(features: readonly GeoJSONFeature[]): Promise<void>;
  writePage<T>(features: readonly T[], convert: (feature: T) => GeoJSONFeature): Promise<void>;
  writePage(features: readonly unknown[], convert?: (feature: unknown) => GeoJSONFeature): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('write a page');
      if (features.length === 0) return;
      const page = this.#page;
      page.clear();
      const boxesBefore = this.#boxes.length;
      const sizesBefore = this.#sizes.length;
      try {
        for (const item of features) {
          const feature = convert === undefined ? (item as GeoJSONFeature) : convert(item);
          const bytes = this.#encoder.encode(feature.geometry, feature.properties);
          page.bytes(bytes);
          const box = this.#encoder.box;
          for (let i = 0; i < 4; i++) this.#boxes.push(box[i]!);
          this.#sizes.push(bytes.length);
        }
      } catch (error) {
        this.#boxes.length = boxesBefore;
        this.#sizes.length = sizesBefore;
        throw error;
      }
      try {
        await this.#s.features.append(page.view());
      } catch (error) {
        this.#life.state = 'failed';
        throw error;
      }
      this.#features += features.length;
    });
  }

  finish(): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('finish');
      await this.#life.guard(
        () => this.#publish(),
        (error) => outputError(`Cannot write ${this.#s.path}`, error),
      );
      this.#life.state = 'finished';
    });
  }

  async abort(_options: { keep?: boolean } = {}): Promise<void> {
    if (!(await this.#life.startAbort())) return;
    await this.#s.features.close().catch(() => {});
    await this.#s.dir.discard();
  }

  async #publish(): Promise<void> {
    const count = this.#features;
    const boxes = this.#boxes.data;
    const sizes = this.#sizes.data;
    const extent = [
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    for (let i = 0; i < count; i++) {
      if (boxes[4 * i]! < extent[0]!) extent[0] = boxes[4 * i]!;
      if (boxes[4 * i + 1]! < extent[1]!) extent[1] = boxes[4 * i + 1]!;
      if (boxes[4 * i + 2]! > extent[2]!) extent[2] = boxes[4 * i + 2]!;
      if (boxes[4 * i + 3]! > extent[3]!) extent[3] = boxes[4 * i + 3]!;
    }
    const hasExtent = Number.isFinite(extent[0]);
    const index = this.#s.index && count > 0;
    const header = encodeHeader({
      name: basename(this.#s.path).replace(/\.fgb$/i, ''),
      geometryType: this.#s.geometryType,
      hasZ: this.#s.hasZ,
      columns: this.#s.columns,
      features: count,
      indexNodeSize: index ? NODE_SIZE : 0,
      envelope: hasExtent ? extent : undefined,
      crs: this.#s.crs,
    });
    // where each feature is in the temp file
    const source = new Float64Array(count);
    for (let i = 0, at = 0; i < count; i++) {
      source[i] = at;
      at += sizes[i]!;
    }
    const out = await this.#s.dir.file('out.fgb');
    try {
      await out.append(header);
      let order: Uint32Array | undefined;
      if (index) {
        order = hilbertOrder(boxes, count, hasExtent ? extent : [0, 0, 1, 1]);
        out.size += await writeTree(
          (bytes, position) => out.writeAt(bytes, position),
          out.size,
          boxes,
          order,
          sizes,
          count,
          NODE_SIZE,
        );
      }
      await this.#s.features.close();
      await copyFeatures(this.#s.dir.path, out, source, sizes, order, count);
      await out.seal(publishedMode());
      try {
        await rename(out.path, this.#s.path);
      } catch (cause) {
        throw outputError(`Cannot publish ${this.#s.path}`, cause);
      }
      await this.#s.dir.discard();
    } finally {
      await out.close().catch(() => {});
    }
  }
}

/** Copies the features from the temp file in `order` (else as written), 4 MiB at a time. */
async function copyFeatures(
  dir: string,
  out: TempFile,
  source: Float64Array,
  sizes: Float64Array,
  order: Uint32Array | undefined,
  count: number,
): Promise<void> {
  const { open } = await import('node:fs/promises');
  const input = await open(`${dir}/features`, 'r');
  const chunk = Buffer.allocUnsafe(4 << 20);
  try {
    if (order === undefined) {
      let position = 0;
      for (;;) {
        const { bytesRead } = await input.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        await out.append(chunk.subarray(0, bytesRead));
        position += bytesRead;
      }
      return;
    }
    let used = 0;
    let big: Buffer | undefined;
    for (let i = 0; i < count; i++) {
      const k = order[i]!;
      const size = sizes[k]!;
      if (used + size > chunk.length) {
        await out.append(chunk.subarray(0, used));
        used = 0;
      }
      if (size > chunk.length) {
        big = Buffer.allocUnsafe(size);
        readFully(input.fd, big, size, source[k]!);
        await out.append(big);
        continue;
      }
      readFully(input.fd, chunk.subarray(used), size, source[k]!);
      used += size;
    }
    if (used > 0) await out.append(chunk.subarray(0, used));
  } finally {
    await input.close();
  }
}

function readFully(fd: number, into: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw new EtlError('OUTPUT_ERROR', 'The FlatGeobuf temp file ended early');
    done += n;
  }
}
