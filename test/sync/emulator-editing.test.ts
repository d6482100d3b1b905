/**
 * The emulator's editable layers: applyEdits (rollbackOnFailure), edit fields on the server's
 * (skewed) clock, extractChanges with serverGens (sync and async through pollStatusUrl), attachments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { emulatorCommandOptions } from '../../src/emulator/cli.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { pollStatusUrl } from '../../src/features/jobs/poll.js';
import { pointLayer, rig, startSecured } from '../extract/helpers.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
let emu: EmulatorHandle;
const now = NOW;

beforeAll(async () => {
  emu = await startSecured({
    now: () => now,
    layers: [pointLayer('Edits', 20), pointLayer('Plain', 5, { editing: false })],
  });
});
afterAll(() => emu.stop());

function serviceUrl(): string {
  return emu.layerUrl('Edits').replace(/\/0$/, '');
}

describe('editable emulator layers', () => {
  it('advertise edit tracking, change tracking and attachments in the layer resource', async () => {
    const r = rig(emu);
    const meta = await r.client.request<Record<string, unknown>>(emu.layerUrl('Edits'));
    await r.close();
    expect(meta.editFieldsInfo).toEqual({
      creationDateField: 'CreationDate',
      creatorField: 'Creator',
      editDateField: 'EditDate',
      editorField: 'Editor',
    });
    expect(String(meta.capabilities)).toContain('ChangeTracking');
    expect(meta.hasAttachments).toBe(true);
    expect(meta.serverGens).toEqual({ minServerGen: 1, serverGen: 1 });
    expect(emu.layer('Plain').metadata().editFieldsInfo).toBeUndefined();
  });

  it('applyEdits adds, updates and deletes on the server clock; rollbackOnFailure keeps the layer as it was', async () => {
    const r = rig(emu);
    emu.setClockOffset(-3_600_000);
    const url = `${emu.layerUrl('Edits')}/applyEdits`;
    const result = await r.client.request<Record<string, { objectId: number; success: boolean }[]>>(url, {
      adds: JSON.stringify([{ attributes: { name: 'new one', category: 3 }, geometry: { x: 1, y: 2 } }]),
      updates: JSON.stringify([{ attributes: { OBJECTID: 2, name: 'renamed' } }]),
      deletes: '3',
    });
    expect(result.addResults).toEqual([{ objectId: 21, globalId: null, success: true }]);
    expect(result.updateResults?.[0]?.success).toBe(true);
    expect(result.deleteResults?.[0]?.success).toBe(true);
    const layer = emu.layer('Edits');
    expect(layer.objectIds()).not.toContain(3);
    expect(layer.feature(21)?.attributes).toMatchObject({
      name: 'new one',
      EditDate: NOW - 3_600_000,
      Editor: 'etl-user',
    });
    expect(layer.feature(2)?.attributes).toMatchObject({ name: 'renamed', EditDate: NOW - 3_600_000 });
    expect(layer.feature(2)?.attributes.CreationDate).toBeLessThan(NOW - 3_600_000);

    const failing = r.client.request(url, {
      updates: JSON.stringify([
        { attributes: { OBJECTID: 4, name: 'x' } },
        { attributes: { OBJECTID: 999 } },
      ]),
    });
    await expect(failing).rejects.toSatisfy((e) => isEtlError(e) && /rolled back/i.test(e.message));
    expect(layer.feature(4)?.attributes.name).not.toBe('x');

    const partial = await r.client.request<Record<string, { success: boolean }[]>>(url, {
      rollbackOnFailure: false,
      updates: JSON.stringify([
        { attributes: { OBJECTID: 4, name: 'x' } },
        { attributes: { OBJECTID: 999 } },
      ]),
    });
    expect(partial.updateResults?.map((u) => u.success)).toEqual([true, false]);
    expect(layer.feature(4)?.attributes.name).toBe('x');
    emu.setClockOffset(0);
    await r.close();
  });

  it('extractChanges reports inserts, updates and deletes since a serverGen, sync and async', async () => {
    const r = rig(emu);
    const params = {
      layers: '[0]',
      layerServerGens: JSON.stringify([{ id: 0, serverGen: 1 }]),
      returnInserts: true,
      returnUpdates: true,
      returnDeletes: true,
      returnIdsOnly: true,
    };
    const sync = await r.client.request<Record<string, unknown>>(`${serviceUrl()}/extractChanges`, params);
    expect(sync).toEqual({
      layerServerGens: [{ id: 0, serverGen: 3, minServerGen: 1 }],
      edits: [{ id: 0, objectIds: { adds: [21], updates: [2, 4], deletes: [3] } }],
    });
    const job = await r.client.request<{ statusUrl: string }>(`${serviceUrl()}/extractChanges`, {
      ...params,
      async: true,
    });
    const sleeps: number[] = [];
    const done = await pollStatusUrl({
      client: r.client,
      statusUrl: job.statusUrl,
      runtime: { sleep: async (ms) => void sleeps.push(ms) },
    });
    expect(done.polls).toBe(3);
    expect(sleeps).toEqual([250, 500]);
    const result = await r.client.request(String(done.status.resultUrl));
    expect(result).toEqual(sync);
    const plain = r.client.request(`${emu.layerUrl('Plain').replace(/\/0$/, '')}/extractChanges`, params);
    await expect(plain).rejects.toSatisfy((e) => isEtlError(e) && /change tracking/.test(e.message));
    await r.close();
  });

  it('generated layers are editable and track edits by default, as hosted layers are; editing: false opts out', async () => {
    // 'Edits' is generated without an editing option
    const meta = emu.layer('Edits').metadata();
    expect(meta.editFieldsInfo).toBeDefined();
    expect(String(meta.capabilities)).toContain('Editing');
    expect((meta.fields ?? []).map((f) => f.name)).toEqual(
      expect.arrayContaining(['CreationDate', 'Creator', 'EditDate', 'Editor']),
    );
    const plain = emu.layer('Plain').metadata();
    expect(String(plain.capabilities)).not.toContain('Editing');
    expect((plain.fields ?? []).map((f) => f.name)).not.toContain('EditDate');
    const r = rig(emu);
    const refused = r.client.request(`${emu.layerUrl('Plain')}/applyEdits`, { deletes: '1' });
    await expect(refused).rejects.toSatisfy((e) => isEtlError(e));
    await r.close();
  });

  it('the emulator command serves generated layers editable unless --read-only', () => {
    expect(emulatorCommandOptions({ generate: ['pts:point:5'] }).layers?.[0]?.editing).toBeUndefined();
    expect(
      emulatorCommandOptions({ generate: ['pts:point:5'], editable: true }).layers?.[0]?.editing,
    ).toBeUndefined();
    expect(emulatorCommandOptions({ generate: ['pts:point:5'], readOnly: true }).layers?.[0]?.editing).toBe(
      false,
    );
    expect(() =>
      emulatorCommandOptions({ generate: ['pts:point:5'], readOnly: true, editable: true }),
    ).toThrow(/exclude each other/);
  });
});
