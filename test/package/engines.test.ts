/**
 * `engines.node` says what really runs: no lower than any runtime dependency needs, and no lower
 * than `require('arcgis-etl')` needs (require of an ES module, unflagged from Node 20.19.0). The
 * Node running the tests satisfies it; .ci/run also runs these package tests on exactly the floor
 * (ARCGIS_ETL_NODE_FLOOR=1), so the lowest version named is one CI has run.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../stores/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};

type Version = [number, number, number];

function parse(text: string): Version {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a version: ${text}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The lowest version a range admits, for the forms packages use: `>=x.y.z`, `^x.y.z`, `a || b`. */
function floorOf(range: string): Version {
  const floors = range.split('||').map((part) => {
    const m = /^\s*(?:>=|\^|~)?\s*v?(\d+(?:\.\d+){0,2})(?:\.x)?\s*$/.exec(part);
    if (!m?.[1]) throw new Error(`engines range not understood: ${range}`);
    return parse(m[1]);
  });
  return floors.sort(compare)[0]!;
}

const ours = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
const REQUIRE_ESM: Version = [20, 19, 0];

describe('engines.node', () => {
  it('is one exact floor, `>=x.y.z`, that the running Node satisfies', () => {
    expect(ours, `engines.node is ${pkg.engines.node}`).toBeDefined();
    expect(compare(parse(process.version), parse(ours!))).toBeGreaterThanOrEqual(0);
  });

  it('on the floor run of CI, this Node is exactly the floor', () => {
    if (process.env.ARCGIS_ETL_NODE_FLOOR !== '1') return;
    expect(process.version).toBe(`v${ours}`);
  });

  it('is no lower than require(esm) (20.19.0) nor than any runtime dependency needs', () => {
    expect(compare(parse(ours!), REQUIRE_ESM)).toBeGreaterThanOrEqual(0);
    const needs = Object.keys(pkg.dependencies).flatMap((name) => {
      const depPkg = path.join(ROOT, 'node_modules', name, 'package.json');
      const range = (JSON.parse(readFileSync(depPkg, 'utf8')) as { engines?: { node?: string } }).engines
        ?.node;
      return range ? [{ name, range, floor: floorOf(range) }] : [];
    });
    expect(needs.map((n) => n.name)).toContain('undici');
    for (const need of needs) {
      expect(
        compare(parse(ours!), need.floor),
        `${need.name} needs node ${need.range}`,
      ).toBeGreaterThanOrEqual(0);
    }
    expect(floorOf('>=20.18.1')).toEqual([20, 18, 1]);
    expect(floorOf('^20.0.0 || ^22.0.0 || >=24.0.0')).toEqual([20, 0, 0]);
    expect(floorOf('>= 20')).toEqual([20, 0, 0]);
  });
});

const run = promisify(execFile);

describe('the built package, from a consumer (`npm test` builds dist/ first)', () => {
  async function consumer(code: string, type: 'commonjs' | 'module'): Promise<string> {
    expect(existsSync(path.join(ROOT, 'dist/index.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    const tmp = await tempDir();
    try {
      await mkdir(path.join(tmp.dir, 'node_modules'));
      await symlink(ROOT, path.join(tmp.dir, 'node_modules', 'arcgis-etl'), 'dir');
      const args = type === 'module' ? ['--input-type=module', '-e', code] : ['-e', code];
      const { stdout } = await run(process.execPath, args, { cwd: tmp.dir, timeout: 30_000 });
      return stdout;
    } finally {
      await tmp.cleanup();
    }
  }

  const list = (expr: string) => `JSON.stringify(Object.keys(${expr}).sort())`;

  it("require('arcgis-etl') and require('arcgis-etl/emulator') give the same named exports as import", async () => {
    const required = JSON.parse(
      await consumer(
        `const a = require('arcgis-etl'); const e = require('arcgis-etl/emulator');
         console.log(JSON.stringify([${list('a')}, ${list('e')}]))`,
        'commonjs',
      ),
    ) as string[][];
    const imported = JSON.parse(
      await consumer(
        `const a = await import('arcgis-etl'); const e = await import('arcgis-etl/emulator');
         console.log(JSON.stringify([${list('a')}, ${list('e')}]))`,
        'module',
      ),
    ) as string[][];
    expect(required[0]).toContain('connect');
    expect(required[0]).toContain('EtlError');
    expect(required[1]).toContain('startEmulator');
    expect(required).toEqual(imported);
  });
});
