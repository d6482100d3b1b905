/**
 * Form encoding of request parameters and the GET-or-POST choice.
 */
import type { Params, ParamValue } from './types.js';

/** Some servers fail on GET URLs longer than about 2000 characters: those are sent as POST. */
export const MAX_GET_URL_LENGTH = 2000;

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

function encodeValue(value: Exclude<ParamValue, null | undefined>): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

/** Params as form fields: null/undefined skipped, booleans as true/false, `f=json` unless `f` is given. */
export function encodeParams(
  params: Params | undefined,
  options: { addFormat?: boolean } = {},
): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue;
    out.set(key, encodeValue(value));
  }
  if ((options.addFormat ?? true) && !out.has('f')) out.set('f', 'json');
  return out;
}

export interface EncodedRequest {
  method: 'GET' | 'POST';
  /** The URL to send to (with the query string for GET). */
  url: URL;
  /** The form body for POST. */
  body: string | undefined;
  /** True when a GET was turned into a POST because its URL was too long. */
  switchedToPost: boolean;
}

/**
 * Builds the request: GET puts the params in the query string (merged over the URL's own query),
 * POST in a form body. `f=json` is added unless the params or the URL's query already have `f`.
 * A GET whose URL would pass MAX_GET_URL_LENGTH is sent as POST with the params in the body.
 */
export function encodeRequest(
  url: URL | string,
  method: 'GET' | 'POST',
  params: Params | undefined,
): EncodedRequest {
  const base = new URL(String(url));
  base.hash = '';
  const fields = encodeParams(params, { addFormat: !base.searchParams.has('f') });
  if (method === 'GET') {
    const target = new URL(base);
    for (const [key, value] of fields) target.searchParams.set(key, value);
    if (target.toString().length <= MAX_GET_URL_LENGTH) {
      return { method: 'GET', url: target, body: undefined, switchedToPost: false };
    }
    return { method: 'POST', url: base, body: fields.toString(), switchedToPost: true };
  }
  return { method: 'POST', url: base, body: fields.toString(), switchedToPost: false };
}
