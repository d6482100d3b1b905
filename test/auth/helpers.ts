/** Builders shared by the auth tests. */

import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager, type TokenManagerOptions } from '../../src/auth/token-manager.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { FakeTransport } from './fake-transport.js';

export const TOKEN_URL = 'https://portal.example.com/portal/sharing/rest/generateToken';
export const SERVICE_URL = 'https://portal.example.com/server/rest/services/Parcels/FeatureServer/0/query';

export interface TokenServerOptions {
  /** Token lifetime in ms as the server states it (default 60 min). */
  lifetimeMs?: number;
  /** Server clock minus local clock (default 0). */
  skewMs?: number;
  /** Send a Date header (default true). */
  sendDate?: boolean;
  prefix?: string;
}

/** A FakeTransport that issues `tok-1`, `tok-2`, … like a generateToken endpoint on a server clock. */
export function tokenServer(time: FakeTime, options: TokenServerOptions = {}): FakeTransport {
  const lifetime = options.lifetimeMs ?? 60 * 60_000;
  const prefix = options.prefix ?? 'tok';
  let n = 0;
  return new FakeTransport().otherwise(() => {
    const serverNow = time.now() + (options.skewMs ?? 0);
    n++;
    return {
      body: { token: `${prefix}-${n}-${'x'.repeat(8)}`, expires: serverNow + lifetime, ssl: true },
      // HTTP dates have a one-second resolution.
      serverDate: options.sendDate === false ? undefined : Math.floor(serverNow / 1000) * 1000,
    };
  });
}

export function setup(
  options: TokenServerOptions &
    Partial<Omit<TokenManagerOptions, 'provider'>> & { password?: string; time?: FakeTime } = {},
) {
  const time = options.time ?? new FakeTime();
  const transport = tokenServer(time, options);
  const events: EtlEvent[] = [];
  const provider = new GenerateTokenProvider({
    tokenUrl: TOKEN_URL,
    username: 'etl-bot',
    password: options.password ?? 'correct horse battery',
    transport,
  });
  const {
    lifetimeMs: _l,
    skewMs: _s,
    sendDate: _d,
    prefix: _p,
    password: _pw,
    time: _t,
    ...managerOptions
  } = options;
  const manager = new TokenManager({
    provider,
    runtime: time.runtime(),
    emit: (e) => events.push(e),
    ...managerOptions,
  });
  return { time, transport, provider, manager, events };
}
