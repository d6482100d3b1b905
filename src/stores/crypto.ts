/**
 * Encryption at rest for token caches: AES-256-GCM over a record's JSON, with the store key
 * (Redis key or file entry name) authenticated as additional data, so a sealed value cannot be
 * moved to another key. Envelope: `v1:<iv>:<tag>:<ciphertext>`, each part base64url.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { registerSecret } from '../core/redact.js';

/** The environment variable holding the cache passphrase. */
export const CACHE_KEY_ENV = 'ARCGIS_ETL_CACHE_KEY';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT = 'arcgis-etl/token-cache/v1';
/** scrypt cost: N=2^14, r=8 (about 16 MiB, tens of ms, once per passphrase per process). */
const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

const derived = new Map<string, Buffer>();

/**
 * The passphrase to use: `key` when given (an empty string or `null` turns encryption off),
 * otherwise `ARCGIS_ETL_CACHE_KEY` from the environment.
 */
export function resolveCacheKey(
  key: string | null | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = key === undefined ? env[CACHE_KEY_ENV] : key;
  return value ? value : undefined;
}

/** A 32-byte AES key from any string (scrypt with a fixed, purpose-bound salt). Memoized. */
export function deriveCacheKey(passphrase: string): Buffer {
  const id = createHash('sha256').update(passphrase).digest('hex');
  let key = derived.get(id);
  if (!key) {
    key = scryptSync(passphrase.normalize('NFC'), SALT, 32, SCRYPT);
    derived.set(id, key);
  }
  return key;
}

/** True when `value` looks like a sealed envelope (of any version). */
export function isSealed(value: string): boolean {
  return /^v\d+:/.test(value);
}

export class RecordSealer {
  readonly #key: Buffer;

  constructor(passphrase: string) {
    registerSecret(passphrase);
    this.#key = deriveCacheKey(passphrase);
  }

  /** Encrypts `plaintext`, binding it to `aad` (the store key). */
  seal(aad: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join(':');
  }

  /** Decrypts an envelope; throws on a wrong key, a tampered value, another key's value or a bad format. */
  open(aad: string, envelope: string): string {
    const parts = envelope.split(':');
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new Error(`unsupported envelope (${String(parts[0]).slice(0, 8)})`);
    }
    const iv = Buffer.from(parts[1] ?? '', 'base64url');
    const tag = Buffer.from(parts[2] ?? '', 'base64url');
    const ct = Buffer.from(parts[3] ?? '', 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('malformed envelope');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  }
}
