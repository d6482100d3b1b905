/**
 * Stream output (stdout): bytes go straight to the stream, no temp file. Writes wait for the
 * stream to take the chunk (back-pressure). A reader that goes away (EPIPE, e.g. `| head`) ends
 * the export with an OUTPUT_ERROR that `isBrokenPipe` recognises, never with an unhandled
 * 'error' event.
 */
import type { Writable } from 'node:stream';
import { EtlError } from '../../core/errors.js';
import type { OutputSink } from './sink.js';

const PIPE_CODES = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ECONNRESET']);
const BROKEN_PIPE = 'The output stream was closed by its reader (broken pipe)';

function errorCode(error: unknown): unknown {
  return error && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
}

/** True for the error a writer throws when its output stream's reader went away. */
export function isBrokenPipe(error: unknown): boolean {
  return (
    error instanceof EtlError &&
    error.code === 'OUTPUT_ERROR' &&
    PIPE_CODES.has(String(errorCode(error.cause)))
  );
}

function toOutputError(error: unknown): EtlError {
  if (PIPE_CODES.has(String(errorCode(error))))
    return new EtlError('OUTPUT_ERROR', BROKEN_PIPE, { cause: error });
  const reason = error instanceof Error ? `: ${error.message}` : '';
  return new EtlError('OUTPUT_ERROR', `Cannot write to the output stream${reason}`, { cause: error });
}

export function streamSink(stream: Writable, endStream: boolean): OutputSink {
  let failure: unknown;
  // the listener stays for good: a late EPIPE must not crash the process with an unhandled 'error' event
  const onError = (error: unknown) => {
    failure ??= error;
  };
  stream.on('error', onError);

  return {
    write(chunk) {
      if (failure !== undefined) return Promise.reject(toOutputError(failure));
      if (stream.destroyed || stream.writableEnded) {
        return Promise.reject(
          toOutputError(Object.assign(new Error('stream closed'), { code: 'ERR_STREAM_DESTROYED' })),
        );
      }
      return new Promise<void>((resolve, reject) => {
        stream.write(chunk, (error) => {
          if (error) {
            failure ??= error;
            reject(toOutputError(error));
          } else if (failure !== undefined) {
            reject(toOutputError(failure));
          } else {
            resolve();
          }
        });
      });
    },
    async finish() {
      if (failure !== undefined) throw toOutputError(failure);
      if (endStream) {
        await new Promise<void>((resolve, reject) => {
          stream.end((error?: Error | null) => (error ? reject(toOutputError(error)) : resolve()));
        });
      }
    },
    async abort() {
      if (endStream && !stream.destroyed && !stream.writableEnded) stream.end();
    },
  };
}
