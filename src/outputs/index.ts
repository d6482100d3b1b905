/**
 * The writers of src/outputs/, as `createWriter` calls them (see features/writers/writer.ts).
 */
import { EtlError } from '../core/errors.js';
import type { CreateWriterOptions, FeatureWriter } from '../features/writers/types.js';
import { createGpkgWriter } from './gpkg/writer.js';
import { compressorsFor } from './parquet/compression.js';
import { createParquetWriter } from './parquet/writer.js';

function fileOnly(options: CreateWriterOptions): void {
  if (options.path === '-') {
    throw new EtlError('USAGE', `${options.format} cannot be written to standard output: give a file name`);
  }
}

export async function createParquetOutput(options: CreateWriterOptions): Promise<FeatureWriter> {
  fileOnly(options);
  const compression = options.parquet?.compression ?? 'snappy';
  return createParquetWriter({
    path: options.path,
    schema: options.schema,
    wkid: options.parquet?.wkid ?? options.outSR ?? 4326,
    compression,
    compressors: await compressorsFor(compression),
    resume: options.resume,
    tempPath: options.tempPath,
  });
}

export async function createGpkgOutput(options: CreateWriterOptions): Promise<FeatureWriter> {
  fileOnly(options);
  return createGpkgWriter({
    path: options.path,
    schema: options.schema,
    wkid: options.gpkg?.wkid ?? options.outSR ?? 4326,
    layerName: options.gpkg?.layerName,
    appendLayer: options.gpkg?.appendLayer === true,
    resume: options.resume,
    tempPath: options.tempPath,
  });
}
