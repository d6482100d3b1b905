/**
 * The undici transport: one keep-alive Agent, the ArcGIS error envelope, same-origin redirects and
 * retries with backoff, full jitter and Retry-After. Everything it reports is redacted.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { EtlError } from '../core/errors.js';
import { createEmitter, type Emit } from '../core/events.js';
import { redactUrl } from '../core/redact.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import {
  type AgentOptions,
  createAgent,
  resolveTimeouts,
  sendRequest,
  type TransportTimeouts,
} from './agent.js';
import {
  ACCEPT_ENCODING,
  bytesToText,
  DEFAULT_MAX_BODY_BYTES,
  type FileBody,
  readBodyBytes,
  writeBodyToFile,
} from './body.js';
import {
  type ByteBudget,
  type ByteLease,
  createByteBudget,
  DEFAULT_MAX_BUFFERED_BYTES,
} from './byte-budget.js';
import { type Deadline, startDeadline } from './deadline.js';
import { encodeRequest, FORM_CONTENT_TYPE } from './encode.js';
import { checkTextResponse, isSuccess, parseJsonResponse } from './envelope.js';
import { HostConcurrency, type HostConcurrencySettings } from './host-concurrency.js';
import { networkFailure } from './network-errors.js';
import { isRedirectStatus, nextRedirect } from './redirect.js';
import {
  type AttemptFailure,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  parseRetryAfter,
  type RetryDecision,
  resolveRetryPolicy,
  statusMeansNotProcessed,
  summarizeReasons,
} from './retry.js';
import type { HttpResponse, RequestOptions, RetryPolicy, Transport, TransportStats } from './types.js';
import { createUrlPolicy, type UrlPolicy } from './url-policy.js';

export const DEFAULT_USER_AGENT = 'arcgis-etl/0.1';

export interface TransportOptions {
  /** Clock, sleep and random (tests inject FakeTime). */
  runtime?: Partial<Runtime> | undefined;
  /** Overrides of DEFAULT_RETRY_POLICY for every request. */
  retry?: Partial<RetryPolicy> | undefined;
  timeouts?: Partial<TransportTimeouts> | undefined;
  /** Connections per origin (default 16). */
  connections?: number | undefined;
  /** Where `request.retry`, `request.sent` and `warning` events go (default: the diagnostics channel). */
  emit?: Emit | undefined;
  userAgent?: string | undefined;
  /** PEM certificate(s) of a private CA, trusted in addition to the usual roots. */
  ca?: AgentOptions['ca'];
  /** A dispatcher to use instead of the transport's own Agent (not closed by `close()`). */
  dispatcher?: Dispatcher | undefined;
  /** Default response size cap (512 MiB). */
  maxBodyBytes?: number | undefined;
  /**
   * Bytes buffered across all concurrent responses (default 256 MiB): a response waits for room
   * before it reads more.
   */
  maxBufferedBytes?: number | undefined;
  /** Ask for gzip/deflate/br responses and decompress them (default true). */
  compression?: boolean | undefined;
  /** Defaults of the per-host concurrency controllers (pinned limit, max, initial). */
  concurrency?: HostConcurrencySettings | undefined;
}

export interface HttpTransport extends Transport {
  /** The undici dispatcher in use. */
  readonly dispatcher: Dispatcher;
  /** The per-host concurrency controllers (adaptive limits, throttling, Retry-After pauses). */
  readonly concurrency: HostConcurrency;
  /** The bound on bytes buffered across concurrent responses. */
  readonly budget: ByteBudget;
}

type AttemptResult =
  | { ok: true; response: Omit<HttpResponse<unknown>, 'attempts'> }
  | { ok: false; failure: AttemptFailure };

const ACCEPT: Readonly<Record<NonNullable<RequestOptions['responseType']>, string>> = {
  json: 'application/json, text/plain;q=0.9, */*;q=0.1',
  text: '*/*',
  binary: 'application/x-protobuf, application/octet-stream;q=0.9, application/json;q=0.5, */*;q=0.1',
  bytes: '*/*',
  file: '*/*',
};

/** A JSON/HTML download at most this large is read back and checked for an error envelope. */
const ENVELOPE_CHECK_BYTES = 64 * 1024;

/**
 * Whether a 2xx answer to a binary request is binary: by its content type, else by its first byte
 * (JSON and HTML answers start with `{`, `[` or `<`, maybe after white space).
 */
function isBinaryAnswer(contentType: string | undefined, bytes: Uint8Array): boolean {
  const type = (contentType ?? '').toLowerCase();
  if (/protobuf|octet-stream/.test(type)) return true;
  if (/json|text\/|html|xml/.test(type)) return false;
  for (const byte of bytes) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte !== 0x7b && byte !== 0x5b && byte !== 0x3c;
  }
  return false;
}

/**
 * A binary answer that `decodeBinary` refused. Cut short (TRUNCATED_RESPONSE: the body ends inside
 * a message), it may be a network fault, or a proxy that re-framed a cut body: retried like a cut
 * JSON body. Malformed or unsupported (any other code), it is what the server sends for this query:
 * no retry can fix it, and the caller may ask in another format.
 */
function binaryDecodeFailure(error: EtlError): AttemptFailure {
  if (error.code === 'TRUNCATED_RESPONSE') return { error, reason: 'truncated pbf' };
  return { error, reason: 'malformed pbf', permanent: true };
}

/** The URL without query string or credentials: what errors and events show. */
function safeUrl(url: URL): string {
  const copy = new URL(url);
  copy.search = '';
  copy.hash = '';
  return redactUrl(copy);
}

function normalizeHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function lowerKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key.toLowerCase()] = value;
  return out;
}

function parseServerDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

/** A short label for an attempt failure, for events and the final message. */
function reasonFor(error: EtlError): string {
  switch (error.code) {
    case 'HTTP_ERROR':
      return `HTTP ${error.status ?? '?'}`;
    case 'INVALID_RESPONSE':
      if (/HTML/.test(error.message)) return `HTML page (HTTP ${error.status ?? '?'})`;
      return 'invalid JSON'; // (binary answers: binaryDecodeFailure)
    case 'TRUNCATED_RESPONSE':
      return 'truncated JSON';
    default:
      if (error.status !== undefined && (error.status < 200 || error.status >= 300))
        return `HTTP ${error.status}`;
      return error.arcgisCode === undefined ? error.code : `ArcGIS ${error.arcgisCode}`;
  }
}

/** The attempt ran past `timeouts.responseMs` (a trickling body, a stalled redirect chain). */
function deadlineFailure(url: string, ms: number, cause: unknown): AttemptFailure {
  return {
    error: new EtlError('TIMEOUT', `Request timed out (response deadline of ${ms} ms passed) for ${url}`, {
      cause,
      url,
    }),
    reason: 'response deadline',
  };
}

function abortedError(url: string, cause: unknown): EtlError {
  return new EtlError('ABORTED', `Request aborted: ${url}`, { cause, url });
}

function exhaustedError(
  decision: Extract<RetryDecision, { retry: false }>,
  context: {
    url: string;
    attempts: number;
    elapsedMs: number;
    reasons: string[];
    last: EtlError;
    policy: RetryPolicy;
  },
): EtlError {
  const seconds = (context.elapsedMs / 1000).toFixed(1);
  const why =
    decision.why === 'max-total-delay'
      ? `; the next wait would pass the ${context.policy.maxTotalDelayMs / 1000} s retry budget`
      : decision.why === 'max-timeouts'
        ? `; a timeout is retried at most ${context.policy.maxTimeoutRetries ?? 2} times`
        : '';
  const { last } = context;
  return new EtlError(
    'RETRIES_EXHAUSTED',
    `Request to ${context.url} gave up after ${context.attempts} attempt${context.attempts === 1 ? '' : 's'} over ${seconds} s (${summarizeReasons(context.reasons)})${why}. Last error: ${last.message}`,
    {
      cause: last,
      attempts: context.attempts,
      url: context.url,
      ...(last.status === undefined ? {} : { status: last.status }),
      ...(last.arcgisCode === undefined ? {} : { arcgisCode: last.arcgisCode }),
    },
  );
}

/** Creates a transport. Call `close()` when done to release its connections. */
export function createTransport(options: TransportOptions = {}): HttpTransport {
  const runtime = resolveRuntime(options.runtime);
  const emit = options.emit ?? createEmitter();
  const basePolicy = resolveRetryPolicy(DEFAULT_RETRY_POLICY, options.retry);
  const ownAgent = options.dispatcher
    ? undefined
    : createAgent({ timeouts: options.timeouts, connections: options.connections, ca: options.ca });
  const dispatcher: Dispatcher = options.dispatcher ?? (ownAgent as Dispatcher);
  const urlPolicy: UrlPolicy = createUrlPolicy(emit);
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const defaultMaxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const compression = options.compression ?? true;
  const responseMs = resolveTimeouts(options.timeouts).responseMs;
  const stats: TransportStats = { requests: 0, retries: 0 };
  const concurrency = new HostConcurrency(runtime, options.concurrency);
  const budget = createByteBudget(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
  const warnedUtf8 = new Set<string>();
  const warnInvalidUtf8 = (url: string) => {
    if (warnedUtf8.has(url)) return;
    warnedUtf8.add(url);
    emit({
      type: 'warning',
      message: `The response from ${url} is not valid UTF-8: its invalid bytes were replaced with U+FFFD`,
    });
  };
  let closed = false;

  async function attemptOnce(start: URL, request: RequestOptions): Promise<AttemptResult> {
    const deadline = startDeadline(responseMs, request.signal);
    try {
      return await attemptWithin(start, request, deadline);
    } finally {
      deadline.clear();
    }
  }

  async function attemptWithin(
    start: URL,
    request: RequestOptions,
    deadline: Deadline,
  ): Promise<AttemptResult> {
    const method = request.method ?? 'POST';
    const responseType = request.responseType ?? 'json';
    const visited = new Set<string>();
    const keyOf = (url: URL) => encodeRequest(url, method, request.params).url.href;
    let current = start;
    visited.add(keyOf(current));
    for (;;) {
      const encoded = encodeRequest(current, method, request.params);
      const shown = safeUrl(current);
      const headers: Record<string, string> = {
        'user-agent': userAgent,
        accept: ACCEPT[responseType],
        ...(compression ? { 'accept-encoding': ACCEPT_ENCODING } : {}),
        ...(encoded.body === undefined ? {} : { 'content-type': FORM_CONTENT_TYPE }),
        ...lowerKeys(request.headers),
      };
      stats.requests++;
      emit({ type: 'request.sent', url: shown, method: encoded.method });
      if (request.purpose === 'token') emit({ type: 'token.request', host: current.host, url: shown });
      let response: Dispatcher.ResponseData;
      try {
        response = await sendRequest(dispatcher, {
          origin: encoded.url.origin,
          path: `${encoded.url.pathname}${encoded.url.search}`,
          method: encoded.method,
          headers,
          body: encoded.body ?? null,
          signal: deadline.signal,
        });
      } catch (error) {
        if (deadline.expired) return { ok: false, failure: deadlineFailure(shown, responseMs, error) };
        return { ok: false, failure: networkFailure(error, { url: shown, signal: request.signal }) };
      }
      const status = response.statusCode;
      const responseHeaders = normalizeHeaders(response.headers);
      const body = response.body as unknown as Readable & { dump(): Promise<void> };
      if (isRedirectStatus(status) && responseHeaders.location !== undefined) {
        await body.dump().catch(() => {});
        try {
          current = nextRedirect({
            from: current,
            location: responseHeaders.location,
            status,
            mode: request.redirect ?? 'same-origin',
            visited,
            keyOf,
          });
          urlPolicy(current);
        } catch (error) {
          return { ok: false, failure: networkFailure(error, { url: shown }) };
        }
        continue;
      }
      const lease = budget.lease();
      try {
        return await readAndParse(
          body,
          lease,
          { status, headers: responseHeaders, shown, current },
          request,
          deadline,
        );
      } finally {
        lease.release();
      }
    }
  }

  /** Reads (within the byte budget) and parses one response body. */
  async function readAndParse(
    body: Readable,
    lease: ByteLease,
    response: { status: number; headers: Record<string, string>; shown: string; current: URL },
    request: RequestOptions,
    deadline: Deadline,
  ): Promise<AttemptResult> {
    const { status, headers: responseHeaders, shown, current } = response;
    const responseType = request.responseType ?? 'json';
    if (responseType === 'file' && isSuccess(status)) {
      const written = await streamToFile(body, response, request, deadline);
      if (!written.ok || written.envelope === undefined) return written.result;
      // a small JSON answer may be an error envelope (a 498 among them: the client refreshes)
      try {
        parseJsonResponse({
          status,
          contentType: responseHeaders['content-type'],
          text: written.envelope.toString('utf8'),
          url: shown,
        });
      } catch (error) {
        if (!(error instanceof EtlError)) throw error;
        return { ok: false, failure: { error, reason: reasonFor(error), notProcessed: false } };
      }
      return written.result;
    }
    let bytes: Buffer;
    try {
      bytes = await readBodyBytes(body, {
        lease,
        signal: deadline.signal,
        maxBytes: request.maxBodyBytes ?? defaultMaxBody,
        url: shown,
        status,
        contentLength: responseHeaders['content-length'],
        contentEncoding: responseHeaders['content-encoding'],
      });
    } catch (error) {
      if (deadline.expired) return { ok: false, failure: deadlineFailure(shown, responseMs, error) };
      return { ok: false, failure: networkFailure(error, { url: shown, signal: request.signal }) };
    }
    const serverDate = parseServerDate(responseHeaders.date);
    const contentType = responseHeaders['content-type'];
    const success = { status, headers: responseHeaders, serverDate, url: safeUrl(current) };
    if (responseType === 'binary' && isSuccess(status) && isBinaryAnswer(contentType, bytes)) {
      let value: unknown;
      try {
        value = request.decodeBinary ? request.decodeBinary(bytes) : bytes;
      } catch (error) {
        if (!(error instanceof EtlError)) throw error;
        return { ok: false, failure: binaryDecodeFailure(error) };
      }
      return { ok: true, response: { ...success, body: { kind: 'binary', value } } };
    }
    // a file download: the bytes as sent, whatever their type; a JSON answer is checked for an
    // error envelope first (an attachment that is itself JSON passes through)
    if (responseType === 'bytes' && isSuccess(status) && !/json/i.test(contentType ?? '')) {
      return { ok: true, response: { ...success, body: bytes } };
    }
    let parsed: unknown;
    try {
      const text = bytesToText(bytes, () => warnInvalidUtf8(shown));
      const input = { status, contentType, text, url: shown };
      if (responseType === 'text') parsed = checkTextResponse(input);
      else if (responseType === 'json') parsed = parseJsonResponse(input, request.parseJson);
      else if (responseType === 'bytes') {
        parseJsonResponse(input);
        parsed = bytes;
      } else parsed = { kind: 'json', value: parseJsonResponse(input, request.parseJson) };
    } catch (error) {
      if (!(error instanceof EtlError)) throw error;
      return {
        ok: false,
        failure: {
          error,
          reason: reasonFor(error),
          retryAfterMs: parseRetryAfter(responseHeaders['retry-after'], serverDate ?? runtime.clock.now()),
          notProcessed: statusMeansNotProcessed(status),
        },
      };
    }
    return { ok: true, response: { ...success, body: parsed } };
  }

  /** `responseType: 'file'`: the body into `request.toFile`. */
  async function streamToFile(
    body: Readable,
    response: { status: number; headers: Record<string, string>; shown: string; current: URL },
    request: RequestOptions,
    deadline: Deadline,
  ): Promise<
    | { ok: false; result: AttemptResult; envelope?: undefined }
    | { ok: true; result: AttemptResult; envelope: Buffer | undefined }
  > {
    const { status, headers: responseHeaders, shown, current } = response;
    if (request.toFile === undefined) throw new EtlError('USAGE', "responseType 'file' needs toFile");
    let written: FileBody;
    try {
      written = await writeBodyToFile(body, request.toFile, {
        signal: deadline.signal,
        maxBytes: request.maxBodyBytes ?? Number.MAX_SAFE_INTEGER,
        url: shown,
        status,
        contentLength: responseHeaders['content-length'],
        contentEncoding: responseHeaders['content-encoding'],
      });
    } catch (error) {
      if (deadline.expired)
        return { ok: false, result: { ok: false, failure: deadlineFailure(shown, responseMs, error) } };
      if (error instanceof EtlError && error.code === 'TRUNCATED_RESPONSE') {
        return {
          ok: false,
          result: {
            ok: false,
            failure: { error, reason: reasonFor(error), retryAfterMs: undefined, notProcessed: false },
          },
        };
      }
      return {
        ok: false,
        result: { ok: false, failure: networkFailure(error, { url: shown, signal: request.signal }) },
      };
    }
    const contentType = responseHeaders['content-type'] ?? '';
    const envelope =
      /json/i.test(contentType) && written.bytes <= ENVELOPE_CHECK_BYTES
        ? await readFile(written.path)
        : undefined;
    const serverDate = parseServerDate(responseHeaders.date);
    return {
      ok: true,
      envelope,
      result: {
        ok: true,
        response: { status, headers: responseHeaders, serverDate, url: safeUrl(current), body: written },
      },
    };
  }

  async function request<T = unknown>(url: string, request: RequestOptions = {}): Promise<HttpResponse<T>> {
    if (closed) throw new EtlError('USAGE', 'This transport is closed');
    const start = urlPolicy(url);
    const shown = safeUrl(start);
    const policy = request.retry === undefined ? basePolicy : resolveRetryPolicy(basePolicy, request.retry);
    const idempotent = request.idempotent ?? true;
    const { signal } = request;
    const startedAt = runtime.clock.now();
    const reasons: string[] = [];
    let totalDelayMs = 0;
    const host = concurrency.peek(start);
    let timeouts = 0;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw abortedError(shown, signal.reason);
      // a Retry-After of the host holds every request to it, not only the refused one
      const pause = host?.pauseRemainingMs() ?? 0;
      if (pause > 0) {
        try {
          await runtime.sleep(pause, signal);
        } catch (error) {
          throw abortedError(shown, error);
        }
      }
      const result = await attemptOnce(start, request);
      if (result.ok) return { ...result.response, attempts: attempt } as HttpResponse<T>;
      const { failure } = result;
      reasons.push(failure.reason);
      const status = failure.error.status;
      // the host's controller may hold this request a round longer than the pause (a burst of refusals
      // is sent again in rounds of its limit)
      const turn =
        host && (status === 429 || status === 503) ? host.throttled(status, failure.retryAfterMs) : undefined;
      if (failure.error.code === 'TIMEOUT') timeouts++;
      const decision = decideRetry({
        policy,
        failure,
        attempt,
        totalDelayMs,
        timeouts,
        idempotent,
        random: runtime.random,
      });
      if (!decision.retry) {
        if (
          decision.why === 'not-retryable' ||
          decision.why === 'not-idempotent' ||
          policy.maxAttempts <= 1
        ) {
          throw failure.error;
        }
        throw exhaustedError(decision, {
          url: shown,
          attempts: attempt,
          elapsedMs: runtime.clock.now() - startedAt,
          reasons,
          last: failure.error,
          policy,
        });
      }
      stats.retries++;
      emit({
        type: 'request.retry',
        url: shown,
        attempt,
        delayMs: decision.delayMs,
        reason: decision.reason,
      });
      try {
        await runtime.sleep(decision.delayMs, signal);
        const round = turn?.() ?? 0;
        if (round > 0) await runtime.sleep(round, signal);
      } catch (error) {
        throw abortedError(shown, error);
      }
      totalDelayMs += decision.delayMs;
    }
  }

  return {
    request,
    stats,
    dispatcher,
    concurrency,
    budget,
    async close() {
      if (closed) return;
      closed = true;
      await ownAgent?.close();
    },
  };
}
