/**
 * What `npm pack` ships: the built library, CLI and emulator with their types, the LICENSE (MIT,
 * as package.json says), the README; no source maps (dropped: tsc's output is plain readable ESM,
 * and maps without src/ beside them point nowhere). `prepack` builds, so a pack from a fresh clone
 * is complete; CI packs for real in `npm run check:package` (publint, arethetypeswrong).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

describe('npm pack', () => {
  it('prepack builds, so a clone packs the built files', () => {
    expect(pkg.scripts.prepack).toMatch(/npm run build$/);
  });

  it('ships LICENSE (MIT, as package.json says), README, and dist/ with types, without source maps', async () => {
    // --ignore-scripts: list what the dist/ that `npm test` built gives, without rebuilding it
    // under the other tests' feet.
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const files = ((JSON.parse(stdout) as { files: { path: string }[] }[])[0]?.files ?? []).map(
      (f) => f.path,
    );
    for (const file of [
      'LICENSE',
      'README.md',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/emulator/index.js',
      'dist/emulator/index.d.ts',
      ...Object.values(pkg.bin).map((bin) => path.posix.normalize(bin)),
    ]) {
      expect(files).toContain(file);
    }
    expect(
      files.filter((f) => !f.startsWith('dist/') && !/^(LICENSE|README\.md|package\.json)$/.test(f)),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} arcgis-etl contributors\n/,
    );
  });
});
