/**
 * File names of downloaded attachments: `<oid>/<attachmentId>-<name>` under the target folder.
 * The server's name is untrusted: separators, `..`, control characters (NUL included) and
 * characters Windows refuses are replaced, the length is bounded, and the result is checked to
 * stay inside the folder.
 */
import { relative, resolve, sep } from 'node:path';
import { EtlError } from '../../core/errors.js';

const MAX_NAME_BYTES = 150;

export function safeFileName(name: string): string {
  let safe = name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  while (Buffer.byteLength(safe, 'utf8') > MAX_NAME_BYTES) safe = safe.slice(0, -1);
  return safe === '' ? 'attachment' : safe;
}

/** The relative path of an attachment (forward slashes), for the manifest. */
export function attachmentRelativePath(oid: number, attachmentId: number, name: string): string {
  return `${oid}/${attachmentId}-${safeFileName(name)}`;
}

/** The absolute path of a relative attachment path inside `dir`; refuses any path outside it. */
export function insideDir(dir: string, relativePath: string): string {
  const root = resolve(dir);
  const full = resolve(root, relativePath);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..') || resolve(root, rel) !== full) {
    throw new EtlError(
      'OUTPUT_ERROR',
      `An attachment path escapes the attachments folder: ${relativePath.slice(0, 80)}`,
    );
  }
  return full;
}
