/** Table names of a whole service in one GeoPackage: the layer names, unique and allowed. */
import { describe, expect, it } from 'vitest';
import { geopackageTables } from '../../src/features/export-service.js';

describe('geopackageTables', () => {
  it('keeps layer names, makes repeats unique case-insensitively and avoids reserved or empty names', () => {
    expect(
      geopackageTables([
        { id: 0, name: 'Roads' },
        { id: 1, name: 'roads' },
        { id: 2, name: 'gpkg_contents' },
        { id: 3, name: '  ' },
        { id: 4, name: 'Roads_1' },
        { id: 5, name: 'Lots: 2024' },
      ]),
    ).toEqual(['Roads', 'roads_1', 'layer_2', 'layer_3', 'Roads_1_4', 'Lots: 2024']);
  });
});
