/**
 * Esri's own queryAllFeatures through toArcGISRestAuthentication(conn.federated) against a
 * federated server (the emulator with federation), with no extra set-up: server tokens are bound
 * to the Referer arcgis-rest-js will send (its request options' `referer` header when it passes
 * them, else the connection's Referer, else the Node default), and the portal token exchange
 * carries the Referer the portal token is bound to.
 */
import { queryAllFeatures } from '@esri/arcgis-rest-feature-service';
import { describe, expect, it } from 'vitest';
import {
  REST_JS_NODE_REFERER,
  refererOf,
  toArcGISRestAuthentication,
} from '../../src/auth/rest-js-adapter.js';
import { connect } from '../../src/client/connect.js';
import { emulatorEnv } from './emulators.js';

describe('arcgis-rest-js on a federated server', () => {
  it.each([
    ['no Referer set anywhere', {}, {}],
    ['connect({ referer: REST_JS_NODE_REFERER })', { referer: REST_JS_NODE_REFERER }, {}],
    ['headers: { referer } on each request', {}, { headers: { referer: REST_JS_NODE_REFERER } }],
  ] as const)(
    '8 concurrent queryAllFeatures succeed, one portal and one server token: %s',
    async (_name, connectExtra, requestExtra) => {
      const env = await emulatorEnv({ federation: { enabled: true } });
      const conn = await connect({
        url: env.layerUrl,
        credentials: env.user,
        transport: env.transport,
        ...connectExtra,
      });
      try {
        expect(conn.federated).toBeDefined();
        const authentication = toArcGISRestAuthentication(conn.federated!);
        const results = await Promise.all(
          Array.from({ length: 8 }, () =>
            queryAllFeatures({ url: env.layerUrl, authentication, ...requestExtra }),
          ),
        );
        for (const r of results) expect(r.features).toHaveLength(25);
        const stats = env.emu.stats();
        expect(stats.rejected.invalidToken ?? 0).toBe(0);
        expect(stats.tokensIssued).toMatchObject({ portal: 1, federated: 1 });
      } finally {
        await conn.close();
      }
    },
  );

  it('request options that name a Referer get a server token bound to that Referer', async () => {
    const env = await emulatorEnv({ federation: { enabled: true } });
    const conn = await connect({ url: env.layerUrl, credentials: env.user, transport: env.transport });
    try {
      const authentication = toArcGISRestAuthentication(conn.federated!);
      const referer = 'https://app.example.com/map';
      const token = await authentication.getToken(env.layerUrl, { headers: { Referer: referer } });
      const query = `${env.layerUrl}/query?where=1%3D1&returnCountOnly=true&f=json&token=${token}`;
      expect(await (await fetch(query, { headers: { referer } })).json()).toEqual({ count: 25 });
      // bound to that Referer: refused with another one
      const other = await (await fetch(query, { headers: { referer: REST_JS_NODE_REFERER } })).json();
      expect(other).toMatchObject({ error: { code: 498 } });
      expect(refererOf({ headers: { REFERER: 'x' } })).toBe('x');
      expect(refererOf(undefined)).toBeUndefined();
    } finally {
      await conn.close();
    }
  });
});
