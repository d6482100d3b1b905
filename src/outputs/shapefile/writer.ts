/**
 * Shapefile output, streamed: each page is appended to the .shp / .shx / .dbf of a private temp
 * folder (the headers, which hold counts and extents, are written at the end), with a .prj for the
 * output SR and a .cpg saying UTF-8. `finish` publishes the files beside the target (the .shp last),
 * or one .shp.zip, whose entries were deflated while the pages were written (part-file.ts). Nothing
 * is published before `finish`; `abort` removes it all.
 */
import { Buffer } from 'node:buffer';
import { basename, dirname, join } from 'node:path';
import { EtlError } from '../../core/errors.js';
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';
import type { GeoJSONFeature } from '../../features/geometry/types.js';
import type { CreateWriterOptions, FeatureWriter } from '../../features/writers/types.js';
import { GrowBuffer } from '../common/grow-buffer.js';
import { esriWkt } from '../common/prj.js';
import { outputError, publishedMode, TempDir, type TempDir as TempDirT } from '../common/temp-dir.js';
import { WriterLifecycle } from '../common/writer-lifecycle.js';
import { deflatedEntry, writeZip, type ZipEntry } from '../common/zip-writer.js';
import { type DbfNotes, dbfHeader, encodeRecord, headerLength, recordLength } from './dbf.js';
import { type DbfColumn, planColumns } from './dbf-fields.js';
import { type PartFile, TempPartFile, ZipPartFile } from './part-file.js';
import { Bounds, classOf, encodeShape, type ShapeClass, shapeType, shpHeader } from './shp.js';

const NOT_PROPERTIES = new Set(['esriFieldTypeGeometry', 'esriFieldTypeBlob', 'esriFieldTypeRaster']);
const DEFAULT_MAX_BYTES = 2 ** 31 - 1;
const CLASS_OF_TYPE: Record<EsriGeometryType, ShapeClass> = {
  esriGeometryPoint: 'point',
  esriGeometryMultipoint: 'multipoint',
  esriGeometryPolyline: 'polyline',
  esriGeometryPolygon: 'polygon',
  esriGeometryEnvelope: 'polygon',
};

/** The fields that are properties of the converted features (unique names, schema order). */
function propertyFields(fields: readonly EsriField[]): EsriField[] {
  const seen = new Set<string>();
  return fields.filter((f) => {
    if (NOT_PROPERTIES.has(f.type) || seen.has(f.name)) return false;
    seen.add(f.name);
    return true;
  });
}

/** One .shp/.shx/.dbf triple being written. */
interface Part {
  base: string;
  type: number;
  z: boolean;
  shp: PartFile;
  shx: PartFile;
  dbf: PartFile;
  shpBuf: GrowBuffer;
  shxBuf: GrowBuffer;
  dbfBuf: GrowBuffer;
  records: number;
  /** File sizes so far, buffered bytes included (headers counted). */
  shpBytes: number;
  dbfBytes: number;
  bounds: Bounds;
}

/** The parts of one geometry type (more than one only with `overflow: 'split'`). */
interface FileSet {
  cls: ShapeClass | undefined;
  base: string;
  parts: Part[];
}

interface Snapshot {
  part: Part;
  records: number;
  shpBytes: number;
  dbfBytes: number;
  bounds: Bounds;
}

/** Where the output goes: `dir/base.shp` …, or one zip holding `base.shp` …. */
function targetOf(path: string): { dir: string; base: string; zip: boolean } {
  const name = basename(path);
  const lower = name.toLowerCase();
  const zip = lower.endsWith('.zip');
  const stem = zip ? name.slice(0, -4) : name;
  const base = stem.toLowerCase().endsWith('.shp') ? stem.slice(0, -4) : stem;
  if (base === '') throw new EtlError('USAGE', `The output ${path} has no file name before .shp`);
  return { dir: dirname(path), base, zip };
}

export async function createShapefileWriter(options: CreateWriterOptions): Promise<FeatureWriter> {
  if (options.path === '-' || options.path === '') {
    throw new EtlError(
      'USAGE',
      'A Shapefile is written to a file (-o name.shp or name.shp.zip), not to standard output',
    );
  }
  if (options.resume !== undefined && (options.resume.bytes > 0 || options.resume.features > 0)) {
    throw new EtlError('USAGE', 'A Shapefile export cannot be resumed: run it again without --resume');
  }
  const shp = options.shapefile ?? {};
  const wkid = options.outSR ?? 4326;
  const prj = shp.prj ?? esriWkt(wkid);
  if (prj === undefined) {
    throw new EtlError(
      'USAGE',
      `No .prj is known for wkid ${wkid}: export in 4326, 3857, 4269, 4258 or a WGS 84 UTM zone, or give the .prj text (shapefile.prj)`,
    );
  }
  const columns = planColumns(propertyFields(options.schema.fields), shp.dates ?? 'date');
  const renamed = columns.filter((c) => c.name !== c.source);
  if (renamed.length > 0) {
    shp.onNotice?.(
      `Shapefile field names (10 characters at most): ${renamed.map((c) => `${c.source} → ${c.name}`).join(', ')}`,
    );
  }
  const target = targetOf(options.path);
  const dir = await TempDir.create(options.path);
  const geometryType = options.schema.geometryType;
  return new ShapefileWriter({
    target,
    dir,
    columns,
    prj,
    mainClass: geometryType === undefined ? undefined : CLASS_OF_TYPE[geometryType],
    hasZ: options.schema.hasZ,
    split: shp.mixedGeometry === 'split',
    overflow: shp.overflow ?? 'error',
    maxBytes: shp.maxFileBytes ?? DEFAULT_MAX_BYTES,
    sidecar: renamed.length > 0,
    path: options.path,
    onNotice: shp.onNotice,
  });
}

interface Setup {
  target: { dir: string; base: string; zip: boolean };
  dir: TempDirT;
  columns: DbfColumn[];
  prj: string;
  mainClass: ShapeClass | undefined;
  hasZ: boolean | undefined;
  split: boolean;
  overflow: 'error' | 'split';
  maxBytes: number;
  sidecar: boolean;
  path: string;
  onNotice: ((message: string) => void) | undefined;
}

class ShapefileWriter implements FeatureWriter {
  readonly format = 'shapefile' as const;
  readonly tempPath: string;
  readonly #s: Setup;
  readonly #sets: FileSet[] = [];
  readonly #recordLength: number;
  readonly #notes: DbfNotes = { cutStrings: 0 };
  readonly #scratch = new Bounds();
  #features = 0;
  /** Index in the page of the feature being added (for messages). */
  #inPage = 0;
  readonly #life = new WriterLifecycle();

  constructor(setup: Setup) {
    this.#s = setup;
    this.tempPath = setup.dir.path;
    this.#recordLength = recordLength(setup.columns);
  }

  get bytesWritten(): number {
    let n = 0;
    for (const set of this.#sets)
      for (const p of set.parts) n += p.shpBytes + p.dbfBytes + 100 + 8 * p.records;
    return n;
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
      const snapshots = this.#snapshot();
      try {
        for (let i = 0; i < features.length; i++) {
          const item = features[i];
          const feature = convert === undefined ? (item as GeoJSONFeature) : convert(item);
          this.#inPage = i;
          await this.#add(feature);
        }
      } catch (error) {
        this.#rollback(snapshots);
        if (error instanceof EtlError && error.code === 'OUTPUT_ERROR') this.#life.state = 'failed';
        throw error;
      }
      try {
        await this.#flush();
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
        (error) => outputError(`Cannot publish ${this.#s.path}`, error),
      );
      this.#life.state = 'finished';
      if (this.#notes.cutStrings > 0) {
        this.#s.onNotice?.(
          `${this.#notes.cutStrings} text values were cut to fit their DBF field width (254 bytes at most)`,
        );
      }
    });
  }

  async abort(_options: { keep?: boolean } = {}): Promise<void> {
    if (!(await this.#life.startAbort())) return;
    await this.#closeAll();
    await this.#s.dir.discard();
  }

  // --- writing -------------------------------------------------------------------------------

  async #add(feature: GeoJSONFeature): Promise<void> {
    const geometry = feature.geometry;
    const set = await this.#setFor(geometry === null ? undefined : classOf(geometry), geometry);
    let part = set.parts[set.parts.length - 1]!;
    for (;;) {
      const shpAt = part.shpBuf.length;
      const dbfAt = part.dbfBuf.length;
      this.#scratch.xmin = this.#scratch.ymin = this.#scratch.zmin = Number.POSITIVE_INFINITY;
      this.#scratch.xmax = this.#scratch.ymax = this.#scratch.zmax = Number.NEGATIVE_INFINITY;
      const content = encodeShape(part.shpBuf, part.records + 1, geometry, part.type, part.z, this.#scratch);
      encodeRecord(part.dbfBuf, this.#s.columns, feature.properties, this.#notes);
      const shpNext = part.shpBytes + 8 + content;
      // the .dbf ends with one more byte (0x1A)
      const dbfNext = part.dbfBytes + this.#recordLength + 1;
      if (shpNext <= this.#s.maxBytes && dbfNext <= this.#s.maxBytes) {
        part.shxBuf.int32BE(part.shpBytes / 2);
        part.shxBuf.int32BE(content / 2);
        part.shpBytes = shpNext;
        part.dbfBytes += this.#recordLength;
        part.records++;
        if (geometry !== null) part.bounds.merge(this.#scratch);
        return;
      }
      part.shpBuf.length = shpAt;
      part.dbfBuf.length = dbfAt;
      if (this.#s.overflow !== 'split' || part.records === 0) {
        throw new EtlError(
          'OUTPUT_ERROR',
          `The Shapefile would pass ${formatBytes(this.#s.maxBytes)} (the .shp and .dbf limit) at feature ${this.#features + this.#inPage + 1}: export fewer features or fields, use another format (GeoPackage, FlatGeobuf), or or split it into parts (--shp-split-parts)`,
        );
      }
      part = await this.#newPart(set, part.z, part.type);
    }
  }

  async #setFor(cls: ShapeClass | undefined, geometry: GeoJSONFeature['geometry']): Promise<FileSet> {
    const main = this.#sets[0];
    if (main === undefined) {
      const first = this.#s.mainClass ?? cls;
      const set: FileSet = { cls: first, base: this.#s.target.base, parts: [] };
      this.#sets.push(set);
      await this.#newPart(
        set,
        this.#zFor(geometry),
        first === undefined ? 0 : shapeType(first, this.#zFor(geometry)),
      );
      return set;
    }
    if (cls === undefined) return main;
    if (main.cls === undefined) {
      // only null geometries so far (no layer geometry type): the first geometry types the file
      main.cls = cls;
      for (const part of main.parts) {
        part.z = this.#zFor(geometry);
        part.type = shapeType(cls, part.z);
      }
      return main;
    }
    if (main.cls === cls) return main;
    let set = this.#sets.find((s) => s.cls === cls);
    if (set !== undefined) return set;
    if (!this.#s.split) {
      throw new EtlError(
        'UNSUPPORTED_GEOMETRY',
        `Feature ${this.#features + this.#inPage + 1} has a ${cls} geometry in a ${main.cls} Shapefile (a Shapefile holds one geometry type): split it into one file per type (--shp-split-geometry), or export each type with --where`,
      );
    }
    set = { cls, base: `${this.#s.target.base}_${cls}`, parts: [] };
    this.#sets.push(set);
    const z = this.#zFor(geometry);
    await this.#newPart(set, z, shapeType(cls, z));
    return set;
  }

  #zFor(geometry: GeoJSONFeature['geometry']): boolean {
    if (this.#s.hasZ !== undefined) return this.#s.hasZ;
    if (geometry === null) return false;
    let p: unknown = geometry.coordinates;
    while (Array.isArray(p) && Array.isArray(p[0])) p = p[0];
    return Array.isArray(p) && p.length >= 3;
  }

  async #newPart(set: FileSet, z: boolean, type: number): Promise<Part> {
    const base = set.parts.length === 0 ? set.base : `${set.base}_${set.parts.length + 1}`;
    const dbfHeaderLength = headerLength(this.#s.columns);
    const file = (ext: string, header: number): Promise<PartFile> =>
      this.#s.target.zip
        ? Promise.resolve(new ZipPartFile(join(this.#s.dir.path, `${base}.${ext}.deflate`)))
        : TempPartFile.create(this.#s.dir, `${base}.${ext}`, header);
    const [shp, shx, dbf] = [
      await file('shp', 100),
      await file('shx', 100),
      await file('dbf', dbfHeaderLength),
    ];
    const part: Part = {
      base,
      type,
      z,
      shp,
      shx,
      dbf,
      shpBuf: new GrowBuffer(),
      shxBuf: new GrowBuffer(4096),
      dbfBuf: new GrowBuffer(),
      records: 0,
      shpBytes: 100,
      dbfBytes: dbfHeaderLength,
      bounds: new Bounds(),
    };
    set.parts.push(part);
    return part;
  }

  #snapshot(): Snapshot[] {
    const out: Snapshot[] = [];
    for (const set of this.#sets) {
      for (const part of set.parts) {
        const bounds = new Bounds();
        bounds.merge(part.bounds);
        out.push({ part, records: part.records, shpBytes: part.shpBytes, dbfBytes: part.dbfBytes, bounds });
      }
    }
    return out;
  }

  /** Forgets a page that failed before it was written (the parts it opened stay, empty). */
  #rollback(snapshots: readonly Snapshot[]): void {
    const known = new Set(snapshots.map((s) => s.part));
    for (const s of snapshots) {
      s.part.records = s.records;
      s.part.shpBytes = s.shpBytes;
      s.part.dbfBytes = s.dbfBytes;
      s.part.bounds = s.bounds;
    }
    for (const set of this.#sets) {
      for (const part of set.parts) {
        part.shpBuf.clear();
        part.shxBuf.clear();
        part.dbfBuf.clear();
        if (!known.has(part)) {
          part.records = 0;
          part.shpBytes = 100;
          part.dbfBytes = headerLength(this.#s.columns);
          part.bounds = new Bounds();
        }
      }
    }
  }

  async #flush(): Promise<void> {
    for (const set of this.#sets) {
      for (const part of set.parts) {
        if (part.shpBuf.length > 0) await part.shp.append(part.shpBuf.view());
        if (part.shxBuf.length > 0) await part.shx.append(part.shxBuf.view());
        if (part.dbfBuf.length > 0) await part.dbf.append(part.dbfBuf.view());
        part.shpBuf.clear();
        part.shxBuf.clear();
        part.dbfBuf.clear();
      }
    }
  }

  // --- publishing ----------------------------------------------------------------------------

  async #publish(): Promise<void> {
    if (this.#sets.length === 0) await this.#setFor(undefined, null);
    const mode = publishedMode();
    const { target, dir } = this.#s;
    /** Files of the folder, or entries of the zip, in order (each set's .shp last). */
    const files: string[] = [];
    const entries: ZipEntry[] = [];
    const done = (name: string, entry: ZipEntry | undefined): void => {
      if (entry === undefined) files.push(name);
      else entries.push(entry);
    };
    const small = async (name: string, text: string): Promise<void> => {
      const bytes = Buffer.from(text);
      if (target.zip) return done(name, deflatedEntry(name, bytes));
      const file = await dir.file(name);
      await file.append(bytes);
      await file.seal(mode);
      done(name, undefined);
    };
    if (this.#s.sidecar) {
      const mapping = this.#s.columns.map((c) => ({
        field: c.source,
        name: c.name,
        type: c.type,
        width: c.width,
      }));
      await small(`${target.base}.fields.json`, `${JSON.stringify(mapping, null, 2)}\n`);
    }
    for (const set of this.#sets) {
      for (const part of set.parts) {
        // a set opened by a page that then failed holds nothing: it is not published
        if (part.records === 0 && set !== this.#sets[0]) {
          await Promise.all([part.shp.close(), part.shx.close(), part.dbf.close()]);
          continue;
        }
        await small(`${part.base}.cpg`, 'UTF-8');
        await small(`${part.base}.prj`, this.#s.prj);
        await part.dbf.append(Buffer.from([0x1a]));
        const finished = (file: PartFile, ext: string, header: Uint8Array) =>
          file
            .finish(`${part.base}.${ext}`, header, mode)
            .then((entry) => done(`${part.base}.${ext}`, entry));
        await finished(part.dbf, 'dbf', dbfHeader(this.#s.columns, part.records));
        await finished(part.shx, 'shx', shpHeader(part.type, 100 + 8 * part.records, part.bounds));
        // the .shp last: its presence says the set is complete
        await finished(part.shp, 'shp', shpHeader(part.type, part.shpBytes, part.bounds));
      }
    }
    if (target.zip) {
      const zipName = 'out.zip.partial';
      await writeZip(join(dir.path, zipName), entries, { mode });
      await dir.publish([{ name: zipName, target: this.#s.path }]);
    } else {
      await dir.publish(files.map((name) => ({ name, target: join(target.dir, name) })));
    }
  }

  async #closeAll(): Promise<void> {
    for (const set of this.#sets) {
      for (const part of set.parts) {
        await Promise.all([part.shp.close(), part.shx.close(), part.dbf.close()]).catch(() => {});
      }
    }
  }
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${Math.round(n / 2 ** 30)} GB` : `${n} bytes`;
}
