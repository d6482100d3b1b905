/**
 * JSON text of a feature that may hold bigints (BigInteger values beyond 2^53): their exact digits
 * are written as JSON numbers, where `JSON.stringify` would throw. Features without a bigint (nearly
 * all) go through `JSON.stringify` itself.
 */
export function featureJson(feature: unknown): string {
  try {
    return JSON.stringify(feature);
  } catch (error) {
    // only a bigint is written here; a circular value stays the error it is
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    return exactJson(feature) ?? 'null';
  }
}

/** JSON.stringify's rules (toJSON, undefined and functions left out of objects, null in arrays), bigints as digits. */
function exactJson(value: unknown): string | undefined {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return exactJson(toJSON.call(value));
  if (Array.isArray(value)) return `[${value.map((v) => exactJson(v) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const text = exactJson(v);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}
