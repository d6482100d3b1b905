/** The GeoParquet 1.1.0 metadata JSON schema (vendored, with the PROJJSON schema it refers to). */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const dir = new URL('../fixtures/geoparquet/', import.meta.url);
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Record<string, unknown>;

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(read('projjson-0.7.schema.json'));
const validate = ajv.compile(read('schema-1.1.0.json'));

/** The schema errors of a `geo` metadata object (empty when it is valid). */
export function geoSchemaErrors(geo: unknown): string[] {
  if (validate(geo)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}
