// The public API: explicit named exports only.

export type { ErrorCode, EtlErrorOptions } from './core/errors.js';
export { ERROR_CODES, EtlError, isEtlError } from './core/errors.js';
export type { Emit, EtlEvent, Logger } from './core/events.js';
export { createEmitter, EVENTS_CHANNEL, silentLogger } from './core/events.js';
export { FakeTime } from './core/fake-time.js';
export { redact, redactUrl, registerSecret } from './core/redact.js';
export type { Clock, Random, Runtime, Sleep } from './core/time.js';
export { realSleep, seededRandom, systemClock } from './core/time.js';
