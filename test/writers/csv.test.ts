import { describe, expect, it } from 'vitest';
import { csvDate, csvText, csvValue } from '../../src/features/writers/csv-cell.js';
import { createCsvEncoder } from '../../src/features/writers/csv-encoder.js';

describe('csv cells', () => {
  it('writes the data as it came by default (no formula guard)', () => {
    expect(csvText('+1 555 0100')).toBe('+1 555 0100');
    expect(csvText('-1')).toBe('-1');
    expect(csvText('=1+2')).toBe('=1+2');
    expect(csvText('@home')).toBe('@home');
    expect(csvText('\rx')).toBe('"\rx"');
    expect(csvValue('=SUM(A1)')).toBe('=SUM(A1)');
  });

  it('excelSafe (opt-in) neutralises cells a spreadsheet would run as a formula', () => {
    expect(csvText('=1+2', true)).toBe("'=1+2");
    expect(csvText('+1', true)).toBe("'+1");
    expect(csvText('-1', true)).toBe("'-1");
    expect(csvText('@SUM(A1)', true)).toBe("'@SUM(A1)");
    expect(csvText('\tx', true)).toBe("'\tx");
    expect(csvText('\rx', true)).toBe(`"'\rx"`);
    expect(csvText('a=b', true)).toBe('a=b');
    expect(csvText('=cmd|" /C calc"!A0', true)).toBe(`"'=cmd|"" /C calc""!A0"`);
    expect(csvValue('+1 555 0100', true)).toBe("'+1 555 0100");
    expect(csvValue(-5, true)).toBe('-5');
  });

  it('leaves numbers alone, negative ones included', () => {
    expect(csvValue(-5)).toBe('-5');
    expect(csvValue(0.1)).toBe('0.1');
    expect(csvValue(Number.NaN)).toBe('');
    expect(csvValue(true)).toBe('true');
    expect(csvValue(null)).toBe('');
    expect(csvValue(undefined)).toBe('');
    expect(csvValue({ a: 1 })).toBe('"{""a"":1}"');
  });

  it('quotes commas, quotes, CR and LF (RFC 4180)', () => {
    expect(csvText('a,b')).toBe('"a,b"');
    expect(csvText('say "hi"')).toBe('"say ""hi"""');
    expect(csvText('a\nb')).toBe('"a\nb"');
    expect(csvText('plain text')).toBe('plain text');
  });

  it('writes dates as ISO 8601 UTC', () => {
    expect(csvDate(1700000000000)).toBe('2023-11-14T22:13:20.000Z');
    expect(csvDate(-86400000)).toBe('1969-12-31T00:00:00.000Z');
    expect(csvDate(null)).toBe('');
    expect(csvDate(8.64e15 + 1)).toBe('8640000000000001');
    expect(csvDate('2024-01-01')).toBe('2024-01-01');
  });
});

describe('csv encoder', () => {
  it('names the WKT column apart from a field called geometry; the header is neutralised only when excel-safe', () => {
    const schema = {
      fields: [
        { name: 'geometry', type: 'esriFieldTypeString' },
        { name: '=X', type: 'esriFieldTypeString' },
        { name: 'Shape', type: 'esriFieldTypeGeometry' },
      ],
      geometryType: 'esriGeometryPoint',
    };
    expect(createCsvEncoder(schema).header()).toBe('geometry,=X,geometry_wkt\r\n');
    const encoder = createCsvEncoder(schema, 'wkt', true);
    expect(encoder.header()).toBe("geometry,'=X,geometry_wkt\r\n");
    expect(
      encoder.page(
        [
          {
            type: 'Feature',
            geometry: { type: 'Point', coordinates: [1, 2] },
            properties: { geometry: 'g', '=X': 1 },
          },
        ],
        0,
      ),
    ).toBe('g,1,POINT (1 2)\r\n');
  });
});

describe('csv x/y columns', () => {
  const fields = [{ name: 'ID', type: 'esriFieldTypeOID' }];
  it('writes x, y (and z) for point layers', () => {
    const encoder = createCsvEncoder({ fields, geometryType: 'esriGeometryPoint' }, 'xy');
    expect(encoder.header()).toBe('ID,x,y\r\n');
    expect(
      encoder.page(
        [
          {
            type: 'Feature',
            geometry: { type: 'Point', coordinates: [-81.5, 27.25] },
            properties: { ID: 1 },
          },
          { type: 'Feature', geometry: null, properties: { ID: 2 } },
        ],
        0,
      ),
    ).toBe('1,-81.5,27.25\r\n2,,\r\n');
    const z = createCsvEncoder({ fields, geometryType: 'esriGeometryPoint', hasZ: true }, 'xy');
    expect(z.header()).toBe('ID,x,y,z\r\n');
    expect(
      z.page(
        [{ type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2, 3] }, properties: { ID: 1 } }],
        0,
      ),
    ).toBe('1,1,2,3\r\n');
  });

  it('refuses x/y for other geometry types', () => {
    expect(() => createCsvEncoder({ fields, geometryType: 'esriGeometryPolygon' }, 'xy')).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });
});
