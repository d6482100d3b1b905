// The part of the `shapefile` package (a Shapefile reader, test only) used here.
declare module 'shapefile' {
  export function read(
    shp: string,
    dbf?: string,
    options?: { encoding?: string },
  ): Promise<{
    features: {
      geometry: { type: string; coordinates: unknown } | null;
      properties: Record<string, unknown>;
    }[];
  }>;
}
