/**
 * The ArcGIS error envelopes: turns (status, content-type, body text) into parsed JSON or a typed
 * EtlError. Pure: no I/O.
 */
import { EtlError } from '../core/errors.js';
import { redact } from '../core/redact.js';

export interface ResponseInput {
  status: number;
  contentType?: string | undefined;
  text: string;
  /** The URL (no query string) for the error. */
  url?: string | undefined;
}

const LOCKED_PATTERN =
  /\b(?:account (?:is |has been )?(?:locked|disabled)|locked out|too many (?:invalid|failed|unsuccessful|bad) (?:logon|login|log-in|sign[- ]?in|password)s?(?: attempts)?)/i;
const BAD_CREDENTIALS_PATTERN = /unable to generate token|invalid username or password/i;

/**
 * Maps an ArcGIS error code and message to an EtlError: 498 TOKEN_INVALID, 499 TOKEN_REQUIRED,
 * 403 FORBIDDEN, 404 NOT_FOUND, 400 bad credentials, locked account, else ARCGIS_ERROR.
 */
export function arcgisError(
  arcgisCode: number | undefined,
  message: string,
  details: readonly string[],
  options: { status?: number | undefined; url?: string | undefined; messageCode?: string | undefined } = {},
): EtlError {
  const all = [message, ...details].join(' ');
  const detailText = details.filter((d) => d && d !== message).join('; ');
  const codeText = arcgisCode === undefined ? 'ArcGIS error' : `ArcGIS error ${arcgisCode}`;
  const where = options.url ? ` (${options.url})` : '';
  const text = `${codeText}: ${message || 'no message'}${detailText ? ` [${detailText}]` : ''}${
    options.messageCode ? ` {${options.messageCode}}` : ''
  }${where}`;
  const errorOptions = {
    ...(options.status === undefined ? {} : { status: options.status }),
    ...(arcgisCode === undefined ? {} : { arcgisCode }),
    ...(options.url === undefined ? {} : { url: options.url }),
    details,
  };
  if (LOCKED_PATTERN.test(all)) return new EtlError('ACCOUNT_LOCKED', text, errorOptions);
  switch (arcgisCode) {
    case 498:
      return new EtlError('TOKEN_INVALID', text, errorOptions);
    case 499:
      return new EtlError('TOKEN_REQUIRED', text, errorOptions);
    case 403:
      return new EtlError('FORBIDDEN', text, errorOptions);
    case 404:
      return new EtlError('NOT_FOUND', text, errorOptions);
    default:
      break;
  }
  if ((arcgisCode === 400 || arcgisCode === undefined) && BAD_CREDENTIALS_PATTERN.test(all)) {
    return new EtlError('BAD_CREDENTIALS', text, errorOptions);
  }
  return new EtlError('ARCGIS_ERROR', text, errorOptions);
}

function toCode(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function toStrings(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined).map((v) => String(v));
  if (typeof value === 'string' && value) return [value];
  return [];
}

/** The EtlError an ArcGIS error body stands for, or undefined when the body is not an error. */
export function envelopeError(body: unknown, status: number, url?: string): EtlError | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const error = record.error;
  if (error && typeof error === 'object' && !Array.isArray(error)) {
    const e = error as Record<string, unknown>;
    const details = toStrings(e.details);
    const message = typeof e.message === 'string' ? e.message : (details[0] ?? '');
    return arcgisError(toCode(e.code) ?? tokenStatus(status), message, details, {
      status,
      url,
      messageCode: typeof e.messageCode === 'string' ? e.messageCode : undefined,
    });
  }
  if (record.status === 'error') {
    const messages = toStrings(record.messages);
    return arcgisError(toCode(record.code) ?? tokenStatus(status), messages.join('; '), messages, {
      status,
      url,
    });
  }
  return undefined;
}

function tokenStatus(status: number): number | undefined {
  return status === 498 || status === 499 ? status : undefined;
}

/** A 2xx status. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** True when the body is (or declares itself) an HTML page. */
export function looksLikeHtml(contentType: string | undefined, text: string): boolean {
  if (contentType && /\bhtml\b/i.test(contentType)) return true;
  return /^\s*(?:<!doctype html|<html|<head|<body|<\?xml|<[a-z]+[\s>])/i.test(text);
}

/**
 * A short, tag-free excerpt of an HTML or text body for an error message (the title when it has one).
 * Secrets are redacted before the text is cut: a cut through a secret would leave a prefix that no
 * pattern recognises any more.
 */
export function textExcerpt(text: string, max = 80): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
  const source = title?.trim()
    ? title
    : text.replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ');
  // the window is far longer than any secret, so one that starts before `max` is whole in it
  const clean = redact(
    source
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, max + 4096),
  );
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * True when the text starts like JSON and its only fault is that it ends too early: it is a prefix
 * of a JSON document (open brackets or an open string at the end), not garbage.
 */
export function isTruncatedJson(text: string): boolean {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth < 0) return false;
      // a complete document followed by more text is garbage, not truncation
      if (depth === 0 && i < trimmed.length - 1) return false;
    }
  }
  if (!(depth > 0 || inString)) return false;
  return parseFailsAtEnd(trimmed);
}

/** JSON.parse's error position, when it reports one, must be at the very end of the text. */
function parseFailsAtEnd(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/end of (?:JSON )?input|unterminated/i.test(message)) return true;
    const position = /at position (\d+)/.exec(message)?.[1];
    if (position === undefined) return false;
    return Number(position) >= text.length - 1;
  }
}

function httpLabel(status: number): string {
  return `HTTP ${status}`;
}

function statusError(status: number, text: string, contentType: string | undefined, url?: string): EtlError {
  const where = url ? ` from ${url}` : '';
  const options = { status, ...(url === undefined ? {} : { url }) };
  if (status === 498)
    return new EtlError('TOKEN_INVALID', `Invalid or expired token (${httpLabel(status)})${where}`, options);
  if (status === 499)
    return new EtlError('TOKEN_REQUIRED', `Token required (${httpLabel(status)})${where}`, options);
  const excerpt = textExcerpt(text);
  const kind = looksLikeHtml(contentType, text) ? 'an HTML page' : 'body';
  const tail = excerpt ? `: ${kind} "${excerpt}"` : '';
  return new EtlError('HTTP_ERROR', `${httpLabel(status)}${where}${tail}`, options);
}

/**
 * Parses a JSON response and checks it for the ArcGIS error envelopes. Returns the parsed body, or
 * throws the EtlError it stands for.
 */
export function parseJsonResponse(
  input: ResponseInput,
  parse: (text: string) => unknown = JSON.parse,
): unknown {
  const { status, contentType, text, url } = input;
  let parsed: unknown;
  let parseOk = false;
  if (text.trim() !== '') {
    try {
      parsed = parse(text);
      parseOk = true;
    } catch {
      parseOk = false;
    }
  }
  if (parseOk) {
    const error = envelopeError(parsed, status, url);
    if (error) throw error;
    if (!isSuccess(status)) throw statusError(status, text, contentType, url);
    return parsed;
  }
  if (!isSuccess(status)) throw statusError(status, text, contentType, url);
  const where = url ? ` from ${url}` : '';
  const options = { status, ...(url === undefined ? {} : { url }) };
  if (text.trim() === '') {
    throw new EtlError(
      'INVALID_RESPONSE',
      `Expected JSON but the body was empty (${httpLabel(status)})${where}`,
      options,
    );
  }
  if (isTruncatedJson(text)) {
    throw new EtlError(
      'TRUNCATED_RESPONSE',
      `JSON response cut short after ${text.length} characters (${httpLabel(status)})${where}`,
      options,
    );
  }
  if (looksLikeHtml(contentType, text)) {
    throw new EtlError(
      'INVALID_RESPONSE',
      `Expected JSON but got an HTML page (${httpLabel(status)})${where}: "${textExcerpt(text)}"`,
      options,
    );
  }
  throw new EtlError(
    'INVALID_RESPONSE',
    `Expected JSON but got something else (${httpLabel(status)})${where}: "${textExcerpt(text, 60)}"`,
    options,
  );
}

/**
 * Checks a text response: token statuses and other non-2xx statuses throw, and so does a body that
 * is an ArcGIS JSON error envelope (e.g. a legacy token endpoint answering an error). Else the text.
 */
export function checkTextResponse(input: ResponseInput): string {
  const { status, contentType, text, url } = input;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const error = envelopeError(JSON.parse(trimmed), status, url);
      if (error) throw error;
    } catch (error) {
      if (error instanceof EtlError) throw error;
    }
  }
  if (!isSuccess(status)) throw statusError(status, text, contentType, url);
  return text;
}
