/**
 * A secret given as a value or as a function that produces it (a vault, `--password-command`).
 */
import { EtlError, isEtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';

export type SecretSource = string | (() => string | Promise<string>);

/** The secret's value, registered for redaction; MISSING_CREDENTIALS when it cannot be read or is empty. */
export async function resolveSecret(source: SecretSource, what: string): Promise<string> {
  if (typeof source === 'string') return source;
  let value: string;
  try {
    value = await source();
  } catch (cause) {
    if (isEtlError(cause)) throw cause;
    throw new EtlError('MISSING_CREDENTIALS', `Could not read the ${what}`, { cause });
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw new EtlError('MISSING_CREDENTIALS', `Empty ${what}`);
  }
  registerSecret(value);
  return value;
}
