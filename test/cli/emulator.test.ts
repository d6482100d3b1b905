/**
 * `arcgis-etl emulator` as a real process: prints its URLs, serves them, stops cleanly on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from './run-bin.js';

describe('arcgis-etl emulator', () => {
  it('prints the URLs it serves, answers on them, and stops on SIGTERM', async () => {
    const { child, out } = await startEmulatorCli(['--user', 'etl:pw-1', '--generate', 'roads:polyline:30']);
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
    expect(await stop(child)).toBe(0);
  });

  it('serves the quirks of servers we did not write, from its flags', async () => {
    const { child, out } = await startEmulatorCli([
      '--generate',
      'pts:point:60',
      '--unsecured',
      '--ignore-order-by',
      '--page-cap',
      '7',
      '--empty-statistics',
      '--offset-depth',
      '20',
      '--null-geometries',
      '0.5',
    ]);
    try {
      const layer = /Layer\s+(\S+)\s+\(60 features/.exec(out)?.[1] ?? '';
      const query = async (params: Record<string, string>) =>
        (await (await fetch(`${layer}/query?${new URLSearchParams({ f: 'json', ...params })}`)).json()) as {
          features?: { attributes: { OBJECTID: number }; geometry?: unknown }[];
          exceededTransferLimit?: boolean;
        };
      const page = await query({ where: '1=1', orderByFields: 'OBJECTID ASC', outFields: '*' });
      const oids = page.features!.map((f) => f.attributes.OBJECTID);
      expect(oids).toHaveLength(7);
      expect(page.exceededTransferLimit).toBeUndefined();
      expect(oids).not.toEqual([...oids].sort((a, b) => a - b));
      expect(
        await query({
          where: '1=1',
          outStatistics: JSON.stringify([{ statisticType: 'max', onStatisticField: 'OBJECTID' }]),
        }),
      ).toEqual({});
      expect((await query({ where: '1=1', resultOffset: '21', resultRecordCount: '5' })).features).toEqual(
        [],
      );
      const all: unknown[] = [];
      for (let offset = 0; offset <= 20; offset += 7) {
        all.push(...(await query({ where: '1=1', resultOffset: String(offset), outFields: '*' })).features!);
      }
      expect(all.some((f) => !(f as { geometry?: unknown }).geometry)).toBe(true);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });
});

async function startEmulatorCli(args: string[]): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 20_000);
    child.stdout!.on('data', (d: string) => {
      out += d;
      if (out.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, out };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.kill('SIGTERM');
  });
}
