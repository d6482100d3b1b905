/**
 * Esri's own f=pbf decoder (`pbfToArcGIS` of @esri/arcgis-rest-feature-service ≥ 4.11), as a test
 * oracle. The package exports it only through `queryFeatures({ f: 'pbf-as-arcgis' })`, so the test
 * loads the module file next to the package's entry point.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const entry = require.resolve('@esri/arcgis-rest-feature-service');
const parser = require(join(dirname(entry), 'pbf-parser', 'arcGISPbfParser.js')) as {
  default: (buffer: ArrayBuffer) => EsriDecoded;
};

export interface EsriDecoded {
  features: { attributes: Record<string, unknown>; geometry: Record<string, unknown> | null }[];
  geometryType?: string;
  spatialReference?: Record<string, unknown>;
  hasZ?: boolean;
  hasM?: boolean;
  fields: { name: string; type: string }[];
  exceededTransferLimit?: boolean;
}

/** `pbfToArcGIS(bytes)`: what Esri's REST JS gives for a FeatureCollection buffer. */
export function esriPbfToArcGIS(bytes: Uint8Array): EsriDecoded {
  return parser.default(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
}
