/**
 * `arcgis-etl login` without a browser on the machine: the help says how, and the flow works as
 * it says — a fixed --port, the printed URL signed in elsewhere, and the redirect address then
 * requested by hand (curl) on the loopback listener.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { uniqueSecret } from './helpers.js';

const user = { username: 'hl', password: uniqueSecret('headless-pw') };
let emu: EmulatorHandle;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({
    users: [user],
    apps: [{ clientId: 'etl-headless', redirectUris: ['http://127.0.0.1/callback'] }],
  });
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-headless-'));
});
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('headless login', () => {
  it('login --help explains the headless way', async () => {
    const help = await runInProcess(['login', '--help']);
    expect(help.stdout).toContain('--port <port>');
    expect(help.stdout).toContain('No browser on this machine');
    expect(help.stdout).toContain('ssh -L 8765:127.0.0.1:8765');
    expect(help.stdout).toContain("curl 'http://127.0.0.1:8765/callback?code=…&state=…'");
  });

  it('sign in elsewhere, then hand the redirect to the loopback listener with a plain GET', async () => {
    const port = await freePort();
    let signIn: Promise<{ location: string; callback: number }> | undefined;
    const r = await runInProcess(
      [
        'login',
        '--portal',
        emu.portalUrl,
        '--client-id',
        'etl-headless',
        '--port',
        String(port),
        '--token-cache',
        `file:${join(dir, 't.json')}`,
      ],
      {
        env: {},
        cwd: dir,
        onStderr: (text) => {
          const url = /^\s+(http\S+oauth2\/authorize\S+)$/m.exec(text)?.[1];
          if (url === undefined || signIn) return;
          signIn = (async () => {
            // "another machine": sign in, but do not follow the redirect
            const target = new URL(url);
            const form = new URLSearchParams(target.searchParams);
            form.set('username', user.username);
            form.set('password', user.password);
            const submit = await fetch(`${target.origin}${target.pathname}`, {
              method: 'POST',
              body: form,
              redirect: 'manual',
            });
            await submit.text();
            const location = submit.headers.get('location') ?? '';
            // "this machine": the copied address, requested as curl would
            const done = await fetch(location);
            await done.text();
            return { location, callback: done.status };
          })();
        },
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const visit = await signIn;
    expect(visit?.location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/callback\\?code=`));
    expect(visit?.callback).toBe(200);
    expect(r.stdout).toMatch(/^Signed in to .* as hl \(client etl-headless\)/);
    expect(r.stderr + r.stdout).not.toContain(user.password);
  });
});
