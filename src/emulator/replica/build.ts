/**
 * The files an export job hands out, built from the emulated layers: replica JSON (createReplica
 * dataFormat=json), GeoJSON and shapefile zips (one `.geojson` / one shapefile per layer).
 */
import type { EmulatedLayer } from '../types.js';
import { EmulatorQueryError } from '../types.js';
import { type EsriFeatureJson, writeShapefile } from './shapefile.js';
import { type ZipEntry, zipFiles } from './zip.js';

/** A layer of a job and the OIDs its where clause selected, ascending. */
export interface LayerSelection {
  layer: EmulatedLayer;
  oids: readonly number[];
  /** The where clause that selected them. */
  where?: string | undefined;
}

export type ExportFileFormat = 'json' | 'geojson' | 'shapefile';

/** The OIDs a where clause selects (throws EmulatorQueryError for an invalid one). */
export function selectOids(layer: EmulatedLayer, where: string | undefined): readonly number[] {
  const clause = where?.trim() ?? '';
  if (clause === '' || clause === '1=1') return layer.objectIds();
  const answer = layer.query({ where: clause, returnIdsOnly: 'true', f: 'json' });
  const parsed = JSON.parse(text(answer.body)) as { objectIds?: number[] | null; error?: unknown };
  if (parsed.error)
    throw new EmulatorQueryError(400, 'Unable to complete operation.', ['Invalid where clause.']);
  return [...(parsed.objectIds ?? [])].sort((a, b) => a - b);
}

/** A file-system-safe name for a layer's files inside an archive. */
export function layerFileName(layer: EmulatedLayer): string {
  const name = String(layer.metadata().name ?? `layer${layer.id}`);
  return name.replace(/[^A-Za-z0-9_-]+/g, '_') || `layer${layer.id}`;
}

function esriFeatures(selection: LayerSelection): EsriFeatureJson[] {
  const out: EsriFeatureJson[] = [];
  for (const oid of selection.oids) {
    const f = selection.layer.feature(oid);
    if (f) out.push({ attributes: f.attributes, geometry: f.geometry ?? null });
  }
  return out;
}

/** Replica JSON: `{replicaName, replicaID, layers: [{id, features, attachments}]}`, as bytes. */
export function replicaJson(head: Record<string, unknown>, selections: readonly LayerSelection[]): Buffer {
  const chunks: Buffer[] = [];
  const headText = JSON.stringify(head);
  chunks.push(Buffer.from(`${headText.slice(0, -1)}${headText.length > 2 ? ',' : ''}"layers":[`));
  selections.forEach((selection, i) => {
    chunks.push(Buffer.from(`${i > 0 ? ',' : ''}{"id":${selection.layer.id},"features":[`));
    // the layer's own f=json pages in OID order (its fast serializer), their feature arrays spliced
    const pages = featurePages(selection);
    pages.forEach((features, i) => {
      chunks.push(Buffer.from((i > 0 ? ',' : '') + features));
    });
    chunks.push(Buffer.from('],"attachments":[]}'));
  });
  chunks.push(Buffer.from(']}'));
  return Buffer.concat(chunks);
}

/** The `features` array text of each f=json page of a selection, in OID order. */
function featurePages(selection: LayerSelection): string[] {
  const { layer } = selection;
  const meta = layer.metadata();
  const pageSize = Math.max(1, Number(meta.maxRecordCount ?? 1000));
  const pages: string[] = [];
  const where = selection.where?.trim() || '1=1';
  try {
    for (let offset = 0; offset < selection.oids.length; offset += pageSize) {
      const body = text(
        layer.query({
          where,
          outFields: '*',
          outSR: '4326',
          orderByFields: layer.objectIdField,
          resultOffset: String(offset),
          resultRecordCount: String(pageSize),
          f: 'json',
        }).body,
      );
      const start = body.indexOf('"features":[');
      const end = body.lastIndexOf(']');
      if (start < 0 || end < start) throw new Error('unexpected f=json answer');
      const features = body.slice(start + '"features":['.length, end);
      if (features.length > 0) pages.push(features);
    }
    return pages;
  } catch (error) {
    if (!(error instanceof EmulatorQueryError)) throw error;
    // a layer without pagination: feature by feature
    return [
      esriFeatures(selection)
        .map((f) => JSON.stringify(f))
        .join(','),
    ];
  }
}

/** One GeoJSON FeatureCollection of a layer (the layer's own f=geojson answers, in OID order). */
export function layerGeoJson(selection: LayerSelection): Buffer {
  const { layer, oids } = selection;
  const pageSize = Math.max(1, Number(layer.metadata().maxRecordCount ?? 1000));
  const parts: string[] = [];
  for (let at = 0; at < oids.length; at += pageSize) {
    const ids = oids.slice(at, at + pageSize).join(',');
    const answer = layer.query({ where: '1=1', objectIds: ids, outFields: '*', f: 'geojson' });
    // the answer's feature texts spliced as they are (BigInteger digits beyond 2^53 unchanged)
    const body = text(answer.body);
    const start = body.indexOf('"features":[');
    const end = body.lastIndexOf(']');
    if (start < 0 || end < start) throw new Error('unexpected f=geojson answer');
    const features = body.slice(start + '"features":['.length, end);
    if (features.length > 0) parts.push(features);
  }
  return Buffer.from(`{"type":"FeatureCollection","features":[${parts.join(',')}]}`);
}

export function geojsonZip(selections: readonly LayerSelection[]): Buffer {
  return zipFiles(
    selections.map((s) => ({ name: `${layerFileName(s.layer)}.geojson`, data: layerGeoJson(s) })),
  );
}

export function shapefileZip(selections: readonly LayerSelection[]): Buffer {
  const entries: ZipEntry[] = [];
  for (const s of selections) {
    const base = layerFileName(s.layer);
    const meta = s.layer.metadata();
    const parts = writeShapefile(meta.fields ?? [], s.layer.geometryType, esriFeatures(s));
    entries.push(
      { name: `${base}.shp`, data: parts.shp },
      { name: `${base}.shx`, data: parts.shx },
      { name: `${base}.dbf`, data: parts.dbf },
      { name: `${base}.prj`, data: parts.prj },
      { name: `${base}.cpg`, data: parts.cpg },
    );
  }
  return zipFiles(entries);
}

function text(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}
