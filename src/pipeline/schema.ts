/**
 * The pipeline file's JSON Schema (published as `arcgis-etl/pipeline.schema.json`) and its
 * validator: ajv, compiled once.
 */
import { existsSync, readFileSync } from 'node:fs';
import type * as Ajv from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { requireOnUse } from '../core/lazy-require.js';

let validator: ValidateFunction | undefined;
let schema: Record<string, unknown> | undefined;

/**
 * The schema: beside this module (tsc copies it into dist/), else (in the bundled CLI, a file of
 * its own) the package's published copy.
 */
export function pipelineSchema(): Record<string, unknown> {
  if (schema === undefined) {
    const beside = new URL('./pipeline.schema.json', import.meta.url);
    const path = existsSync(beside) ? beside : requireOnUse.resolve('arcgis-etl/pipeline.schema.json');
    schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  }
  return schema;
}

/** The option names `export` takes in a pipeline (the keys of `$defs.options`). */
export function pipelineOptionNames(): string[] {
  const defs = pipelineSchema().$defs as Record<string, { properties: Record<string, unknown> }>;
  return Object.keys(defs.options?.properties ?? {});
}

export function validatePipelineData(data: unknown): ErrorObject[] {
  validator ??= new (requireOnUse('ajv/dist/2020.js') as typeof Ajv).Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
  }).compile(pipelineSchema());
  return validator(data) ? [] : [...(validator.errors ?? [])];
}
