/**
 * Structured events (token.generated, request.retry, page.fetched, …). They are published on the
 * `arcgis-etl` diagnostics channel, passed to an optional callback and logged, always redacted.
 */
import * as diagnostics from 'node:diagnostics_channel';
import { redactValue } from './redact.js';

export type EtlEvent =
  | { type: 'token.generated'; tokenUrl: string; username?: string; expiresAt: number; reason: string }
  | { type: 'token.refreshed'; tokenUrl: string; username?: string; expiresAt: number; reason: string }
  /** A static token or API key taken into use (not generated; `expiresAt` only when it is known). */
  | { type: 'token.static'; kind: 'static' | 'api-key'; expiresAt?: number }
  | { type: 'token.invalidated'; tokenUrl: string; username?: string; reason: string }
  | { type: 'token.failed'; tokenUrl: string; username?: string; reason: string; code: string }
  | {
      type: 'token.cache';
      store: string;
      outcome: 'hit' | 'miss' | 'write' | 'error' | 'wait';
      detail?: string;
    }
  | { type: 'request.retry'; url: string; attempt: number; delayMs: number; reason: string }
  | { type: 'request.sent'; url: string; method: string }
  /** A request carrying credentials (password, client secret, refresh or portal token) to a token endpoint. */
  | { type: 'token.request'; host: string; url: string }
  | { type: 'page.fetched'; page: number; features: number; strategy: string }
  | { type: 'warning'; message: string };

export type EventType = EtlEvent['type'];

/** Pino-compatible subset, so a pino logger can be passed as is. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export const EVENTS_CHANNEL = 'arcgis-etl';
const channel = diagnostics.channel(EVENTS_CHANNEL);

export type Emit = (event: EtlEvent) => void;

export interface EmitterOptions {
  logger?: Logger | undefined;
  onEvent?: ((event: EtlEvent) => void) | undefined;
}

const LEVELS: Partial<Record<EventType, keyof Logger>> = {
  'token.failed': 'warn',
  'request.retry': 'warn',
  warning: 'warn',
  'request.sent': 'debug',
  'page.fetched': 'debug',
  'token.cache': 'debug',
};

/** Builds the emit function used by every component. Listener errors never break the pipeline. */
export function createEmitter(options: EmitterOptions = {}): Emit {
  const logger = options.logger ?? silentLogger;
  return (event) => {
    const safe = redactValue(event) as EtlEvent;
    try {
      if (channel.hasSubscribers) channel.publish(safe);
      options.onEvent?.(safe);
      const { type, ...rest } = safe;
      logger[LEVELS[type] ?? 'info'](rest, type);
    } catch {
      // an observer must never break an export
    }
  };
}
