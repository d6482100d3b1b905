/**
 * A bound on the response bytes buffered across all concurrent requests of a transport (default
 * 256 MiB): each response takes a lease, and reading its next chunk waits while the total is at the
 * bound (the socket is then not read: TCP pushes back on the server). Bytes are given back when the
 * response has been parsed.
 *
 * No deadlock: the oldest lease still open is never made to wait, so it always completes and gives
 * its bytes back (the total may pass the bound by at most what that one response needs).
 */

export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

export interface ByteLease {
  /** Resolves when `bytes` more may be buffered by this response; rejects if `signal` aborts first. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void>;
  /** Gives back everything this lease holds (idempotent). */
  release(): void;
  readonly held: number;
}

export interface ByteBudget {
  readonly capacity: number;
  /** Bytes held now, by all leases. */
  readonly used: number;
  /** The highest `used` seen. */
  readonly peak: number;
  lease(): ByteLease;
}

interface Waiter {
  lease: LeaseState;
  bytes: number;
  resolve: () => void;
}

interface LeaseState {
  id: number;
  held: number;
  open: boolean;
}

export function createByteBudget(capacity = DEFAULT_MAX_BUFFERED_BYTES): ByteBudget {
  if (!(capacity > 0)) throw new RangeError('the byte budget must be positive');
  let used = 0;
  let peak = 0;
  let nextId = 0;
  const open = new Map<number, LeaseState>();
  const waiters: Waiter[] = [];

  const oldest = (): number | undefined => open.keys().next().value;
  const fits = (lease: LeaseState, bytes: number) => used + bytes <= capacity || lease.id === oldest();
  const take = (lease: LeaseState, bytes: number) => {
    lease.held += bytes;
    used += bytes;
    if (used > peak) peak = used;
  };
  const wake = () => {
    // first come, first served; the oldest lease may pass the others
    for (let i = 0; i < waiters.length; ) {
      const w = waiters[i]!;
      if (!w.lease.open) {
        waiters.splice(i, 1);
        w.resolve();
        continue;
      }
      if (fits(w.lease, w.bytes)) {
        waiters.splice(i, 1);
        take(w.lease, w.bytes);
        w.resolve();
        continue;
      }
      i++;
    }
  };

  return {
    capacity,
    get used() {
      return used;
    },
    get peak() {
      return peak;
    },
    lease(): ByteLease {
      const state: LeaseState = { id: nextId++, held: 0, open: true };
      open.set(state.id, state);
      return {
        get held() {
          return state.held;
        },
        acquire(bytes: number, signal?: AbortSignal): Promise<void> {
          if (!state.open || bytes <= 0) return Promise.resolve();
          if (signal?.aborted) return Promise.reject(signal.reason);
          if (fits(state, bytes) && !waiters.some((w) => w.lease.open && w.lease.id < state.id)) {
            take(state, bytes);
            return Promise.resolve();
          }
          return new Promise((resolve, reject) => {
            const onAbort = () => {
              const at = waiters.indexOf(waiter);
              if (at !== -1) waiters.splice(at, 1);
              reject(signal?.reason);
            };
            const waiter: Waiter = {
              lease: state,
              bytes,
              resolve: () => {
                signal?.removeEventListener('abort', onAbort);
                resolve();
              },
            };
            signal?.addEventListener('abort', onAbort, { once: true });
            waiters.push(waiter);
          });
        },
        release(): void {
          if (!state.open) return;
          state.open = false;
          open.delete(state.id);
          used -= state.held;
          state.held = 0;
          wake();
        },
      };
    },
  };
}
