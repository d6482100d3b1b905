/**
 * Account lockout, as ArcGIS Server's built-in store and portals do it: after `attempts` bad
 * passwords within `windowMs`, the account refuses every logon (even the right password) for
 * `durationMs`.
 */
export interface LockoutPolicy {
  attempts: number;
  windowMs: number;
  durationMs: number;
}

export class LockoutTracker {
  readonly #policy: LockoutPolicy;
  readonly #failures = new Map<string, number[]>();
  readonly #lockedUntil = new Map<string, number>();

  constructor(policy: LockoutPolicy) {
    this.#policy = policy;
  }

  isLocked(username: string, now: number): boolean {
    const until = this.#lockedUntil.get(username);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#lockedUntil.delete(username);
    this.#failures.delete(username);
    return false;
  }

  /** Records a bad password; locks the account when the policy says so. */
  recordFailure(username: string, now: number): void {
    const since = now - this.#policy.windowMs;
    const recent = (this.#failures.get(username) ?? []).filter((t) => t > since);
    recent.push(now);
    this.#failures.set(username, recent);
    if (this.#policy.attempts > 0 && recent.length >= this.#policy.attempts) {
      this.#lockedUntil.set(username, now + this.#policy.durationMs);
    }
  }

  /** A successful logon clears the failure count. */
  recordSuccess(username: string): void {
    this.#failures.delete(username);
  }
}
