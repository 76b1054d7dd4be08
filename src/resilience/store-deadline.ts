/**
 * Deadlines for the operations of a shared store. A frozen server (a stopped process, a partition that keeps the TCP
 * connection open) answers nothing and fails nothing, so every driver call is raced against a timer: past it the
 * caller gets an `IdempotencyStoreError` at once, and whatever the driver answers later goes to a handler that can
 * undo it (`onLate`) instead of to the caller.
 */
import { IdempotencyStoreError } from "./errors.js";
import { numberOption } from "./options.js";

/** Default `operationTimeoutMs` of the shared stores. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 5000;
/** Longest delay `setTimeout` keeps exactly. */
const MAX_TIMER_MS = 2_147_483_647;

/** @internal Validates a store's `operationTimeoutMs`. */
export function operationTimeoutOption(value: unknown, where: string): number {
  return numberOption(value, `${where}.operationTimeoutMs`, DEFAULT_OPERATION_TIMEOUT_MS, { min: 1, max: MAX_TIMER_MS, integer: true });
}

/** @internal The error of an operation that passed its deadline. */
export function storeTimeoutError(store: string, operation: string, timeoutMs: number): IdempotencyStoreError {
  return new IdempotencyStoreError(
    store,
    operation,
    `no answer within ${timeoutMs} ms (operationTimeoutMs); the server is unreachable, frozen or overloaded`,
    { timeoutMs },
  );
}

/** One operation's deadline; the operation's driver calls race the same timer, one after the other. */
export interface OperationDeadline {
  /** True once the deadline passed. */
  readonly expired: boolean;
  /**
   * Settles with `work`, or rejects with the deadline's error once it passes first. A value `work` resolves with
   * after that goes to `onLate`; a late rejection is dropped.
   */
  race<T>(work: Promise<T>, onLate?: (value: T) => void): Promise<T>;
  /** Stops the timer; call it when the operation settled. */
  clear(): void;
}

const ignore = (): void => undefined;

/** A timer and the rejection of the race in progress: no promise of its own, one closure per race. */
class Deadline implements OperationDeadline {
  expired = false;
  #reason: Error | undefined;
  #failRace: ((reason: Error) => void) | undefined;
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(ms: number, error: () => Error) {
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.#reason = error();
      this.#failRace?.(this.#reason);
      this.#failRace = undefined;
    }, ms);
  }

  race<T>(work: Promise<T>, onLate?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.expired) {
        work.then(onLate, ignore);
        reject(this.#reason);
        return;
      }
      this.#failRace = reject;
      work.then(
        (value) => {
          if (this.expired) {
            onLate?.(value);
            return;
          }
          this.#failRace = undefined;
          resolve(value);
        },
        (error: unknown) => {
          if (this.expired) return;
          this.#failRace = undefined;
          reject(error);
        },
      );
    });
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * Starts a deadline of `ms`. The timer keeps its ref (a caller awaits the operation) and is cleared by `clear()`, so
 * a settled operation leaves no handle behind.
 */
export function startDeadline(ms: number, error: () => Error): OperationDeadline {
  return new Deadline(ms, error);
}
