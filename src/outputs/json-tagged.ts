/**
 * JSON that keeps bigints and byte arrays (`{"$big":"…"}`, `{"$bytes":"<base64>"}`): for the
 * small state files the binary writers keep beside a partial output to resume it.
 */
import { Buffer } from 'node:buffer';

export function toTaggedJson(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (typeof v === 'bigint') return { $big: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
    return v;
  });
}

export function fromTaggedJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$big === 'string' && Object.keys(o).length === 1) return BigInt(o.$big);
      if (typeof o.$bytes === 'string' && Object.keys(o).length === 1) {
        return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
      }
    }
    return v;
  });
}
