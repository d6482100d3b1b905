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
    let batch: string[] = [];
    let first = true;
    for (const oid of selection.oids) {
      const f = selection.layer.feature(oid);
      if (!f) continue;
      batch.push(JSON.stringify({ attributes: f.attributes, geometry: f.geometry ?? null }));
      if (batch.length >= 5000) {
        chunks.push(Buffer.from((first ? '' : ',') + batch.join(',')));
        first = false;
        batch = [];
      }
    }
    if (batch.length > 0) chunks.push(Buffer.from((first ? '' : ',') + batch.join(',')));
    chunks.push(Buffer.from('],"attachments":[]}'));
  });
  chunks.push(Buffer.from(']}'));
  return Buffer.concat(chunks);
}

/** One GeoJSON FeatureCollection of a layer (the layer's own f=geojson answers, in OID order). */
export function layerGeoJson(selection: LayerSelection): Buffer {
  const { layer, oids } = selection;
  const pageSize = Math.max(1, Number(layer.metadata().maxRecordCount ?? 1000));
  const parts: string[] = [];
  for (let at = 0; at < oids.length; at += pageSize) {
    const ids = oids.slice(at, at + pageSize).join(',');
    const answer = layer.query({ where: '1=1', objectIds: ids, outFields: '*', f: 'geojson' });
    const page = JSON.parse(text(answer.body)) as { features?: unknown[] };
    for (const feature of page.features ?? []) parts.push(JSON.stringify(feature));
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
