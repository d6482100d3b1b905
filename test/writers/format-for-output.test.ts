import { describe, expect, it } from 'vitest';
import { formatForOutput, WRITER_FORMATS } from '../../src/features/writers/formats.js';

describe('formatForOutput: --format, else the extension', () => {
  it('reads the format from the extension, any case; stdout and no extension are GeoJSON', () => {
    expect(formatForOutput('a/out.geojson')).toBe('geojson');
    expect(formatForOutput('out.JSON')).toBe('geojson');
    expect(formatForOutput('out.geojsonl')).toBe('geojsonseq');
    expect(formatForOutput('out.ndjson')).toBe('geojsonseq');
    expect(formatForOutput('out.Csv')).toBe('csv');
    expect(formatForOutput('-')).toBe('geojson');
    expect(formatForOutput('out.gpkg')).toBe('gpkg');
    expect(formatForOutput('out.parquet')).toBe('parquet');
    expect(formatForOutput('folder.v1/out')).toBe('geojson');
  });

  it('an explicit format wins over the extension', () => {
    expect(formatForOutput('out.txt', 'csv')).toBe('csv');
    expect(formatForOutput('out.csv', 'geojsonseq')).toBe('geojsonseq');
  });

  it('Shapefile (.shp, .shp.zip) and FlatGeobuf (.fgb) by extension; a plain .zip is no format', () => {
    expect(formatForOutput('out/roads.shp')).toBe('shapefile');
    expect(formatForOutput('roads.SHP.zip')).toBe('shapefile');
    expect(formatForOutput('roads.fgb')).toBe('flatgeobuf');
    expect(() => formatForOutput('roads.zip')).toThrow(/Cannot write \.zip/);
  });

  it.each(['x.txt', 'x.gpkgx', 'x.kml'])('%s is a USAGE error listing the formats, never GeoJSON', (path) => {
    let error: unknown;
    try {
      formatForOutput(path);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'USAGE' });
    const message = (error as Error).message;
    expect(message).toContain(path.slice(1));
    for (const format of WRITER_FORMATS) expect(message).toContain(format);
    expect(message).toMatch(/--format/);
  });

  it('an unknown --format is a USAGE error listing the formats', () => {
    expect(() => formatForOutput('out.geojson', 'kml')).toThrow(/geojson, geojsonseq, csv/);
  });
});
