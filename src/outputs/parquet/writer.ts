/**
 * GeoParquet 1.1 writer: one row group per page, written to the temp file as it arrives (memory
 * holds one page); the footer (schema, row groups, `geo` metadata) at the end, then the temp file
 * is renamed onto the target.
 *
 * Resume by row group: after each row group, one line describing it (its Parquet metadata, where
 * it ends, the bbox so far) is appended to `<temp>-rowgroups`. A resumed run keeps the row groups
 * up to the checkpoint's byte (which must end one, with the checkpoint's row count), cuts the rest
 * of both files, and goes on: the file is the same, byte for byte, as an uninterrupted run's.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CompressionCodec, RowGroup } from 'hyparquet';
import { ParquetWriter } from 'hyparquet-writer';
import type { Compressors } from 'hyparquet-writer/src/types.js';
import { EtlError } from '../../core/errors.js';
import type { GeoJSONFeature } from '../../features/geometry/types.js';
import type { FeatureWriter, WriterCheckpoint, WriterSchema } from '../../features/writers/types.js';
import { WriterLifecycle } from '../common/writer-lifecycle.js';
import { fromTaggedJson, toTaggedJson } from '../json-tagged.js';
import { syncDirectory } from '../sync-directory.js';
import { partialPathFor } from '../temp-path.js';
import { type Envelope, promoted, toWkb } from '../wkb.js';
import { columnValue, type ParquetColumn, parquetLayout } from './columns.js';
import type { ParquetCompression } from './compression.js';
import { FileByteWriter } from './file-writer.js';
import { geoMetadata, geoParquetType, projjsonFor } from './geo-metadata.js';

export interface ParquetWriterOptions {
  path: string;
  schema: WriterSchema;
  /** The spatial reference of the coordinates (the export's outSR). */
  wkid: number;
  compression: ParquetCompression;
  /** The compressor of `compression` when hyparquet-writer has none built in (see compressorsFor). */
  compressors?: Compressors | undefined;
  resume?: WriterCheckpoint | undefined;
  tempPath?: string | undefined;
}

interface GroupLine {
  /** The byte where this row group ends. */
  end: number;
  /** Rows in the file up to and including this row group. */
  rows: number;
  envelope: Envelope | null;
  group: RowGroup;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** The side file that lists the row groups of a partial output. */
export function rowGroupsPath(temp: string): string {
  return `${temp}-rowgroups`;
}

function outputError(message: string, cause: unknown): EtlError {
  if (cause instanceof EtlError) return cause;
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new EtlError('OUTPUT_ERROR', `${message}${reason}`, { cause });
}

function readGroups(path: string): GroupLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new EtlError('CHECKPOINT_INVALID', `Cannot read ${path} to resume the GeoParquet output`, {
      cause,
    });
  }
  const lines: GroupLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      lines.push(fromTaggedJson(line) as GroupLine);
    } catch {
      break; // a line cut by a kill: the row group it describes is not in the checkpoint
    }
  }
  return lines;
}

export function createParquetWriter(options: ParquetWriterOptions): FeatureWriter {
  const { schema } = options;
  const hasZ = schema.hasZ === true;
  const withGeometry = schema.geometryType !== undefined;
  const layout = parquetLayout(schema.fields, withGeometry);
  // checked before anything is written: an unknown CRS or geometry type is a USAGE error
  const geometryType = withGeometry ? geoParquetType(schema.geometryType, hasZ) : undefined;
  if (withGeometry) projjsonFor(options.wkid);
  const codec: CompressionCodec =
    options.compression === 'none' ? 'UNCOMPRESSED' : options.compression === 'zstd' ? 'ZSTD' : 'SNAPPY';
  const compressors = options.compressors;

  const resume = options.resume !== undefined && options.resume.bytes > 0 ? options.resume : undefined;
  if (resume !== undefined && options.tempPath === undefined) {
    throw new EtlError('USAGE', 'Resuming needs the tempPath of the interrupted run');
  }
  const temp = options.tempPath ?? partialPathFor(options.path);
  const sidePath = rowGroupsPath(temp);
  let fd: number;
  let sideFd: number;
  let kept: GroupLine[] = [];
  if (resume === undefined) {
    try {
      // a checkpoint of zero bytes starts afresh: the old partial file goes (a link is removed, never followed)
      if (options.resume !== undefined && options.tempPath !== undefined) {
        for (const p of [temp, sidePath]) {
          try {
            unlinkSync(p);
          } catch {}
        }
      }
      fd = openSync(temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
      sideFd = openSync(sidePath, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW, 0o600);
    } catch (cause) {
      throw outputError(`Cannot create ${temp}`, cause);
    }
  } else {
    const lines = readGroups(sidePath);
    const last = lines.findIndex((l) => l.end === resume.bytes);
    kept = last < 0 ? [] : lines.slice(0, last + 1);
    if (last < 0 || kept[last]!.rows !== resume.features) {
      throw new EtlError(
        'CHECKPOINT_INVALID',
        `The partial output ${temp} has no row group ending at byte ${resume.bytes} with ${resume.features} rows: was it written by another run?`,
      );
    }
    try {
      fd = openSync(temp, constants.O_RDWR | NOFOLLOW);
      if (fstatSync(fd).size < resume.bytes) {
        closeSync(fd);
        throw new EtlError(
          'CHECKPOINT_INVALID',
          `The partial output ${temp} is shorter than its checkpoint (${resume.bytes} bytes)`,
        );
      }
      ftruncateSync(fd, resume.bytes);
      sideFd = openSync(sidePath, constants.O_RDWR | NOFOLLOW);
      const keptText = kept.map((l) => `${toTaggedJson(l)}\n`).join('');
      ftruncateSync(sideFd, 0);
      writeSync(sideFd, keptText, 0);
    } catch (cause) {
      if (cause instanceof EtlError) throw cause;
      throw new EtlError('CHECKPOINT_INVALID', `Cannot reopen the partial output ${temp} to resume`, {
        cause,
      });
    }
  }
  const out = new FileByteWriter(fd, temp);
  const parquet = new ParquetWriter({
    writer: out,
    schema: layout.schema,
    codec,
    ...(compressors === undefined ? {} : { compressors }),
    statistics: true,
    createdBy: 'arcgis-etl',
  });
  if (resume !== undefined) {
    out.restart(resume.bytes);
    parquet.row_groups = kept.map((l) => l.group);
    parquet.num_rows = BigInt(resume.features);
  } else {
    out.flush();
  }
  const lastLine = kept.at(-1);
  return new GeoParquetWriter({
    target: options.path,
    temp,
    sidePath,
    fd,
    sideFd,
    out,
    parquet,
    columns: layout.columns,
    geometry: layout.geometry,
    geometryType,
    hasZ,
    wkid: options.wkid,
    features: resume?.features ?? 0,
    envelope: lastLine?.envelope ?? undefined,
  });
}

interface State {
  target: string;
  temp: string;
  sidePath: string;
  fd: number;
  sideFd: number;
  out: FileByteWriter;
  parquet: ParquetWriter;
  columns: ParquetColumn[];
  geometry: { column: string; bbox: string } | undefined;
  geometryType: string | undefined;
  hasZ: boolean;
  wkid: number;
  features: number;
  envelope: Envelope | undefined;
}

class GeoParquetWriter implements FeatureWriter {
  readonly format = 'parquet' as const;
  readonly tempPath: string;
  readonly #s: State;
  readonly #life = new WriterLifecycle();
  #closed = false;

  constructor(state: State) {
    this.#s = state;
    this.tempPath = state.temp;
  }

  get bytesWritten(): number {
    return this.#s.out.offset;
  }

  get featuresWritten(): number {
    return this.#s.features;
  }

  writePage(features: readonly GeoJSONFeature[]): Promise<void>;
  writePage<T>(features: readonly T[], convert: (feature: T) => GeoJSONFeature): Promise<void>;
  writePage(features: readonly unknown[], convert?: (feature: unknown) => GeoJSONFeature): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('write a page');
      if (features.length === 0) return;
      const s = this.#s;
      const n = features.length;
      const data: unknown[][] = s.columns.map(() => new Array<unknown>(n));
      const geometries = new Array<Uint8Array | null>(n);
      const boxes = new Array<Record<string, number> | null>(n);
      let envelope = s.envelope;
      for (let i = 0; i < n; i++) {
        // an error thrown by `convert` goes out as it is: nothing of the page was written
        const feature = convert === undefined ? (features[i] as GeoJSONFeature) : convert(features[i]);
        for (let c = 0; c < s.columns.length; c++) {
          const column = s.columns[c]!;
          try {
            data[c]![i] = columnValue(column.kind, feature.properties[column.name]);
          } catch (cause) {
            throw new EtlError(
              'OUTPUT_ERROR',
              `Cannot write the value of ${column.name} as ${column.kind} in GeoParquet`,
              { cause },
            );
          }
        }
        if (s.geometry === undefined) continue;
        const geometry = feature.geometry;
        if (geometry === null) {
          geometries[i] = null;
          boxes[i] = null;
          continue;
        }
        const encoded = toWkb(promoted(geometry), s.hasZ);
        geometries[i] = encoded.wkb;
        const e = encoded.envelope;
        if (e === undefined) {
          boxes[i] = null;
          continue;
        }
        boxes[i] = { xmin: e.minX, ymin: e.minY, xmax: e.maxX, ymax: e.maxY };
        envelope =
          envelope === undefined
            ? { ...e }
            : {
                minX: Math.min(envelope.minX, e.minX),
                minY: Math.min(envelope.minY, e.minY),
                maxX: Math.max(envelope.maxX, e.maxX),
                maxY: Math.max(envelope.maxY, e.maxY),
              };
      }
      const columnData = s.columns.map((c, i) => ({ name: c.name, data: data[i]!, offsetIndex: false }));
      if (s.geometry !== undefined) {
        columnData.push(
          { name: s.geometry.column, data: geometries, offsetIndex: false, statistics: false } as never,
          { name: s.geometry.bbox, data: boxes, offsetIndex: false },
        );
      }
      try {
        await s.parquet.write({ columnData: columnData as never, rowGroupSize: n });
        const group = s.parquet.row_groups.at(-1)!;
        const line: GroupLine = {
          end: s.out.offset,
          rows: s.features + n,
          envelope: envelope ?? null,
          group,
        };
        writeSync(s.sideFd, `${toTaggedJson(line)}\n`);
      } catch (cause) {
        this.#life.state = 'failed';
        throw outputError(`Cannot write ${s.temp}`, cause);
      }
      s.features += n;
      s.envelope = envelope;
    });
  }

  finish(): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('finish');
      const s = this.#s;
      try {
        if (s.geometry !== undefined && s.geometryType !== undefined) {
          const geo = geoMetadata({
            column: s.geometry.column,
            bboxColumn: s.geometry.bbox,
            geometryType: s.geometryType,
            wkid: s.wkid,
            envelope: s.envelope,
          });
          s.parquet.kvMetadata = [{ key: 'geo', value: JSON.stringify(geo) }];
        }
        await s.parquet.finish();
        ftruncateSync(s.fd, s.out.offset);
        fchmodSync(s.fd, 0o666 & ~process.umask());
        fsyncSync(s.fd);
        this.#close();
        await rename(s.temp, s.target);
      } catch (cause) {
        this.#life.state = 'failed';
        throw outputError(`Cannot publish ${s.target}`, cause);
      }
      this.#life.state = 'finished';
      await unlink(s.sidePath).catch(() => {});
      await syncDirectory(dirname(s.target));
    });
  }

  async abort(options: { keep?: boolean } = {}): Promise<void> {
    if (!(await this.#life.startAbort())) return;
    this.#close();
    if (options.keep !== true) {
      await unlink(this.#s.temp).catch(() => {});
      await unlink(this.#s.sidePath).catch(() => {});
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.#s.fd);
    } catch {}
    try {
      closeSync(this.#s.sideFd);
    } catch {}
  }
}
