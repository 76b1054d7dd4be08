/** Whether a node's result is to be awaited: a native promise, or a thenable from another promise library. */
export function isThenable<U>(value: U | PromiseLike<U>): value is PromiseLike<U> {
  return value instanceof Promise || typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}
