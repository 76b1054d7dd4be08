/**
 * Deadlines for one `withTimeout` wrapper. Every call of a wrapper has the same time limit, so deadlines arrive in
 * order and a FIFO queue with a single timer armed for the earliest live deadline replaces a timer per call.
 * The timer keeps its ref while a call is pending (callers await it). When none is, it is unref'd rather than
 * cleared, so back-to-back calls reuse it instead of paying a setTimeout each: an idle queue's timer never keeps the
 * process alive, fires at most once more, finds nothing due and is not re-armed.
 */

/** A deadline in the queue; `expire` runs at most once, and never after `done` is set. */
export interface Deadline {
  at: number;
  done: boolean;
  expire(): void;
}

const COMPACT_AT = 1024;

/** FIFO of same-length deadlines sharing one timer. */
export class DeadlineQueue {
  readonly #ms: number;
  #entries: Deadline[] = [];
  #head = 0;
  #pending = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Number of calls whose deadline has neither passed nor been settled. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Starts the clock for `entry` as of `startedAt` (a `performance.now()` reading) and sets its `at`.
   * Deadlines never go earlier than the last one queued, which keeps the queue in order when a call is queued only
   * after its synchronous part ran.
   */
  add(entry: Deadline, startedAt: number): void {
    const entries = this.#entries;
    const at = startedAt + this.#ms;
    // Length first: entries[-1] on an empty array is a property lookup up the prototype chain, not an index.
    const lastAt = entries.length > 0 ? (entries[entries.length - 1] as Deadline).at : at;
    entry.at = Math.max(lastAt, at);
    entries.push(entry);
    this.#pending += 1;
    if (this.#timer === undefined) this.#arm(entry.at);
    else if (this.#pending === 1) this.#timer.ref();
  }

  /** Marks `entry` finished before its deadline. */
  settle(entry: Deadline): void {
    if (entry.done) return;
    entry.done = true;
    this.#pending -= 1;
    if (this.#pending === 0) {
      this.#timer?.unref();
      this.#entries.length = 0;
      this.#head = 0;
    } else {
      this.#dropSettledHead();
    }
  }

  #arm(at: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(at - performance.now())));
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const entries = this.#entries;
    while (this.#head < entries.length) {
      const entry = entries[this.#head] as Deadline;
      if (entry.done) {
        this.#head += 1;
        continue;
      }
      if (entry.at > now) break;
      this.#head += 1;
      entry.done = true;
      this.#pending -= 1;
      entry.expire();
    }
    this.#compact();
    const next = this.#entries[this.#head];
    if (next !== undefined) this.#arm(next.at);
  };

  #dropSettledHead(): void {
    while (this.#head < this.#entries.length && (this.#entries[this.#head] as Deadline).done) this.#head += 1;
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
