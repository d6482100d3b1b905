/**
 * The emulator's test API keys come from --api-key-file or ARCGIS_EMULATOR_API_KEYS: a key is
 * a secret, so our own argv guard refuses it as a flag, and the help says how to give one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysFrom } from '../../src/emulator/cli.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from './in-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etl-emu-keys-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function countWith(handle: EmulatorHandle, token: string): Promise<unknown> {
  const url = `${handle.layerUrl('pts', 0)}/query?where=1%3D1&returnCountOnly=true&f=json&token=${token}`;
  return (await fetch(url)).json();
}

describe('emulator API keys', () => {
  it('are read from --api-key-file and ARCGIS_EMULATOR_API_KEYS, and accepted on the layers', async () => {
    const file = join(dir, 'keys.txt');
    await writeFile(file, '# test keys\nAAPK-file-key-1\n\n');
    const answers: unknown[] = [];
    const r = await runInProcess(
      ['emulator', '--port', '0', '--api-key-file', file, '--generate', 'pts:point:5'],
      {
        env: { ARCGIS_EMULATOR_API_KEYS: 'AAPK-env-key-2, AAPK-env-key-3' },
        cwd: dir,
        waitForStop: async (handle) => {
          answers.push(await countWith(handle, 'AAPK-file-key-1'));
          answers.push(await countWith(handle, 'AAPK-env-key-3'));
          answers.push(await countWith(handle, 'AAPK-unknown'));
        },
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('API keys       3 accepted on the server');
    expect(r.stdout).not.toContain('AAPK-');
    expect(answers[0]).toEqual({ count: 5 });
    expect(answers[1]).toEqual({ count: 5 });
    expect(answers[2]).toMatchObject({ error: { code: 498 } });
  });

  it('the help names --api-key-file and the variable, not a secret flag; --api-key stays refused', async () => {
    const help = await runInProcess(['emulator', '--help']);
    expect(help.stdout).toContain('--api-key-file <file>');
    expect(help.stdout).toContain('ARCGIS_EMULATOR_API_KEYS');
    expect(help.stdout).not.toMatch(/--api-key </);
    const refused = await runInProcess(['emulator', '--api-key', 'AAPK-x']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/secrets are not accepted as command-line flags/);
  });

  it('a missing key file is a usage error', async () => {
    const r = await runInProcess(['emulator', '--port', '0', '--api-key-file', join(dir, 'nope.txt')], {
      waitForStop: async () => {},
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[USAGE\]: --api-key-file: cannot read/);
  });

  it('apiKeysFrom: lines and comma lists, blanks and comments dropped, duplicates once', () => {
    expect(apiKeysFrom('a\r\n# c\n b \n', 'b, c,,')).toEqual(['a', 'b', 'c']);
    expect(apiKeysFrom(undefined, undefined)).toEqual([]);
  });
});
