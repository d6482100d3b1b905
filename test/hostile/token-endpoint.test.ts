/**
 * A token endpoint that answers nonsense: an HTML page, an empty body, a 200 without `token`, a
 * non-numeric `expires`, an `expires` in the past. Each run ends with a clear EtlError, the password
 * in no message, and no output file.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import { codeChain, expectFailedExport, type TempDir, tempDir } from './helpers.js';
import { fakeLayer, LAYER_PATH, type Scripted, scriptedServer, sendBytes, sendJson } from './servers.js';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-hostile`;
const TOKEN_PATH = '/arcgis/tokens/generateToken';

let dir: TempDir;
let server: Scripted | undefined;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A layer server whose token endpoint answers `answer`. */
async function withTokenAnswer(answer: (res: ServerResponse) => void): Promise<Scripted> {
  const layer = fakeLayer([]);
  server = await scriptedServer((req, res) => (req.path === TOKEN_PATH ? answer(res) : layer(req, res)));
  return server;
}

async function exportWith(answer: (res: ServerResponse) => void, code: ErrorCode, name: string) {
  const s = await withTokenAnswer(answer);
  const output = dir.path(`${name}.geojsonseq`);
  const error = await expectFailedExport(
    {
      url: `${s.origin}${LAYER_PATH}`,
      output,
      connect: {
        credentials: { username: 'etl', password: PASSWORD },
        tokenUrl: `${s.origin}${TOKEN_PATH}`,
      },
    },
    code,
  );
  expect(JSON.stringify(error.toJSON()) + error.message).not.toContain(PASSWORD);
  // nothing but the token endpoint was asked: no layer request went out without a token
  expect(s.requests.every((r) => r.path === TOKEN_PATH)).toBe(true);
  expect(await dir.files()).toEqual([]);
  return { error, tokenRequests: s.requests.length };
}

const HOUR = 3_600_000;

describe('hostile token endpoint', () => {
  it('an HTML page (a login page instead of JSON): INVALID_RESPONSE, retried, then RETRIES_EXHAUSTED', async () => {
    const { error, tokenRequests } = await exportWith(
      (res) =>
        sendBytes(
          res,
          '<!DOCTYPE html><html><head><title>Sign In | Portal</title></head><body><form></form></body></html>',
          'text/html; charset=utf-8',
        ),
      'RETRIES_EXHAUSTED',
      'html',
    );
    expect(codeChain(error)).toContain('INVALID_RESPONSE');
    expect(error.message).toMatch(/HTML page/);
    expect(error.message).toMatch(/Sign In \| Portal/);
    expect(tokenRequests).toBe(error.attempts);
  });

  it('an empty body: INVALID_RESPONSE ("body was empty"), retried a bounded number of times', async () => {
    const { error, tokenRequests } = await exportWith(
      (res) => sendBytes(res, '', 'application/json'),
      'RETRIES_EXHAUSTED',
      'empty',
    );
    expect(codeChain(error)).toContain('INVALID_RESPONSE');
    expect(error.message).toMatch(/empty/);
    expect(tokenRequests).toBeLessThanOrEqual(6);
  });

  it('a 200 without `token`: TOKEN_RESPONSE_INVALID at once (one request)', async () => {
    const { error, tokenRequests } = await exportWith(
      (res) => sendJson(res, { expires: Date.now() + HOUR, ssl: false }),
      'TOKEN_RESPONSE_INVALID',
      'no-token',
    );
    expect(error.message).toMatch(/no token/);
    expect(tokenRequests).toBe(1);
  });

  it('an empty `token`: TOKEN_RESPONSE_INVALID', async () => {
    await exportWith(
      (res) => sendJson(res, { token: '', expires: Date.now() + HOUR }),
      'TOKEN_RESPONSE_INVALID',
      'blank',
    );
  });

  it('a non-numeric `expires`: TOKEN_RESPONSE_INVALID', async () => {
    for (const expires of ['tomorrow', null, { at: 1 }]) {
      const { error } = await exportWith(
        (res) => sendJson(res, { token: 'tok-non-numeric-expires-123456', expires }),
        'TOKEN_RESPONSE_INVALID',
        `expires-${typeof expires}`,
      );
      expect(error.message).toMatch(/expires/);
      await server?.close();
      server = undefined;
    }
  });

  it('an `expires` in the past: TOKEN_RESPONSE_INVALID (the token is never used)', async () => {
    const { error, tokenRequests } = await exportWith(
      (res) => sendJson(res, { token: 'tok-already-expired-1234567890', expires: Date.now() - HOUR }),
      'TOKEN_RESPONSE_INVALID',
      'past',
    );
    expect(error.message).toMatch(/already expired/);
    expect(error.message).not.toContain('tok-already-expired-1234567890');
    expect(tokenRequests).toBe(1);
  });

  it('a JSON array or a bare string: TOKEN_RESPONSE_INVALID', async () => {
    await exportWith((res) => sendJson(res, '["token"]'), 'TOKEN_RESPONSE_INVALID', 'array');
    await server?.close();
    server = undefined;
    await exportWith(
      (res) => sendJson(res, '"just-a-token-string-1234"'),
      'TOKEN_RESPONSE_INVALID',
      'string',
    );
  });
});
