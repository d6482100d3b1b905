/**
 * The writers of src/outputs/, as `createWriter` calls them (see features/writers/writer.ts).
 */
import type { CreateWriterOptions, FeatureWriter } from '../features/writers/types.js';
import { createGpkgWriter } from './gpkg/writer.js';
import { createParquetWriter } from './parquet/writer.js';

export async function createParquetOutput(options: CreateWriterOptions): Promise<FeatureWriter> {
  return createParquetWriter({
    path: options.path,
    schema: options.schema,
    wkid: options.parquet?.wkid ?? 4326,
    compression: options.parquet?.compression ?? 'snappy',
    resume: options.resume,
    tempPath: options.tempPath,
  });
}

export async function createGpkgOutput(options: CreateWriterOptions): Promise<FeatureWriter> {
  return createGpkgWriter({
    path: options.path,
    schema: options.schema,
    wkid: options.gpkg?.wkid ?? 4326,
    layerName: options.gpkg?.layerName,
    appendLayer: options.gpkg?.appendLayer === true,
    resume: options.resume,
    tempPath: options.tempPath,
  });
}
