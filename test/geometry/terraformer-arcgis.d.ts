// @terraformer/arcgis ships no types; only what the differential tests use.
declare module '@terraformer/arcgis' {
  export function arcgisToGeoJSON(arcgis: unknown, idAttribute?: string): unknown;
}
