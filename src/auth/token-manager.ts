/**
 * Caches, shares and refreshes the token of one credential.
 *
 * - Hot path: the last record is kept in-process (L1) and answered without touching the store.
 * - Cold or expiring: one refresh per key at a time. In-process, every caller shares one promise;
 *   across processes, the store's lock lets one holder generate while the others wait and then
 *   find its token (`sharedHits`).
 * - A failed refresh is never cached; bad credentials are never retried (they lock accounts).
 * - If the store fails, the manager carries on with its in-process cache and warns.
 */
import { EtlError, toEtlError } from '../core/errors.js';
import { createEmitter, type Emit, type EtlEvent } from '../core/events.js';
import { redact, redactUrl, registerSecret } from '../core/redact.js';
import type { Clock, Runtime } from '../core/time.js';
import { resolveRuntime } from '../core/time.js';
import { originOf } from '../core/url.js';
import { MemoryStore } from '../stores/memory.js';
import type { LockOptions, TokenRecord, TokenStore } from '../stores/types.js';
import { OriginScope } from './scope.js';
import { NO_KNOWN_EXPIRY } from './static-token.js';
import { deriveStoreKey } from './store-key.js';
import type { Authenticator, AuthStats, TokenProvider } from './types.js';
import { DEFAULT_SAFETY_WINDOW_MS, recordFromGrant, refreshAtOf } from './validity.js';

export interface TokenManagerOptions {
  provider: TokenProvider;
  /** Default: a new MemoryStore. Share a file or Redis store to share tokens across processes. */
  store?: TokenStore;
  /**
   * Origins the token may be sent to. Default: the provider's own scope (static tokens), else the
   * token URL's origin. More can be added with `addScope`.
   */
  scope?: readonly string[];
  /** Refresh when less than this remains (default 120 s). */
  safetyWindowMs?: number;
  runtime?: Partial<Runtime>;
  /** Where events go (default: the `arcgis-etl` diagnostics channel, as the transport does). */
  emit?: Emit;
  /** Overrides the derived store key. */
  storeKey?: string;
  /** Passed to `store.withLock` (e.g. a wait limit for a Redis lock). */
  lock?: LockOptions;
}

interface Current {
  token: string;
  /** The same settled promise for every cached call (no allocation on the hot path). */
  answer: Promise<string>;
  /** Local ms from which a refresh is due. */
  refreshAt: number;
  expiresAt: number;
}

/** Errors after which asking again would only lock the account. */
const STICKY_CODES = new Set(['BAD_CREDENTIALS', 'ACCOUNT_LOCKED']);
const MAX_REMEMBERED_INVALID = 32;

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

export class TokenManager implements Authenticator {
  readonly stats: AuthStats = { generated: 0, refreshed: 0, invalidated: 0, failed: 0, sharedHits: 0 };
  readonly storeKey: string;
  readonly safetyWindowMs: number;
  readonly #provider: TokenProvider;
  readonly #store: TokenStore;
  readonly #scope: OriginScope;
  readonly #clock: Clock;
  readonly #emit: Emit;
  readonly #lock: LockOptions | undefined;
  /** The token URL as events show it (redacted once: redaction is not free). */
  readonly #tokenUrl: string;
  readonly #who: { username?: string };
  #current: Current | undefined;
  #flight: Promise<string> | undefined;
  /** Tokens invalidated recently: never taken back from the store. */
  readonly #invalid = new Set<string>();
  #hadToken = false;
  #pendingReason: string | undefined;
  #sticky: EtlError | undefined;
  #staticInvalid = false;
  #storeDegraded = false;

  constructor(options: TokenManagerOptions) {
    const { provider } = options;
    this.#provider = provider;
    const runtime = resolveRuntime(options.runtime);
    this.#clock = runtime.clock;
    this.#store = options.store ?? new MemoryStore({ clock: runtime.clock, sleep: runtime.sleep });
    this.#emit = options.emit ?? createEmitter();
    this.#lock = options.lock;
    this.safetyWindowMs = options.safetyWindowMs ?? DEFAULT_SAFETY_WINDOW_MS;
    if (!Number.isFinite(this.safetyWindowMs) || this.safetyWindowMs < 0) {
      throw new EtlError('USAGE', `safetyWindowMs must be a non-negative number, got ${this.safetyWindowMs}`);
    }
    this.storeKey = options.storeKey ?? deriveStoreKey(provider);
    const providerScope = (provider as { scope?: readonly string[] }).scope;
    this.#scope = new OriginScope(options.scope ?? providerScope ?? [originOf(provider.tokenUrl)]);
    this.#tokenUrl = redactUrl(provider.tokenUrl);
    const username = provider.identity.username ?? provider.identity.clientId;
    this.#who = username === undefined ? {} : { username };
  }

  get referer(): string | undefined {
    return this.#provider.identity.referer;
  }

  get canRefresh(): boolean {
    return this.#provider.refreshable;
  }

  /** The origins tokens may be sent to. */
  get scope(): readonly string[] {
    return this.#scope.origins;
  }

  /** Allows the token to go to another origin (e.g. a federated server the portal vouches for). */
  addScope(urlOrOrigin: string): void {
    this.#scope.add(urlOrOrigin);
  }

  /** Local-clock expiry of the cached token, if known (never the token itself; none for a static token without one). */
  get expiresAt(): number | undefined {
    const at = this.#current?.expiresAt;
    return at === undefined || at >= NO_KNOWN_EXPIRY ? undefined : at;
  }

  getToken(url: string, options?: { signal?: AbortSignal }): Promise<string | undefined> {
    if (!this.#scope.has(url)) return NOTHING;
    const current = this.#current;
    if (current !== undefined && this.#clock.now() < current.refreshAt) return current.answer;
    return this.#slow(options?.signal);
  }

  async invalidate(token: string, reason = 'invalidated'): Promise<void> {
    if (this.#invalid.has(token)) return;
    const current = this.#current;
    if (current === undefined || current.token !== token) return; // an older token: nothing to do
    this.#current = undefined;
    this.#remember(token);
    this.stats.invalidated++;
    this.#publish(() => ({ type: 'token.invalidated', tokenUrl: this.#tokenUrl, ...this.#who, reason }));
    if (!this.#provider.refreshable) {
      this.#staticInvalid = true;
      return;
    }
    this.#pendingReason = 'invalidated';
    try {
      await this.#store.delete(this.storeKey, token);
      this.#storeOk();
    } catch (error) {
      this.#storeFailed('delete', error);
    }
  }

  /** Forgets the cached token and any remembered credential failure (e.g. after fixing a password). */
  reset(): void {
    this.#current = undefined;
    this.#sticky = undefined;
    this.#staticInvalid = false;
  }

  #slow(signal: AbortSignal | undefined): Promise<string> {
    if (this.#staticInvalid) return Promise.reject(staticInvalid(this.#provider.kind));
    if (this.#sticky) return Promise.reject(this.#sticky);
    let flight = this.#flight;
    if (flight === undefined) {
      flight = this.#refresh();
      this.#flight = flight;
      const clear = () => {
        if (this.#flight === flight) this.#flight = undefined;
      };
      flight.then(clear, clear);
    }
    return signal === undefined ? flight : abortable(flight, signal);
  }

  async #refresh(): Promise<string> {
    const reason = this.#reasonNow();
    if (!this.#provider.refreshable) return this.#refreshStatic(reason);
    const shared = await this.#readStore();
    if (shared !== undefined) return this.#adopt(shared);
    let started = false;
    let produced: string | undefined;
    let failure: { error: unknown } | undefined;
    const underLock = async (): Promise<string> => {
      started = true;
      try {
        const again = await this.#readStore();
        produced = again === undefined ? await this.#generate(reason) : this.#adopt(again);
        return produced;
      } catch (error) {
        failure = { error };
        throw error;
      }
    };
    try {
      return await this.#store.withLock(this.storeKey, underLock, this.#lock);
    } catch (error) {
      if (produced !== undefined) {
        this.#storeFailed('unlock', error);
        return produced;
      }
      if (failure !== undefined) throw failure.error; // the provider's error, even if unlocking failed too
      if (started) throw error;
      this.#storeFailed('lock', error);
      return this.#generate(reason);
    }
  }

  async #refreshStatic(reason: string): Promise<string> {
    const current = this.#current;
    if (current !== undefined) {
      // Nothing can be renewed: use it while it lasts.
      if (this.#clock.now() < current.expiresAt) return current.token;
      throw staticInvalid(this.#provider.kind);
    }
    return this.#generate(reason);
  }

  async #generate(reason: string): Promise<string> {
    let record: TokenRecord;
    try {
      const grant = await this.#provider.fetchToken({ reason });
      registerSecret(grant.token, 'token');
      record = recordFromGrant(grant, this.#provider, this.#clock.now(), this.#scope.origins);
    } catch (error) {
      const failure = toEtlError(error);
      this.stats.failed++;
      if (STICKY_CODES.has(failure.code)) this.#sticky = failure;
      this.#publish(() => ({
        type: 'token.failed',
        tokenUrl: this.#tokenUrl,
        ...this.#who,
        reason,
        code: failure.code,
      }));
      throw failure;
    }
    const first = !this.#hadToken;
    this.#hadToken = true;
    this.#pendingReason = undefined;
    this.#setCurrent(record);
    if (!this.#provider.refreshable) {
      // a static token or API key is taken as given: nothing was generated, its expiry is rarely known
      const kind = this.#provider.kind === 'api-key' ? 'api-key' : 'static';
      this.#publish(() => ({
        type: 'token.static',
        kind,
        ...(record.expiresAt < NO_KNOWN_EXPIRY ? { expiresAt: record.expiresAt } : {}),
      }));
      return record.token;
    }
    this.stats.generated++;
    if (!first) this.stats.refreshed++;
    try {
      await this.#store.set(this.storeKey, record, record.expiresAt - record.issuedAt);
      this.#storeOk();
    } catch (error) {
      this.#storeFailed('write', error);
    }
    this.#publish(() => ({
      type: first ? 'token.generated' : 'token.refreshed',
      tokenUrl: this.#tokenUrl,
      ...this.#who,
      expiresAt: record.expiresAt,
      reason,
    }));
    return record.token;
  }

  /** Reads the store; a record is returned only when usable now and not invalidated. */
  async #readStore(): Promise<TokenRecord | undefined> {
    let record: TokenRecord | undefined;
    try {
      record = await this.#store.get(this.storeKey);
      this.#storeOk();
    } catch (error) {
      this.#storeFailed('read', error);
      return undefined;
    }
    const usable =
      record !== undefined &&
      typeof record.token === 'string' &&
      record.token !== this.#current?.token &&
      !this.#invalid.has(record.token) &&
      this.#clock.now() < refreshAtOf(record, this.safetyWindowMs);
    this.#publish(() => ({ type: 'token.cache', store: this.#store.name, outcome: usable ? 'hit' : 'miss' }));
    return usable ? record : undefined;
  }

  /** Takes a token another manager or process generated. */
  #adopt(record: TokenRecord): string {
    registerSecret(record.token, 'token');
    this.stats.sharedHits++;
    this.#hadToken = true;
    this.#pendingReason = undefined;
    this.#setCurrent(record);
    return record.token;
  }

  #setCurrent(record: TokenRecord): void {
    this.#current = {
      token: record.token,
      answer: Promise.resolve(record.token),
      expiresAt: record.expiresAt,
      refreshAt: Math.min(refreshAtOf(record, this.safetyWindowMs), record.expiresAt),
    };
  }

  #reasonNow(): string {
    if (this.#pendingReason !== undefined) return this.#pendingReason;
    const current = this.#current;
    if (current === undefined) return this.#hadToken ? 'invalidated' : 'initial';
    return this.#clock.now() >= current.expiresAt ? 'expired' : 'expiring';
  }

  /** Builds an event only when it is emitted. */
  #publish(build: () => EtlEvent): void {
    this.#emit(build());
  }

  #remember(token: string): void {
    this.#invalid.add(token);
    if (this.#invalid.size > MAX_REMEMBERED_INVALID) {
      const oldest = this.#invalid.values().next().value;
      if (oldest !== undefined) this.#invalid.delete(oldest);
    }
  }

  #storeOk(): void {
    this.#storeDegraded = false;
  }

  #storeFailed(operation: string, error: unknown): void {
    const message = redact(error instanceof Error ? error.message : String(error));
    this.#publish(() => ({
      type: 'token.cache',
      store: this.#store.name,
      outcome: 'error',
      detail: operation,
    }));
    if (this.#storeDegraded) return;
    this.#storeDegraded = true;
    this.#publish(() => ({
      type: 'warning',
      message: `Token store "${this.#store.name}" failed to ${operation} (${message}); continuing with the in-process cache`,
    }));
  }
}

function staticInvalid(kind: string): EtlError {
  const what = kind === 'api-key' ? 'API key' : 'token';
  return new EtlError('STATIC_TOKEN_INVALID', `The ${what} is invalid or expired; it cannot be refreshed`);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    return Promise.reject(new EtlError('ABORTED', 'getToken aborted', { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new EtlError('ABORTED', 'getToken aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
