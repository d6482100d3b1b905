/**
 * Turns records into what a store writes (plain JSON or a sealed envelope) and back. Anything that
 * cannot be read (wrong key, tampered, plain value while a key is set, sealed value without a key,
 * bad shape) decodes to a `problem`, which stores report as a warning and treat as a miss.
 */
import { isSealed, RecordSealer } from './crypto.js';
import { parseStoredRecord, toStoredRecord } from './record.js';
import type { TokenRecord } from './types.js';

export type DecodeResult = { ok: true; record: TokenRecord } | { ok: false; problem: string };

export class RecordCodec {
  readonly #sealer: RecordSealer | undefined;

  /** `passphrase`: encrypt at rest when set. */
  constructor(passphrase: string | undefined) {
    this.#sealer = passphrase ? new RecordSealer(passphrase) : undefined;
  }

  get encrypted(): boolean {
    return this.#sealer !== undefined;
  }

  /** The sealed envelope of a record (only when encrypted). */
  seal(aad: string, record: TokenRecord): string {
    if (!this.#sealer) throw new Error('no cache key');
    return this.#sealer.seal(aad, JSON.stringify(toStoredRecord(record)));
  }

  /** A string value (Redis): sealed envelope when encrypted, else the record's JSON. */
  encodeString(aad: string, record: TokenRecord): string {
    return this.#sealer ? this.seal(aad, record) : JSON.stringify(toStoredRecord(record));
  }

  decodeString(aad: string, raw: string): DecodeResult {
    if (isSealed(raw)) return this.decodeSealed(aad, raw);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, problem: 'unreadable value (neither JSON nor a sealed envelope)' };
    }
    return this.decodePlain(value);
  }

  decodeSealed(aad: string, envelope: string): DecodeResult {
    if (!this.#sealer) {
      return { ok: false, problem: 'entry is encrypted but no cache key is set (ARCGIS_ETL_CACHE_KEY)' };
    }
    let plaintext: string;
    try {
      plaintext = this.#sealer.open(aad, envelope);
    } catch {
      return { ok: false, problem: 'entry could not be decrypted (wrong cache key or tampered value)' };
    }
    let value: unknown;
    try {
      value = JSON.parse(plaintext);
    } catch {
      return { ok: false, problem: 'decrypted entry is not JSON' };
    }
    const record = parseStoredRecord(value);
    return record ? { ok: true, record } : { ok: false, problem: 'decrypted entry is not a token record' };
  }

  decodePlain(value: unknown): DecodeResult {
    if (this.#sealer) {
      return { ok: false, problem: 'entry is not encrypted but a cache key is set; ignoring it' };
    }
    const record = parseStoredRecord(value);
    return record ? { ok: true, record } : { ok: false, problem: 'entry is not a token record' };
  }
}
