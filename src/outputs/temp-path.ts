/** A fresh temp name beside `target`: `<target>.<12 hex>.partial` (the name output claims clean up). */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export function partialPathFor(target: string): string {
  return join(dirname(target), `${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
}
