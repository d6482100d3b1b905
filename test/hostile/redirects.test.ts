/**
 * Hostile redirects: loops, endless chains, and redirects to another origin. A redirect to another
 * origin is never followed: the foreign server records every request it gets, and it gets none —
 * so neither the token nor the password can reach it, whatever the token placement.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TokenPlacement } from '../../src/client/types.js';
import { codeChain, expectFailedExport, type TempDir, tempDir } from './helpers.js';
import { fakeLayer, LAYER_PATH, type Scripted, scriptedServer, sendJson } from './servers.js';

const TOKEN = `tok-${Math.random().toString(36).slice(2)}-redirect-secret`;
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-redirect`;
const TOKEN_PATH = '/arcgis/tokens/generateToken';

let dir: TempDir;
let foreign: Scripted;
const servers: Scripted[] = [];
beforeAll(async () => {
  dir = await tempDir();
  foreign = await scriptedServer((_req, res) => sendJson(res, { ok: true }));
});
afterAll(async () => {
  await foreign.close();
  await dir.remove();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  foreign.requests.length = 0;
});

function redirect(status: number, location: string) {
  return (res: import('node:http').ServerResponse) => {
    res.writeHead(status, { location, 'content-type': 'text/html' });
    res.end(`<a href="${location}">moved</a>`);
  };
}

/** A layer server with a working token endpoint, whose layer resource is answered by `layer`. */
async function securedServer(layer: (path: string, res: import('node:http').ServerResponse) => boolean) {
  const base = fakeLayer([]);
  const s = await scriptedServer((req, res) => {
    if (req.path === TOKEN_PATH) {
      sendJson(res, { token: TOKEN, expires: Date.now() + 3_600_000, ssl: false });
      return;
    }
    if (!layer(req.path, res)) base(req, res);
  });
  servers.push(s);
  return s;
}

const credentials = (s: Scripted) => ({
  credentials: { username: 'etl', password: PASSWORD },
  tokenUrl: `${s.origin}${TOKEN_PATH}`,
});

describe('redirect loops and chains', () => {
  it('a loop between two paths: REDIRECT_BLOCKED, not retried, no output', async () => {
    const s = await securedServer((path, res) => {
      if (path === LAYER_PATH) redirect(302, `${LAYER_PATH}/a`)(res);
      else if (path === `${LAYER_PATH}/a`) redirect(302, LAYER_PATH)(res);
      else return false;
      return true;
    });
    const error = await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('loop.geojsonseq'), connect: credentials(s) },
      'REDIRECT_BLOCKED',
    );
    expect(error.message).toMatch(/loop/i);
    expect(s.requests.filter((r) => r.path.startsWith(LAYER_PATH)).length).toBeLessThanOrEqual(3);
    expect(error.message).not.toContain(TOKEN);
  });

  it('a redirect to itself: REDIRECT_BLOCKED', async () => {
    const s = await securedServer((path, res) => {
      if (path !== LAYER_PATH) return false;
      redirect(307, LAYER_PATH)(res);
      return true;
    });
    const error = await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('self.geojsonseq'), connect: credentials(s) },
      'REDIRECT_BLOCKED',
    );
    expect(error.message).toMatch(/loop/i);
  });

  it('an endless chain of new paths: REDIRECT_BLOCKED after a bounded number of hops', async () => {
    const s = await securedServer((path, res) => {
      if (!path.startsWith(LAYER_PATH)) return false;
      const n = Number(/\/hop(\d+)$/.exec(path)?.[1] ?? 0);
      redirect(301, `${LAYER_PATH}/hop${n + 1}`)(res);
      return true;
    });
    const error = await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('chain.geojsonseq'), connect: credentials(s) },
      'REDIRECT_BLOCKED',
    );
    expect(error.message).toMatch(/more than \d+ redirects/i);
    expect(s.requests.filter((r) => r.path.startsWith(LAYER_PATH)).length).toBeLessThanOrEqual(10);
  });
});

describe('redirects to another origin', () => {
  for (const placement of ['body', 'header', 'query'] as TokenPlacement[]) {
    it(`a layer redirecting to a foreign host (token in the ${placement}): blocked, the foreign host gets nothing`, async () => {
      const s = await securedServer((path, res) => {
        if (path !== LAYER_PATH) return false;
        redirect(307, `${foreign.origin}/steal${LAYER_PATH}`)(res);
        return true;
      });
      const error = await expectFailedExport(
        {
          url: `${s.origin}${LAYER_PATH}`,
          output: dir.path(`foreign-${placement}.geojsonseq`),
          connect: { ...credentials(s), tokenPlacement: placement },
        },
        'REDIRECT_BLOCKED',
      );
      expect(error.message).toMatch(/another origin/);
      // the layer server did get the token (the redirect was answered to a real, authenticated request)
      expect(s.received()).toContain(TOKEN);
      expect(foreign.requests).toEqual([]);
      expect(foreign.received()).not.toContain(TOKEN);
      expect(error.message + JSON.stringify(error.toJSON())).not.toContain(TOKEN);
    });
  }

  it('a static token is not carried to a foreign host either', async () => {
    const s = await securedServer((path, res) => {
      if (path !== LAYER_PATH) return false;
      redirect(302, `${foreign.origin}${LAYER_PATH}`)(res);
      return true;
    });
    await expectFailedExport(
      {
        url: `${s.origin}${LAYER_PATH}`,
        output: dir.path('foreign-static.geojsonseq'),
        connect: { credentials: { token: TOKEN } },
      },
      'REDIRECT_BLOCKED',
    );
    expect(foreign.requests).toEqual([]);
  });

  it('a token endpoint redirecting elsewhere: the password is never re-sent (REDIRECT_BLOCKED)', async () => {
    const s = await scriptedServer((req, res) => {
      if (req.path === TOKEN_PATH) redirect(307, `${foreign.origin}${TOKEN_PATH}`)(res);
      else fakeLayer([])(req, res);
    });
    servers.push(s);
    const error = await expectFailedExport(
      {
        url: `${s.origin}${LAYER_PATH}`,
        output: dir.path('foreign-token.geojsonseq'),
        connect: credentials(s),
      },
      'REDIRECT_BLOCKED',
    );
    expect(codeChain(error)[0]).toBe('REDIRECT_BLOCKED');
    expect(s.requests.filter((r) => r.path === TOKEN_PATH)).toHaveLength(1);
    expect(foreign.requests).toEqual([]);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('even a same-origin redirect of the token endpoint is refused (credentials never follow a redirect)', async () => {
    const s = await scriptedServer((req, res) => {
      if (req.path === TOKEN_PATH) redirect(307, '/elsewhere/generateToken')(res);
      else fakeLayer([])(req, res);
    });
    servers.push(s);
    await expectFailedExport(
      { url: `${s.origin}${LAYER_PATH}`, output: dir.path('same-token.geojsonseq'), connect: credentials(s) },
      'REDIRECT_BLOCKED',
    );
    expect(s.requests.some((r) => r.path === '/elsewhere/generateToken')).toBe(false);
  });
});
