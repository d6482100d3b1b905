/**
 * `localhost` and `*.localhost` resolve to loopback without asking DNS (RFC 6761 §6.3, as curl
 * and browsers do). Plain http is allowed to loopback hosts: a DNS answer must not be able to send
 * such a request anywhere else. Other names go to the system resolver as usual.
 */
import { type LookupAddress, type LookupAllOptions, type LookupOneOptions, lookup } from 'node:dns';

const LOOPBACK: readonly LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

export function isLocalhostName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost');
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `dns.lookup` replacement for `net.connect`: loopback for localhost names, the system's otherwise. */
export function pinnedLookup(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions | number | undefined,
  callback: LookupCallback,
): void {
  const opts = typeof options === 'number' ? { family: options } : (options ?? {});
  if (!isLocalhostName(hostname)) {
    lookup(hostname, opts as LookupAllOptions, callback as never);
    return;
  }
  const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
  const candidates = family === 4 || family === 6 ? LOOPBACK.filter((a) => a.family === family) : LOOPBACK;
  process.nextTick(() => {
    if ((opts as LookupAllOptions).all) callback(null, [...candidates]);
    else callback(null, candidates[0]!.address, candidates[0]!.family);
  });
}
