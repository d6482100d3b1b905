/**
 * The progress of a pipeline: a line per layer as it ends, a total every interval (plain lines), or
 * the running layers and the total redrawn in place on a terminal. Injected clock.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPipelineProgress } from '../../src/cli/pipeline-progress.js';
import type { PipelineJob } from '../../src/pipeline/types.js';

const job = (id: string, layerId: number, name: string): PipelineJob => ({
  pipeline: 'p-00000000',
  id,
  url: `https://h.example/arcgis/rest/services/S/FeatureServer/${layerId}`,
  output: `/out/${id}.geojsonl`,
  options: {},
  service: 'S',
  layerId,
  name,
});

function capture(tty: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (tty) {
    stream.isTTY = true;
    stream.columns = 100;
  }
  let text = '';
  stream.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  return { stream, text: () => text };
}

describe('pipeline progress', () => {
  it('plain lines: each layer when it ends, the total every interval', () => {
    let now = 0;
    const out = capture(false);
    const p = createPipelineProgress({
      stream: out.stream,
      mode: 'auto',
      clock: { now: () => now },
      intervalMs: 5000,
    });
    const a = job('0-0', 0, 'A');
    const b = job('0-1', 1, 'B');
    p.planned([a, b]);
    p.start(a);
    p.start(b);
    p.update(a, { features: 10, pages: 1, total: 100, elapsedMs: 1000 });
    now = 2000;
    p.update(b, { features: 5, pages: 1, total: 50, elapsedMs: 2000 });
    now = 5000;
    p.update(a, { features: 40, pages: 4, total: 100, elapsedMs: 5000 });
    p.end(b, 'exported 50 features', true, 50);
    p.end(a, 'failed: [X] no', false);
    p.done();
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'progress: total: 0/2 layers done · 2 running · 10 features · 0.0s',
      'progress: total: 0/2 layers done · 2 running · 45 features · 5.0s',
      '0-1 S/1 "B": exported 50 features',
      '0-0 S/0 "A": failed: [X] no',
    ]);
  });

  it('on a terminal: a line per running layer and the total, redrawn; finished lines stay above', () => {
    let now = 0;
    const out = capture(true);
    const p = createPipelineProgress({
      stream: out.stream,
      mode: 'auto',
      clock: { now: () => now },
      redrawMs: 100,
    });
    const a = job('0-0', 0, 'A');
    p.planned([a]);
    p.start(a);
    now = 200;
    p.update(a, { features: 10, pages: 1, total: 20, elapsedMs: 200 });
    p.end(a, 'exported 20 features', true, 20);
    p.done();
    const text = out.text();
    expect(text).toContain('0-0 S/0 "A": 10/20 features');
    expect(text).toContain('total: 0/1 layers done · 1 running · 10 features');
    // cleared (cursor up, erase) before the finished line, which is printed for good
    expect(text).toMatch(/\x1b\[2A\r\x1b\[J0-0 S\/0 "A": exported 20 features\n/);
    expect(text).toMatch(/total: 1\/1 layers done · 0 running · 20 features/);
  });

  it('quiet: nothing', () => {
    const out = capture(false);
    const p = createPipelineProgress({ stream: out.stream, mode: 'quiet', clock: { now: () => 0 } });
    const a = job('0-0', 0, 'A');
    p.start(a);
    p.end(a, 'exported', true, 1);
    expect(out.text()).toBe('');
  });
});
