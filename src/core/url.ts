import { EtlError } from './errors.js';

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  if (/^::ffff:127\./.test(host)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Parses a URL, with a clear error for anything that is not http(s) or that carries user info. */
export function parseHttpUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch (cause) {
    throw new EtlError('INVALID_URL', `Not a valid URL: ${String(input).slice(0, 200)}`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EtlError('INVALID_URL', `Unsupported URL scheme ${url.protocol} (use https://)`);
  }
  if (url.username !== '' || url.password !== '') {
    // never echo the user info: it may be a password
    const shown = new URL(url);
    shown.username = '';
    shown.password = '';
    shown.search = '';
    shown.hash = '';
    throw new EtlError(
      'INVALID_URL',
      `A URL must not carry a user name or password (user:password@host): credentials come from the environment (ARCGIS_USERNAME and ARCGIS_PASSWORD, or ARCGIS_TOKEN); remove them from ${shown.toString()}`,
    );
  }
  return url;
}

/** `https://host:port` of a URL. */
export function originOf(input: string | URL): string {
  return parseHttpUrl(input).origin;
}

/** A URL without its query string and hash (safe to show). */
export function baseUrl(input: string | URL): string {
  const url = parseHttpUrl(input);
  url.search = '';
  url.hash = '';
  return url.toString();
}
