import { describe, expect, it } from 'vitest';
import { GenerateTokenProvider } from '../../src/auth/generate-token.js';
import { TokenManager } from '../../src/auth/token-manager.js';
import { EtlError } from '../../src/core/errors.js';
import { createEmitter, type EtlEvent, type Logger } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { FakeTransport } from './fake-transport.js';
import { SERVICE_URL, TOKEN_URL } from './helpers.js';

function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (obj: object, msg?: string) =>
    lines.push(`${level} ${msg} ${JSON.stringify(obj)}`);
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe('no secret in events, logs or errors', () => {
  it('covers generate, refresh, invalidate and failure', async () => {
    const password = `pw-${Math.random().toString(36).slice(2)}-unique`;
    const tokens = [1, 2, 3].map((n) => `tk${n}-${Math.random().toString(36).slice(2)}-unique`);
    const time = new FakeTime();
    const transport = new FakeTransport().push(
      { body: { token: tokens[0], expires: time.now() + 3_600_000 } },
      { body: { token: tokens[1], expires: time.now() + 3_600_000 } },
      // A broken server that echoes the credentials in its error message.
      () =>
        new EtlError('RETRIES_EXHAUSTED', `503 for password=${password}&token=${tokens[1]}`, {
          details: [`password ${password}`],
        }),
      { body: { token: tokens[2], expires: time.now() + 3_600_000 } },
    );
    const raw: EtlEvent[] = [];
    const logged: string[] = [];
    const emit = createEmitter({ logger: capturingLogger(logged), onEvent: () => {} });
    const manager = new TokenManager({
      provider: new GenerateTokenProvider({ tokenUrl: TOKEN_URL, username: 'etl-bot', password, transport }),
      runtime: time.runtime(),
      emit: (e) => {
        raw.push(e);
        emit(e);
      },
    });
    const errors: unknown[] = [];
    const t1 = (await manager.getToken(SERVICE_URL))!;
    await manager.invalidate(t1, '498 Invalid token');
    const t2 = (await manager.getToken(SERVICE_URL))!;
    await manager.invalidate(t2, '498');
    await manager.getToken(SERVICE_URL).catch((e: unknown) => errors.push(e));
    await manager.getToken(SERVICE_URL);
    expect(raw.map((e) => e.type)).toEqual(
      expect.arrayContaining(['token.generated', 'token.invalidated', 'token.refreshed', 'token.failed']),
    );
    expect(logged.length).toBeGreaterThan(4);
    expect(errors).toHaveLength(1);

    // Raw events (before any redaction layer) and everything logged or thrown.
    const everything = [
      JSON.stringify(raw),
      logged.join('\n'),
      ...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as EtlError).details.join(' ')}`),
    ].join('\n');
    expect(everything).not.toContain(password);
    for (const t of tokens) expect(everything).not.toContain(t);
    expect(everything).toContain('etl-bot');
    expect(JSON.stringify(raw)).toContain('sharing/rest/generateToken');
  });

  it('the provider registers issued tokens so that any later message is scrubbed', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}-registered`;
    const time = new FakeTime();
    const transport = new FakeTransport().push({ body: { token, expires: time.now() + 60_000 } });
    const provider = new GenerateTokenProvider({
      tokenUrl: TOKEN_URL,
      username: 'u',
      password: 'pass-1',
      transport,
    });
    await provider.fetchToken({ reason: 'initial' });
    expect(new EtlError('HTTP_ERROR', `something about ${token}`).message).not.toContain(token);
  });
});
