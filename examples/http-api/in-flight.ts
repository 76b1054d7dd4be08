/**
 * Counts the agent runs an HTTP server is serving, so a shutdown can wait for them to finish before the process exits.
 */

/** In-flight run counter with a "wait until idle" promise. */
export class InFlightRuns {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** Runs currently being served. */
  get count(): number {
    return this.#count;
  }

  /** Marks a run as started; call the returned function exactly once when its response is over. */
  start(): () => void {
    this.#count += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#count -= 1;
      if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
    };
  }

  /** Resolves once no run is in flight (at once if none is). */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
