// Emulator throughput: features/s served for 2,000-row pages of points and of polygons, with 1 and
// with 8 client connections. The emulator runs in a worker thread (its own event loop), the client
// (undici Pool) in the main thread; bodies are counted, not parsed.
// Run: npm run build && node bench/emulator.mjs [points] [polygons] [--json: one JSON object on the
// last stdout line] [--quick or BENCH_QUICK=1: 20,000 points, 6,000 polygons]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const PAGE = 2000;

if (!isMainThread) {
  const { startEmulator } = await import('../dist/emulator/index.js');
  const emu = await startEmulator(workerData);
  parentPort.postMessage({
    url: emu.url,
    tokenUrl: emu.tokenUrl,
    layerUrls: workerData.layers.map((l) => emu.layerUrl(l.service)),
  });
  parentPort.on('message', async (msg) => {
    if (msg === 'stop') {
      await emu.stop();
      parentPort.postMessage('stopped');
    }
  });
} else {
  const { Pool } = await import('undici');
  const jsonMode = process.argv.includes('--json');
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const sizes = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const points = Number(sizes[0] ?? (quick ? 20_000 : 200_000));
  const polygons = Number(sizes[1] ?? (quick ? 6_000 : 60_000));
  const user = { username: 'bench', password: 'bench-pass' };
  const layers = [
    { service: 'points', generate: { count: points, geometry: 'point', seed: 1 }, maxRecordCount: PAGE },
    {
      service: 'polygons',
      generate: { count: polygons, geometry: 'polygon', seed: 2 },
      maxRecordCount: PAGE,
    },
  ];
  const t0 = performance.now();
  const worker = new Worker(new URL(import.meta.url), { workerData: { users: [user], layers } });
  const ready = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const loadMs = performance.now() - t0;
  const origin = new URL(ready.url).origin;

  const tokenPool = new Pool(origin, { connections: 1 });
  const tokenRes = await tokenPool.request({
    method: 'POST',
    path: new URL(ready.tokenUrl).pathname,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ f: 'json', ...user, client: 'requestip' }).toString(),
  });
  const { token } = await tokenRes.body.json();
  await tokenPool.close();

  async function run(layerUrl, count, connections, warm) {
    const pool = new Pool(origin, { connections, pipelining: 1 });
    const path = `${new URL(layerUrl).pathname}/query`;
    const offsets = [];
    for (let o = 0; o < count; o += PAGE) offsets.push(o);
    let next = 0;
    let bytes = 0;
    const fetchPage = async (offset) => {
      const qs = new URLSearchParams({
        where: '1=1',
        outFields: '*',
        orderByFields: 'OBJECTID ASC',
        resultOffset: String(offset),
        resultRecordCount: String(PAGE),
        f: 'json',
        token,
      });
      const res = await pool.request({ method: 'GET', path: `${path}?${qs}` });
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      for await (const chunk of res.body) bytes += chunk.length;
    };
    // warm-up: every page twice (the data engine serializes a page on each of its first two reads
    // and caches it on the second, then answers it from memory); the first pass is timed, as the
    // cost of a first read
    const warmStart = performance.now();
    if (warm) await Promise.all(offsets.map((o) => fetchPage(o)));
    const firstReadMs = warm ? performance.now() - warmStart : undefined;
    if (warm) await Promise.all(offsets.map((o) => fetchPage(o)));
    bytes = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < offsets.length) await fetchPage(offsets[next++]);
      }),
    );
    const ms = performance.now() - start;
    await pool.close();
    return { ms, bytes, pages: offsets.length, firstReadMs };
  }

  const rows = [];
  const firstReads = [];
  for (const [i, layer] of layers.entries()) {
    for (const connections of [1, 8]) {
      const r = await run(ready.layerUrls[i], layer.generate.count, connections, connections === 1);
      if (r.firstReadMs !== undefined) {
        firstReads.push({
          layer: layer.service,
          'features/s': Math.round((layer.generate.count / r.firstReadMs) * 1000),
        });
      }
      rows.push({
        layer: `${layer.service} (${layer.generate.count.toLocaleString('en-US')})`,
        connections,
        pages: r.pages,
        seconds: (r.ms / 1000).toFixed(2),
        'features/s': Math.round((layer.generate.count / r.ms) * 1000).toLocaleString('en-US'),
        'pages/s': ((r.pages / r.ms) * 1000).toFixed(1),
        'MB/s': (r.bytes / 1e6 / (r.ms / 1000)).toFixed(1),
        'KB/page': Math.round(r.bytes / r.pages / 1000),
      });
    }
  }
  // the request path alone (token check, routing, tiny body): returnCountOnly requests
  const requestRows = [];
  for (const connections of [1, 8]) {
    const pool = new Pool(origin, { connections });
    const path = `${new URL(ready.layerUrls[0]).pathname}/query?${new URLSearchParams({ where: '1=1', returnCountOnly: 'true', f: 'json', token })}`;
    const total = 4000;
    let sent = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (sent++ < total) await (await pool.request({ method: 'GET', path })).body.text();
      }),
    );
    const ms = performance.now() - start;
    await pool.close();
    requestRows.push({
      request: 'query returnCountOnly',
      connections,
      requests: total,
      'requests/s': Math.round((total / ms) * 1000).toLocaleString('en-US'),
    });
  }
  console.log(
    `emulator bench: ${PAGE}-row pages, token in query string; layers generated+loaded in ${(loadMs / 1000).toFixed(1)} s`,
  );
  console.table(rows);
  console.log(
    `pages above are answered from the emulator's answer cache; a first read (serialize, then cache, ${PAGE}-row pages all at once): ${firstReads.map((f) => `${f.layer} ${f['features/s'].toLocaleString('en-US')} features/s`).join(', ')}`,
  );
  console.table(requestRows);
  if (jsonMode) {
    console.log(
      JSON.stringify({
        bench: 'emulator',
        quick,
        page: PAGE,
        loadMs: Math.round(loadMs),
        rows,
        firstReads,
        requestRows,
      }),
    );
  }
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
}
