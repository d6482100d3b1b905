/**
 * What a route answers, before faults are applied and the bytes are written.
 */
export interface Reply {
  status: number;
  contentType: string;
  /** Text, or bytes: UTF-8 already encoded (cached query answers) or binary (`f=pbf`). */
  body: string | Uint8Array;
  headers?: Record<string, string>;
  /** Features answered (feature queries), for the per-feature service time. */
  features?: number;
}

export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const HTML_TYPE = 'text/html; charset=utf-8';

export function jsonReply(value: unknown, pretty = false, status = 200): Reply {
  return {
    status,
    contentType: JSON_TYPE,
    body: pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value),
  };
}

export function textReply(body: string, status = 200): Reply {
  return { status, contentType: TEXT_TYPE, body };
}

export function htmlReply(body: string, status = 200): Reply {
  return { status, contentType: HTML_TYPE, body };
}
