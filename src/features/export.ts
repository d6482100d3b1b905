/**
 * exportLayer: layer metadata → strategy → guarded pages → GeoJSON conversion → writer, with
 * checkpoints for resume. On any error the writer is aborted (the target file is never left
 * half-written; the partial file is kept only when resume is on) and the error is rethrown.
 */
import type { Writable } from 'node:stream';
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError, isEtlError } from '../core/errors.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import type { ConcurrencyStats } from '../http/concurrency.js';
import {
  type Checkpoint,
  checkpointMismatch,
  checkpointPath,
  deleteCheckpoint,
  type ExportIdentity,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { concurrencyStats } from './concurrency.js';
import { Extraction, resolveOutFields, STRATEGIES, type StrategyChoice } from './extract.js';
import { createFeatureConverter, type FeatureSchema } from './geometry/feature.js';
import { fetchLayerInfo, type LayerInfo } from './metadata.js';
import { QUERY_FORMATS, type QueryFormat } from './query.js';
import type { StrategyName } from './strategies/types.js';
import type { FeatureWriter, WriterCheckpoint, WriterFormat } from './writers/types.js';
import { createWriter, WRITER_FORMATS } from './writers/writer.js';

export interface ExportProgress {
  /** Features in the output so far (a resumed run counts the ones already there). */
  features: number;
  /** Pages written by this run. */
  pages: number;
  /** Features the output will hold (returnCountOnly). */
  total: number;
  elapsedMs: number;
}

export interface ExportOptions {
  client: ArcGISClient;
  layerUrl: string;
  /** A file path, or `-` for stdout. */
  output: string;
  format: WriterFormat;
  where?: string | undefined;
  fields?: string[] | undefined;
  /** Output spatial reference wkid (default 4326, as GeoJSON wants). */
  outSR?: number | undefined;
  strategy?: StrategyChoice | undefined;
  /** Pins the pages fetched at once (default: adaptive, per host). */
  concurrency?: number | undefined;
  /** Upper bound of the adaptive concurrency (default 16). */
  maxConcurrency?: number | undefined;
  pageSize?: number | undefined;
  /** Write checkpoints, keep the partial output on failure, and continue from a matching checkpoint. */
  resume?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: ExportProgress) => void) | undefined;
  runtime?: Partial<Runtime> | undefined;
  /** For `output: '-'`: the stream (default process.stdout). */
  stream?: Writable | undefined;
  /** Alias of `stream`. */
  stdout?: Writable | undefined;
  /** Extra attempts for a page failing with 500 before it is split (default 2). */
  pageRetries?: number | undefined;
  /** Wire format of feature queries (default `auto`: pbf when a 2D layer lists it, else json). */
  queryFormat?: QueryFormat | undefined;
}

export interface ExportStats {
  features: number;
  pages: number;
  requests: number;
  retries: number;
  tokensGenerated: number;
  tokenRefreshes: number;
  strategy: StrategyName | undefined;
  elapsedMs: number;
  /** Whether the run continued from a checkpoint. */
  resumed: boolean;
  /** Features dropped as duplicates by the guards (extra rows, repeated OIDs). */
  duplicatesDropped: number;
  /** The wire format of the last feature queries (`json` or `pbf`; undefined when none ran). */
  queryFormat: 'json' | 'pbf' | undefined;
  /** Concurrency over time and the throttling seen, for the layer's host (shared with other runs on it). */
  concurrency: ConcurrencyStats | undefined;
}

export async function exportLayer(options: ExportOptions): Promise<ExportStats> {
  const runtime = resolveRuntime(options.runtime);
  const startedAt = runtime.clock.now();
  const { client, signal } = options;
  const toStdout = options.output === '-';
  const resume = options.resume === true;
  validate(options, toStdout);

  const before = { ...client.stats };
  const auth = client.auth;
  const authBefore = auth ? { ...auth.stats } : undefined;

  const layer = await fetchLayerInfo(client, options.layerUrl, { signal });
  const outFields = resolveOutFields(layer, options.fields);
  const identity: ExportIdentity = {
    layerUrl: layer.url,
    where: options.where?.trim() || '1=1',
    fields: outFields === '*' ? ['*'] : outFields.split(','),
    format: options.format,
    outSR: String(options.outSR ?? 4326),
  };
  const cpPath = checkpointPath(options.output);
  const checkpoint = resume ? await usableCheckpoint(cpPath, identity) : undefined;

  const schema = schemaFor(layer, options.fields);
  const convert = createFeatureConverter(schema);
  const writerResume: WriterCheckpoint | undefined = checkpoint
    ? { bytes: checkpoint.bytes, features: checkpoint.features }
    : undefined;
  const writer: FeatureWriter = await createWriter({
    format: options.format,
    path: options.output,
    schema,
    resume: writerResume,
    ...(options.stream || options.stdout ? { stream: (options.stream ?? options.stdout)! } : {}),
  });

  const extraction = new Extraction({
    client,
    layer,
    where: options.where,
    fields: options.fields,
    outSR: options.outSR ?? 4326,
    strategy: options.strategy,
    concurrency: options.concurrency,
    maxConcurrency: options.maxConcurrency,
    pageSize: options.pageSize,
    after: checkpoint?.lastOid ?? undefined,
    pageRetries: options.pageRetries,
    queryFormat: options.queryFormat,
    requireOrdered: resume,
    signal,
    emit: (event) => client.emit(event),
  });
  const resumedFeatures = checkpoint?.features ?? 0;
  let lastOid = checkpoint?.lastOid ?? null;
  let lastCheckpoint: Checkpoint | undefined = checkpoint;
  let publishing = false;
  try {
    for await (const page of extraction.pages()) {
      // converted feature by feature while the page is encoded: no converted page is held
      await writer.writePage(page.features, convert);
      if (page.ordered && page.oids.length > 0) lastOid = page.oids[page.oids.length - 1]!;
      if (resume && page.ordered) {
        const next: Checkpoint = {
          version: 1,
          ...identity,
          strategy: page.strategy,
          bytes: writer.bytesWritten,
          features: writer.featuresWritten,
          lastOid,
        };
        await writeCheckpoint(cpPath, next);
        lastCheckpoint = next;
      }
      options.onProgress?.({
        features: writer.featuresWritten,
        pages: page.page,
        total: resumedFeatures + extraction.summary.expected,
        elapsedMs: runtime.clock.now() - startedAt,
      });
    }
    // The checkpoint goes before the target is published: a run killed between the two then
    // leaves a complete partial file without checkpoint (the next run starts over), never a
    // checkpoint whose partial file was already renamed away (which no resume could use).
    publishing = true;
    if (resume) await deleteCheckpoint(cpPath);
    await writer.finish();
  } catch (error) {
    await writer.abort({ keep: resume && !toStdout }).catch(() => {});
    // publishing failed (the partial file is kept): put the checkpoint back for the next try
    if (publishing && resume && lastCheckpoint) await writeCheckpoint(cpPath, lastCheckpoint).catch(() => {});
    throw abortedOr(error, signal);
  }

  const after = client.stats;
  return {
    features: writer.featuresWritten,
    pages: extraction.summary.pages,
    requests: after.requests - before.requests,
    retries: after.retries - before.retries,
    tokensGenerated: auth && authBefore ? auth.stats.generated - authBefore.generated : 0,
    tokenRefreshes: auth && authBefore ? auth.stats.refreshed - authBefore.refreshed : 0,
    strategy: extraction.summary.strategy,
    elapsedMs: runtime.clock.now() - startedAt,
    resumed: checkpoint !== undefined,
    duplicatesDropped: extraction.summary.duplicatesDropped,
    queryFormat: extraction.summary.queryFormat,
    concurrency: concurrencyStats(client, layer.url),
  };
}

function validate(options: ExportOptions, toStdout: boolean): void {
  if (!WRITER_FORMATS.includes(options.format)) {
    throw new EtlError(
      'USAGE',
      `Unknown format ${String(options.format)} (use ${WRITER_FORMATS.join(', ')})`,
    );
  }
  if (options.strategy !== undefined && options.strategy !== 'auto' && !(options.strategy in STRATEGIES)) {
    throw new EtlError(
      'USAGE',
      `Unknown strategy ${String(options.strategy)} (use auto, ${Object.keys(STRATEGIES).join(', ')})`,
    );
  }
  if (options.queryFormat !== undefined && !QUERY_FORMATS.includes(options.queryFormat)) {
    throw new EtlError(
      'USAGE',
      `Unknown query format ${String(options.queryFormat)} (use ${QUERY_FORMATS.join(', ')})`,
    );
  }
  if (options.resume && toStdout) throw new EtlError('USAGE', 'Cannot resume an export written to stdout');
  if (options.resume && options.strategy === 'envelope') {
    throw new EtlError('USAGE', 'The envelope strategy cannot be resumed (its output is not in OID order)');
  }
  if (options.concurrency !== undefined && !(options.concurrency >= 1)) {
    throw new EtlError('USAGE', `concurrency must be at least 1, got ${options.concurrency}`);
  }
  if (options.maxConcurrency !== undefined && !(options.maxConcurrency >= 1)) {
    throw new EtlError('USAGE', `maxConcurrency must be at least 1, got ${options.maxConcurrency}`);
  }
  if (options.pageSize !== undefined && !(options.pageSize >= 1)) {
    throw new EtlError('USAGE', `pageSize must be at least 1, got ${options.pageSize}`);
  }
}

async function usableCheckpoint(path: string, identity: ExportIdentity): Promise<Checkpoint | undefined> {
  const checkpoint = await readCheckpoint(path);
  if (!checkpoint) return undefined;
  const mismatch = checkpointMismatch(checkpoint, identity);
  if (mismatch) {
    throw new EtlError(
      'CHECKPOINT_INVALID',
      `The checkpoint ${path} belongs to another export (${mismatch}); delete it and its .partial file, or run without resume`,
    );
  }
  return checkpoint;
}

/** The converter/writer schema: the layer's fields, restricted to the requested ones. */
function schemaFor(layer: LayerInfo, fields: readonly string[] | undefined): FeatureSchema {
  const selected = resolveOutFields(layer, fields);
  const wanted = selected === '*' ? undefined : new Set((fields ?? []).map((f) => f.trim().toLowerCase()));
  return {
    oidField: layer.oidField,
    fields: wanted ? layer.fields.filter((f) => wanted.has(f.name.toLowerCase())) : layer.fields,
    geometryType: layer.geometryType,
    hasZ: layer.hasZ,
    hasM: layer.hasM,
  };
}

function abortedOr(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && !isEtlError(error, 'ABORTED')) {
    return new EtlError('ABORTED', 'The export was aborted', { cause: error });
  }
  return error;
}
