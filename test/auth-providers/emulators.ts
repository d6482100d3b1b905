/** Emulators started per test (stopped after each), a scripted browser, and a counting transport. */
import { afterEach } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle, EmulatorOptions } from '../../src/emulator/types.js';
import { createTransport, type HttpTransport } from '../../src/http/transport.js';
import { uniqueSecret } from './helpers.js';

const running: EmulatorHandle[] = [];
const transports: HttpTransport[] = [];

afterEach(async () => {
  await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  await Promise.allSettled(running.splice(0).map((e) => e.stop()));
});

export interface Env {
  emu: EmulatorHandle;
  time: FakeTime;
  user: { username: string; password: string };
  app: { clientId: string; clientSecret: string };
  /** A public app (no secret): PKCE required. */
  cliApp: { clientId: string };
  layerUrl: string;
  transport: HttpTransport;
}

/** One emulator on a FakeTime clock, with a user, a confidential and a public app, and one layer. */
export async function emulatorEnv(
  options: EmulatorOptions = {},
  time = new FakeTime(Date.now()),
): Promise<Env> {
  const user = { username: 'ana', password: uniqueSecret('user-pw') };
  const app = { clientId: 'etl-app', clientSecret: uniqueSecret('client-secret') };
  const cliApp = { clientId: 'etl-cli' };
  const emu = await startEmulator({
    users: [user],
    apps: [
      {
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        redirectUris: ['https://etl.example.com/cb'],
      },
      { clientId: cliApp.clientId, redirectUris: ['http://127.0.0.1/callback'] },
    ],
    layers: [{ service: 'Parcels', generate: { count: 25, geometry: 'point', seed: 7 }, maxRecordCount: 10 }],
    now: () => time.now(),
    ...options,
  });
  running.push(emu);
  const transport = createTransport({ runtime: time.instantRuntime() });
  transports.push(transport);
  return { emu, time, user, app, cliApp, layerUrl: emu.layerUrl('Parcels', 0), transport };
}

export async function extraEmulator(options: EmulatorOptions): Promise<EmulatorHandle> {
  const emu = await startEmulator(options);
  running.push(emu);
  return emu;
}

export function track(transport: HttpTransport): HttpTransport {
  transports.push(transport);
  return transport;
}

/**
 * What a user does in the browser: open the authorize page, submit the sign-in form, follow the
 * redirect to the loopback receiver. Returns the final status of each step.
 */
export async function scriptedBrowser(
  url: string,
  credentials: { username: string; password: string },
): Promise<{ page: number; submit: number; location: string | null; callback: number | undefined }> {
  const page = await fetch(url);
  await page.text();
  const target = new URL(url);
  const form = new URLSearchParams(target.searchParams);
  form.set('username', credentials.username);
  form.set('password', credentials.password);
  const submit = await fetch(`${target.origin}${target.pathname}`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  await submit.text();
  const location = submit.headers.get('location');
  let callback: number | undefined;
  if (submit.status === 302 && location) {
    const done = await fetch(location);
    await done.text();
    callback = done.status;
  }
  return { page: page.status, submit: submit.status, location, callback };
}
