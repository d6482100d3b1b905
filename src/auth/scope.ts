/**
 * The set of origins a token may be sent to. The check is on the hot path of every request, so a
 * plain prefix test answers the common case and a full URL parse settles everything else.
 */
import { originOf } from '../core/url.js';

export class OriginScope {
  readonly #origins = new Set<string>();
  /** `https://host/` prefixes for the fast path. */
  #prefixes: string[] = [];
  /** The last URL checked and its answer: pipelines ask about the same URL again and again. */
  #lastUrl: string | undefined;
  #lastAnswer = false;

  constructor(origins: Iterable<string> = []) {
    for (const o of origins) this.add(o);
  }

  /** Adds the origin of a URL (e.g. a federated server the portal vouches for). */
  add(urlOrOrigin: string): void {
    const origin = originOf(urlOrOrigin);
    if (origin === 'null' || this.#origins.has(origin)) return;
    this.#origins.add(origin);
    this.#prefixes = [...this.#origins].map((o) => `${o}/`);
    this.#lastUrl = undefined;
  }

  has(url: string): boolean {
    if (url === this.#lastUrl) return this.#lastAnswer;
    const answer = this.#check(url);
    this.#lastUrl = url;
    this.#lastAnswer = answer;
    return answer;
  }

  #check(url: string): boolean {
    const prefixes = this.#prefixes;
    for (let i = 0; i < prefixes.length; i++) {
      if (url.startsWith(prefixes[i] as string)) return true;
    }
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return false;
    }
    return this.#origins.has(origin);
  }

  get origins(): readonly string[] {
    return [...this.#origins];
  }
}
