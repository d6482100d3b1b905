/**
 * Room for the abort listeners a long operation puts on its caller's signal. An export's signal is
 * listened to by each of its requests that waits (for a slot of its host, for a Retry-After pause,
 * before a retry): with more than 10 waiting at once, which a concurrency of 16 or layers exported
 * together reach, Node printed "MaxListenersExceededWarning: Possible EventTarget memory leak" to
 * the user's terminal, although every listener goes when its wait ends. (Node 20 gives a signal a
 * limit of 10; Node 24 none.)
 */
import { getMaxListeners, setMaxListeners } from 'node:events';

/**
 * Raises the abort listeners `signal` takes without a warning by `count`, until the returned
 * function is called. Reservations add up, so that operations sharing one signal each count; a
 * signal without a limit (0) is left as it is.
 */
export function reserveAbortListeners(signal: AbortSignal | undefined, count: number): () => void {
  if (signal === undefined || !(count > 0) || limitOf(signal) === 0) return () => {};
  setMaxListeners(limitOf(signal) + count, signal);
  let reserved = true;
  return () => {
    if (!reserved) return;
    reserved = false;
    const now = limitOf(signal);
    // never 0 (which means no limit at all)
    if (now !== 0) setMaxListeners(Math.max(1, now - count), signal);
  };
}

/** The signal's limit; 0 for none (Node 20's getMaxListeners throws for an EventTarget set to 0). */
function limitOf(signal: AbortSignal): number {
  try {
    return getMaxListeners(signal);
  } catch {
    return 0;
  }
}
