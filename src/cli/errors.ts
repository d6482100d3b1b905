/**
 * Exit codes and the one-line error the CLI prints. Never a stack, never a secret.
 */
import { type ErrorCode, EtlError } from '../core/errors.js';
import { redact } from '../core/redact.js';

/** 0 ok · 1 failure · 2 usage · 3 authentication · 4 not found · 5 incomplete export · 130 interrupted */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  incomplete: 5,
  interrupted: 130,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  USAGE: EXIT.usage,
  INVALID_URL: EXIT.usage,
  INSECURE_URL: EXIT.usage,
  MISSING_CREDENTIALS: EXIT.auth,
  BAD_CREDENTIALS: EXIT.auth,
  ACCOUNT_LOCKED: EXIT.auth,
  TOKEN_INVALID: EXIT.auth,
  TOKEN_REQUIRED: EXIT.auth,
  STATIC_TOKEN_INVALID: EXIT.auth,
  TOKEN_ENDPOINT_NOT_FOUND: EXIT.auth,
  TOKEN_RESPONSE_INVALID: EXIT.auth,
  FORBIDDEN: EXIT.auth,
  NOT_FEDERATED: EXIT.auth,
  TOKEN_URL_UNTRUSTED: EXIT.auth,
  NOT_FOUND: EXIT.notFound,
  LAYER_NOT_FOUND: EXIT.notFound,
  EXTRACTION_INCOMPLETE: EXIT.incomplete,
  DUPLICATE_FEATURE: EXIT.incomplete,
  ORDER_NOT_HONOURED: EXIT.incomplete,
  ABORTED: EXIT.interrupted,
  ITEM_NOT_FOUND: EXIT.notFound,
  // the server lacks what the chosen mode needs (Sync for createReplica; edit or change tracking)
  SYNC_NOT_ENABLED: EXIT.usage,
  SYNC_UNSUPPORTED: EXIT.usage,
};

export function exitCodeFor(error: unknown): number {
  return error instanceof EtlError ? (BY_CODE[error.code] ?? EXIT.failure) : EXIT.failure;
}

/** `error [CODE]: message` on one line. */
export function errorLine(error: unknown): string {
  if (error instanceof EtlError) return `error [${error.code}]: ${oneLine(error.message)}`;
  const message = error instanceof Error ? error.message : String(error);
  return `error [INTERNAL]: ${oneLine(redact(message))}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 2000);
}
