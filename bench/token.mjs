// Token manager benchmark: token-endpoint requests on a cold start, cached getToken cost, memory per key.
// Run `npm run build` first, then `node bench/token.mjs` [--json: one JSON object on the last stdout
// line] [--quick or BENCH_QUICK=1: fewer cached-call iterations and keys].
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GenerateTokenProvider, TokenManager } from '../dist/auth/index.js';
import { createTransport } from '../dist/http/transport.js';
import { MemoryStore } from '../dist/stores/memory.js';

const JSON_MODE = process.argv.includes('--json');
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const CONCURRENT = 10_000;
const CACHED_LOOP = QUICK ? 200_000 : 2_000_000;
const KEYS = QUICK ? 1_000 : 10_000;
const PASSWORD = 'bench-password-1234';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/** A generateToken endpoint that counts requests and answers after a few ms. */
async function startServer() {
  let requests = 0;
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: `bench-token-${++n}`, expires: Date.now() + 3_600_000 }));
      }, 5);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    count: () => requests,
    reset: () => {
      requests = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/**
 * What many hand-written clients do: check the cache, and if it is empty, await a new token (no
 * single flight). It calls the same transport and endpoint as the TokenManager.
 */
class NaiveManager {
  #transport;
  #tokenUrl;
  #token;
  #expires = 0;
  constructor(transport, tokenUrl) {
    this.#transport = transport;
    this.#tokenUrl = tokenUrl;
  }
  async getToken() {
    if (this.#token !== undefined && Date.now() < this.#expires - 120_000) return this.#token;
    const { body } = await this.#transport.request(this.#tokenUrl, {
      method: 'POST',
      params: { username: 'bench', password: PASSWORD, client: 'requestip', expiration: 60, f: 'json' },
    });
    this.#token = body.token;
    this.#expires = body.expires;
    return this.#token;
  }
}

async function coldStart(manager, url) {
  const started = performance.now();
  const tokens = await Promise.all(Array.from({ length: CONCURRENT }, () => manager.getToken(url)));
  return { ms: performance.now() - started, distinct: new Set(tokens).size };
}

async function cachedCost(manager, url) {
  await manager.getToken(url);
  for (let i = 0; i < CACHED_LOOP / 20; i++) await manager.getToken(url); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < CACHED_LOOP; i++) await manager.getToken(url);
  return Number(process.hrtime.bigint() - started) / CACHED_LOOP;
}

async function memoryPerKey() {
  const provider = (i) => ({
    kind: 'generateToken',
    tokenUrl: 'https://portal.example.com/portal/sharing/rest/generateToken',
    identity: { username: `user-${i}`, client: 'requestip' },
    refreshable: true,
    fetchToken: async () => ({ token: `token-${i}-${'x'.repeat(100)}`, expires: Date.now() + 3_600_000 }),
  });
  const url = 'https://portal.example.com/portal/sharing/rest/content';
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = new MemoryStore();
  const managers = [];
  for (let i = 0; i < KEYS; i++)
    managers.push(new TokenManager({ provider: provider(i), store, emit: () => {} }));
  for (const m of managers) await m.getToken(url);
  gc();
  const after = process.memoryUsage().heapUsed;
  if (store.size !== KEYS) throw new Error('store size mismatch');
  return { bytes: (after - before) / KEYS, keep: managers.length };
}

const server = await startServer();
const transport = createTransport({ emit: () => {}, connections: 64 });
const tokenUrl = `${server.origin}/portal/sharing/rest/generateToken`;
const url = `${server.origin}/server/rest/services/Parcels/FeatureServer/0/query`;
const newProvider = () =>
  new GenerateTokenProvider({ tokenUrl, username: 'bench', password: PASSWORD, transport });

const ours = new TokenManager({ provider: newProvider(), emit: () => {} });
server.reset();
const oursCold = await coldStart(ours, url);
const oursRequests = server.count();

const naive = new NaiveManager(transport, tokenUrl);
server.reset();
const naiveCold = await coldStart(naive, url);
const naiveRequests = server.count();

const baselineNs = await cachedCost({ getToken: async () => 'token' }, url);
const oursNs = await cachedCost(ours, url);
const naiveNs = await cachedCost(naive, url);
const memory = await memoryPerKey();

await transport.close();
await server.close();

const rows = [
  [
    'token requests, 10,000 concurrent cold calls',
    oursRequests,
    naiveRequests,
    `${(naiveRequests / oursRequests).toFixed(0)}x fewer`,
  ],
  ['cold start wall time (ms)', oursCold.ms.toFixed(0), naiveCold.ms.toFixed(0), ''],
  ['distinct tokens handed out', oursCold.distinct, naiveCold.distinct, ''],
  [
    `cached getToken (ns/op, ${CACHED_LOOP.toExponential(0).replace('+', '')} awaited calls)`,
    oursNs.toFixed(0),
    naiveNs.toFixed(0),
    oursNs < 1000 ? 'target < 1000 ns: met' : 'target < 1000 ns: MISSED',
  ],
  ['baseline: awaited async fn returning a constant (ns/op)', baselineNs.toFixed(0), '', ''],
  [
    `heap per cached key (bytes, ${KEYS.toLocaleString('en-US')} managers + store)`,
    memory.bytes.toFixed(0),
    '-',
    '',
  ],
];
const header = ['metric', 'TokenManager', 'naive', 'note'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (JSON_MODE) {
  console.log(
    JSON.stringify({
      bench: 'token',
      quick: QUICK,
      concurrentColdCalls: CONCURRENT,
      coldRequests: { ours: oursRequests, naive: naiveRequests },
      coldMs: { ours: Math.round(oursCold.ms), naive: Math.round(naiveCold.ms) },
      distinctTokens: { ours: oursCold.distinct, naive: naiveCold.distinct },
      cachedNsPerOp: {
        ours: Math.round(oursNs),
        naive: Math.round(naiveNs),
        baseline: Math.round(baselineNs),
      },
      cachedCalls: CACHED_LOOP,
      heapBytesPerKey: Math.round(memory.bytes),
    }),
  );
}
