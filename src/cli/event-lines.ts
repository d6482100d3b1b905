/**
 * Human lines for library events: token activity always (unless quiet), retries and warnings
 * too, everything with --verbose. Events are already redacted by the emitter.
 */
import type { EtlEvent } from '../core/events.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

function time(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function eventLine(event: EtlEvent, verbosity: Verbosity): string | undefined {
  if (verbosity === 'quiet') return undefined;
  const who = 'username' in event && event.username ? ` for ${event.username}` : '';
  switch (event.type) {
    case 'token.generated':
      return `token: generated${who} at ${event.tokenUrl}, expires ${time(event.expiresAt)}`;
    case 'token.static':
      return `token: using the ${event.kind === 'api-key' ? 'API key (ARCGIS_API_KEY)' : 'static token (ARCGIS_TOKEN)'} as given, never refreshed${event.expiresAt === undefined ? '' : `, expires ${time(event.expiresAt)}`}`;
    case 'token.refreshed':
      return `token: refreshed${who} (${event.reason}), expires ${time(event.expiresAt)}`;
    case 'token.invalidated':
      return `token: invalidated${who} (${event.reason})`;
    case 'token.failed':
      return `token: failed${who} [${event.code}] ${event.reason}`;
    case 'token.request':
      return verbosity === 'verbose' ? `token: credentials sent to ${event.host}` : undefined;
    case 'warning':
      return `warning: ${event.message}`;
    case 'request.retry':
      return verbosity === 'verbose'
        ? `retry: ${event.url} attempt ${event.attempt} in ${event.delayMs} ms (${event.reason})`
        : undefined;
    case 'token.cache':
      return verbosity === 'verbose'
        ? `cache: ${event.store} ${event.outcome}${event.detail ? ` (${event.detail})` : ''}`
        : undefined;
    default:
      return verbosity === 'verbose' ? `${event.type}: ${JSON.stringify(event)}` : undefined;
  }
}
