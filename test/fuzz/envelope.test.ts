/**
 * Property tests of the ArcGIS error-envelope parser (src/http/envelope.ts): whatever the status,
 * content type and body, it returns the parsed JSON or throws an EtlError with a known code, and a
 * token placed anywhere in the input never comes out in the error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, EtlError } from '../../src/core/errors.js';
import { registerSecret } from '../../src/core/redact.js';
import { checkTextResponse, envelopeError, parseJsonResponse } from '../../src/http/envelope.js';
import { leaksIn, RUNS, SEED, secretForms, tokenArb } from './leak.js';

/** The codes a response can turn into. */
const RESPONSE_CODES = new Set([
  'INVALID_RESPONSE',
  'TRUNCATED_RESPONSE',
  'HTTP_ERROR',
  'ARCGIS_ERROR',
  'TOKEN_INVALID',
  'TOKEN_REQUIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_CREDENTIALS',
  'ACCOUNT_LOCKED',
]);

const statusArb = fc.oneof(
  fc.constantFrom(200, 201, 204, 301, 400, 401, 403, 404, 429, 498, 499, 500, 502, 503, 504),
  fc.integer({ min: 100, max: 599 }),
);

const contentTypeArb = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain;charset=UTF-8',
      'text/html; charset=utf-8',
      'application/xhtml+xml',
      'application/octet-stream',
      '',
    ),
    fc.string({ maxLength: 30 }),
  ),
  { nil: undefined },
);

const textArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('Invalid username or password.', 'Unable to generate token.', 'Account locked', ''),
);

const codeArb = fc.oneof(
  fc.constantFrom(400, 403, 404, 498, 499, 500, 504),
  fc.integer(),
  fc.constantFrom('498', ' 499 ', 'x', null, true, 1.5, Number.MAX_SAFE_INTEGER),
);

/** A value of a JSON envelope field: usually text, sometimes anything at all. */
const fieldArb = fc.oneof({ weight: 4, arbitrary: textArb }, { weight: 1, arbitrary: fc.jsonValue() });

const envelopeArb = fc.oneof(
  fc.record(
    {
      error: fc.record(
        {
          code: codeArb,
          message: fieldArb,
          details: fc.oneof(fc.array(fieldArb), fieldArb),
          messageCode: fieldArb,
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['error'] },
  ),
  fc.record(
    { status: fc.constant('error'), messages: fc.oneof(fc.array(fieldArb), fieldArb), code: codeArb },
    {
      requiredKeys: ['status'],
    },
  ),
);

const htmlArb = fc
  .tuple(textArb, textArb)
  .map(
    ([title, body]) => `<!DOCTYPE html><html><head><title>${title}</title></head><body>${body}</body></html>`,
  );

/** Bodies: JSON values, envelopes, HTML pages, truncated JSON, and plain noise. */
const bodyArb = fc.oneof(
  fc.json(),
  envelopeArb.map((e) => JSON.stringify(e)),
  htmlArb,
  fc.tuple(envelopeArb, fc.double({ min: 0, max: 1, noNaN: true })).map(([e, cut]) => {
    const text = JSON.stringify(e);
    return text.slice(0, Math.floor(text.length * cut));
  }),
  textArb,
);

/** Where a token goes: a secret parameter, a JSON field, a bearer header, or bare (registered). */
type Placement = 'query' | 'json' | 'bearer' | 'bare' | 'encoded' | 'base64';

function place(token: string, how: Placement): string {
  switch (how) {
    case 'query':
      return `https://host/arcgis/rest/services?f=json&token=${token}&x=1`;
    case 'json':
      return `{"token": "${token}", "expires": 1}`;
    case 'bearer':
      return `Authorization: Bearer ${token}`;
    case 'bare':
      return token;
    case 'encoded':
      return encodeURIComponent(token);
    case 'base64':
      return Buffer.from(token).toString('base64');
  }
}

const placementArb = fc.constantFrom<Placement>('query', 'json', 'bearer', 'bare', 'encoded', 'base64');

/** Inserts `needle` at a fraction of `text` (anywhere: inside strings, tags, keys…). */
function insert(text: string, needle: string, at: number): string {
  const i = Math.floor(text.length * at);
  return `${text.slice(0, i)}${needle}${text.slice(i)}`;
}

/** An envelope whose message or details carry the token. */
function envelopeWith(token: string, how: Placement, where: 'message' | 'details' | 'messages'): string {
  const text = `Invalid token ${place(token, how)} for this request`;
  if (where === 'messages') return JSON.stringify({ status: 'error', messages: [text], code: 498 });
  return JSON.stringify({
    error: where === 'message' ? { code: 498, message: text } : { code: 400, message: 'x', details: [text] },
  });
}

function outcome(fn: () => unknown): { error?: EtlError; value?: unknown } {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof EtlError)) throw new Error(`threw a non-EtlError: ${String(error)}`);
    return { error };
  }
}

/** Everything an error shows: message, details, url, its JSON view, and its causes. */
function shown(error: EtlError): string {
  const parts = [error.message, ...error.details, error.url ?? '', JSON.stringify(error.toJSON())];
  for (let c: unknown = error.cause, d = 0; c && d < 4; c = (c as { cause?: unknown }).cause, d++) {
    if (c instanceof Error) parts.push(c.message);
  }
  return parts.join('\n');
}

const params = { seed: SEED, numRuns: RUNS };

/**
 * Registered tokens come from a small fixed pool, registered once: as in a real process, a few
 * tokens are known secrets (registering thousands would only measure the redaction regex).
 */
const POOL = fc.sample(tokenArb, { numRuns: 16, seed: SEED });
for (const token of POOL) registerSecret(token); // as the client does before sending a token
const registeredArb = fc.constantFrom(...POOL);

describe('envelope parser properties', () => {
  it('parseJsonResponse returns JSON or throws an EtlError with a response code', () => {
    fc.assert(
      fc.property(statusArb, contentTypeArb, bodyArb, (status, contentType, text) => {
        const { error, value } = outcome(() =>
          parseJsonResponse({ status, contentType, text, url: 'https://host/arcgis/rest/x' }),
        );
        if (error) {
          expect(RESPONSE_CODES.has(error.code), error.code).toBe(true);
          expect(error.message.length).toBeGreaterThan(0);
          return;
        }
        // success is only possible for a 2xx JSON body that is not an error envelope
        expect(status >= 200 && status < 300).toBe(true);
        expect(envelopeError(value, status)).toBeUndefined();
      }),
      params,
    );
  });

  it('a non-2xx status never passes as success, whatever the body', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 300, max: 599 }),
        contentTypeArb,
        bodyArb,
        (status, contentType, text) => {
          const { error } = outcome(() => parseJsonResponse({ status, contentType, text }));
          expect(error).toBeDefined();
        },
      ),
      params,
    );
  });

  it('498/499 become TOKEN_INVALID / TOKEN_REQUIRED, as a status or as an envelope code', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(498, 499),
        fc.boolean(),
        textArb,
        contentTypeArb,
        (code, asStatus, message, contentType) => {
          const text = asStatus ? message : JSON.stringify({ error: { code, message: 'Invalid token.' } });
          const { error } = outcome(() =>
            parseJsonResponse({ status: asStatus ? code : 200, contentType, text }),
          );
          // a locked-account message wins over the code; anything else is the token code
          if (error?.code === 'ACCOUNT_LOCKED') return;
          expect(error?.code).toBe(code === 498 ? 'TOKEN_INVALID' : 'TOKEN_REQUIRED');
        },
      ),
      params,
    );
  });

  it('checkTextResponse returns the text or throws an EtlError with a response code', () => {
    fc.assert(
      fc.property(statusArb, contentTypeArb, bodyArb, (status, contentType, text) => {
        const { error, value } = outcome(() => checkTextResponse({ status, contentType, text }));
        if (error) expect(RESPONSE_CODES.has(error.code), error.code).toBe(true);
        else expect(value).toBe(text);
      }),
      params,
    );
  });

  it('envelopeError never throws, and answers undefined or a known EtlError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), envelopeArb), statusArb, (body, status) => {
        const error = envelopeError(body, status);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(EtlError);
          expect((ERROR_CODES as readonly string[]).includes(error.code)).toBe(true);
        }
      }),
      params,
    );
  });

  it('a token placed anywhere in the body never appears in the error, not even in part', () => {
    fc.assert(
      fc.property(
        statusArb,
        contentTypeArb,
        bodyArb,
        registeredArb,
        placementArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (status, contentType, body, token, how, at) => {
          const text = insert(body, place(token, how), at);
          for (const run of [
            () => parseJsonResponse({ status, contentType, text, url: 'https://host/arcgis/rest/x' }),
            () => checkTextResponse({ status, contentType, text }),
          ]) {
            const { error } = outcome(run);
            if (error) expect(leaksIn(shown(error), token)).toEqual([]);
          }
        },
      ),
      params,
    );
  });

  it('a token in an envelope message or details never appears in the error', () => {
    fc.assert(
      fc.property(
        statusArb,
        registeredArb,
        placementArb,
        fc.constantFrom<'message' | 'details' | 'messages'>('message', 'details', 'messages'),
        (status, token, how, where) => {
          const { error } = outcome(() =>
            parseJsonResponse({
              status,
              contentType: 'application/json',
              text: envelopeWith(token, how, where),
            }),
          );
          expect(error).toBeDefined();
          expect(leaksIn(shown(error!), token)).toEqual([]);
        },
      ),
      params,
    );
  });

  it('an unregistered token behind a secret key (token=, "token":, Bearer) never appears in the error', () => {
    fc.assert(
      fc.property(
        statusArb,
        contentTypeArb,
        bodyArb,
        tokenArb,
        fc.constantFrom<Placement>('query', 'json', 'bearer'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (status, contentType, body, rawToken, how, at) => {
          // a value nobody registered: only the key patterns can catch it
          const token = `un${rawToken}`;
          const text = insert(body, ` ${place(token, how)} `, at);
          const { error } = outcome(() => parseJsonResponse({ status, contentType, text }));
          if (error) expect(leaksIn(shown(error), token)).toEqual([]);
        },
      ),
      params,
    );
  });

  it('the leak probes catch every form (self-check)', () => {
    const token = 'tkABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
    for (const form of secretForms(token)) expect(leaksIn(`x${form}y`, token).length).toBeGreaterThan(0);
    expect(leaksIn(`${token.slice(0, 20)}…`, token).length).toBeGreaterThan(0);
  });
});
