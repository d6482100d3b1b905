/**
 * Everything the CLI touches of the outside world, injected so commands are testable without
 * spawning a process or calling process.exit.
 */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** A line printer bound to one stream. */
export function lineWriter(stream: Writable): (line: string) => void {
  return (line) => {
    stream.write(`${line}\n`);
  };
}
