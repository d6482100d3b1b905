/**
 * `createWriter`: an encoder (the format) on a sink (a temp file or a stream). Pages are written
 * one string, one write call each, in the order `writePage` was called. After each page,
 * `bytesWritten` / `featuresWritten` form a checkpoint that `resume` accepts.
 */
import { Buffer } from 'node:buffer';
import { unlink } from 'node:fs/promises';
import { EtlError } from '../../core/errors.js';
import { WriterLifecycle } from '../../outputs/common/writer-lifecycle.js';
import type { GeoJSONFeature } from '../geometry/types.js';
import { createCsvEncoder } from './csv-encoder.js';
import type { FeatureEncoder } from './encoder.js';
import { openFileSink, randomTempPath } from './file-sink.js';
import { WRITER_FORMATS } from './formats.js';
import { geojsonEncoder } from './geojson-encoder.js';
import { geojsonSeqEncoder } from './geojsonseq-encoder.js';
import type { OutputSink } from './sink.js';
import { streamSink } from './stream-sink.js';
import type {
  CreateWriterOptions,
  FeatureWriter,
  WriterCheckpoint,
  WriterFormat,
  WriterSchema,
} from './types.js';
import { Utf8Builder } from './utf8-builder.js';

export { WRITER_FORMATS };

export function createEncoder(
  format: WriterFormat,
  schema: WriterSchema,
  csvGeometry: 'wkt' | 'xy' = 'wkt',
  csvExcelSafe = false,
  csvAliases = false,
): FeatureEncoder {
  switch (format) {
    case 'geojson':
      return geojsonEncoder;
    case 'geojsonseq':
      return geojsonSeqEncoder;
    case 'csv':
      return createCsvEncoder(schema, csvGeometry, csvExcelSafe, csvAliases);
    case 'gpkg':
    case 'parquet':
      throw new EtlError('USAGE', `${format} is a binary format: it has no text encoder (use createWriter)`);
    default:
      throw new EtlError(
        'USAGE',
        `Unknown output format ${String(format)} (use ${WRITER_FORMATS.join(', ')})`,
      );
  }
}

/**
 * Formats with a writer of their own (src/outputs/<format>/); the others are text encoders below.
 * Each is loaded when its format is written: a text export does not pay the start-up of SQLite,
 * Parquet, FlatGeobuf, shapefile and PostgreSQL modules.
 */
const OUTPUT_WRITERS: Partial<
  Record<WriterFormat, (options: CreateWriterOptions) => Promise<FeatureWriter>>
> = {
  shapefile: async (options) =>
    (await import('../../outputs/shapefile/writer.js')).createShapefileWriter(options),
  flatgeobuf: async (options) =>
    (await import('../../outputs/fgb/writer.js')).createFlatGeobufWriter(options),
  gpkg: async (options) => (await import('../../outputs/index.js')).createGpkgOutput(options),
  parquet: async (options) => (await import('../../outputs/index.js')).createParquetOutput(options),
  postgis: async (options) =>
    (await import('../../outputs/postgis/writer.js')).createPostgisWriter({
      output: options.path,
      schema: options.schema,
      postgis: options.postgis,
      resume: options.resume,
      tempPath: options.tempPath,
    }),
};

export async function createWriter(options: CreateWriterOptions): Promise<FeatureWriter> {
  const own = OUTPUT_WRITERS[options.format];
  if (own !== undefined) return own(options);
  const encoder = createEncoder(
    options.format,
    options.schema,
    options.csvGeometry,
    options.csvExcelSafe === true,
    options.csvAliases === true,
  );
  const header = Buffer.from(encoder.header());
  const resume = options.resume !== undefined && options.resume.bytes > 0 ? options.resume : undefined;
  if (options.path === '-') {
    if (resume !== undefined) throw new EtlError('USAGE', 'Cannot resume an export written to stdout');
    const sink = streamSink(options.stream ?? process.stdout, options.endStream === true);
    const writer = new PageWriter(options.format, encoder, sink, { bytes: 0, features: 0 }, undefined);
    await writer.start(header);
    return writer;
  }
  if (options.path === '') throw new EtlError('USAGE', 'An output path is required (or - for stdout)');
  if (resume !== undefined) {
    checkCheckpoint(resume, header.length);
    if (options.tempPath === undefined) {
      throw new EtlError('USAGE', 'Resuming needs the tempPath of the interrupted run');
    }
  }
  const temp = options.tempPath ?? randomTempPath(options.path);
  if (resume === undefined && options.resume !== undefined && options.tempPath !== undefined) {
    // a checkpoint of zero bytes starts afresh: the old partial file goes (a link is removed, never followed)
    await unlink(temp).catch(() => {});
  }
  const sink = await openFileSink({
    target: options.path,
    temp,
    resumeAt: resume?.bytes,
    verify: (lastByte) => {
      if (resume !== undefined && lastByte !== encoder.lastChar(resume.features)) {
        throw new EtlError(
          'CHECKPOINT_INVALID',
          `The partial output ${temp} does not end a page at byte ${resume.bytes}: was it written by another run?`,
        );
      }
    },
  });
  const writer = new PageWriter(options.format, encoder, sink, resume ?? { bytes: 0, features: 0 }, temp);
  if (resume === undefined) await writer.start(header);
  return writer;
}

function checkCheckpoint(resume: WriterCheckpoint, headerBytes: number): void {
  const { bytes, features } = resume;
  const valid =
    Number.isSafeInteger(bytes) &&
    Number.isSafeInteger(features) &&
    features >= 0 &&
    bytes >= headerBytes &&
    (features > 0 || bytes === headerBytes);
  if (!valid) {
    throw new EtlError(
      'CHECKPOINT_INVALID',
      `Invalid output checkpoint: ${bytes} bytes, ${features} features`,
    );
  }
}

class PageWriter implements FeatureWriter {
  readonly format: WriterFormat;
  readonly tempPath: string | undefined;
  readonly #encoder: FeatureEncoder;
  readonly #sink: OutputSink;
  #bytes: number;
  #features: number;
  readonly #life = new WriterLifecycle();
  /** Bytes per feature of the last page (sizes the next page's buffer). */
  #bytesPerFeature = 0;

  constructor(
    format: WriterFormat,
    encoder: FeatureEncoder,
    sink: OutputSink,
    at: WriterCheckpoint,
    tempPath: string | undefined,
  ) {
    this.format = format;
    this.tempPath = tempPath;
    this.#encoder = encoder;
    this.#sink = sink;
    this.#bytes = at.bytes;
    this.#features = at.features;
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  get featuresWritten(): number {
    return this.#features;
  }

  async start(header: Buffer): Promise<void> {
    if (header.length === 0) return;
    try {
      await this.#sink.write(header);
    } catch (error) {
      await this.#sink.abort(false);
      throw error;
    }
    this.#bytes += header.length;
  }

  writePage(features: readonly GeoJSONFeature[]): Promise<void>;
  writePage<T>(features: readonly T[], convert: (feature: T) => GeoJSONFeature): Promise<void>;
  writePage(features: readonly unknown[], convert?: (feature: unknown) => GeoJSONFeature): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('write a page');
      if (features.length === 0) return;
      let chunk: Buffer;
      let conversionError: { error: unknown } | undefined;
      const guarded =
        convert === undefined
          ? undefined
          : (feature: unknown) => {
              try {
                return convert(feature);
              } catch (error) {
                conversionError = { error };
                throw error;
              }
            };
      try {
        // encoded to UTF-8 feature by feature: the page is never one string
        const out = new Utf8Builder(features.length * this.#bytesPerFeature * 1.125 + 1024);
        if (guarded === undefined) {
          this.#encoder.pageInto(out, features as readonly GeoJSONFeature[], this.#features);
        } else {
          this.#encoder.pageInto(out, features, this.#features, guarded);
        }
        chunk = out.finish();
      } catch (cause) {
        // nothing was written: the writer stays usable
        if (conversionError !== undefined) throw conversionError.error;
        throw new EtlError('OUTPUT_ERROR', 'Cannot encode a page of features', { cause });
      }
      this.#bytesPerFeature = chunk.length / features.length;
      await this.#guard(() => this.#sink.write(chunk));
      this.#bytes += chunk.length;
      this.#features += features.length;
    });
  }

  finish(): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('finish');
      const footer = Buffer.from(this.#encoder.footer(this.#features));
      if (footer.length > 0) {
        await this.#guard(() => this.#sink.write(footer));
        this.#bytes += footer.length;
      }
      await this.#guard(() => this.#sink.finish());
      this.#life.state = 'finished';
    });
  }

  async abort(options: { keep?: boolean } = {}): Promise<void> {
    if (!(await this.#life.startAbort())) return;
    await this.#sink.abort(options.keep === true);
  }

  #guard(step: () => Promise<void>): Promise<void> {
    return this.#life.guard(step, (error) => new EtlError('OUTPUT_ERROR', 'Output failed', { cause: error }));
  }
}
