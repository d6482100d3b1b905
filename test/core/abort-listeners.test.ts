import { getMaxListeners, setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { reserveAbortListeners } from '../../src/core/abort-listeners.js';

describe('reserveAbortListeners', () => {
  it('adds its count to the limit until released; reservations add up', () => {
    const signal = new AbortController().signal;
    // Node 20's default for a signal (Node 24 sets none: 0, which is left alone, as below)
    setMaxListeners(10, signal);
    const before = getMaxListeners(signal);
    expect(before).toBe(10);
    const a = reserveAbortListeners(signal, 40);
    const b = reserveAbortListeners(signal, 8);
    expect(getMaxListeners(signal)).toBe(before + 48);
    a();
    a(); // once only
    expect(getMaxListeners(signal)).toBe(before + 8);
    b();
    expect(getMaxListeners(signal)).toBe(before);
  });

  it('leaves a signal without a limit (0) and no signal alone', () => {
    const signal = new AbortController().signal;
    setMaxListeners(0, signal);
    reserveAbortListeners(signal, 10)();
    // Node 20's getMaxListeners throws for an EventTarget whose limit is 0; later ones answer 0
    let limit: number;
    try {
      limit = getMaxListeners(signal);
    } catch {
      limit = 0;
    }
    expect(limit).toBe(0);
    expect(() => reserveAbortListeners(undefined, 10)()).not.toThrow();
  });
});
