/**
 * `arcgis-etl emulator` as a real process: prints its URLs, serves them, stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from './run-bin.js';

describe('arcgis-etl emulator', () => {
  it('prints the URLs it serves, answers on them, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'emulator', '--port', '0', '--user', 'etl:pw-1', '--generate', 'roads:polyline:30'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 20_000);
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('Press Ctrl+C')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const layer = /Layer\s+(\S+)\s+\(30 features, esriGeometryPolyline\)/.exec(out)?.[1];
    expect(layer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/arcgis\/rest\/services\/roads\/FeatureServer\/0$/);
    const tokenUrl = /Token URL\s+(\S+)/.exec(out)?.[1] ?? '';
    const info = (await (await fetch(`${new URL(tokenUrl).origin}/arcgis/rest/info?f=json`)).json()) as {
      authInfo: { isTokenBasedSecurity: boolean };
    };
    expect(info.authInfo.isTokenBasedSecurity).toBe(true);
    const unauth = (await (await fetch(`${layer}/query?where=1%3D1&f=json`)).json()) as {
      error?: { code: number };
    };
    expect(unauth.error?.code).toBe(499);
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
