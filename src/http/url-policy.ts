/**
 * HTTPS only. Plain http is refused, except for loopback hosts (the emulator, tests), which get a
 * one-time warning per origin.
 */
import { EtlError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { isLoopbackHost, parseHttpUrl } from '../core/url.js';

export type UrlPolicy = (url: string | URL) => URL;

/** A checker that parses the URL, refuses insecure ones and warns once per loopback http origin. */
export function createUrlPolicy(emit?: Emit): UrlPolicy {
  const warned = new Set<string>();
  return (input) => {
    const url = parseHttpUrl(input);
    if (url.protocol === 'https:') return url;
    if (!isLoopbackHost(url.hostname)) {
      throw new EtlError(
        'INSECURE_URL',
        `Refusing plain http to ${url.host}: use https:// (http is allowed only for loopback hosts)`,
        { url: url.origin },
      );
    }
    if (!warned.has(url.origin)) {
      warned.add(url.origin);
      emit?.({
        type: 'warning',
        message: `Using plain http to ${url.origin}: allowed only because it is a loopback host`,
      });
    }
    return url;
  };
}
