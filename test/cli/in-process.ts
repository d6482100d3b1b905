/**
 * Runs `runCli` in this process with captured stdout/stderr (fast: for refusals, help texts and
 * commands against an emulator started by the test).
 */
import { PassThrough, Readable } from 'node:stream';
import { type RunOptions, runCli } from '../../src/cli/program.js';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runInProcess(
  args: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    stdin?: string;
    /** Called with all of stderr so far, at each write (to react to what the command prints). */
    onStderr?: (text: string) => void;
  } & RunOptions = {},
): Promise<InProcessResult> {
  const capture = (onText?: (text: string) => void) => {
    const stream = new PassThrough();
    let text = '';
    stream.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      onText?.(text);
    });
    return { stream, text: () => text };
  };
  const { env, cwd, stdin, onStderr, ...run } = options;
  const out = capture();
  const err = capture(onStderr);
  const code = await runCli(
    args,
    {
      stdout: out.stream,
      stderr: err.stream,
      stdin: Readable.from(stdin === undefined ? [] : [stdin]),
      env: env ?? {},
      cwd: cwd ?? process.cwd(),
    },
    run,
  );
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out.text(), stderr: err.text() };
}
