/**
 * The one rule for "this error is a cancellation, not a failure", read by error classification (no retry, no breaker
 * failure) and by the run tracker (status `cancelled`), so a run and its retries never disagree about an abort.
 */

/** Error names (or class names on the prototype chain) of cancellations: DOM/Node, openai and Anthropic SDKs, LangChain. */
export const ABORT_ERROR_NAMES: readonly string[] = ["AbortError", "APIUserAbortError", "ModelAbortError"];

/**
 * Whether a message is a cancellation's: `@langchain/core`'s `getAbortSignalError` throws `Error("Aborted")`,
 * LangGraph `Error("Abort")`, and some clients prefix the name or say "Cancel…".
 */
export function isAbortMessage(message: string): boolean {
  return message === "Abort" || message === "Aborted" || message.startsWith("AbortError") || message.startsWith("Cancel");
}

/** Whether `error` is a cancellation by its own name or message (classification also walks class names and causes). */
export function isAbortError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { name?: unknown; message?: unknown };
  return (typeof e.name === "string" && ABORT_ERROR_NAMES.includes(e.name)) || (typeof e.message === "string" && isAbortMessage(e.message));
}
