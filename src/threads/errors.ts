/**
 * Errors of the thread guard. The CommonJS build of each subpath bundles its own copy, so `instanceof` checks a brand.
 */
const BUSY_BRAND = Symbol.for("langgraph-ops.ThreadBusyError");

/**
 * Thrown by a run of a `guardThreads` graph that could not get its thread: at once under `strategy: "reject"`, or
 * after `waitMs` under `"enqueue"` and `"interrupt"`. An HTTP API answers it with 409 Conflict.
 */
export class ThreadBusyError extends Error {
  /** Recognises the errors of every copy of this class (ESM and CommonJS builds). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BUSY_BRAND] === true;
  }
  /** The contested `configurable.thread_id`. */
  readonly threadId: string;
  /** How long the current run has held the thread, in ms (0 when it was free but others queue for it). */
  readonly busyForMs: number;
  constructor(threadId: string, busyForMs: number, waitedMs?: number) {
    super(
      waitedMs === undefined
        ? `Thread "${threadId}" is busy: a run has held it for ${busyForMs} ms`
        : `Thread "${threadId}" is busy: gave up waiting after ${waitedMs} ms (the current run has held it for ${busyForMs} ms)`,
    );
    this.name = "ThreadBusyError";
    this.threadId = threadId;
    this.busyForMs = busyForMs;
    Object.defineProperty(this, BUSY_BRAND, { value: true });
  }
}

/** The abort reason of a run's signal when a newer run on its thread interrupted it (`strategy: "interrupt"`). */
export class ThreadInterruptedError extends Error {
  /** The thread the newer run took. */
  readonly threadId: string;
  constructor(threadId: string) {
    super(`Run on thread "${threadId}" was interrupted by a newer run on the same thread`);
    this.name = "AbortError";
    this.threadId = threadId;
  }
}

/** The abort reason of a run's signal when its lease was lost (expired and taken over while the run was alive). */
export class ThreadLeaseLostError extends Error {
  /** The thread whose lease was lost. */
  readonly threadId: string;
  constructor(threadId: string) {
    super(`Run on thread "${threadId}" lost its lease (not renewed within leaseMs) and was stopped`);
    this.name = "AbortError";
    this.threadId = threadId;
  }
}
