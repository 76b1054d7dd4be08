/** Error normalisation shared by the wrappers and the sinks: one rule for turning a thrown value into an `Error`. */

const COPIED_FIELDS = ["status", "statusCode", "code", "headers", "response"] as const;

/**
 * Turns a thrown value into an `Error`. Errors pass through unchanged; anything else becomes an `Error` whose message
 * contains `String(value)`, with the value kept as `cause` and its HTTP-ish fields (`status`, `code`, `headers`)
 * copied so classification still works for SDKs that throw plain objects.
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  let text: string;
  try {
    text = String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  const error = new Error(`Non-Error value thrown: ${text}`, { cause: value });
  if (typeof value === "object" && value !== null) {
    const source = value as Record<string, unknown>;
    const target = error as unknown as Record<string, unknown>;
    for (const field of COPIED_FIELDS) if (source[field] !== undefined) target[field] = source[field];
  }
  return error;
}
