/**
 * Replica JSON read from a file as a stream: a byte-level scanner follows the document's nesting
 * (strings, escapes, keys) across chunks, and hands out each `layers[i].features[j]` object's text
 * and each `layers[i].id` as it passes. Memory holds one chunk and one feature, whatever the size.
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

export interface ReplicaVisitor {
  /** `layers[layer].id` */
  id?(layer: number, id: number): void;
  /** The JSON text of `layers[layer].features[n]`. */
  feature?(layer: number, text: string): void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Feeds chunks of a JSON document; calls the visitor for replica ids and features. */
export class ReplicaScanner {
  readonly #visit: ReplicaVisitor;
  readonly #stack: Frame[] = [];
  #inString = false;
  #escape = false;
  #keyBytes: number[] | undefined;
  /** Capturing a feature object: the pieces so far, and the depth its closing brace returns to. */
  #pieces: Buffer[] | undefined;
  #captureDepth = -1;
  /** Capturing the id scalar. */
  #scalar: number[] | undefined;
  #scalarLayer = -1;
  #inScalar = false;
  #started = false;
  /** Whether the document has a top-level `layers` array. */
  hasLayers = false;

  constructor(visit: ReplicaVisitor) {
    this.#visit = visit;
  }

  push(chunk: Buffer): void {
    let captureFrom = this.#pieces ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#inString) {
        if (this.#keyBytes) this.#keyBytes.push(b);
        if (this.#escape) this.#escape = false;
        else if (b === BACKSLASH) this.#escape = true;
        else if (b === QUOTE) {
          this.#inString = false;
          if (this.#keyBytes) {
            const top = this.#stack[this.#stack.length - 1]!;
            top.key = JSON.parse(Buffer.from(this.#keyBytes).toString('utf8')) as string;
            this.#keyBytes = undefined;
          }
        }
        continue;
      }
      if (this.#inScalar) {
        if (b === 0x2c || b === 0x7d || b === 0x5d || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
          this.#inScalar = false;
          if (this.#scalar) {
            const value = Number(Buffer.from(this.#scalar).toString('latin1'));
            if (!Number.isSafeInteger(value)) throw invalid('a layer id is not an integer');
            this.#visit.id?.(this.#scalarLayer, value);
            this.#scalar = undefined;
          }
        } else {
          this.#scalar?.push(b);
          continue;
        }
      }
      const top = this.#stack[this.#stack.length - 1];
      switch (b) {
        case 0x20:
        case 0x0a:
        case 0x0d:
        case 0x09:
          break;
        case QUOTE:
          this.#inString = true;
          if (top && !top.array && top.expectKey) this.#keyBytes = [QUOTE];
          else this.#valueStart(b);
          break;
        case 0x7b: // {
        case 0x5b: // [
          if (this.#valueStart(b)) captureFrom = i;
          this.#stack.push({ array: b === 0x5b, key: undefined, expectKey: b === 0x7b, index: -1 });
          break;
        case 0x7d: // }
        case 0x5d: // ]
          if (!top) throw invalid('an unexpected closing bracket');
          this.#stack.pop();
          if (this.#pieces && this.#stack.length === this.#captureDepth) {
            this.#pieces.push(chunk.subarray(captureFrom, i + 1));
            const text = Buffer.concat(this.#pieces).toString('utf8');
            this.#pieces = undefined;
            captureFrom = -1;
            this.#visit.feature?.(this.#stack[1]!.index, text);
          }
          break;
        case 0x3a: // :
          if (top && !top.array) top.expectKey = false;
          break;
        case 0x2c: // ,
          if (top && !top.array) top.expectKey = true;
          break;
        default:
          this.#valueStart(b);
          this.#inScalar = true;
          if (this.#isLayerMember('id')) {
            this.#scalar = [b];
            this.#scalarLayer = this.#stack[1]!.index;
          }
      }
    }
    if (this.#pieces && captureFrom >= 0) this.#pieces.push(Buffer.from(chunk.subarray(captureFrom)));
  }

  end(): void {
    if (this.#stack.length > 0 || this.#inString || this.#scalar)
      throw invalid('the document ends inside a value');
  }

  /** A value starts at the current depth; true when it is a feature object to capture. */
  #valueStart(b: number): boolean {
    const s = this.#stack;
    const top = s[s.length - 1];
    if (!top) {
      if (this.#started) throw invalid('more than one top-level value');
      this.#started = true;
      return false;
    }
    if (top.array) top.index++;
    if (s.length === 1 && top.key === 'layers' && b === 0x5b) this.hasLayers = true;
    if (this.#pieces === undefined && b === 0x7b && this.#isLayerMember('features', 4)) {
      this.#pieces = [];
      this.#captureDepth = 4;
      return true;
    }
    return false;
  }

  /** root.layers[i].<key> (depth 3), or an element of root.layers[i].<key>[…] (depth 4). */
  #isLayerMember(key: string, depth = 3): boolean {
    const s = this.#stack;
    const [root, layers, layer, list] = s;
    return (
      s.length === depth &&
      root !== undefined &&
      !root.array &&
      root.key === 'layers' &&
      layers?.array === true &&
      layer !== undefined &&
      !layer.array &&
      layer.key === key &&
      (depth === 3 || list?.array === true)
    );
  }
}

function invalid(why: string): EtlError {
  return new EtlError('DOWNLOAD_INVALID', `The replica JSON is not valid: ${why}`);
}

async function scanFile(path: string, visit: ReplicaVisitor, onChunk?: () => void): Promise<boolean> {
  const scanner = new ReplicaScanner(visit);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    scanner.push(chunk as Buffer);
    onChunk?.();
  }
  scanner.end();
  return scanner.hasLayers;
}

/** The layer ids of a replica file by position, or undefined when it has no top-level `layers`. */
export async function replicaLayerIds(path: string): Promise<number[] | undefined> {
  const ids: number[] = [];
  const has = await scanFile(path, { id: (layer, id) => (ids[layer] = id) });
  if (!has) return undefined;
  if (ids.some((id) => id === undefined) || ids.length === 0) throw invalid('a layer has no id');
  return ids;
}

/**
 * The features of `layers[layer]`, parsed one at a time (with `parse`: the layer's lossless parser)
 * while the file streams by.
 */
export async function* replicaFeatures(
  path: string,
  layer: number,
  parse: (text: string) => unknown = JSON.parse,
): AsyncGenerator<{ attributes?: Record<string, unknown>; geometry?: unknown }> {
  const scanner = new ReplicaScanner({
    feature: (at, text) => {
      if (at === layer) ready.push(text);
    },
  });
  const ready: string[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    scanner.push(chunk as Buffer);
    for (const text of ready)
      yield parse(text) as { attributes?: Record<string, unknown>; geometry?: unknown };
    ready.length = 0;
  }
  scanner.end();
}
