/**
 * Koop 10 (`@koopjs/koop-core` + `@koopjs/provider-file-geojson`) as an independent GeoServices
 * server: started on port 0 on loopback, serving GeoJSON files written to a temporary directory,
 * secured by the token plugin of koop-token-auth.mjs. Koop computes its own (hashed, non-dense)
 * OBJECTIDs, honours `resultOffset` in file order, ignores `orderByFields` on OBJECTID, answers
 * `outStatistics` on OBJECTID with `{}`, only advertises maxRecordCount, and writes Integer fields as
 * sint32 in `f=pbf`: it shares none of our emulator's assumptions.
 *
 * Every request passes an optional hook first (to stall or fail requests) and is counted, so tests
 * and the benchmark can measure requests and interrupt runs at a chosen point.
 * Plain JavaScript (typed by koop-server.d.mts) so that bench/koop.mjs runs it too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createTokenAuth } from './koop-token-auth.mjs';

// Koop derives OBJECTIDs from a hash of each feature: the portable JavaScript hash on every machine
// (its native farmhash is optional and may not be built).
process.env.OBJECTID_FEATURE_HASH = 'javascript';
// Koop reads node-config; this repository has no config directory (and vitest's NODE_ENV=test
// matches no config file).
process.env.SUPPRESS_NO_CONFIG_WARNING = 'true';
process.env.NODE_CONFIG_ENV = 'development';

const require = createRequire(import.meta.url);
const PROVIDER = 'file-geojson';

function silentLogger() {
  const noop = () => {};
  return { error: noop, warn: noop, info: noop, verbose: noop, debug: noop, silly: noop, log: noop };
}

export async function startKoop({ layers, username = 'koop-user', password } = { layers: [] }) {
  const credentials = {
    username,
    password: password ?? `Koop-${Math.random().toString(36).slice(2)}-Pw9`,
  };
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-koop-'));
  for (const layer of layers) {
    const metadata = { name: layer.name };
    if (layer.maxRecordCount !== undefined) metadata.maxRecordCount = layer.maxRecordCount;
    if (layer.fields !== undefined) metadata.fields = layer.fields;
    const body = JSON.stringify({ type: 'FeatureCollection', metadata, features: layer.features });
    await writeFile(join(dir, `${layer.name}.geojson`), body);
  }

  const Koop = require('@koopjs/koop-core');
  const provider = require('@koopjs/provider-file-geojson');
  const auth = createTokenAuth(credentials);
  const koop = new Koop({ logger: silentLogger() });
  koop.register(auth.plugin); // before the provider: Koop hands the auth module to providers as they register
  // The provider joins its dataDir to process.cwd(), so it must be relative.
  koop.register(callbackProvider(provider), { dataDir: relative(process.cwd(), dir) || '.' });

  const stats = { requests: 0, queries: 0, tokens: 0 };
  let hook;
  const server = createServer((req, res) => {
    stats.requests++;
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.endsWith('/query')) stats.queries++;
    if (path.endsWith('/generateToken')) stats.tokens++;
    const current = hook;
    if (current === undefined) {
      koop.server(req, res);
      return;
    }
    Promise.resolve(current(req, res)).then(
      (handled) => {
        if (!handled) koop.server(req, res);
      },
      () => res.destroy(),
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const restUrl = `${origin}/${PROVIDER}/rest`;
  return {
    origin,
    restUrl,
    tokenUrl: `${restUrl}/generateToken`,
    layerUrl: (name) => `${restUrl}/services/${encodeURIComponent(name)}/FeatureServer/0`,
    credentials,
    auth,
    stats: () => ({ ...stats }),
    resetStats: () => {
      stats.requests = 0;
      stats.queries = 0;
      stats.tokens = 0;
    },
    setHook: (next) => {
      hook = next;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The provider with a callback-style getData. Koop promisifies getData, and the provider's is an
 * async function that also calls its callback: Node 24 warns (DEP0174) at every query about a
 * promisified function that returns a promise. Same data, same errors, no warning.
 */
function callbackProvider(provider) {
  class Model extends provider.Model {
    getData(req, callback) {
      // an error before the provider reaches its callback rejects its promise instead
      super.getData(req, callback).catch(callback);
    }
  }
  return { ...provider, Model };
}
