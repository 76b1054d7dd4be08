/**
 * What the agent middleware writes into the conversation when `onFailure: "message"` and a call failed for good.
 * The texts never contain the error's message (which may carry request ids, keys or user data); the error's type
 * and classification reason go into the message's metadata, where an application can read them.
 */

/** How a call that failed for good ends: rethrow (`"error"`), or a message in the conversation (`"message"`). */
export type OnFailure = "error" | "message";

/** @internal The accepted `onFailure` values. */
export const ON_FAILURE_VALUES: readonly OnFailure[] = ["error", "message"];

/** The assistant message that replaces a model call that failed for good. */
export const MODEL_FAILURE_MESSAGE = "The model is unavailable right now. Please try again later.";

/** The tool message that answers a tool call that failed for good. */
export const TOOL_FAILURE_MESSAGE = "The tool failed and was not retried further. Do not assume it ran.";

/** Metadata key (on `response_metadata` / the tool message's `metadata`) carrying the failure's type and reason. */
export const FAILURE_METADATA_KEY = "langgraph_ops_failure";
