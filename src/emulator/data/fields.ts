/**
 * Field access for queries: the OID column plus attribute columns, looked up case-insensitively.
 */
import type { EsriField } from '../../core/protocol.js';
import { bigIntegerText } from './extra-fields.js';
import { geometryFieldName } from './metadata.js';
import type { CellValue, LayerData } from './store.js';
import type { ValueKind, WhereField, WhereSchema } from './where.js';

export interface FieldRef extends WhereField {
  readonly field: EsriField;
  readonly isOid: boolean;
  /** `"name":` pre-serialized. */
  readonly keyText: string;
  /** The JSON text of a value (default `cellText`): BigInteger digits are written as numbers. */
  readonly text?: ((v: CellValue) => string) | undefined;
}

const NUMERIC = new Set([
  'esriFieldTypeOID',
  'esriFieldTypeInteger',
  'esriFieldTypeSmallInteger',
  'esriFieldTypeBigInteger',
  'esriFieldTypeDouble',
  'esriFieldTypeSingle',
]);

export function kindOfField(type: string): ValueKind {
  if (NUMERIC.has(type)) return 'number';
  if (type === 'esriFieldTypeDate') return 'date';
  return 'string';
}

export function isNumericKind(kind: ValueKind): boolean {
  return kind === 'number' || kind === 'date';
}

/** The queryable fields of a layer (OID first), with a case-insensitive index. */
export class FieldSet implements WhereSchema {
  readonly all: readonly FieldRef[];
  readonly oid: FieldRef;
  readonly oidField: string;
  /** Name of the geometry field the metadata lists (accepted and ignored in outFields). */
  readonly geometryField: string;
  readonly #byName = new Map<string, FieldRef>();

  constructor(data: LayerData) {
    const oids = data.oids;
    const oidField: EsriField = {
      name: data.oidField,
      type: 'esriFieldTypeOID',
      alias: data.oidField,
      nullable: false,
    };
    this.oid = {
      field: oidField,
      name: data.oidField,
      kind: 'number',
      isOid: true,
      keyText: `${JSON.stringify(data.oidField)}:`,
      get: (row) => oids[row]!,
    };
    this.oidField = data.oidField;
    const refs: FieldRef[] = [this.oid];
    for (const column of data.columns) {
      const get = (row: number): CellValue => column.get(row);
      refs.push({
        field: column.field,
        name: column.field.name,
        kind: kindOfField(column.field.type),
        isOid: false,
        keyText: `${JSON.stringify(column.field.name)}:`,
        get,
        ...(column.field.type === 'esriFieldTypeBigInteger'
          ? { text: (v: CellValue) => bigIntegerText(v) ?? cellText(v) }
          : {}),
      });
    }
    this.all = refs;
    this.geometryField = geometryFieldName(refs.map((r) => r.field));
    for (const ref of refs) {
      const key = ref.name.toLowerCase();
      if (!this.#byName.has(key)) this.#byName.set(key, ref);
    }
  }

  field(name: string): FieldRef | undefined {
    return this.#byName.get(name.trim().toLowerCase());
  }

  /** The fields as a query response lists them. */
  responseField(ref: FieldRef): string {
    const f = ref.field;
    return JSON.stringify({
      name: f.name,
      type: f.type,
      alias: f.alias ?? f.name,
      ...(f.length === undefined ? {} : { length: f.length }),
    });
  }
}

/** A JSON value of a cell. */
export function cellText(v: CellValue): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v);
}
