/**
 * Replica JSON and GeoJSON FeatureCollections read from a file as a stream. A byte scanner follows
 * the document's outline (the root object, `layers[i]`, their `id` and `features`, the root's
 * `type` and `features`) across chunks, one byte at a time; every other value, and every feature
 * object, is passed over by a tight loop that only counts brackets outside strings. The features
 * wanted are handed out as JSON text, as many consecutive ones at once as one chunk holds, so that
 * one `JSON.parse` reads a chunk's worth. Memory holds one chunk and its features, whatever the size.
 */
import { createReadStream } from 'node:fs';
import { EtlError } from '../../core/errors.js';

interface Frame {
  array: boolean;
  /** Objects: the key of the member being read. */
  key: string | undefined;
  expectKey: boolean;
  /** Arrays: the index of the element being read. */
  index: number;
}

/** The root's `features` (a GeoJSON FeatureCollection), in `feature` and `only`. */
export const ROOT_FEATURES = -1;

export interface ReplicaVisitor {
  /** `layers[layer].id` */
  id?(layer: number, id: number): void;
  /**
   * One or more consecutive features of `layers[layer].features` (or of the root's `features`:
   * layer ROOT_FEATURES), as the text between an array's brackets: parse with `[${text}]`.
   */
  feature?(layer: number, text: string): void;
}

export interface ScanOptions {
  /** Hand out the features of this layer position only (ROOT_FEATURES: the root's). */
  only?: number | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

type Role = 'none' | 'key' | 'type' | 'id';

/** Feeds chunks of a JSON document; calls the visitor for replica ids and features. */
export class ReplicaScanner {
  readonly #visit: ReplicaVisitor;
  readonly #only: number | undefined;
  readonly #stack: Frame[] = [];
  #started = false;
  /** Passing over a value (a feature, or anything outside the outline): brackets still open. */
  #walking = false;
  #depth = 0;
  #walkString = false;
  #walkEscape = false;
  /** The value walked is a feature to hand out (of layer #walkLayer); it started at #walkFrom. */
  #capture = false;
  #walkLayer = 0;
  #walkFrom = -1;
  /** A feature begun in an earlier chunk: its bytes so far. */
  #pieces: Buffer[] | undefined;
  /** Features complete in this chunk, not handed out yet: [#batchFrom, #batchTo). */
  #batchFrom = -1;
  #batchTo = -1;
  #batchLayer = 0;
  /** A string or scalar of the outline being read, and what it is for. */
  #inString = false;
  #stringEscape = false;
  #inScalar = false;
  #role: Role = 'none';
  #tokenFrom = -1;
  #tokenPieces: Buffer[] | undefined;
  /** Whether the document has a top-level `layers` array. */
  hasLayers = false;
  /** Whether it has a top-level `features` array. */
  hasFeatures = false;
  /** The root's `type`, when it is a string. */
  rootType: string | undefined;

  constructor(visit: ReplicaVisitor, options: ScanOptions = {}) {
    this.#visit = visit;
    this.#only = options.only;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    if (this.#walking && this.#capture) this.#walkFrom = 0;
    if (this.#inString || this.#inScalar) this.#tokenFrom = 0;
    while (i < n) {
      if (this.#walking) i = this.#walk(chunk, i);
      else if (this.#inString) i = this.#string(chunk, i);
      else if (this.#inScalar) i = this.#scalar(chunk, i);
      else i = this.#outline(chunk, i);
    }
    this.#flushBatch(chunk);
    if (this.#walking && this.#capture) {
      this.#pieces ??= [];
      this.#pieces.push(Buffer.from(chunk.subarray(this.#walkFrom)));
    }
    if ((this.#inString || this.#inScalar) && this.#role !== 'none') {
      this.#tokenPieces ??= [];
      this.#tokenPieces.push(Buffer.from(chunk.subarray(this.#tokenFrom)));
    }
  }

  end(): void {
    if (this.#stack.length > 0 || this.#walking || this.#inString)
      throw invalid('the document ends inside a value');
    this.#inScalar = false;
  }

  /** One byte of the document's outline. */
  #outline(chunk: Buffer, i: number): number {
    const b = chunk[i]!;
    const s = this.#stack;
    const top = s[s.length - 1];
    switch (b) {
      case 0x20:
      case 0x0a:
      case 0x0d:
      case 0x09:
        return i + 1;
      case QUOTE: {
        let role: Role = 'none';
        if (top && !top.array && top.expectKey) role = 'key';
        else {
          this.#flushBatch(chunk);
          this.#valueStart();
          if (s.length === 1 && top?.key === 'type') role = 'type';
        }
        this.#inString = true;
        this.#stringEscape = false;
        this.#role = role;
        this.#tokenFrom = i + 1;
        return i + 1;
      }
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        this.#valueStart();
        this.#open(chunk, b, i);
        return i + 1;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        if (!top) throw invalid('an unexpected closing bracket');
        this.#flushBatch(chunk);
        s.pop();
        return i + 1;
      case 0x3a: // :
        if (top && !top.array) top.expectKey = false;
        return i + 1;
      case 0x2c: // ,
        if (top && !top.array) top.expectKey = true;
        return i + 1;
      default:
        this.#flushBatch(chunk);
        this.#valueStart();
        this.#inScalar = true;
        this.#role = this.#isLayerMember('id') ? 'id' : 'none';
        this.#tokenFrom = i;
        return i;
    }
  }

  /** A value starts at the current depth. */
  #valueStart(): void {
    const top = this.#stack[this.#stack.length - 1];
    if (!top) {
      if (this.#started) throw invalid('more than one top-level value');
      this.#started = true;
      return;
    }
    if (top.array) top.index++;
  }

  /** An object or array opens at `i`: followed (part of the outline), handed out, or passed over. */
  #open(chunk: Buffer, b: number, i: number): void {
    const s = this.#stack;
    const [root, list] = s;
    const isArray = b === OPEN_ARRAY;
    let follow = false;
    let feature: number | undefined;
    if (s.length === 0) follow = !isArray;
    else if (s.length === 1 && isArray && (root!.key === 'layers' || root!.key === 'features')) {
      follow = true;
      if (root!.key === 'layers') this.hasLayers = true;
      else this.hasFeatures = true;
    } else if (s.length === 2 && !isArray && root!.key === 'layers') follow = true;
    else if (s.length === 2 && !isArray && root!.key === 'features') feature = ROOT_FEATURES;
    else if (s.length === 3 && isArray && root!.key === 'layers' && s[2]!.key === 'features') follow = true;
    else if (s.length === 4 && !isArray && root!.key === 'layers') feature = list!.index;
    if (follow) {
      s.push({ array: isArray, key: undefined, expectKey: !isArray, index: -1 });
      return;
    }
    const capture =
      feature !== undefined &&
      this.#visit.feature !== undefined &&
      (this.#only === undefined || this.#only === feature);
    // only features follow one another in a batch
    if (!capture) this.#flushBatch(chunk);
    this.#walking = true;
    this.#depth = 1;
    this.#walkString = false;
    this.#walkEscape = false;
    this.#capture = capture;
    this.#walkLayer = feature ?? 0;
    this.#walkFrom = i;
  }

  /** Passes over the value being walked: brackets counted outside strings, nothing else. */
  #walk(chunk: Buffer, start: number): number {
    const n = chunk.length;
    let i = start;
    let depth = this.#depth;
    let inString = this.#walkString;
    if (this.#walkEscape) {
      this.#walkEscape = false;
      i++;
    }
    while (i < n) {
      const b = chunk[i++]!;
      if (inString) {
        if (b === QUOTE) inString = false;
        else if (b === BACKSLASH) {
          if (i < n) i++;
          else this.#walkEscape = true;
        }
      } else if (b === QUOTE) inString = true;
      else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
      else if ((b === CLOSE_OBJECT || b === CLOSE_ARRAY) && --depth === 0) {
        this.#walking = false;
        if (this.#capture) this.#captured(chunk, i);
        return i;
      }
    }
    this.#depth = depth;
    this.#walkString = inString;
    return n;
  }

  /** A feature to hand out ends before `end`. */
  #captured(chunk: Buffer, end: number): void {
    if (this.#pieces) {
      this.#pieces.push(chunk.subarray(0, end));
      const text = Buffer.concat(this.#pieces).toString('utf8');
      this.#pieces = undefined;
      this.#visit.feature!(this.#walkLayer, text);
      return;
    }
    if (this.#batchFrom < 0) {
      this.#batchFrom = this.#walkFrom;
      this.#batchLayer = this.#walkLayer;
    }
    this.#batchTo = end;
  }

  #flushBatch(chunk: Buffer): void {
    if (this.#batchFrom < 0) return;
    const text = chunk.toString('utf8', this.#batchFrom, this.#batchTo);
    this.#batchFrom = -1;
    this.#visit.feature!(this.#batchLayer, text);
  }

  /** A string of the outline (a key, the root's type, or a value passed over). */
  #string(chunk: Buffer, start: number): number {
    const n = chunk.length;
    let i = start;
    let escaped = this.#stringEscape;
    while (i < n) {
      const b = chunk[i++]!;
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) {
        this.#inString = false;
        if (this.#role !== 'none') this.#stringRead(this.#token(chunk, i - 1));
        return i;
      }
    }
    this.#stringEscape = escaped;
    return n;
  }

  #stringRead(raw: Buffer): void {
    const text = raw.includes(BACKSLASH)
      ? (JSON.parse(`"${raw.toString('utf8')}"`) as string)
      : raw.toString('utf8');
    if (this.#role === 'key') this.#stack[this.#stack.length - 1]!.key = text;
    else if (this.#role === 'type') this.rootType = text;
  }

  /** A number, true, false or null of the outline: up to the next delimiter (not consumed). */
  #scalar(chunk: Buffer, start: number): number {
    const n = chunk.length;
    let i = start;
    while (i < n) {
      const b = chunk[i]!;
      if (
        b === 0x2c ||
        b === CLOSE_OBJECT ||
        b === CLOSE_ARRAY ||
        b === 0x20 ||
        b === 0x0a ||
        b === 0x0d ||
        b === 0x09
      ) {
        this.#inScalar = false;
        if (this.#role === 'id') {
          const value = Number(this.#token(chunk, i).toString('latin1'));
          if (!Number.isSafeInteger(value)) throw invalid('a layer id is not an integer');
          this.#visit.id?.(this.#stack[1]!.index, value);
        }
        return i;
      }
      i++;
    }
    return n;
  }

  /** The bytes of the token read, from #tokenFrom (and earlier chunks) to `end`. */
  #token(chunk: Buffer, end: number): Buffer {
    const tail = chunk.subarray(this.#tokenFrom, end);
    if (!this.#tokenPieces) return tail;
    const all = Buffer.concat([...this.#tokenPieces, tail]);
    this.#tokenPieces = undefined;
    return all;
  }

  /** root.layers[i].<key> (depth 3). */
  #isLayerMember(key: string): boolean {
    const s = this.#stack;
    return s.length === 3 && s[0]!.key === 'layers' && s[2]!.key === key;
  }
}

function invalid(why: string): EtlError {
  return new EtlError('DOWNLOAD_INVALID', `The replica JSON is not valid: ${why}`);
}

const CHUNK = 1 << 20;

/** What a JSON file holds: replica layers (their ids by position), a FeatureCollection, or neither. */
export type JsonFileKind = { kind: 'replica'; ids: number[] } | { kind: 'geojson' } | { kind: 'other' };

/** One pass over a JSON file (features passed over, not parsed): what it holds. */
export async function jsonFileKind(path: string): Promise<JsonFileKind> {
  const ids: number[] = [];
  const scanner = new ReplicaScanner({ id: (layer, id) => (ids[layer] = id) });
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) scanner.push(chunk as Buffer);
  scanner.end();
  if (scanner.hasLayers) {
    if (ids.length === 0 || ids.some((id) => id === undefined)) throw invalid('a layer has no id');
    return { kind: 'replica', ids };
  }
  if (scanner.hasFeatures && scanner.rootType === 'FeatureCollection') return { kind: 'geojson' };
  return { kind: 'other' };
}

/** The layer ids of a replica file by position, or undefined when it has no top-level `layers`. */
export async function replicaLayerIds(path: string): Promise<number[] | undefined> {
  const kind = await jsonFileKind(path);
  return kind.kind === 'replica' ? kind.ids : undefined;
}

/**
 * The features of `layers[layer]` (ROOT_FEATURES: of the root's `features`), parsed a chunk's worth
 * at a time (with `parse`: the layer's lossless parser) while the file streams by.
 */
export async function* replicaFeatures<T = { attributes?: Record<string, unknown>; geometry?: unknown }>(
  path: string,
  layer: number,
  parse: (text: string) => unknown = JSON.parse,
): AsyncGenerator<T> {
  const ready: string[] = [];
  const scanner = new ReplicaScanner({ feature: (_at, text) => ready.push(text) }, { only: layer });
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    scanner.push(chunk as Buffer);
    for (const text of ready) yield* parse(`[${text}]`) as T[];
    ready.length = 0;
  }
  scanner.end();
}
