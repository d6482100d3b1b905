/**
 * A plain clone, with nothing beside it, has all the tests need: no file of src/, test/ or bench/
 * names a relative path that leads out of the repository (as the design folder's recorded fixtures once were), and
 * the vendored recorded answers carry their licence.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RECORDED, recordedPageLayers } from '../fixtures/recorded.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CODE = /\.(?:[cm]?[jt]s)$/;

function codeFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && CODE.test(d.name))
    .map((d) => path.join(d.parentPath, d.name));
}

/** Every quoted relative path (`'../x'`, `"./../x"`) in a file, resolved against its folder. */
function pathsLeavingRoot(file: string, text: string, root: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/['"`]((?:\.\.?\/)*\.\.\/[^'"`\s]*)/g)) {
    const target = path.resolve(path.dirname(file), match[1] ?? '');
    const rel = path.relative(root, target);
    if (rel.startsWith('..') || path.isAbsolute(rel)) found.push(`${path.relative(root, file)}: ${match[1]}`);
  }
  return found;
}

describe('a plain clone is enough to run the tests', () => {
  it('finds the escape the tests once had (the check works)', () => {
    const file = path.join(ROOT, 'test/writers/page-bytes.test.ts');
    const outside = `${'../'.repeat(3)}shared/fixtures/recorded/`; // built, so that this file has none
    const old = `const RECORDED = new URL('${outside}', import.meta.url);`;
    expect(pathsLeavingRoot(file, old, ROOT)).toEqual([`test/writers/page-bytes.test.ts: ${outside}`]);
    expect(pathsLeavingRoot(file, "import { x } from '../../src/index.js';", ROOT)).toEqual([]);
  });

  it('no file of src/, test/ or bench/ reads a path outside the repository', () => {
    const files = ['src', 'test', 'bench'].flatMap(codeFiles);
    expect(files.length).toBeGreaterThan(100);
    const escapes = files.flatMap((file) => pathsLeavingRoot(file, readFileSync(file, 'utf8'), ROOT));
    expect(escapes).toEqual([]);
  });

  it('the recorded answers are in the repository, with their MIT licence (pyesridump, OSM Lab)', () => {
    expect(recordedPageLayers().length).toBeGreaterThanOrEqual(5);
    const licence = readFileSync(new URL('LICENSE', RECORDED), 'utf8');
    expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) 2016 OSM Lab\n/);
    expect(licence).toContain('The above copyright notice and this permission notice shall be included');
    expect(readFileSync(new URL('README.md', RECORDED), 'utf8')).toContain('pyesridump');
  });
});
