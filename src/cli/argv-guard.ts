/**
 * Secrets never come from a flag value. A secret-looking flag is refused before parsing, and the
 * refusal never echoes what followed it.
 */
import { EtlError } from '../core/errors.js';

const SECRET_FLAGS =
  /^--?(password|pass|pwd|client-secret|secret|token|api-key|apikey|access-token|refresh-token)(=.*)?$/i;

const HINTS: Record<string, string> = {
  password: 'set ARCGIS_PASSWORD, ARCGIS_PASSWORD_COMMAND, or use --password-stdin',
  'client-secret': 'set ARCGIS_CLIENT_SECRET',
  token: 'set ARCGIS_TOKEN',
  'api-key': 'set ARCGIS_API_KEY',
};

export function refuseSecretFlags(argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    const match = SECRET_FLAGS.exec(arg);
    if (!match) continue;
    const name = (match[1] ?? '').toLowerCase();
    const key = name.startsWith('pass') || name === 'pwd' ? 'password' : name === 'apikey' ? 'api-key' : name;
    const hint = HINTS[key] ?? 'pass secrets through the environment or stdin';
    throw new EtlError('USAGE', `secrets are not accepted as command-line flags (--${name}): ${hint}`);
  }
}

/** Removes any `=value` or following value of an unknown flag from a parser message. */
export function scrubParserMessage(message: string): string {
  return message.replace(/('--?[A-Za-z0-9-]+)=[^']*'/g, "$1=…'");
}
