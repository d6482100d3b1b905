// The `shapefile` package ships no types: the part we use.
declare module 'shapefile' {
  interface ShapefileFeature {
    type: 'Feature';
    properties: Record<string, unknown>;
    geometry: { type: string; coordinates: unknown } | null;
  }
  interface ShapefileSource {
    read(): Promise<{ done: false; value: ShapefileFeature } | { done: true; value: undefined }>;
    cancel(): Promise<void>;
  }
  export function open(
    shp: string | Uint8Array | ArrayBuffer,
    dbf?: string | Uint8Array | ArrayBuffer,
    options?: { encoding?: string },
  ): Promise<ShapefileSource>;
}
