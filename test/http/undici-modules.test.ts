/**
 * The transport loads undici's Agent and its `request` from their own modules, not undici's index
 * (which loads all of undici: about 100 ms of every start of the CLI). Without the index the
 * Agent's prototype has no `request`: sendRequest calls undici's own on it. A dispatcher of the
 * caller's (an undici loaded whole) keeps its own `request`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRequest } from '../../src/http/agent.js';
import { sendJson, startServer, type TestServer } from './server.js';

const TRANSPORT = fileURLToPath(new URL('../../dist/http/transport.js', import.meta.url));

let server: TestServer;
beforeAll(async () => {
  server = await startServer((_req, res) => sendJson(res, { ok: true }));
});
afterAll(() => server.close());

/** In a fresh process (undici not loaded by anything else): one request, and the modules loaded. */
const CHILD = `
import { createRequire } from 'node:module';
const { createTransport } = await import(process.argv[1]);
const transport = createTransport({ retry: { maxAttempts: 1 } });
const response = await transport.request(process.argv[2], { method: 'GET' });
await transport.close();
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => /[\\\\/]undici[\\\\/]/.test(p));
console.log(JSON.stringify({ body: response.body, loaded }));
`;

describe('undici modules', () => {
  it("a fresh process's transport sends requests without loading undici's index", async () => {
    if (!existsSync(TRANSPORT))
      throw new Error('dist/http/transport.js is missing: run `npm test`, which builds');
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      CHILD,
      TRANSPORT,
      `${server.origin}/arcgis/rest/info`,
    ]);
    const { body, loaded } = JSON.parse(stdout) as { body: unknown; loaded: string[] };
    expect(body).toEqual({ ok: true });
    const names = loaded.map((p) => p.replace(/\\/g, '/').replace(/^.*\/undici\//, ''));
    expect(names).toContain('lib/dispatcher/agent.js');
    expect(names).toContain('lib/api/api-request.js');
    expect(names).not.toContain('index.js');
    expect(names.some((n) => n.startsWith('lib/web/'))).toBe(false); // fetch, WebSocket, caches
  });

  it("a caller's dispatcher keeps its own request", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent.get('http://mock.test').intercept({ path: '/x', method: 'GET' }).reply(200, 'mocked');
    const calls: unknown[] = [];
    const own = agent.request.bind(agent);
    agent.request = ((options: Parameters<typeof own>[0]) => {
      calls.push(options.path);
      return own(options);
    }) as typeof agent.request;
    const response = await sendRequest(agent, { origin: 'http://mock.test', path: '/x', method: 'GET' });
    expect(await response.body.text()).toBe('mocked');
    expect(calls).toEqual(['/x']);
    await agent.close();
  });
});
