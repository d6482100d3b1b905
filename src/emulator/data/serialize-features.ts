/**
 * A page of features → Esri JSON or GeoJSON text, built with template strings. Geometry
 * fragments of small layers are cached per row on first use.
 */
import type { EsriGeometryType } from '../../core/protocol.js';
import { cellText, type FieldRef, type FieldSet } from './fields.js';
import { generalized } from './generalize.js';
import { WGS84 } from './metadata.js';
import { toWebMercator, WEB_MERCATOR_SR } from './projection.js';
import type { QueryRequest } from './query-params.js';
import { outputProjection } from './query-params.js';
import { esriGeometryText, type GeometryOutput, geojsonGeometryText } from './serialize-geometry.js';
import type { Geometries, LayerData } from './store.js';

/** The geometries a request is answered from: generalised for `maxAllowableOffset`. */
export function requestGeometries(g: Geometries, req: QueryRequest): Geometries {
  if (req.maxAllowableOffset === undefined) return g;
  return generalized(g, req.maxAllowableOffset, req.outWebMercator ? toWebMercator : undefined);
}

/** Layers up to this many rows keep their serialized geometries. */
export const GEOMETRY_CACHE_MAX_ROWS = 250_000;

export class FeatureWriter {
  readonly #esriCache: (string | undefined)[] | undefined;
  readonly #geojsonCache: (string | undefined)[] | undefined;

  constructor(
    readonly data: LayerData,
    readonly fields: FieldSet,
    readonly geometryType: EsriGeometryType,
  ) {
    const cache = data.oids.length <= GEOMETRY_CACHE_MAX_ROWS && data.geometry.kind !== 'point';
    this.#esriCache = cache ? new Array(data.oids.length) : undefined;
    this.#geojsonCache = cache ? new Array(data.oids.length) : undefined;
  }

  #esriGeometry(row: number, out: GeometryOutput, cacheable: boolean, g: Geometries): string {
    if (!cacheable || !this.#esriCache) return esriGeometryText(g, row, out);
    let text = this.#esriCache[row];
    if (text === undefined) {
      text = esriGeometryText(this.data.geometry, row, out);
      this.#esriCache[row] = text;
    }
    return text;
  }

  #geojsonGeometry(row: number, out: GeometryOutput, cacheable: boolean, g: Geometries): string {
    if (!cacheable || !this.#geojsonCache) return geojsonGeometryText(g, row, out);
    let text = this.#geojsonCache[row];
    if (text === undefined) {
      text = geojsonGeometryText(this.data.geometry, row, out);
      this.#geojsonCache[row] = text;
    }
    return text;
  }

  attributesText(row: number, outFields: readonly FieldRef[]): string {
    let s = '{';
    for (let i = 0; i < outFields.length; i++) {
      const f = outFields[i]!;
      s += (i === 0 ? '' : ',') + f.keyText + (f.text ?? cellText)(f.get(row));
    }
    return `${s}}`;
  }

  /** The Esri JSON answer of a feature query. */
  esriText(rows: ArrayLike<number>, req: QueryRequest, exceeded: boolean): string {
    const g = requestGeometries(this.data.geometry, req);
    const withZ = g.hasZ && req.returnZ;
    const withM = g.hasM && req.returnM;
    const out: GeometryOutput = {
      z: req.returnZ,
      m: req.returnM,
      project: outputProjection(req.outWebMercator ? toWebMercator : undefined, req.geometryPrecision),
    };
    const cacheable =
      req.returnZ &&
      req.returnM &&
      !req.outWebMercator &&
      req.geometryPrecision === undefined &&
      req.maxAllowableOffset === undefined;
    const oid = JSON.stringify(this.fields.oidField);
    const sr = JSON.stringify(req.outWebMercator ? WEB_MERCATOR_SR : WGS84);
    const features: string[] = new Array(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      const attrs = this.attributesText(row, req.outFields);
      features[k] = req.returnGeometry
        ? `{"attributes":${attrs},"geometry":${this.#esriGeometry(row, out, cacheable, g)}}`
        : `{"attributes":${attrs}}`;
    }
    const fields = req.outFields.map((f) => this.fields.responseField(f)).join(',');
    return (
      `{"objectIdFieldName":${oid},"uniqueIdField":{"name":${oid},"isSystemMaintained":true},` +
      `"globalIdFieldName":"","geometryType":"${this.geometryType}",` +
      (withZ ? '"hasZ":true,' : '') +
      (withM ? '"hasM":true,' : '') +
      `"spatialReference":${sr},"fields":[${fields}],"features":[${features.join(',')}]` +
      (exceeded ? ',"exceededTransferLimit":true}' : '}')
    );
  }

  /** The GeoJSON answer of a feature query (RFC 7946, WGS84). */
  geojsonText(rows: ArrayLike<number>, req: QueryRequest, exceeded: boolean): string {
    const out: GeometryOutput = { z: req.returnZ, m: false };
    const cacheable = req.returnZ && req.maxAllowableOffset === undefined;
    const g = requestGeometries(this.data.geometry, req);
    const props = req.outFields;
    const features: string[] = new Array(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      const geometry = req.returnGeometry ? this.#geojsonGeometry(row, out, cacheable, g) : 'null';
      features[k] =
        `{"type":"Feature","id":${cellText(this.data.oids[row]!)},"geometry":${geometry},` +
        `"properties":${this.attributesText(row, props)}}`;
    }
    return (
      `{"type":"FeatureCollection","features":[${features.join(',')}]` +
      (exceeded ? ',"properties":{"exceededTransferLimit":true}}' : '}')
    );
  }
}
