/**
 * pollJob: backoff between polls, transient poll failures polled again (up to a bound), a failed
 * job and a job that outlives the timeout as one clear error each. Injected clock: no real sleep.
 */
import { describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { type JobState, pollJob } from '../../src/features/jobs/poll.js';

function script(states: (JobState<string> | EtlError)[]) {
  let i = 0;
  return async (): Promise<JobState<string>> => {
    const next = states[Math.min(i++, states.length - 1)]!;
    if (next instanceof EtlError) throw next;
    return next;
  };
}

const running: JobState<string> = { state: 'running', status: 'InProgress' };
const exhausted = () => new EtlError('RETRIES_EXHAUSTED', 'HTTP 503 after 6 attempts');

describe('pollJob', () => {
  it('waits longer between polls (backoff, capped), then answers the value', async () => {
    const time = new FakeTime();
    const result = await pollJob({
      what: 'test job',
      check: script([running, running, running, running, running, { state: 'done', value: 'url' }]),
      initialDelayMs: 1000,
      maxDelayMs: 3000,
      factor: 2,
      runtime: time.instantRuntime(() => 0.5),
    });
    expect(result).toMatchObject({ value: 'url', polls: 6, pollFailures: 0 });
    expect(time.sleeps).toEqual([1000, 2000, 3000, 3000, 3000]);
  });

  it('polls again after transient failures (retries exhausted on 503s), up to the bound', async () => {
    const time = new FakeTime();
    const result = await pollJob({
      what: 'test job',
      check: script([running, exhausted(), exhausted(), running, { state: 'done', value: 'url' }]),
      maxPollFailures: 2,
      runtime: time.instantRuntime(),
    });
    expect(result).toMatchObject({ value: 'url', polls: 5, pollFailures: 2 });
    const error = await pollJob({
      what: 'test job',
      check: script([running, exhausted(), exhausted(), exhausted()]),
      maxPollFailures: 2,
      runtime: time.instantRuntime(),
    }).catch((e: unknown) => e);
    expect((error as EtlError).code).toBe('RETRIES_EXHAUSTED');
  });

  it('a permanent error is not polled again', async () => {
    let polls = 0;
    const error = await pollJob({
      what: 'test job',
      check: async () => {
        polls++;
        throw new EtlError('TOKEN_INVALID', 'rejected again after refresh');
      },
      runtime: new FakeTime().instantRuntime(),
    }).catch((e: unknown) => e);
    expect((error as EtlError).code).toBe('TOKEN_INVALID');
    expect(polls).toBe(1);
  });

  it('a failed job and a job past the timeout are one clear error each', async () => {
    const failed = (await pollJob({
      what: 'export job of item abc',
      check: script([running, { state: 'failed', message: 'status failed' }]),
      runtime: new FakeTime().instantRuntime(),
    }).catch((e: unknown) => e)) as EtlError;
    expect([failed.code, failed.message]).toEqual([
      'JOB_FAILED',
      'The export job of item abc failed on the server: status failed',
    ]);
    const late = (await pollJob({
      what: 'createReplica job',
      check: script([running]),
      timeoutMs: 60_000,
      maxDelayMs: 10_000,
      runtime: new FakeTime().instantRuntime(),
    }).catch((e: unknown) => e)) as EtlError;
    expect(late.code).toBe('JOB_TIMEOUT');
    expect(late.message).toMatch(/^The createReplica job did not finish within 60 s \(\d+ polls\)$/);
  });
});
