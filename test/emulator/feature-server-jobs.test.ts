/**
 * A FeatureServer that is both sync-enabled (createReplica) and editable with change tracking
 * (extractChanges): its capabilities name both, and the two kinds of async job share the
 * `…/FeatureServer/jobs/{id}` path shape, each answered by its own handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { pollStatusUrl } from '../../src/features/jobs/poll.js';
import { pointLayer, type Rig, rig, startSecured } from '../extract/helpers.js';

let emu: EmulatorHandle;
let r: Rig;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      pointLayer('Both', 5),
      pointLayer('ReadOnly', 5, { editing: false }),
      pointLayer('Static', 5, { capabilities: { sync: false }, editing: false }),
    ],
  });
  r = rig(emu);
});
afterAll(async () => {
  await r.close();
  await emu.stop();
});

const service = (name: string) => emu.layerUrl(name).replace(/\/0$/, '');
const noWait = { sleep: async () => {} };

describe('FeatureServer with Sync and change tracking', () => {
  it('combines the capabilities of both', async () => {
    const caps = async (name: string) =>
      (await r.client.request<{ capabilities: string; syncEnabled: boolean }>(service(name))).capabilities;
    expect(await caps('Both')).toBe('Query,Create,Update,Delete,Editing,ChangeTracking,Sync');
    expect(await caps('ReadOnly')).toBe('Query,Sync');
    expect(await caps('Static')).toBe('Query');
  });

  it('serves a replica job and an extractChanges job at jobs/{id}, each by its own handler', async () => {
    const replica = await r.client.request<{ statusUrl: string }>(`${service('Both')}/createReplica`, {
      replicaName: 'r',
      layers: '0',
      syncModel: 'none',
      dataFormat: 'json',
      async: true,
    });
    const changes = await r.client.request<{ statusUrl: string }>(`${service('Both')}/extractChanges`, {
      layers: '[0]',
      layerServerGens: JSON.stringify([{ id: 0, serverGen: 1 }]),
      returnInserts: true,
      async: true,
    });
    for (const url of [replica.statusUrl, changes.statusUrl]) {
      expect(url).toMatch(/\/Both\/FeatureServer\/jobs\/[0-9a-f]{32}$/);
    }
    const replicaDone = await pollStatusUrl({
      client: r.client,
      statusUrl: replica.statusUrl,
      runtime: noWait,
    });
    expect(String(replicaDone.status.resultUrl)).toMatch(/\/FeatureServer\/replicafiles\/[0-9a-f]+\.json$/);
    const changesDone = await pollStatusUrl({
      client: r.client,
      statusUrl: changes.statusUrl,
      runtime: noWait,
    });
    expect(changesDone.polls).toBe(3);
    expect(String(changesDone.status.resultUrl)).toBe(`${changes.statusUrl}/result`);
    const result = await r.client.request<{ layerServerGens: unknown[] }>(
      String(changesDone.status.resultUrl),
    );
    expect(result.layerServerGens).toEqual([{ id: 0, serverGen: 1, minServerGen: 1 }]);
    const stats = emu.stats().requests;
    expect(stats.replicaStatus).toBeGreaterThanOrEqual(1);
    expect(stats.jobStatus).toBe(3);
  });
});
