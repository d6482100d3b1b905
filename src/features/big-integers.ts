/**
 * `esriFieldTypeBigInteger` values beyond 2^53 are never rounded. `JSON.parse` would round them,
 * so a feature query of a layer with BigInteger fields parses its JSON answer with lossless-json
 * when the text holds an integer of 16 digits or more: such a value of a BigInteger field becomes
 * a bigint (a safe one stays a number). Any other number is parsed as `JSON.parse` does. Answers
 * without a long integer (nearly all) take `JSON.parse` itself.
 */
import { parse } from 'lossless-json';
import type { EsriField } from '../core/protocol.js';

/** An integer literal of 16 digits or more, not part of a decimal or an exponent. */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/;
const INTEGER = /^-?\d+$/;

/** A long integer literal, until the reviver knows its key. */
class IntegerText {
  constructor(readonly text: string) {}
}

function parseNumber(text: string): unknown {
  if (INTEGER.test(text)) {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) return new IntegerText(text);
    return n;
  }
  return Number(text);
}

/** A JSON parser that keeps the BigInteger fields `names` exact. */
export function bigIntegerJsonParser(names: ReadonlySet<string>): (text: string) => unknown {
  const revive = (key: string, value: unknown): unknown => {
    if (!(value instanceof IntegerText)) return value;
    return names.has(key) ? BigInt(value.text) : Number(value.text);
  };
  return (text) => (LONG_INTEGER.test(text) ? parse(text, revive, parseNumber) : JSON.parse(text));
}

const parsers = new WeakMap<readonly EsriField[], ((text: string) => unknown) | null>();

/** The parser for feature queries of a layer: undefined when it has no BigInteger field. */
export function featureJsonParser(fields: readonly EsriField[]): ((text: string) => unknown) | undefined {
  let parser = parsers.get(fields);
  if (parser === undefined) {
    const names = new Set(fields.filter((f) => f.type === 'esriFieldTypeBigInteger').map((f) => f.name));
    parser = names.size === 0 ? null : bigIntegerJsonParser(names);
    parsers.set(fields, parser);
  }
  return parser ?? undefined;
}
