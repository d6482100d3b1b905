import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { esriGeometryToGeoJSON } from '../../src/features/geometry/toGeoJSON.js';
import type { GeometryIssue } from '../../src/features/geometry/types.js';

function collect(): { issues: GeometryIssue[]; onIssue: (issue: GeometryIssue) => void } {
  const issues: GeometryIssue[] = [];
  return { issues, onIssue: (issue) => issues.push(issue) };
}

// Esri: outer rings clockwise, holes counter-clockwise
const OUTER_CW = [
  [0, 0],
  [0, 10],
  [10, 10],
  [10, 0],
  [0, 0],
];
const HOLE_CCW = [
  [2, 2],
  [4, 2],
  [4, 4],
  [2, 4],
  [2, 2],
];

describe('points', () => {
  it('converts x, y and z', () => {
    expect(esriGeometryToGeoJSON({ x: 1, y: 2 })).toEqual({ type: 'Point', coordinates: [1, 2] });
    expect(esriGeometryToGeoJSON({ x: 1, y: 2, z: 3 })).toEqual({ type: 'Point', coordinates: [1, 2, 3] });
    expect(
      esriGeometryToGeoJSON({ x: 1, y: 2, z: 3, m: 4 }, { hasZ: true, hasM: true, keepM: true }),
    ).toEqual({
      type: 'Point',
      coordinates: [1, 2, 3, 4],
    });
    expect(esriGeometryToGeoJSON({ x: 1, y: 2, m: 4 }, { hasM: true, keepM: true })).toEqual({
      type: 'Point',
      coordinates: [1, 2],
    });
  });

  it('turns empty points into null', () => {
    expect(esriGeometryToGeoJSON({ x: 'NaN', y: 'NaN' })).toBeNull();
    expect(esriGeometryToGeoJSON({ x: null, y: null })).toBeNull();
    expect(esriGeometryToGeoJSON({ x: Number.NaN, y: 1 })).toBeNull();
    expect(esriGeometryToGeoJSON({})).toBeNull();
    expect(esriGeometryToGeoJSON(null)).toBeNull();
    expect(esriGeometryToGeoJSON(undefined)).toBeNull();
  });
});

describe('multipoints and paths', () => {
  it('converts points to a MultiPoint, dropping invalid positions with a report', () => {
    const { issues, onIssue } = collect();
    expect(
      esriGeometryToGeoJSON(
        {
          points: [
            [1, 2],
            [Number.NaN, 3],
            [4, 5],
          ],
        },
        { onIssue },
      ),
    ).toEqual({
      type: 'MultiPoint',
      coordinates: [
        [1, 2],
        [4, 5],
      ],
    });
    expect(issues.map((i) => i.kind)).toEqual(['invalid-position']);
    expect(esriGeometryToGeoJSON({ points: [] })).toBeNull();
  });

  it('converts one path to a LineString and several to a MultiLineString', () => {
    expect(
      esriGeometryToGeoJSON({
        paths: [
          [
            [0, 0],
            [1, 1],
          ],
        ],
      }),
    ).toEqual({
      type: 'LineString',
      coordinates: [
        [0, 0],
        [1, 1],
      ],
    });
    const { issues, onIssue } = collect();
    expect(
      esriGeometryToGeoJSON(
        {
          paths: [
            [
              [0, 0],
              [1, 1],
            ],
            [[5, 5]],
            [
              [2, 2],
              [3, 3],
            ],
          ],
        },
        { onIssue },
      ),
    ).toEqual({
      type: 'MultiLineString',
      coordinates: [
        [
          [0, 0],
          [1, 1],
        ],
        [
          [2, 2],
          [3, 3],
        ],
      ],
    });
    expect(issues).toEqual([expect.objectContaining({ kind: 'degenerate-path', index: 1 })]);
    expect(esriGeometryToGeoJSON({ paths: [] })).toBeNull();
  });
});

describe('Z and M', () => {
  const path = {
    paths: [
      [
        [0, 0, 7, 100],
        [1, 1, 8, 101],
      ],
    ],
  };

  it('keeps Z as the third value with hasZ', () => {
    expect(esriGeometryToGeoJSON(path, { hasZ: true })).toEqual({
      type: 'LineString',
      coordinates: [
        [0, 0, 7],
        [1, 1, 8],
      ],
    });
    expect(esriGeometryToGeoJSON({ ...path, hasZ: true })).toEqual(
      esriGeometryToGeoJSON(path, { hasZ: true }),
    );
  });

  it('drops the third value when it is M (hasM without hasZ)', () => {
    const m = {
      paths: [
        [
          [0, 0, 100],
          [1, 1, 101],
        ],
      ],
    };
    expect(esriGeometryToGeoJSON(m, { hasM: true })).toEqual({
      type: 'LineString',
      coordinates: [
        [0, 0],
        [1, 1],
      ],
    });
    expect(esriGeometryToGeoJSON({ ...m, hasM: true }, { keepM: true })).toEqual({
      type: 'LineString',
      coordinates: [
        [0, 0],
        [1, 1],
      ],
    });
  });

  it('keeps M as a 4th value only with hasZ, hasM and keepM', () => {
    expect(esriGeometryToGeoJSON(path, { hasZ: true, hasM: true })).toEqual(
      esriGeometryToGeoJSON(path, { hasZ: true }),
    );
    expect(esriGeometryToGeoJSON(path, { hasZ: true, hasM: true, keepM: true })).toEqual({
      type: 'LineString',
      coordinates: [
        [0, 0, 7, 100],
        [1, 1, 8, 101],
      ],
    });
  });

  it('gives a missing z the value 0, so that every position has the same dimension', () => {
    expect(
      esriGeometryToGeoJSON(
        {
          points: [
            [1, 2, 3],
            [4, 5],
          ],
        },
        { hasZ: true },
      ),
    ).toEqual({
      type: 'MultiPoint',
      coordinates: [
        [1, 2, 3],
        [4, 5, 0],
      ],
    });
  });
});

describe('polygons', () => {
  it('rewinds an Esri clockwise outer ring counter-clockwise, starting at the same vertex', () => {
    expect(esriGeometryToGeoJSON({ rings: [OUTER_CW] })).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ],
      ],
    });
  });

  it('puts a hole in its outer ring, wound clockwise', () => {
    const out = esriGeometryToGeoJSON({ rings: [OUTER_CW, HOLE_CCW] });
    expect(out).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ],
        [
          [2, 2],
          [2, 4],
          [4, 4],
          [4, 2],
          [2, 2],
        ],
      ],
    });
  });

  it('assigns a hole listed before its outer ring, and to the smallest containing ring', () => {
    // a big outer ring, a lake in it, an island in the lake, and a pond in the island
    const big = [
      [0, 0],
      [0, 100],
      [100, 100],
      [100, 0],
      [0, 0],
    ];
    const lake = [
      [10, 10],
      [90, 10],
      [90, 90],
      [10, 90],
      [10, 10],
    ];
    const island = [
      [20, 20],
      [20, 80],
      [80, 80],
      [80, 20],
      [20, 20],
    ];
    const pond = [
      [30, 30],
      [70, 30],
      [70, 70],
      [30, 70],
      [30, 30],
    ];
    const out = esriGeometryToGeoJSON({ rings: [pond, lake, island, big] });
    expect(out?.type).toBe('MultiPolygon');
    const polys = out?.type === 'MultiPolygon' ? out.coordinates : [];
    expect(polys).toHaveLength(2);
    // island (ring 2) with its pond; big (ring 3) with the lake
    expect(polys[0]?.[0]?.[0]).toEqual([20, 20]);
    expect(polys[0]?.[1]?.[0]).toEqual([30, 30]);
    expect(polys[1]?.[0]?.[0]).toEqual([0, 0]);
    expect(polys[1]?.[1]?.[0]).toEqual([10, 10]);
    expect(polys[0]).toHaveLength(2);
    expect(polys[1]).toHaveLength(2);
  });

  it('accepts a hole touching its outer ring at a vertex', () => {
    const touching = [
      [0, 0],
      [5, 2],
      [5, 5],
      [0, 0],
    ]; // counter-clockwise, first vertex on the outer ring
    const out = esriGeometryToGeoJSON({ rings: [OUTER_CW, touching] });
    expect(out?.type).toBe('Polygon');
    expect(out?.type === 'Polygon' ? out.coordinates : []).toHaveLength(2);
  });

  it('promotes a hole inside no outer ring to an outer ring, and reports it', () => {
    const { issues, onIssue } = collect();
    const farHole = HOLE_CCW.map(([x, y]) => [x! + 100, y!]);
    const out = esriGeometryToGeoJSON({ rings: [OUTER_CW, farHole] }, { onIssue });
    expect(out).toEqual({
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [0, 0],
            [10, 0],
            [10, 10],
            [0, 10],
            [0, 0],
          ],
        ],
        [
          [
            [102, 2],
            [104, 2],
            [104, 4],
            [102, 4],
            [102, 2],
          ],
        ],
      ],
    });
    expect(issues).toEqual([expect.objectContaining({ kind: 'orphan-hole', index: 1 })]);
  });

  it('closes unclosed rings', () => {
    const open = OUTER_CW.slice(0, 4);
    expect(esriGeometryToGeoJSON({ rings: [open] })).toEqual(esriGeometryToGeoJSON({ rings: [OUTER_CW] }));
  });

  it('drops and reports degenerate rings; all degenerate → null', () => {
    const { issues, onIssue } = collect();
    const line = [
      [0, 0],
      [5, 5],
      [10, 10],
      [0, 0],
    ];
    const tiny = [
      [0, 0],
      [1, 1],
    ];
    expect(esriGeometryToGeoJSON({ rings: [line, tiny, OUTER_CW, []] }, { onIssue })?.type).toBe('Polygon');
    expect(issues.map((i) => [i.kind, i.index])).toEqual([
      ['degenerate-ring', 0],
      ['degenerate-ring', 1],
      ['degenerate-ring', 3],
    ]);
    expect(esriGeometryToGeoJSON({ rings: [line] }, { onIssue })).toBeNull();
    expect(esriGeometryToGeoJSON({ rings: [] })).toBeNull();
  });

  it('keeps Z on polygon rings with hasZ', () => {
    const ring = OUTER_CW.map(([x, y], i) => [x!, y!, i]);
    const out = esriGeometryToGeoJSON({ rings: [ring], hasZ: true });
    expect(out?.type === 'Polygon' ? out.coordinates[0] : []).toEqual([
      [0, 0, 0],
      [10, 0, 3],
      [10, 10, 2],
      [0, 10, 1],
      [0, 0, 0], // RFC 7946: the closing position repeats the first one exactly
    ]);
  });

  it('converts an envelope to a counter-clockwise Polygon', () => {
    expect(esriGeometryToGeoJSON({ xmin: 1, ymin: 2, xmax: 3, ymax: 4 })).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [1, 2],
          [3, 2],
          [3, 4],
          [1, 4],
          [1, 2],
        ],
      ],
    });
    expect(esriGeometryToGeoJSON({ xmin: 'NaN', ymin: 2, xmax: 3, ymax: 4 })).toBeNull();
  });

  it('does not modify its input', () => {
    const input = { rings: [OUTER_CW.slice(0, 4), HOLE_CCW] };
    const copy = structuredClone(input);
    const out = esriGeometryToGeoJSON(input);
    expect(input).toEqual(copy);
    if (out?.type === 'Polygon') out.coordinates[0]![0]![0] = 99;
    expect(input).toEqual(copy);
  });
});

describe('rejections', () => {
  it('rejects true curves with UNSUPPORTED_GEOMETRY and a hint', () => {
    let caught: unknown;
    try {
      esriGeometryToGeoJSON({
        curveRings: [
          [
            [0, 0],
            {
              c: [
                [1, 1],
                [0.5, 0.5],
              ],
            },
          ],
        ],
      });
    } catch (error) {
      caught = error;
    }
    expect(isEtlError(caught, 'UNSUPPORTED_GEOMETRY')).toBe(true);
    expect((caught as Error).message).toContain('returnTrueCurves=false');
    expect(() => esriGeometryToGeoJSON({ curvePaths: [] })).toThrow(/returnTrueCurves/);
  });

  it('rejects a geometry of another type than the layer says', () => {
    expect(() => esriGeometryToGeoJSON({ x: 1, y: 2 }, { geometryType: 'esriGeometryPolygon' })).toThrow(
      expect.objectContaining({ code: 'INVALID_GEOMETRY' }),
    );
  });
});
