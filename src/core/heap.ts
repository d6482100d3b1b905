/**
 * How far V8 lets the heap grow between two full garbage collections.
 *
 * An export keeps a small live set (the pages in flight and the one being written: 55–60 MB for
 * 2,000-polygon pages) but allocates a page's worth of short-lived objects per page, and pages that
 * wait their turn survive into the old generation. V8's default growing factor for a large heap is up
 * to 4: the old generation then climbs to 3–4 times the live set before it is collected, and the peak
 * RSS of a 200,000-polygon export wanders between 250 and 500 MB from one run to the next. A factor of
 * 2 (`--heap-growing-percent=100`) holds it near 200 MB, with no CPU cost that could be measured
 * (BENCHMARKS.md, the fourth pass on output formats).
 *
 * The CLI owns its process and sets the factor at start-up. A program that embeds exports in its own
 * process decides for itself: call `limitHeapGrowth()`, or start node with the flag.
 */
import { setFlagsFromString } from 'node:v8';

/** The heap grows to twice the live set after a full collection, not up to four times. */
export const HEAP_GROWING_PERCENT = 100;

/** V8 flags that already decide how the heap grows: a process started with one keeps its choice. */
const USER_FLAGS = /--(?:heap[-_]growing[-_]percent|predictable[-_]gc[-_]schedule)\b/;

export interface HeapGrowthOptions {
  /** The factor is 1 + percent / 100. Default HEAP_GROWING_PERCENT. */
  percent?: number;
  /** Node's command-line flags (default `process.execArgv`). */
  execArgv?: readonly string[];
  /** Sets a V8 flag (default `v8.setFlagsFromString`). */
  setFlags?: (flags: string) => void;
}

/**
 * Sets V8's heap growing factor for this process, unless node was started with a flag of its own
 * for it. Returns whether it was set. V8 reads the factor at every full collection, so setting it
 * once the process runs takes effect from the next one.
 */
export function limitHeapGrowth(options: HeapGrowthOptions = {}): boolean {
  const execArgv = options.execArgv ?? process.execArgv;
  if (execArgv.some((flag) => USER_FLAGS.test(flag))) return false;
  const percent = Math.round(options.percent ?? HEAP_GROWING_PERCENT);
  if (!(percent > 0)) return false;
  (options.setFlags ?? setFlagsFromString)(`--heap-growing-percent=${percent}`);
  return true;
}
