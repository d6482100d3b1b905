/**
 * Replica JSON read lazily from its bytes: the document is scanned once for each layer's `id` and
 * the byte range of its `features` array, then the features are parsed one at a time while they are
 * written, so the whole object tree of a large replica is never held (only its bytes). Each layer's
 * features are parsed with the parser given for its id (BigInteger fields exact).
 */
import { EtlError } from '../../core/errors.js';

export interface ReplicaLayerRange {
  id: number;
  /** Features, parsed one by one from the array's bytes. */
  features: Iterable<{ attributes?: Record<string, unknown>; geometry?: unknown }>;
}

const decoder = new TextDecoder();

/** The layers of a replica JSON document, or undefined when it has no top-level `layers` array. */
export function scanReplica(
  bytes: Uint8Array,
  parserFor: (layerId: number) => (text: string) => unknown = () => JSON.parse,
): ReplicaLayerRange[] | undefined {
  let i = ws(bytes, 0);
  if (bytes[i] !== 0x7b) return undefined; // {
  let layers: ReplicaLayerRange[] | undefined;
  i = eachMember(bytes, i, (key, start) => {
    if (key !== 'layers' || bytes[start] !== 0x5b) return skipValue(bytes, start);
    layers = [];
    return eachElement(bytes, start, (el) => {
      if (bytes[el] !== 0x7b) throw invalid('a layer is not an object');
      let id: unknown;
      let range: [number, number] | undefined;
      const end = eachMember(bytes, el, (k, v) => {
        const after = skipValue(bytes, v);
        if (k === 'id') id = JSON.parse(decoder.decode(bytes.subarray(v, after)));
        else if (k === 'features' && bytes[v] === 0x5b) range = [v, after];
        return after;
      });
      if (typeof id !== 'number' || !range) throw invalid('a layer has no id or no features');
      layers!.push({ id, features: lazyFeatures(bytes, range, parserFor(id)) });
      return end;
    });
  });
  return layers;
}

function lazyFeatures(
  bytes: Uint8Array,
  [start]: [number, number],
  parse: (text: string) => unknown,
): Iterable<{ attributes?: Record<string, unknown>; geometry?: unknown }> {
  return {
    *[Symbol.iterator]() {
      // element by element: no index of the whole array is built
      let at = ws(bytes, start + 1);
      if (bytes[at] === 0x5d) return;
      for (;;) {
        const end = skipValue(bytes, at);
        yield parse(decoder.decode(bytes.subarray(at, end))) as {
          attributes?: Record<string, unknown>;
          geometry?: unknown;
        };
        at = ws(bytes, end);
        if (bytes[at] === 0x2c) at = ws(bytes, at + 1);
        else if (bytes[at] === 0x5d) return;
        else throw invalid('"," or "]" is expected');
      }
    },
  };
}

/** Calls `onMember(key, valueStart)` for each member of the object at `i` (which answers the value's end); answers the index after `}`. */
function eachMember(
  bytes: Uint8Array,
  i: number,
  onMember: (key: string, valueStart: number) => number,
): number {
  let at = ws(bytes, i + 1);
  if (bytes[at] === 0x7d) return at + 1;
  for (;;) {
    if (bytes[at] !== 0x22) throw invalid('a key is expected');
    const keyEnd = skipString(bytes, at);
    const key = JSON.parse(decoder.decode(bytes.subarray(at, keyEnd))) as string;
    at = ws(bytes, keyEnd);
    if (bytes[at] !== 0x3a) throw invalid('":" is expected');
    at = ws(bytes, onMember(key, ws(bytes, at + 1)));
    if (bytes[at] === 0x2c) at = ws(bytes, at + 1);
    else if (bytes[at] === 0x7d) return at + 1;
    else throw invalid('"," or "}" is expected');
  }
}

function eachElement(bytes: Uint8Array, i: number, onElement: (start: number) => number): number {
  let at = ws(bytes, i + 1);
  if (bytes[at] === 0x5d) return at + 1;
  for (;;) {
    at = ws(bytes, onElement(at));
    if (bytes[at] === 0x2c) at = ws(bytes, at + 1);
    else if (bytes[at] === 0x5d) return at + 1;
    else throw invalid('"," or "]" is expected');
  }
}

/** The index after the JSON value at `i`. */
function skipValue(bytes: Uint8Array, i: number): number {
  const c = bytes[i];
  if (c === 0x22) return skipString(bytes, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    let at = i;
    while (at < bytes.length) {
      const b = bytes[at]!;
      if (b === 0x22) {
        at = skipString(bytes, at);
        continue;
      }
      if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (depth === 0) return at + 1;
      }
      at++;
    }
    throw invalid('the document ends inside a value');
  }
  let at = i;
  while (at < bytes.length) {
    const b = bytes[at]!;
    if (b === 0x2c || b === 0x7d || b === 0x5d || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) break;
    at++;
  }
  if (at === i) throw invalid('a value is expected');
  return at;
}

function skipString(bytes: Uint8Array, i: number): number {
  let at = i + 1;
  while (at < bytes.length) {
    const b = bytes[at]!;
    if (b === 0x5c) at += 2;
    else if (b === 0x22) return at + 1;
    else at++;
  }
  throw invalid('the document ends inside a string');
}

function ws(bytes: Uint8Array, i: number): number {
  let at = i;
  while (at < bytes.length) {
    const b = bytes[at];
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
    at++;
  }
  return at;
}

function invalid(why: string): EtlError {
  return new EtlError('DOWNLOAD_INVALID', `The replica JSON is not valid: ${why}`);
}
