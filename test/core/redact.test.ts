import { describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import {
  MAX_KNOWN_TOKENS,
  REDACTED,
  redact,
  redactUrl,
  redactValue,
  registerSecret,
} from '../../src/core/redact.js';

describe('redact', () => {
  it('removes secret query and form parameters', () => {
    const out = redact(
      'POST https://h/x?f=json&token=abc.DEF-123&where=1%3D1 body password=hunter22&username=bob',
    );
    expect(out).not.toContain('abc.DEF-123');
    expect(out).not.toContain('hunter22');
    expect(out).toContain('username=bob');
    expect(out).toContain(`token=${REDACTED}`);
  });

  it('removes secrets in JSON and Bearer headers', () => {
    const out = redact('{"token":"tok-xyz-1","expires":1} X-Esri-Authorization: Bearer tok-xyz-2');
    expect(out).not.toMatch(/tok-xyz/);
  });

  it('removes registered secrets in clear, URL-encoded and base64 forms', () => {
    const secret = 'p@ss w/rd+unique-7781';
    registerSecret(secret);
    const text = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')].join(' | ');
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).not.toContain(encodeURIComponent(secret));
    expect(out).not.toContain(Buffer.from(secret).toString('base64'));
  });

  it('redacts URLs and nested values', () => {
    expect(redactUrl('https://u:pw@h/a?token=zzz999&x=1')).toBe(`https://h/a?token=${REDACTED}&x=1`);
    expect(
      redactValue({ password: 'x', nested: { clientSecret: 'y', url: 'https://h/?token=qqq111' } }),
    ).toEqual({
      password: REDACTED,
      nested: { clientSecret: REDACTED, url: `https://h/?token=${REDACTED}` },
    });
  });

  it('errors redact their message, details and url', () => {
    const e = new EtlError('HTTP_ERROR', 'failed https://h/q?token=sekret123', {
      details: ['password=sekret456'],
      url: 'https://h/q?token=sekret789',
    });
    expect(JSON.stringify(e.toJSON())).not.toMatch(/sekret/);
    expect(e.message).not.toMatch(/sekret/);
  });
});

describe('redact, truncated bodies', () => {
  it('hides a JSON token value cut short before its closing quote', () => {
    expect(redact('{"token":"abcdef-unterminated-1234')).not.toContain('abcdef');
  });
});

describe('redact, many issued tokens', () => {
  it('keeps credentials for good and the most recent tokens', () => {
    const password = 'long-lived-password-5521';
    registerSecret(password);
    for (let i = 0; i < MAX_KNOWN_TOKENS * 40; i++) {
      registerSecret(`issued-token-${i}-xyzw`, 'token');
      if (i % 64 === 0) redact('warm the pattern');
    }
    const recent = `issued-token-${MAX_KNOWN_TOKENS * 40 - 1}-xyzw`;
    expect(redact(`a ${password} b ${recent}`)).toBe(`a ${REDACTED} b ${REDACTED}`);
  });
});

describe('redact, short secrets', () => {
  it('an echoed 3-character password is redacted; words that merely contain it are left intact', () => {
    registerSecret('Qv7');
    const echoed = redact('login failed for bob with password Qv7 (try "Qv7" again)');
    expect(echoed).not.toContain('Qv7');
    expect(echoed).toBe(`login failed for bob with password ${REDACTED} (try "${REDACTED}" again)`);
    const unrelated = 'layer Qv7a, field aQv7, id Qv71 and Qv7_x stay as they are';
    expect(redact(unrelated)).toBe(unrelated);
  });

  it('a 1-character secret is registered too, and its encoded forms stand alone as well', () => {
    registerSecret('%');
    expect(redact('password: % ;')).toBe(`password: ${REDACTED} ;`);
    expect(redact('value=%25 here')).toBe(`value=${REDACTED} here`);
    expect(redact('100%25 sure, 50%')).toBe('100%25 sure, 50%');
  });
});
