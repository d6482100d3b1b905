/**
 * Serialized feature-query answers, kept as bytes in a least-recently-used cache bounded by size.
 * Layer data never changes once loaded, so an answer depends only on the parsed query (its format
 * included: a JSON, GeoJSON and PBF answer of one page are three entries) and the query faults: a
 * repeated page (benchmarks, retries, several clients exporting one layer) is written from memory
 * instead of being serialized again. The server sends the cached bytes as they are
 * (`answerBytes`); the `body` of a cached text answer decodes them only when someone asks for it,
 * the `body` of a cached binary (`f=pbf`) answer is those bytes.
 *
 * An answer is admitted on its second request: a single pass over a layer (one export, a test)
 * costs no memory and no extra encoding, and cannot evict the pages that are read repeatedly.
 */
import type { QueryAnswer, QueryFaults } from '../types.js';
import type { QueryRequest } from './query-params.js';

/** Default size bound of one layer's cache (bytes of cached bodies). */
export const DEFAULT_ANSWER_CACHE_BYTES = 256 * 1024 * 1024;
/** Answers larger than this are never cached (they would evict everything else). */
const MAX_ENTRY_FRACTION = 0.25;
/** How many keys requested once (not cached yet) are remembered. */
const MAX_SEEN_KEYS = 20_000;

const BYTES = new WeakMap<QueryAnswer, Buffer>();

/** The body of an answer that came from (or went into) a cache, as bytes, without re-encoding it. */
export function answerBytes(answer: QueryAnswer): Buffer | undefined {
  return BYTES.get(answer);
}

function bytesOf(body: string | Uint8Array): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  // a view over the same memory (the encoders hand over buffers of the exact size)
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function cachedAnswer(
  bytes: Buffer,
  contentType: string,
  text: boolean,
  features: number | undefined,
): QueryAnswer {
  const count = features === undefined ? {} : { features };
  const answer: QueryAnswer = text
    ? {
        contentType,
        get body(): string {
          return bytes.toString('utf8');
        },
        ...count,
      }
    : { contentType, body: bytes, ...count };
  BYTES.set(answer, bytes);
  return answer;
}

/** The cache key of a feature query: every parsed parameter the answer depends on, and the faults. */
export function featureQueryKey(req: QueryRequest, faults: QueryFaults): string {
  return JSON.stringify([
    req.format,
    req.where?.trim() ?? '',
    req.objectIds ?? null,
    req.envelope ?? null,
    req.polygon ?? null,
    req.outFields.map((f) => f.name),
    req.returnGeometry,
    req.returnZ,
    req.returnM,
    req.orderBy.map((o) => [o.field.name, o.desc]),
    req.resultOffset ?? null,
    req.resultRecordCount ?? null,
    req.outWebMercator,
    req.geometryPrecision ?? null,
    req.maxAllowableOffset ?? null,
    faults.ignoreResultOffset === true,
    faults.extraRow === true,
    faults.shortPageExceeded === true,
    faults.failAbove ?? null,
    faults.ignoreOrderBy === true,
    faults.ignoreOrderByAll === true,
    faults.pageCap ?? null,
    faults.offsetDepth ?? null,
  ]);
}

export class AnswerCache {
  readonly #entries = new Map<string, QueryAnswer>();
  /** Keys requested once and not cached yet, oldest first. */
  readonly #seen = new Set<string>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes = DEFAULT_ANSWER_CACHE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): QueryAnswer | undefined {
    const answer = this.#entries.get(key);
    if (answer === undefined) return undefined;
    // most recently used goes last
    this.#entries.delete(key);
    this.#entries.set(key, answer);
    return answer;
  }

  /**
   * Offers a freshly built answer. The first time a key is offered, it is only remembered and the
   * answer comes back as is; the second time, it is stored (when it fits) and the answer comes
   * back with its bytes attached.
   */
  set(key: string, body: string | Uint8Array, contentType: string, features?: number): QueryAnswer {
    if (!this.#admit(key)) return { body, contentType, ...(features === undefined ? {} : { features }) };
    const bytes = bytesOf(body);
    const answer = cachedAnswer(bytes, contentType, typeof body === 'string', features);
    if (bytes.length > this.#maxBytes * MAX_ENTRY_FRACTION) return answer;
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#bytes -= BYTES.get(previous)?.length ?? 0;
      this.#entries.delete(key);
    }
    this.#entries.set(key, answer);
    this.#bytes += bytes.length;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldKey);
      this.#bytes -= BYTES.get(old)?.length ?? 0;
    }
    return answer;
  }

  #admit(key: string): boolean {
    if (this.#seen.delete(key)) return true;
    this.#seen.add(key);
    if (this.#seen.size > MAX_SEEN_KEYS) {
      for (const oldest of this.#seen) {
        this.#seen.delete(oldest);
        break;
      }
    }
    return false;
  }
}
