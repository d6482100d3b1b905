/**
 * The emulator's data and query engine: `loadLayers` turns layer specs (generated data or
 * GeoJSON files) and a data folder into `EmulatedLayer`s the HTTP server answers from.
 */
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { EtlError } from '../../core/errors.js';
import { EditableLayer } from '../edits/editable-layer.js';
import type { EmulatedLayer, LayerCapabilities, LayerSpec } from '../types.js';
import { withExtraFields } from './extra-fields.js';
import { generateLayerData } from './generate.js';
import { geojsonToLayerData, loadGeojsonFile } from './geojson.js';
import { DataLayer } from './layer.js';
import { DEFAULT_MAX_RECORD_COUNT } from './metadata.js';
import type { LayerData } from './store.js';

export { DataLayer } from './layer.js';
export { DEFAULT_MAX_RECORD_COUNT } from './metadata.js';

export interface LoadLayersInput {
  layers?: LayerSpec[] | undefined;
  /** Every *.geojson / *.json file of this folder is a layer; service name = file name. */
  dataDir?: string | undefined;
  /** ArcGIS Server 10.0: no layer offers f=pbf unless its capabilities say so. */
  legacy?: boolean | undefined;
  /** Default share of null geometries of generated layers (see FaultOptions.nullGeometries). */
  nullGeometries?: number | undefined;
}

function capabilities(spec: LayerSpec): Required<LayerCapabilities> {
  const c = spec.capabilities ?? {};
  return {
    pagination: c.pagination !== false,
    idsOnly: c.idsOnly !== false,
    statistics: c.statistics !== false,
    geojson: c.geojson !== false,
    pbf: c.pbf !== false,
    sync: c.sync !== false,
  };
}

function validate(spec: LayerSpec): void {
  if (typeof spec.service !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$/.test(spec.service)) {
    throw new EtlError('USAGE', `Invalid service name: ${String(spec.service).slice(0, 80)}`);
  }
  if (spec.id !== undefined && (!Number.isInteger(spec.id) || spec.id < 0)) {
    throw new EtlError('USAGE', `Invalid layer id for ${spec.service}`);
  }
  if (
    spec.maxRecordCount !== undefined &&
    (!Number.isInteger(spec.maxRecordCount) || spec.maxRecordCount < 1)
  ) {
    throw new EtlError('USAGE', `Invalid maxRecordCount for ${spec.service}`);
  }
  if (spec.objectIdField !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.objectIdField)) {
    throw new EtlError('USAGE', `Invalid objectIdField for ${spec.service}`);
  }
  if ((spec.geojsonFile === undefined) === (spec.generate === undefined)) {
    throw new EtlError('USAGE', `Layer ${spec.service} needs exactly one of geojsonFile or generate`);
  }
}

/** Wraps loaded data into a layer, applying the spec's options. */
export function layerFromData(spec: LayerSpec, data: LayerData): DataLayer {
  return new DataLayer(withExtraFields(spec, data), {
    service: spec.service,
    id: spec.id ?? 0,
    name: spec.name ?? spec.service,
    maxRecordCount: spec.maxRecordCount ?? DEFAULT_MAX_RECORD_COUNT,
    capabilities: capabilities(spec),
    ...(spec.pbfQuirk === undefined ? {} : { pbfQuirk: spec.pbfQuirk }),
    ...(spec.type === undefined ? {} : { type: spec.type }),
    ...(spec.domains === undefined ? {} : { domains: spec.domains }),
    ...(spec.subtypes === undefined ? {} : { subtypes: spec.subtypes }),
    ...(spec.dateFieldsTimeReference === undefined
      ? {}
      : { dateFieldsTimeReference: spec.dateFieldsTimeReference }),
    ...(spec.datesInUnknownTimezone === undefined
      ? {}
      : { datesInUnknownTimezone: spec.datesInUnknownTimezone }),
    ...(spec.spatialReference === undefined ? {} : { spatialReference: spec.spatialReference }),
  });
}

/**
 * One layer from a spec (generated or read from a GeoJSON file). Generated layers are editable and
 * track edits unless `editing: false`, as ArcGIS Online hosted layers do; file layers when the spec
 * gives `editing`.
 */
export async function createLayer(spec: LayerSpec): Promise<EmulatedLayer> {
  validate(spec);
  const oidField = spec.objectIdField ?? 'OBJECTID';
  const data = spec.generate
    ? generateLayerData(spec.generate, oidField)
    : await loadGeojsonFile(spec.geojsonFile!, oidField);
  const layer = layerFromData(spec, data);
  const editing = spec.editing ?? (spec.generate ? {} : false);
  return editing === false ? layer : new EditableLayer(layer, editing);
}

/** A layer from an in-memory GeoJSON document (handy in tests). */
export function layerFromGeoJSON(spec: Omit<LayerSpec, 'geojsonFile' | 'generate'>, doc: unknown): DataLayer {
  const full: LayerSpec = { ...spec, generate: { count: 0, geometry: 'point' } };
  validate(full);
  return layerFromData(full, geojsonToLayerData(doc, spec.objectIdField ?? 'OBJECTID', spec.service));
}

/** The layer specs of a data folder: one per *.geojson / *.json file, sorted by name. */
export async function dataDirSpecs(dataDir: string): Promise<LayerSpec[]> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (cause) {
    throw new EtlError('USAGE', `Cannot read data folder ${dataDir}`, { cause });
  }
  return names
    .filter((n) => /\.(geo)?json$/i.test(n))
    .sort()
    .map((n) => ({ service: basename(n, extname(n)), geojsonFile: join(dataDir, n) }));
}

/** Loads every layer of `layers` and of `dataDir`. Duplicate service/id pairs are an error. */
export async function loadLayers(input: LoadLayersInput): Promise<EmulatedLayer[]> {
  let specs = [...(input.layers ?? [])];
  if (input.dataDir !== undefined) specs.push(...(await dataDirSpecs(input.dataDir)));
  // ArcGIS Server 10.0 predates f=pbf (10.7): a legacy server's layers do not offer it
  if (input.legacy)
    specs = specs.map((spec) => ({ ...spec, capabilities: { pbf: false, ...spec.capabilities } }));
  const share = input.nullGeometries;
  if (share !== undefined && share > 0) {
    specs = specs.map((spec) =>
      spec.generate && spec.generate.nullGeometries === undefined
        ? { ...spec, generate: { ...spec.generate, nullGeometries: share } }
        : spec,
    );
  }
  const seen = new Set<string>();
  for (const spec of specs) {
    validate(spec);
    const key = `${spec.service.toLowerCase()}/${spec.id ?? 0}`;
    if (seen.has(key)) throw new EtlError('USAGE', `Duplicate layer ${spec.service}/${spec.id ?? 0}`);
    seen.add(key);
  }
  const layers: EmulatedLayer[] = [];
  for (const spec of specs) layers.push(await createLayer(spec));
  return layers;
}
