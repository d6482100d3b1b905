/**
 * A layer whose job completes while `status` reads it: never "done with 0 features". A waiting
 * `run` keeps a layer read as done and does not read it again, so one such read lost the layer's
 * features from the run's total for good (the fleet benchmark once reported 950,000 of 1,000,000).
 */
import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { FleetJobData, FleetResult } from '../../src/fleet/job-data.js';
import type { RunRecord } from '../../src/fleet/runs.js';
import { type LayerStatus, runStatus } from '../../src/fleet/status.js';

/** One job that completes (state and result, together, as BullMQ's script does) after the first read. */
function completingQueue(features: number) {
  let completed = false;
  let reads = 0;
  const read = () => {
    const state = completed ? 'completed' : 'active';
    if (++reads === 1) completed = true; // it completes right after the first read, whatever it was
    return state;
  };
  const snapshot = () => {
    const done = read() === 'completed';
    return {
      id: 'run1:layer',
      progress: { features: features - 10, total: features, worker: 'w1' },
      returnvalue: done ? { features } : undefined,
      attemptsMade: 0,
      getState: async () => read(),
    };
  };
  return {
    getJob: async () => snapshot(),
    getJobState: async () => read(),
  } as unknown as Queue<FleetJobData, FleetResult>;
}

const record: RunRecord = {
  run: 'run1',
  pipeline: 'p.yaml',
  createdAt: 0,
  layers: [
    {
      id: 'layer',
      url: 'https://example.test/FeatureServer/0',
      output: 'x.geojsonl',
      jobId: 'run1:layer',
      shardIds: [],
    },
  ],
};

describe('status of a job completing while it is read', () => {
  it('is either running with its progress, or done with its result: never done with 0 features', async () => {
    const finished = new Map<string, LayerStatus>();
    const first = await runStatus(completingQueue(5000), record, finished);
    const layer = first.layers[0]!;
    if (layer.state === 'done') expect(layer.features).toBe(5000);
    else expect(layer.features).toBe(4990);
    expect(first.totals.features).toBeGreaterThan(0);
  });
});
