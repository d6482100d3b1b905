/**
 * An emulated layer: columnar data + metadata + the query engine, behind `EmulatedLayer`.
 */
import type { EsriGeometryType, LayerMetadata, SpatialReference } from '../../core/protocol.js';
import type {
  EmulatedLayer,
  EmulatedLayerType,
  LayerCapabilities,
  LayerSpec,
  PbfQuirk,
  QueryAnswer,
  QueryFaults,
  QueryParams,
} from '../types.js';
import { AnswerCache } from './answer-cache.js';
import { FieldSet } from './fields.js';
import { buildMetadata } from './metadata.js';
import { type QueryContext, runQuery } from './query.js';
import { Selector } from './select.js';
import { FeatureWriter } from './serialize-features.js';
import { esriGeometryObject } from './serialize-geometry.js';
import { PbfWriter } from './serialize-pbf.js';
import { type GeometryKind, type LayerData, layerExtent, rowOf } from './store.js';

const GEOMETRY_TYPES: Record<GeometryKind, EsriGeometryType> = {
  point: 'esriGeometryPoint',
  multipoint: 'esriGeometryMultipoint',
  polyline: 'esriGeometryPolyline',
  polygon: 'esriGeometryPolygon',
};

export interface LayerOptions {
  service: string;
  id: number;
  name: string;
  maxRecordCount: number;
  capabilities: Required<LayerCapabilities>;
  /** How the f=pbf answers lie (LayerSpec.pbfQuirk); absent: they do not. */
  pbfQuirk?: PbfQuirk | undefined;
  /** How the service lists it (default `Feature Layer`); a `Table` has no geometry. */
  type?: EmulatedLayerType | undefined;
  domains?: LayerSpec['domains'] | undefined;
  subtypes?: LayerSpec['subtypes'] | undefined;
  dateFieldsTimeReference?: LayerSpec['dateFieldsTimeReference'] | undefined;
  datesInUnknownTimezone?: boolean | undefined;
  spatialReference?: SpatialReference | undefined;
}

export class DataLayer implements EmulatedLayer {
  readonly service: string;
  readonly id: number;
  readonly name: string;
  readonly geometryType: EsriGeometryType;
  readonly objectIdField: string;
  readonly count: number;
  readonly #ctx: QueryContext;
  #metadata: (LayerMetadata & Record<string, unknown>) | undefined;
  #oidList: readonly number[] | undefined;

  constructor(
    readonly data: LayerData,
    readonly options: LayerOptions,
  ) {
    this.service = options.service;
    this.id = options.id;
    this.name = options.name;
    this.geometryType = GEOMETRY_TYPES[data.geometry.kind];
    this.objectIdField = data.oidField;
    this.count = data.oids.length;
    const fields = new FieldSet(data);
    this.#ctx = {
      fields,
      selector: new Selector(data, fields),
      writer: new FeatureWriter(data, fields, this.geometryType),
      pbf: new PbfWriter(data, fields, this.geometryType, options.pbfQuirk),
      maxRecordCount: options.maxRecordCount,
      capabilities: options.capabilities,
      cache: new AnswerCache(),
    };
  }

  metadata(): LayerMetadata & Record<string, unknown> {
    this.#metadata ??= buildMetadata({
      id: this.id,
      name: this.name,
      geometryType: this.geometryType,
      hasZ: this.data.geometry.hasZ,
      hasM: this.data.geometry.hasM,
      objectIdField: this.objectIdField,
      displayField: this.data.displayField,
      fields: this.#ctx.fields.all.map((f) => f.field),
      extent: layerExtent(this.data.geometry),
      maxRecordCount: this.options.maxRecordCount,
      capabilities: this.options.capabilities,
    });
    if (this.options.domains || this.options.subtypes) withDomains(this.#metadata, this.options);
    if (this.options.dateFieldsTimeReference !== undefined) {
      this.#metadata.dateFieldsTimeReference = { ...this.options.dateFieldsTimeReference };
    }
    if (this.options.datesInUnknownTimezone !== undefined) {
      this.#metadata.datesInUnknownTimezone = this.options.datesInUnknownTimezone;
    }
    const sr = this.options.spatialReference;
    if (sr !== undefined) {
      this.#metadata.sourceSpatialReference = { ...sr };
      if (this.#metadata.extent) this.#metadata.extent.spatialReference = { ...sr };
    }
    const type = this.options.type ?? 'Feature Layer';
    if (type !== 'Feature Layer' && this.#metadata.type === 'Feature Layer') {
      this.#metadata.type = type;
      if (type === 'Table') tableMetadata(this.#metadata);
    }
    // a copy, so that callers cannot change what later requests see
    return structuredClone(this.#metadata);
  }

  /** How the service lists the layer. */
  get layerType(): EmulatedLayerType {
    return this.options.type ?? 'Feature Layer';
  }

  query(params: QueryParams, faults?: QueryFaults): QueryAnswer {
    // a table has no geometry to return (nor to filter on)
    if (this.options.type === 'Table')
      return runQuery(this.#ctx, { ...params, returnGeometry: 'false' }, faults);
    return runQuery(this.#ctx, params, faults);
  }

  objectIds(): readonly number[] {
    this.#oidList ??= Object.freeze(Array.from(this.data.oids));
    return this.#oidList;
  }

  feature(oid: number): { attributes: Record<string, unknown>; geometry: unknown } | undefined {
    const row = rowOf(this.data.oids, oid);
    if (row < 0) return undefined;
    const attributes: Record<string, unknown> = {};
    for (const f of this.#ctx.fields.all) attributes[f.name] = f.get(row);
    return { attributes, geometry: esriGeometryObject(this.data.geometry, row) };
  }
}

/** A table's metadata: no geometry type, extent, geometry field or drawing. */
function tableMetadata(meta: Record<string, unknown>): void {
  for (const key of ['geometryType', 'extent', 'geometryField', 'drawingInfo', 'sourceSpatialReference']) {
    delete meta[key];
  }
  meta.fields = (meta.fields as { type: string }[]).filter((f) => f.type !== 'esriFieldTypeGeometry');
}

const coded = (name: string, values: readonly { code: number | string; name: string }[]) => ({
  type: 'codedValue',
  name,
  codedValues: values.map((v) => ({ name: v.name, code: v.code })),
});

/** Coded-value domains in `fields[].domain`, subtypes in `typeIdField` + `types[]` (once). */
function withDomains(meta: Record<string, unknown>, options: LayerOptions): void {
  if (meta.__domains === true) return;
  Object.defineProperty(meta, '__domains', { value: true, enumerable: false });
  const domains = options.domains ?? {};
  for (const f of meta.fields as { name: string; domain: unknown }[]) {
    const values = domains[f.name];
    if (values) f.domain = coded(`${f.name}Domain`, values);
  }
  const subtypes = options.subtypes;
  if (!subtypes) return;
  meta.typeIdField = subtypes.field;
  meta.types = subtypes.types.map((t) => ({
    id: t.id,
    name: t.name,
    domains: Object.fromEntries(
      Object.entries(t.domains).map(([field, d]) => [
        field,
        d === 'inherited' ? { type: 'inherited' } : coded(`${field}_${t.id}`, d),
      ]),
    ),
    templates: [],
  }));
}
