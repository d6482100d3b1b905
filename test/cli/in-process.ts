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
  options: { env?: Record<string, string | undefined>; cwd?: string; stdin?: string } & RunOptions = {},
): Promise<InProcessResult> {
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    return { stream, text: () => text };
  };
  const out = capture();
  const err = capture();
  const { env, cwd, stdin, ...run } = options;
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
