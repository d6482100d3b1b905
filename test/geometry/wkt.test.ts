import { describe, expect, it } from 'vitest';
import { formatNumber, geometryToWkt } from '../../src/features/geometry/wkt.js';

describe('geometryToWkt', () => {
  it('writes every geometry type', () => {
    expect(geometryToWkt({ type: 'Point', coordinates: [1, 2] })).toBe('POINT (1 2)');
    expect(
      geometryToWkt({
        type: 'MultiPoint',
        coordinates: [
          [1, 2],
          [3, 4],
        ],
      }),
    ).toBe('MULTIPOINT (1 2, 3 4)');
    expect(
      geometryToWkt({
        type: 'LineString',
        coordinates: [
          [1, 2],
          [3, 4.5],
        ],
      }),
    ).toBe('LINESTRING (1 2, 3 4.5)');
    expect(
      geometryToWkt({
        type: 'MultiLineString',
        coordinates: [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ],
      }),
    ).toBe('MULTILINESTRING ((1 2, 3 4), (5 6, 7 8))');
    const ring = [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 0],
    ];
    const hole = [
      [0.2, 0.1],
      [0.8, 0.7],
      [0.8, 0.1],
      [0.2, 0.1],
    ];
    expect(geometryToWkt({ type: 'Polygon', coordinates: [ring, hole] })).toBe(
      'POLYGON ((0 0, 1 0, 1 1, 0 0), (0.2 0.1, 0.8 0.7, 0.8 0.1, 0.2 0.1))',
    );
    expect(geometryToWkt({ type: 'MultiPolygon', coordinates: [[ring], [ring, hole]] })).toBe(
      'MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((0 0, 1 0, 1 1, 0 0), (0.2 0.1, 0.8 0.7, 0.8 0.1, 0.2 0.1)))',
    );
  });

  it('writes Z and ZM variants', () => {
    expect(geometryToWkt({ type: 'Point', coordinates: [1, 2, 3] })).toBe('POINT Z (1 2 3)');
    expect(geometryToWkt({ type: 'Point', coordinates: [1, 2, 3, 4] })).toBe('POINT ZM (1 2 3 4)');
    expect(
      geometryToWkt({
        type: 'Polygon',
        coordinates: [
          [
            [0, 0, 5],
            [1, 0, 5],
            [1, 1, 6],
            [0, 0, 5],
          ],
        ],
      }),
    ).toBe('POLYGON Z ((0 0 5, 1 0 5, 1 1 6, 0 0 5))');
  });

  it('writes null as an empty string', () => {
    expect(geometryToWkt(null)).toBe('');
  });

  it('never uses exponent notation, and round-trips numbers', () => {
    expect(geometryToWkt({ type: 'Point', coordinates: [1e-7, -2.5e21] })).toBe(
      'POINT (0.0000001 -2500000000000000000000)',
    );
    for (const n of [1e-7, -1.234e-9, 123456.789, -0.5, 4.9e-12, 1.7976931348623157e308]) {
      expect(formatNumber(n)).not.toContain('e');
      expect(Number(formatNumber(n))).toBe(n);
    }
  });
});
