import { describe, expect, it, vi } from 'vitest';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/core/heap.js';

describe('limitHeapGrowth', () => {
  it('sets V8 heap growing factor to 2 by default', () => {
    const set = vi.fn<(flags: string) => void>();
    expect(limitHeapGrowth({ execArgv: [], setFlags: set })).toBe(true);
    expect(HEAP_GROWING_PERCENT).toBe(100);
    expect(set.mock.calls).toEqual([['--heap-growing-percent=100']]);
  });

  it('takes another factor', () => {
    const set = vi.fn<(flags: string) => void>();
    expect(limitHeapGrowth({ execArgv: ['--enable-source-maps'], percent: 50, setFlags: set })).toBe(true);
    expect(set.mock.calls).toEqual([['--heap-growing-percent=50']]);
  });

  it('leaves a process started with its own heap growth flag alone', () => {
    const set = vi.fn<(flags: string) => void>();
    expect(limitHeapGrowth({ execArgv: ['--heap-growing-percent=300'], setFlags: set })).toBe(false);
    expect(limitHeapGrowth({ execArgv: ['--heap_growing_percent=300'], setFlags: set })).toBe(false);
    expect(limitHeapGrowth({ execArgv: ['--predictable-gc-schedule'], setFlags: set })).toBe(false);
    expect(set).not.toHaveBeenCalled();
  });

  it('sets nothing for a factor of 1 or less', () => {
    const set = vi.fn<(flags: string) => void>();
    expect(limitHeapGrowth({ execArgv: [], setFlags: set, percent: 0 })).toBe(false);
    expect(limitHeapGrowth({ execArgv: [], setFlags: set, percent: Number.NaN })).toBe(false);
    expect(set).not.toHaveBeenCalled();
  });
});
