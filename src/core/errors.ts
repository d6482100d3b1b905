/**
 * One error hierarchy for the whole library. Every error has a stable string `code`
 * (scripts and tests match on it) and an optional `cause`. Messages are always redacted.
 */
import { redact } from './redact.js';

export const ERROR_CODES = [
  // usage and configuration
  'USAGE',
  'INVALID_URL',
  'INSECURE_URL',
  'MISSING_CREDENTIALS',
  // transport
  'NETWORK_ERROR',
  'TIMEOUT',
  'HTTP_ERROR',
  'INVALID_RESPONSE',
  'TRUNCATED_RESPONSE',
  'RESPONSE_TOO_LARGE',
  'REDIRECT_BLOCKED',
  'RETRIES_EXHAUSTED',
  'ABORTED',
  // ArcGIS service errors
  'ARCGIS_ERROR',
  'TOKEN_INVALID',
  'TOKEN_REQUIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  // authentication
  'BAD_CREDENTIALS',
  'ACCOUNT_LOCKED',
  'TOKEN_ENDPOINT_NOT_FOUND',
  'TOKEN_RESPONSE_INVALID',
  'STATIC_TOKEN_INVALID',
  'FOREIGN_ORIGIN',
  'NOT_FEDERATED',
  'TOKEN_URL_UNTRUSTED',
  // token cache
  'CACHE_ERROR',
  // extraction
  'LAYER_NOT_FOUND',
  'LAYER_METADATA_INVALID',
  'OID_FIELD_NOT_FOUND',
  'NO_STRATEGY',
  'EXTRACTION_INCOMPLETE',
  'DUPLICATE_FEATURE',
  'ORDER_NOT_HONOURED',
  'UNSUPPORTED_GEOMETRY',
  'INVALID_GEOMETRY',
  'CHECKPOINT_INVALID',
  'OUTPUT_ERROR',
  'OUTPUT_BUSY',
  // server jobs (createReplica, item exports, async extractChanges): bulk and sync
  'JOB_FAILED',
  'JOB_TIMEOUT',
  // bulk export jobs (createReplica, item exports)
  'SYNC_NOT_ENABLED',
  'ITEM_NOT_FOUND',
  'DOWNLOAD_INVALID',
  // incremental sync, attachments (issue 16)
  'SYNC_UNSUPPORTED',
  'SYNC_STATE_INVALID',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface EtlErrorOptions {
  cause?: unknown;
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** The ArcGIS error code from the envelope (`error.code` or admin `code`). */
  arcgisCode?: number;
  /** The ArcGIS `details` / admin `messages`. Redacted. */
  details?: readonly string[];
  /** The URL involved, without query string or secrets. */
  url?: string;
  /** For retried operations: what was tried. */
  attempts?: number;
}

export class EtlError extends Error {
  override readonly name: string = 'EtlError';
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly arcgisCode: number | undefined;
  readonly details: readonly string[];
  readonly url: string | undefined;
  readonly attempts: number | undefined;

  constructor(code: ErrorCode, message: string, options: EtlErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.arcgisCode = options.arcgisCode;
    this.details = (options.details ?? []).map((d) => redact(String(d)));
    this.url = options.url === undefined ? undefined : redact(options.url);
    this.attempts = options.attempts;
  }

  /** A JSON view with nothing secret in it (used by `--json` outputs and logs). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.arcgisCode === undefined ? {} : { arcgisCode: this.arcgisCode }),
      ...(this.details.length === 0 ? {} : { details: this.details }),
      ...(this.url === undefined ? {} : { url: this.url }),
      ...(this.attempts === undefined ? {} : { attempts: this.attempts }),
    };
  }
}

export function isEtlError(error: unknown, code?: ErrorCode): error is EtlError {
  return error instanceof EtlError && (code === undefined || error.code === code);
}

/** Wraps anything thrown into an EtlError, keeping the original as `cause`. */
export function toEtlError(error: unknown, fallback: ErrorCode = 'NETWORK_ERROR'): EtlError {
  if (error instanceof EtlError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EtlError(fallback, message, { cause: error });
}
