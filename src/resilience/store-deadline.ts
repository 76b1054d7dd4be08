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

/** One operation's deadline; several driver calls of the operation race the same timer. */
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

/**
 * Starts a deadline of `ms`. The timer keeps its ref (a caller awaits the operation) and is cleared by `clear()`, so
 * a settled operation leaves no handle behind.
 */
export function startDeadline(ms: number, error: () => Error): OperationDeadline {
  let expired = false;
  let fail: (reason: Error) => void = () => undefined;
  const expiry = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // Nobody may be racing when the timer fires (between two driver calls): that must not be an unhandled rejection.
  expiry.catch(() => undefined);
  const timer = setTimeout(() => {
    expired = true;
    fail(error());
  }, ms);
  return {
    get expired() {
      return expired;
    },
    race<T>(work: Promise<T>, onLate?: (value: T) => void): Promise<T> {
      if (expired) {
        work.then(onLate, () => undefined);
        return expiry;
      }
      work.then(
        (value) => {
          if (expired) onLate?.(value);
        },
        () => undefined,
      );
      return Promise.race([work, expiry]);
    },
    clear() {
      clearTimeout(timer);
    },
  };
}
