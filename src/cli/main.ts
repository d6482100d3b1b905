#!/usr/bin/env node
import { processIo } from './io.js';
import { runCli } from './program.js';

const io = processIo();
io.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});
runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error [INTERNAL]: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
