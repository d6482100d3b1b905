/**
 * Functions that build an object of fixed keys with one object literal: about six times faster than
 * adding the keys one by one, and V8 optimizes each of them once. The keys are JSON string literals
 * (JSON.stringify), so no key can be read as code.
 *
 * - `values`: `make(v)` takes the values in key order (`v[i]`);
 * - `fields`: `make(v)` copies the keys of an object (`v[key]`), a missing or undefined one as null.
 *
 * Null where the caller must add the keys one by one: no key, a `__proto__` key (a literal key would
 * set the prototype), or code generation disallowed.
 */
export type LiteralMaker<S> = (source: S) => Record<string, unknown>;

/** Makers by mode and key list (a few layers at a time; the oldest goes first). */
const makers = new Map<string, LiteralMaker<never> | null>();
const MAX_MAKERS = 64;

export function literalMaker(
  keys: readonly string[],
  mode: 'values',
): LiteralMaker<readonly unknown[]> | null;
export function literalMaker(
  keys: readonly string[],
  mode: 'fields',
): LiteralMaker<Readonly<Record<string, unknown>>> | null;
export function literalMaker(keys: readonly string[], mode: 'values' | 'fields'): LiteralMaker<never> | null {
  if (keys.length === 0 || keys.includes('__proto__')) return null;
  const cacheKey = `${mode}:${JSON.stringify(keys)}`;
  let make = makers.get(cacheKey);
  if (make !== undefined) return make;
  try {
    const body = keys
      .map((key, i) => {
        const literal = JSON.stringify(key);
        return `${literal}: ${mode === 'values' ? `v[${i}]` : `v[${literal}] ?? null`}`;
      })
      .join(', ');
    make = new Function('v', `"use strict"; return { ${body} };`) as LiteralMaker<never>;
  } catch {
    make = null;
  }
  if (makers.size >= MAX_MAKERS) makers.delete(makers.keys().next().value!);
  makers.set(cacheKey, make);
  return make;
}
