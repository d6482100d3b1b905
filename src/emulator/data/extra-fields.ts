/**
 * A layer spec's `extraFields` and `aliases`: more attribute columns after the layer's own (the
 * value types of newer servers, for tests), and field aliases other than the names.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriField } from '../../core/protocol.js';
import type { LayerSpec } from '../types.js';
import type { CellValue, Column, LayerData } from './store.js';

/** A BigInteger cell given as a string of digits: exact, beyond 2^53. */
const INTEGER_TEXT = /^-?\d{1,19}$/;

/** The data with the spec's extra columns and aliases (the same object when it has neither). */
export function withExtraFields(spec: LayerSpec, data: LayerData): LayerData {
  const extra = spec.extraFields ?? [];
  const aliases = spec.aliases ?? {};
  if (extra.length === 0 && Object.keys(aliases).length === 0) return data;
  const taken = new Set(
    [data.oidField, ...data.columns.map((c) => c.field.name)].map((n) => n.toLowerCase()),
  );
  const columns: Column[] = data.columns.map((c) => {
    const alias = aliases[c.field.name];
    return alias === undefined ? c : { field: { ...c.field, alias }, get: (row) => c.get(row) };
  });
  for (const f of extra) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name) || taken.has(f.name.toLowerCase())) {
      throw new EtlError('USAGE', `Invalid or repeated extra field name for ${spec.service}: ${f.name}`);
    }
    if (!Array.isArray(f.values) || f.values.length === 0) {
      throw new EtlError('USAGE', `Extra field ${f.name} of ${spec.service} needs at least one value`);
    }
    if (f.type === 'esriFieldTypeBigInteger') {
      for (const v of f.values) {
        if (typeof v === 'string' && !INTEGER_TEXT.test(v)) {
          throw new EtlError('USAGE', `Extra field ${f.name}: "${v}" is not an integer`);
        }
      }
    }
    taken.add(f.name.toLowerCase());
    const values = f.values as CellValue[];
    const field: EsriField = {
      name: f.name,
      type: f.type,
      alias: f.alias ?? aliases[f.name] ?? f.name,
      nullable: true,
      ...(f.type === 'esriFieldTypeString' ? { length: 255 } : {}),
    };
    columns.push({ field, get: (row) => values[row % values.length] ?? null });
  }
  return { ...data, columns };
}

/** The JSON text of a BigInteger cell: a string of digits is written as the number it is. */
export function bigIntegerText(v: CellValue): string | undefined {
  return typeof v === 'string' && INTEGER_TEXT.test(v) ? String(BigInt(v)) : undefined;
}
