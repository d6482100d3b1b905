/**
 * Hostile bodies: giant and endless ones (the size cap), compression bombs, slow-loris answers
 * (timeouts, including a body that trickles forever and so never trips the idle timeout), and a
 * non-UTF-8 byte in the JSON.
 *
 * Decision for invalid UTF-8: the body is decoded with U+FFFD replacement characters (as every
 * WHATWG decoder does), the export goes on, and a `warning` event names the URL. A stray Latin-1
 * byte in one attribute must not fail a nightly export, but it must not pass unnoticed either.
 */
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EtlEvent } from '../../src/core/events.js';
import { createTransport } from '../../src/http/transport.js';
import { codeChain, expectFailedExport, INSTANT, runExport, type TempDir, tempDir } from './helpers.js';
import {
  fakeLayer,
  LAYER_PATH,
  layerMetadata,
  rawFeature,
  type Scripted,
  scriptedServer,
} from './servers.js';

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

const FEATURES = [1, 2, 3, 4, 5].map((oid) =>
  rawFeature(
    oid,
    JSON.stringify({ attributes: { OBJECTID: oid, NAME: `n${oid}` }, geometry: { x: oid, y: oid } }),
  ),
);

/** The fake layer, except that feature queries (not counts) are answered by `query`. */
async function layerWithQuery(query: (res: ServerResponse) => void): Promise<Scripted> {
  const layer = fakeLayer(FEATURES);
  server = await scriptedServer((req, res) => {
    const isPage = req.path.endsWith('/query') && (req.form.get('returnCountOnly') ?? 'false') !== 'true';
    return isPage ? query(res) : layer(req, res);
  });
  return server;
}

/** Streams `chunk` until the client goes away. */
function endless(res: ServerResponse, chunk: string, type = 'application/json'): void {
  res.writeHead(200, { 'content-type': type });
  const block = Buffer.from(chunk.repeat(Math.ceil(16384 / chunk.length)));
  const pump = () => {
    while (!res.destroyed && res.write(block)) {
      /* keep writing until the socket pushes back */
    }
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

describe('size cap', () => {
  it('a giant metadata answer (declared by Content-Length) is refused before it is read: RESPONSE_TOO_LARGE', async () => {
    const metadata = layerMetadata({ description: 'x'.repeat(4 * 1024 * 1024) });
    server = await scriptedServer(fakeLayer(FEATURES, { metadata }));
    const error = await expectFailedExport(
      {
        url: `${server.origin}${LAYER_PATH}`,
        output: dir.path('giant.geojsonseq'),
        connect: { transportOptions: { maxBodyBytes: 64 * 1024 } },
      },
      'RESPONSE_TOO_LARGE',
    );
    expect(error.message).toMatch(/larger than 65536 bytes/);
    expect(server.requests).toHaveLength(1); // not retried: a bigger answer will not get smaller
  });

  it('an endless chunked page mid-export: RESPONSE_TOO_LARGE, no output left', async () => {
    const s = await layerWithQuery((res) => endless(res, '{"features":[{"attributes":{"OBJECTID":1}},'));
    const error = await expectFailedExport(
      {
        url: `${s.origin}${LAYER_PATH}`,
        output: dir.path('endless.geojsonseq'),
        strategy: 'offset',
        connect: { transportOptions: { maxBodyBytes: 256 * 1024 } },
      },
      'RESPONSE_TOO_LARGE',
    );
    expect(error.message).toMatch(/262144 bytes/);
    expect(await dir.files()).toEqual([]);
  });

  it('a gzip bomb: the cap applies to the decompressed size', async () => {
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    server = await scriptedServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': bomb.length,
      });
      res.end(bomb);
    });
    const transport = createTransport({ runtime: INSTANT, maxBodyBytes: 1024 * 1024 });
    try {
      const error = await transport.request(`${server.origin}${LAYER_PATH}`).catch((e: unknown) => e);
      expect(codeChain(error)[0]).toBe('RESPONSE_TOO_LARGE');
    } finally {
      await transport.close();
    }
  });
});

describe('slow-loris', () => {
  it.concurrent('no response headers at all: TIMEOUT (headers timeout)', async () => {
    const s = await scriptedServer(() => {
      /* accept the request, never answer */
    });
    try {
      const output = dir.path('no-headers.geojsonseq');
      const error = await expectFailedExport(
        {
          url: `${s.origin}${LAYER_PATH}`,
          output,
          connect: { transportOptions: { timeouts: { headersMs: 500 }, retry: { maxAttempts: 1 } } },
        },
        'TIMEOUT',
      );
      expect(error.message).toMatch(/headers timeout/);
    } finally {
      await s.close();
    }
  });

  it.concurrent('headers, then a body that stalls: TIMEOUT (body timeout), retried, no output', async () => {
    const layer = fakeLayer(FEATURES);
    const s = await scriptedServer((req, res) => {
      if (!req.path.endsWith('/query') || req.form.get('returnCountOnly') === 'true') return layer(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"features":[');
    });
    try {
      const error = await expectFailedExport(
        {
          url: `${s.origin}${LAYER_PATH}`,
          output: dir.path('stall.geojsonseq'),
          strategy: 'offset',
          connect: { transportOptions: { timeouts: { bodyMs: 500 }, retry: { maxAttempts: 2 } } },
        },
        'RETRIES_EXHAUSTED',
      );
      expect(codeChain(error)).toContain('TIMEOUT');
      expect(error.attempts).toBe(2);
    } finally {
      await s.close();
    }
  });

  it.concurrent('a body that trickles one byte at a time forever: TIMEOUT from the response deadline', async () => {
    const layer = fakeLayer(FEATURES);
    const timers = new Set<NodeJS.Timeout>();
    const s = await scriptedServer((req, res) => {
      if (!req.path.endsWith('/query') || req.form.get('returnCountOnly') === 'true') return layer(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 100);
      timers.add(timer);
    });
    try {
      const started = Date.now();
      const error = await expectFailedExport(
        {
          url: `${s.origin}${LAYER_PATH}`,
          output: dir.path('trickle.geojsonseq'),
          strategy: 'offset',
          // the idle timeout alone would never fire: every byte arrives well within it
          connect: {
            transportOptions: { timeouts: { bodyMs: 5_000, responseMs: 1_000 }, retry: { maxAttempts: 1 } },
          },
        },
        'TIMEOUT',
      );
      expect(error.message).toMatch(/1000 ms|deadline/);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      for (const t of timers) clearInterval(t);
      await s.close();
    }
  });
});

describe('a non-UTF-8 byte in the JSON', () => {
  it('a valid multi-byte character split across two chunks is decoded whole, with no warning', async () => {
    const json = Buffer.from(JSON.stringify(layerMetadata({ name: 'Zürich – 東京' })));
    const cut = json.indexOf(Buffer.from('東')) + 1; // inside the 3-byte sequence
    server = await scriptedServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(json.subarray(0, cut));
      setTimeout(() => res.end(json.subarray(cut)), 50);
    });
    const events: EtlEvent[] = [];
    const transport = createTransport({ runtime: INSTANT, emit: (e) => events.push(e) });
    try {
      const { body } = await transport.request<{ name: string }>(`${server.origin}${LAYER_PATH}`);
      expect(body.name).toBe('Zürich – 東京');
      expect(events.filter((e) => e.type === 'warning' && /UTF-8/.test(e.message))).toEqual([]);
    } finally {
      await transport.close();
    }
  });

  it('is decoded as U+FFFD, the export completes, and a warning names the URL', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('{"attributes":{"OBJECTID":3,"NAME":"Caf'),
      Buffer.from([0xe9]),
      Buffer.from('"},"geometry":{"x":3,"y":3}}'),
    ]);
    const features = [FEATURES[0]!, FEATURES[1]!, rawFeature(3, latin1), FEATURES[3]!];
    server = await scriptedServer(fakeLayer(features));
    const output = dir.path('latin1.geojsonseq');
    const events: EtlEvent[] = [];
    const stats = await runExport({ url: `${server.origin}${LAYER_PATH}`, output, events });
    expect(stats.features).toBe(4);
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(output, 'utf8')).trim().split('\n');
    const third = JSON.parse(lines[2]!) as { id: number; properties: { NAME: string } };
    expect(third.id).toBe(3);
    expect(third.properties.NAME).toBe('Caf\uFFFD');
    const warnings = events
      .filter((e) => e.type === 'warning')
      .map((e) => (e as { message: string }).message);
    expect(warnings.some((m) => /not valid UTF-8/.test(m) && m.includes('/query'))).toBe(true);
  });
});
