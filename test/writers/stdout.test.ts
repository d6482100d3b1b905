import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isBrokenPipe } from '../../src/features/writers/stream-sink.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { f1, f2, f3, manyPages, pages, schema } from './fixtures.js';

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

describe('stream output (path "-")', () => {
  it('streams the same bytes as a file, header and footer included', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const writer = await createWriter({ format: 'geojson', path: '-', schema, stream });
    for (const page of pages) await writer.writePage(page);
    await writer.finish();
    const j = JSON.stringify;
    expect(text()).toBe(`{"type":"FeatureCollection","features":[\n${j(f1)},\n${j(f2)},\n${j(f3)}\n]}\n`);
    expect(writer.bytesWritten).toBe(Buffer.byteLength(text()));
    expect(stream.writableEnded).toBe(false);
  });

  it('ends the stream on finish only when asked', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const writer = await createWriter({ format: 'geojsonseq', path: '-', schema, stream, endStream: true });
    await writer.writePage([f1]);
    await writer.finish();
    expect(stream.writableEnded).toBe(true);
    expect(text()).toBe(`${JSON.stringify(f1)}\n`);
  });

  it('waits for a slow reader (back-pressure) and loses nothing', async () => {
    const received: Buffer[] = [];
    let pending = 0;
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        pending++;
        received.push(chunk);
        setImmediate(() => {
          pending--;
          callback();
        });
      },
    });
    const writer = await createWriter({ format: 'geojsonseq', path: '-', schema, stream: slow });
    const big = manyPages(5, 50);
    for (const page of big) {
      await writer.writePage(page);
      expect(pending).toBe(0); // the page was taken before writePage resolved
    }
    await writer.finish();
    expect(Buffer.concat(received).toString('utf8').split('\n').length - 1).toBe(250);
  });

  it('a reader that goes away (EPIPE) ends the export with a recognisable OUTPUT_ERROR, no crash', async () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(epipe);
      },
    });
    const unhandled: unknown[] = [];
    const onUncaught = (e: unknown) => unhandled.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const writer = await createWriter({ format: 'geojsonseq', path: '-', schema, stream: broken }); // no header
      const error = await writer.writePage([f1]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'OUTPUT_ERROR' });
      expect(isBrokenPipe(error)).toBe(true);
      await expect(writer.writePage([f2])).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
      await writer.abort();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('handles a real broken pipe to another process', async () => {
    // a reader that exits at once, like `| head -0`
    const child = spawn(process.execPath, ['-e', 'process.exit(0)'], { stdio: ['pipe', 'ignore', 'ignore'] });
    await once(child, 'exit');
    const writer = await createWriter({ format: 'geojsonseq', path: '-', schema, stream: child.stdin });
    let error: unknown;
    try {
      for (const page of manyPages(50, 100)) await writer.writePage(page);
    } catch (e) {
      error = e;
    }
    expect(isBrokenPipe(error)).toBe(true);
    await writer.abort();
  });

  it('a non-pipe stream error is an OUTPUT_ERROR that is not a broken pipe', async () => {
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('disk on fire'), { code: 'EIO' }));
      },
    });
    const writer = await createWriter({ format: 'geojsonseq', path: '-', schema, stream: failing });
    const error = await writer.writePage([f1]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OUTPUT_ERROR' });
    expect(isBrokenPipe(error)).toBe(false);
  });
});
