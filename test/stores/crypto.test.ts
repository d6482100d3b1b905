import { describe, expect, it } from 'vitest';
import { redact } from '../../src/core/redact.js';
import { RecordCodec } from '../../src/stores/codec.js';
import { CACHE_KEY_ENV, deriveCacheKey, RecordSealer, resolveCacheKey } from '../../src/stores/crypto.js';
import { makeRecord } from './helpers.js';

const NOW = Date.UTC(2026, 0, 1);

describe('RecordSealer (AES-256-GCM)', () => {
  it('round-trips and produces a versioned base64url envelope with a fresh IV each time', () => {
    const sealer = new RecordSealer('correct horse battery staple');
    const a = sealer.seal('k1', 'hello token');
    const b = sealer.seal('k1', 'hello token');
    expect(a).toMatch(/^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('hello');
    expect(sealer.open('k1', a)).toBe('hello token');
    expect(sealer.open('k1', b)).toBe('hello token');
  });

  it('fails on a wrong key, a tampered value, another store key (AAD) and a bad format', () => {
    const sealer = new RecordSealer('passphrase-one');
    const envelope = sealer.seal('key-a', '{"token":"x"}');
    expect(() => new RecordSealer('passphrase-two').open('key-a', envelope)).toThrow();
    expect(() => sealer.open('key-b', envelope)).toThrow();
    const parts = envelope.split(':');
    const ct = Buffer.from(parts[3] ?? '', 'base64url');
    ct[0] = (ct[0] ?? 0) ^ 1;
    expect(() =>
      sealer.open('key-a', [parts[0], parts[1], parts[2], ct.toString('base64url')].join(':')),
    ).toThrow();
    expect(() => sealer.open('key-a', `v2:${parts.slice(1).join(':')}`)).toThrow();
    expect(() => sealer.open('key-a', 'v1:abc')).toThrow();
  });

  it('derives a deterministic 32-byte key from any string, and registers the passphrase as a secret', () => {
    expect(deriveCacheKey('x').length).toBe(32);
    expect(deriveCacheKey('any string at all').equals(deriveCacheKey('any string at all'))).toBe(true);
    expect(deriveCacheKey('a').equals(deriveCacheKey('b'))).toBe(false);
    new RecordSealer('my-cache-passphrase-123');
    expect(redact('key is my-cache-passphrase-123')).not.toContain('my-cache-passphrase-123');
  });

  it('reads the passphrase from ARCGIS_ETL_CACHE_KEY unless given; null or empty turns it off', () => {
    const env = { [CACHE_KEY_ENV]: 'from-env' };
    expect(resolveCacheKey(undefined, env)).toBe('from-env');
    expect(resolveCacheKey('explicit', env)).toBe('explicit');
    expect(resolveCacheKey(null, env)).toBeUndefined();
    expect(resolveCacheKey('', env)).toBeUndefined();
    expect(resolveCacheKey(undefined, {})).toBeUndefined();
  });
});

describe('RecordCodec', () => {
  const record = makeRecord('TOKEN-abc-123456', NOW, { password: 'hunter22' } as never);

  it('plain: JSON with only the record fields (an extra password field is never written)', () => {
    const codec = new RecordCodec(undefined);
    const raw = codec.encodeString('k', record);
    expect(raw).toContain('TOKEN-abc-123456');
    expect(raw).not.toContain('hunter22');
    const decoded = codec.decodeString('k', raw);
    expect(decoded.ok && decoded.record.token).toBe('TOKEN-abc-123456');
  });

  it('sealed: no token in clear; every unreadable case is a problem, never a throw', () => {
    const codec = new RecordCodec('k3y');
    const raw = codec.encodeString('store-key', record);
    expect(raw.startsWith('v1:')).toBe(true);
    expect(raw).not.toContain('TOKEN-abc');
    expect(raw).not.toContain(Buffer.from('TOKEN-abc').toString('base64'));
    const ok = codec.decodeString('store-key', raw);
    expect(ok.ok && ok.record).toMatchObject({ token: 'TOKEN-abc-123456', username: 'etl-user' });

    const cases: [RecordCodec, string, string, RegExp][] = [
      [new RecordCodec('other'), 'store-key', raw, /wrong cache key or tampered/],
      [codec, 'other-key', raw, /wrong cache key or tampered/],
      [new RecordCodec(undefined), 'store-key', raw, /no cache key is set/],
      [codec, 'store-key', JSON.stringify(record), /not encrypted but a cache key is set/],
      [codec, 'store-key', 'garbage{', /unreadable/],
      [new RecordCodec(undefined), 'store-key', '{"token":1}', /not a token record/],
    ];
    for (const [c, aad, value, problem] of cases) {
      const result = c.decodeString(aad, value);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem).toMatch(problem);
    }
  });
});
