import { describe, expect, it } from 'vitest';
import { type EtlError, isEtlError } from '../../src/core/errors.js';
import { checkTextResponse, isTruncatedJson, parseJsonResponse } from '../../src/http/envelope.js';

const URL_ = 'https://example.com/arcgis/rest/services/A/FeatureServer/0/query';

function errorOf(fn: () => unknown): EtlError {
  try {
    fn();
  } catch (error) {
    if (isEtlError(error)) return error;
    throw error;
  }
  throw new Error('expected an EtlError');
}

const json = (body: unknown, status = 200) =>
  errorOf(() =>
    parseJsonResponse({ status, contentType: 'application/json', text: JSON.stringify(body), url: URL_ }),
  );

describe('parseJsonResponse: HTTP-200 error envelopes', () => {
  it('maps 498 and 499 to token errors', () => {
    const invalid = json({ error: { code: 498, message: 'Invalid Token', details: [] } });
    expect(invalid).toMatchObject({ code: 'TOKEN_INVALID', status: 200, arcgisCode: 498, url: URL_ });
    const required = json({
      error: { code: 499, message: 'Token Required', messageCode: 'GWM_0003', details: [] },
    });
    expect(required.code).toBe('TOKEN_REQUIRED');
    expect(required.message).toContain('GWM_0003');
  });

  it('maps 403 to FORBIDDEN and 404 to NOT_FOUND', () => {
    expect(
      json({ error: { code: 403, message: 'You do not have permissions to access this resource' } }).code,
    ).toBe('FORBIDDEN');
    expect(json({ error: { code: 404, message: 'Service not found' } }).code).toBe('NOT_FOUND');
  });

  it('maps 400 bad credentials to BAD_CREDENTIALS', () => {
    const error = json({
      error: { code: 400, message: 'Unable to generate token.', details: ['Invalid username or password.'] },
    });
    expect(error).toMatchObject({ code: 'BAD_CREDENTIALS', arcgisCode: 400 });
    expect(error.details).toEqual(['Invalid username or password.']);
    expect(json({ error: { code: 400, message: 'Invalid username or password.' } }).code).toBe(
      'BAD_CREDENTIALS',
    );
  });

  it('maps locked-account messages to ACCOUNT_LOCKED', () => {
    expect(
      json({ error: { code: 400, message: 'Too many invalid logon attempts. Please try again later.' } })
        .code,
    ).toBe('ACCOUNT_LOCKED');
    expect(
      json({
        error: {
          code: 400,
          message: 'Unable to generate token.',
          details: ['Your account has been locked.'],
        },
      }).code,
    ).toBe('ACCOUNT_LOCKED');
  });

  it('keeps code, message and details of any other error as ARCGIS_ERROR', () => {
    const error = json({
      error: { code: 500, message: 'Error performing query operation', details: ['d1', 'd2'] },
    });
    expect(error).toMatchObject({
      code: 'ARCGIS_ERROR',
      arcgisCode: 500,
      status: 200,
      details: ['d1', 'd2'],
    });
    expect(error.message).toContain('Error performing query operation');
    expect(error.message).toContain('500');
    const bad400 = json({
      error: { code: 400, message: 'Invalid or missing input parameters.', details: [] },
    });
    expect(bad400.code).toBe('ARCGIS_ERROR');
  });
});

describe('parseJsonResponse: statuses and shapes', () => {
  it('maps HTTP 498/499 with or without a JSON body', () => {
    expect(json({ error: { code: 498, message: 'Invalid token.' } }, 498).code).toBe('TOKEN_INVALID');
    expect(errorOf(() => parseJsonResponse({ status: 498, text: '' })).code).toBe('TOKEN_INVALID');
    expect(
      errorOf(() => parseJsonResponse({ status: 499, text: 'Token Required', contentType: 'text/plain' }))
        .code,
    ).toBe('TOKEN_REQUIRED');
    expect(json({ something: 'else' }, 498)).toMatchObject({ code: 'TOKEN_INVALID', status: 498 });
  });

  it('maps the admin shape by code', () => {
    const error = json({ status: 'error', messages: ['Token Expired.'], code: 498 });
    expect(error).toMatchObject({ code: 'TOKEN_INVALID', arcgisCode: 498, details: ['Token Expired.'] });
    expect(json({ status: 'error', messages: ['Not allowed'], code: 403 }).code).toBe('FORBIDDEN');
    expect(json({ status: 'error', messages: ['Boom'], code: 500 }).code).toBe('ARCGIS_ERROR');
  });

  it('returns the parsed body on success (and success responses that merely contain "status")', () => {
    expect(parseJsonResponse({ status: 200, text: '{"features":[],"status":"success"}' })).toEqual({
      features: [],
      status: 'success',
    });
  });

  it('reports HTML as INVALID_RESPONSE with the status and a tag-free excerpt', () => {
    const html =
      '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Oops</h1></body></html>';
    const error = errorOf(() =>
      parseJsonResponse({ status: 200, contentType: 'text/html', text: html, url: URL_ }),
    );
    expect(error.code).toBe('INVALID_RESPONSE');
    expect(error.message).toMatch(/HTML/);
    expect(error.message).toContain('HTTP 200');
    expect(error.message).toContain('Service Unavailable');
    expect(error.message).not.toContain('<title>');
  });

  it('reports a JSON body cut short as TRUNCATED_RESPONSE, and garbage as INVALID_RESPONSE', () => {
    const full = JSON.stringify({ features: [{ attributes: { OBJECTID: 1, NAME: 'a "quoted" name' } }] });
    for (const cut of [10, 25, full.length - 1]) {
      expect(errorOf(() => parseJsonResponse({ status: 200, text: full.slice(0, cut) })).code).toBe(
        'TRUNCATED_RESPONSE',
      );
    }
    expect(errorOf(() => parseJsonResponse({ status: 200, text: '{"a": nonsense, "b": 1}' })).code).toBe(
      'INVALID_RESPONSE',
    );
    expect(errorOf(() => parseJsonResponse({ status: 200, text: '{"a":1}}' })).code).toBe('INVALID_RESPONSE');
    expect(errorOf(() => parseJsonResponse({ status: 200, text: 'hello' })).code).toBe('INVALID_RESPONSE');
    expect(errorOf(() => parseJsonResponse({ status: 200, text: '' })).code).toBe('INVALID_RESPONSE');
  });

  it('maps other non-2xx statuses to HTTP_ERROR with the status', () => {
    const error = errorOf(() =>
      parseJsonResponse({
        status: 502,
        contentType: 'text/html',
        text: '<html><title>Bad Gateway</title></html>',
      }),
    );
    expect(error).toMatchObject({ code: 'HTTP_ERROR', status: 502 });
    expect(error.message).toContain('Bad Gateway');
    expect(json({ ok: true }, 500)).toMatchObject({ code: 'HTTP_ERROR', status: 500 });
  });
});

describe('isTruncatedJson', () => {
  it('tells prefixes of JSON from other failures', () => {
    expect(isTruncatedJson('{"a":[1,2')).toBe(true);
    expect(isTruncatedJson('{"a":"unterminated')).toBe(true);
    expect(isTruncatedJson('[')).toBe(true);
    expect(isTruncatedJson('{"a":1}')).toBe(false);
    expect(isTruncatedJson('<html>')).toBe(false);
    expect(isTruncatedJson('{"a": wrong, "b": [')).toBe(false);
  });
});

describe('checkTextResponse', () => {
  it('returns text bodies as they are', () => {
    expect(checkTextResponse({ status: 200, text: 'abc.TOKEN' })).toBe('abc.TOKEN');
  });
  it('still throws for error envelopes and error statuses', () => {
    expect(
      errorOf(() =>
        checkTextResponse({
          status: 200,
          text: '{"error":{"code":400,"message":"Invalid username or password."}}',
        }),
      ).code,
    ).toBe('BAD_CREDENTIALS');
    expect(errorOf(() => checkTextResponse({ status: 498, text: 'nope' })).code).toBe('TOKEN_INVALID');
    expect(errorOf(() => checkTextResponse({ status: 503, text: 'busy' })).code).toBe('HTTP_ERROR');
  });
});
