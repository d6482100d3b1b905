#!/usr/bin/env node
import { limitHeapGrowth } from '../core/heap.js';
import { processIo } from './io.js';
import { runCli } from './program.js';

// the CLI owns its process: the heap grows to twice the live set, not four times (core/heap.ts)
limitHeapGrowth();
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
