/**
 * Progress display: a redrawn bar on a TTY, plain periodic lines otherwise, nothing when quiet.
 */
import type { Writable } from 'node:stream';
import type { Clock } from '../core/time.js';
import { formatDuration, formatInt, formatRate } from './format.js';

export interface ProgressSnapshot {
  features: number;
  pages: number;
  /** Expected features, when known. */
  total?: number | undefined;
  elapsedMs: number;
}

export interface ProgressReporter {
  update(p: ProgressSnapshot): void;
  /** Clears the bar (before the summary line). */
  done(): void;
}

export interface ProgressOptions {
  stream: Writable & { isTTY?: boolean; columns?: number };
  mode: 'auto' | 'quiet';
  clock: Clock;
  /** Plain-line interval when not a TTY (default 5 s). */
  intervalMs?: number;
  /** Redraw interval on a TTY (default 100 ms). */
  redrawMs?: number;
}

export function describeProgress(p: ProgressSnapshot): string {
  const rate = p.elapsedMs > 0 ? (p.features * 1000) / p.elapsedMs : 0;
  const parts = [
    p.total ? `${formatInt(p.features)}/${formatInt(p.total)} features` : `${formatInt(p.features)} features`,
    formatRate(rate),
    `${formatInt(p.pages)} pages`,
  ];
  if (p.total && rate > 0) parts.push(`ETA ${formatDuration(((p.total - p.features) / rate) * 1000)}`);
  return parts.join(' · ');
}

function bar(p: ProgressSnapshot, width: number): string {
  if (!p.total) return '';
  const ratio = Math.min(1, p.features / p.total);
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% `;
}

export function createProgress(options: ProgressOptions): ProgressReporter {
  if (options.mode === 'quiet') return { update() {}, done() {} };
  const { stream, clock } = options;
  const tty = stream.isTTY === true;
  const interval = tty ? (options.redrawMs ?? 100) : (options.intervalMs ?? 5000);
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(p) {
      const now = clock.now();
      const final = p.total !== undefined && p.features >= p.total;
      if (now - last < interval && !final) return;
      last = now;
      if (tty) {
        const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 70));
        stream.write(`\r\x1b[2K${bar(p, width)}${describeProgress(p)}`);
        drawn = true;
      } else {
        stream.write(`progress: ${describeProgress(p)}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write('\r\x1b[2K');
    },
  };
}
