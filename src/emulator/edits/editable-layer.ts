/**
 * An editable emulated layer, as ArcGIS Online hosted layers are: `applyEdits` (adds, updates,
 * deletes, rollbackOnFailure), the editFieldsInfo fields (creation/edit date and user) kept on the
 * server's clock, change tracking with serverGens (what `extractChanges` answers), and
 * attachments. The loaded data stays as it is; edits live in an overlay by OID, and the queryable
 * layer is rebuilt from both when it is next read after an edit.
 */
import type { EsriField, EsriGeometryType, LayerMetadata } from '../../core/protocol.js';
import { AttachmentStore } from '../attachments/store.js';
import { DataLayer, type LayerOptions } from '../data/layer.js';
import { type CellValue, type Column, GeometryBuilder, type LayerData, rowOf } from '../data/store.js';
import type { EmulatedLayer, QueryAnswer, QueryFaults, QueryParams } from '../types.js';
import { cellOf, esriGeometryParts, rowParts } from './rows.js';

/** What an editable layer offers (each default true). */
export interface EditingSpec {
  /** editFieldsInfo: CreationDate, Creator, EditDate, Editor maintained by the server. */
  editTracking?: boolean;
  /** supportsChangeTracking: serverGens and `extractChanges`. */
  changeTracking?: boolean;
  /** hasAttachments: addAttachment, per-feature `attachments`. */
  attachments?: boolean;
  /** advancedQueryCapabilities.supportsQueryAttachments: the `queryAttachments` operation. */
  queryAttachments?: boolean;
}

export const EDIT_FIELDS = {
  creationDateField: 'CreationDate',
  creatorField: 'Creator',
  editDateField: 'EditDate',
  editorField: 'Editor',
} as const;

/** Creation and edit date of the rows loaded with the layer (before any edit). */
export const LOADED_EDIT_DATE = Date.UTC(2024, 0, 1);
const LOADED_BY = 'emulator';

interface Entry {
  /** Cells by column index (of the loaded columns). */
  cells: CellValue[];
  parts: number[][] | null;
  created: number;
  creator: string;
  edited: number;
  editor: string;
}

export interface EditFailure {
  code: number;
  description: string;
}
export interface EditResult {
  objectId: number;
  globalId: null;
  success: boolean;
  error?: EditFailure;
}
export interface EditsInput {
  adds: readonly unknown[];
  updates: readonly unknown[];
  deletes: readonly number[];
  rollbackOnFailure: boolean;
}
export type EditsOutcome =
  | { rolledBack: false; addResults: EditResult[]; updateResults: EditResult[]; deleteResults: EditResult[] }
  | { rolledBack: true; details: string[] };

export interface Changes {
  serverGen: number;
  adds: number[];
  updates: number[];
  deletes: number[];
}

const MIN_SERVER_GEN = 1;

export class EditableLayer implements EmulatedLayer {
  readonly service: string;
  readonly id: number;
  readonly name: string;
  readonly geometryType: EsriGeometryType;
  readonly objectIdField: string;
  readonly editing: Required<EditingSpec>;
  readonly attachments: AttachmentStore | undefined;
  readonly #base: LayerData;
  readonly #options: LayerOptions;
  readonly #overlay = new Map<number, Entry | null>();
  /** Inserted OIDs, ascending (deleted ones stay, marked null in the overlay). */
  readonly #inserted: number[] = [];
  #nextOid: number;
  #current: DataLayer | undefined;
  #serverGen = MIN_SERVER_GEN;
  readonly #changedGen = new Map<number, number>();
  readonly #insertedGen = new Map<number, number>();
  #lastEditDate = LOADED_EDIT_DATE;

  constructor(loaded: DataLayer, editing: EditingSpec = {}) {
    this.#base = loaded.data;
    this.#options = loaded.options;
    this.service = loaded.service;
    this.id = loaded.id;
    this.name = loaded.name;
    this.geometryType = loaded.geometryType;
    this.objectIdField = loaded.objectIdField;
    this.editing = {
      editTracking: editing.editTracking !== false,
      changeTracking: editing.changeTracking !== false,
      attachments: editing.attachments !== false,
      queryAttachments: editing.queryAttachments !== false && editing.attachments !== false,
    };
    this.attachments = this.editing.attachments ? new AttachmentStore() : undefined;
    const oids = this.#base.oids;
    this.#nextOid = oids.length === 0 ? 1 : oids[oids.length - 1]! + 1;
    if (!this.editing.editTracking) this.#current = loaded;
  }

  get count(): number {
    return this.#layer().count;
  }

  /** The options the layer was loaded with (capabilities included). */
  get options(): LayerOptions {
    return this.#options;
  }

  get serverGen(): number {
    return this.#serverGen;
  }

  metadata(): LayerMetadata & Record<string, unknown> {
    const meta = this.#layer().metadata();
    const caps = ['Query', 'Create', 'Update', 'Delete', 'Editing'];
    if (this.editing.changeTracking) caps.push('ChangeTracking');
    meta.capabilities = caps.join(',');
    meta.hasAttachments = this.editing.attachments;
    meta.supportsApplyEditsWithGlobalIds = false;
    meta.supportsRollbackOnFailureParameter = true;
    const aqc = (meta.advancedQueryCapabilities ?? {}) as Record<string, unknown>;
    aqc.supportsQueryAttachments = this.editing.queryAttachments;
    meta.advancedQueryCapabilities = aqc;
    if (this.editing.editTracking) {
      meta.editFieldsInfo = { ...EDIT_FIELDS };
      meta.editingInfo = { lastEditDate: this.#lastEditDate };
      const names = new Set(Object.values(EDIT_FIELDS).map((n) => n.toLowerCase()));
      for (const f of meta.fields as unknown as Record<string, unknown>[]) {
        if (names.has(String(f.name).toLowerCase())) f.editable = false;
      }
    }
    if (this.editing.changeTracking) {
      meta.serverGens = { minServerGen: MIN_SERVER_GEN, serverGen: this.#serverGen };
    }
    return meta;
  }

  query(params: QueryParams, faults?: QueryFaults): QueryAnswer {
    return this.#layer().query(params, faults);
  }

  objectIds(): readonly number[] {
    return this.#layer().objectIds();
  }

  feature(oid: number): { attributes: Record<string, unknown>; geometry: unknown } | undefined {
    return this.#layer().feature(oid);
  }

  has(oid: number): boolean {
    const entry = this.#overlay.get(oid);
    if (entry === null) return false;
    if (entry) return true;
    return rowOf(this.#base.oids, oid) >= 0;
  }

  /**
   * Applies a batch of edits at the server time `now` by `user`. With rollbackOnFailure, any
   * failing edit leaves the layer as it was.
   */
  applyEdits(input: EditsInput, now: number, user: string): EditsOutcome {
    const columns = this.#base.columns;
    const plannedAdds: (Entry | EditFailure)[] = input.adds.map((f) => this.#planAdd(f, now, user));
    const plannedUpdates = input.updates.map((f) => this.#planUpdate(f, now, user));
    const plannedDeletes = input.deletes.map((oid): { oid: number; error?: EditFailure } =>
      this.has(oid) ? { oid } : { oid, error: missing() },
    );
    const failures = [
      ...plannedAdds.filter(isFailure),
      ...plannedUpdates.filter((u) => u.error).map((u) => u.error!),
      ...plannedDeletes.filter((d) => d.error).map((d) => d.error!),
    ];
    if (input.rollbackOnFailure && failures.length > 0) {
      return { rolledBack: true, details: failures.map((f) => f.description) };
    }
    void columns;
    const gen = this.#serverGen + 1;
    let changed = false;
    const addResults: EditResult[] = plannedAdds.map((p) => {
      if (isFailure(p)) return { objectId: -1, globalId: null, success: false, error: p };
      const oid = this.#nextOid++;
      this.#overlay.set(oid, p);
      this.#inserted.push(oid);
      this.#insertedGen.set(oid, gen);
      this.#changedGen.set(oid, gen);
      changed = true;
      return { objectId: oid, globalId: null, success: true };
    });
    const updateResults: EditResult[] = plannedUpdates.map((u) => {
      if (u.error || !u.apply)
        return { objectId: u.oid, globalId: null, success: false, error: u.error ?? missing() };
      this.#overlay.set(u.oid, u.apply(this.#entryOf(u.oid)!));
      this.#changedGen.set(u.oid, gen);
      changed = true;
      return { objectId: u.oid, globalId: null, success: true };
    });
    const deleteResults: EditResult[] = plannedDeletes.map((d) => {
      if (d.error || !this.has(d.oid)) {
        return { objectId: d.oid, globalId: null, success: false, error: d.error ?? missing() };
      }
      this.#overlay.set(d.oid, null);
      this.#changedGen.set(d.oid, gen);
      this.attachments?.dropFeature(d.oid);
      changed = true;
      return { objectId: d.oid, globalId: null, success: true };
    });
    if (changed) {
      this.#serverGen = gen;
      this.#lastEditDate = now;
      this.#current = undefined;
    }
    return { rolledBack: false, addResults, updateResults, deleteResults };
  }

  /** What changed after `sinceGen` (a serverGen this layer answered before). */
  changesSince(sinceGen: number): Changes {
    const out: Changes = { serverGen: this.#serverGen, adds: [], updates: [], deletes: [] };
    for (const [oid, gen] of this.#changedGen) {
      if (gen <= sinceGen) continue;
      const inserted = this.#insertedGen.get(oid);
      const existedBefore = inserted === undefined || inserted <= sinceGen;
      if (!this.has(oid)) {
        if (existedBefore) out.deletes.push(oid);
      } else if (existedBefore) out.updates.push(oid);
      else out.adds.push(oid);
    }
    for (const list of [out.adds, out.updates, out.deletes]) list.sort((a, b) => a - b);
    return out;
  }

  /** Whether `gen` is a serverGen changes can be asked from. */
  validGen(gen: number): boolean {
    return Number.isSafeInteger(gen) && gen >= MIN_SERVER_GEN && gen <= this.#serverGen;
  }

  #planAdd(feature: unknown, now: number, user: string): Entry | EditFailure {
    const f = asFeature(feature);
    if (!f) return { code: 1000, description: 'Invalid feature.' };
    const parts = esriGeometryParts(f.geometry, this.#base.geometry);
    if (parts === undefined) return { code: 1000, description: 'Invalid geometry.' };
    const cells: CellValue[] = this.#base.columns.map(() => null);
    const error = this.#setCells(cells, f.attributes);
    if (error) return error;
    return { cells, parts, created: now, creator: user, edited: now, editor: user };
  }

  #planUpdate(
    feature: unknown,
    now: number,
    user: string,
  ): { oid: number; error?: EditFailure; apply?: (entry: Entry) => Entry } {
    const f = asFeature(feature);
    const oidValue = f ? findAttribute(f.attributes, this.objectIdField) : undefined;
    const oid = typeof oidValue === 'number' ? oidValue : Number.NaN;
    if (!f || !Number.isSafeInteger(oid)) {
      return { oid: -1, error: { code: 1000, description: 'The update has no object id.' } };
    }
    if (!this.has(oid)) return { oid, error: missing() };
    let parts: number[][] | null | undefined;
    if ('geometry' in f && f.geometry !== undefined) {
      parts = esriGeometryParts(f.geometry, this.#base.geometry);
      if (parts === undefined) return { oid, error: { code: 1000, description: 'Invalid geometry.' } };
    }
    const probe: CellValue[] = this.#base.columns.map(() => null);
    const error = this.#setCells(probe, f.attributes);
    if (error) return { oid, error };
    return {
      oid,
      apply: (entry) => {
        const cells = [...entry.cells];
        this.#setCells(cells, f.attributes);
        return {
          ...entry,
          cells,
          parts: parts === undefined ? entry.parts : parts,
          edited: now,
          editor: user,
        };
      },
    };
  }

  /** Sets the given attributes (case-insensitive names; server-maintained ones ignored). */
  #setCells(cells: CellValue[], attributes: Record<string, unknown>): EditFailure | undefined {
    const columns = this.#base.columns;
    const index = new Map(columns.map((c, i) => [c.field.name.toLowerCase(), i]));
    for (const [name, value] of Object.entries(attributes)) {
      const i = index.get(name.toLowerCase());
      if (i === undefined) continue;
      const cell = cellOf(value, columns[i]!.field.type);
      if (cell === undefined) return { code: 1000, description: `Setting of value for ${name} failed.` };
      cells[i] = cell;
    }
    return undefined;
  }

  /** The current state of a live row as an overlay entry. */
  #entryOf(oid: number): Entry | undefined {
    const entry = this.#overlay.get(oid);
    if (entry) return entry;
    if (entry === null) return undefined;
    const row = rowOf(this.#base.oids, oid);
    if (row < 0) return undefined;
    return {
      cells: this.#base.columns.map((c) => c.get(row)),
      parts: rowParts(this.#base.geometry, row),
      created: LOADED_EDIT_DATE,
      creator: LOADED_BY,
      edited: LOADED_EDIT_DATE,
      editor: LOADED_BY,
    };
  }

  #layer(): DataLayer {
    this.#current ??= new DataLayer(this.#compose(), this.#options);
    return this.#current;
  }

  /** The loaded rows with the overlay applied, in OID order, plus the edit fields. */
  #compose(): LayerData {
    const base = this.#base;
    const g = base.geometry;
    const n = base.oids.length;
    const oids: number[] = [];
    const source: number[] = [];
    const entries: Entry[] = [];
    const builder = new GeometryBuilder(g.kind, g.hasZ, g.hasM, n + this.#inserted.length);
    const addEntry = (oid: number, entry: Entry) => {
      oids.push(oid);
      source.push(-(entries.length + 1));
      entries.push(entry);
      if (entry.parts === null) builder.addNull();
      else builder.addParts(entry.parts);
    };
    for (let row = 0; row < n; row++) {
      const oid = base.oids[row]!;
      const entry = this.#overlay.get(oid);
      if (entry === null) continue;
      if (entry) {
        addEntry(oid, entry);
        continue;
      }
      oids.push(oid);
      source.push(row);
      if (g.kind === 'point') {
        const at = row * g.dim;
        const x = g.coords[at]!;
        if (Number.isNaN(x)) builder.addNull();
        else
          builder.addPoint(
            x,
            g.coords[at + 1]!,
            g.hasZ ? g.coords[at + 2]! : 0,
            g.hasM ? g.coords[at + 2 + (g.hasZ ? 1 : 0)]! : 0,
          );
      } else {
        const parts = rowParts(g, row);
        if (parts === null) builder.addNull();
        else builder.addParts(parts);
      }
    }
    for (const oid of this.#inserted) {
      const entry = this.#overlay.get(oid);
      if (entry) addEntry(oid, entry);
    }
    const src = Int32Array.from(source);
    const columns: Column[] = base.columns.map((column, i) => ({
      field: column.field,
      get: (row: number) => {
        const s = src[row]!;
        return s >= 0 ? column.get(s) : (entries[-s - 1]!.cells[i] ?? null);
      },
    }));
    if (this.editing.editTracking) {
      const meta = (s: number) => (s >= 0 ? undefined : entries[-s - 1]!);
      columns.push(
        dateColumn(EDIT_FIELDS.creationDateField, (row) => meta(src[row]!)?.created ?? LOADED_EDIT_DATE),
        userColumn(EDIT_FIELDS.creatorField, (row) => meta(src[row]!)?.creator ?? LOADED_BY),
        dateColumn(EDIT_FIELDS.editDateField, (row) => meta(src[row]!)?.edited ?? LOADED_EDIT_DATE),
        userColumn(EDIT_FIELDS.editorField, (row) => meta(src[row]!)?.editor ?? LOADED_BY),
      );
    }
    return {
      oids: Float64Array.from(oids),
      geometry: builder.build(),
      oidField: base.oidField,
      columns,
      displayField: base.displayField,
    };
  }
}

function dateColumn(name: string, get: (row: number) => number): Column {
  const field: EsriField = { name, type: 'esriFieldTypeDate', alias: name, length: 8, nullable: true };
  return { field, get };
}

function userColumn(name: string, get: (row: number) => string): Column {
  const field: EsriField = { name, type: 'esriFieldTypeString', alias: name, length: 128, nullable: true };
  return { field, get };
}

function missing(): EditFailure {
  return { code: 1019, description: 'Object is missing.' };
}

function isFailure(p: Entry | EditFailure): p is EditFailure {
  return 'description' in p;
}

function asFeature(value: unknown): { attributes: Record<string, unknown>; geometry?: unknown } | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const attributes = v.attributes ?? {};
  if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) return undefined;
  return {
    attributes: attributes as Record<string, unknown>,
    ...('geometry' in v ? { geometry: v.geometry } : {}),
  };
}

function findAttribute(attributes: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(attributes).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : attributes[key];
}
