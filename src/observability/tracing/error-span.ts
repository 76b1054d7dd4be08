/**
 * Errors on spans under the privacy rule: type, status, code and classification reason as attributes; an `exception`
 * event whose stack keeps the frames under a first line naming only the type; the message only when `errorMessages`
 * is on, and then masked and capped.
 */
import { type Attributes, type Span, SpanStatusCode } from "@opentelemetry/api";
import { type ErrorFacts, errorFacts, maskedMessage, safeStack } from "../error-export.js";
import { ATTR } from "./attributes.js";
import type { ResolvedTracingOptions } from "./options.js";

/** @internal What a span records of an error. */
export type ErrorSpanPolicy = Pick<ResolvedTracingOptions, "errorMessages" | "mask" | "maxContentLength">;

/** @internal `error.type`, `langgraph.error.reason` and, when known, `langgraph.error.status` / `langgraph.error.code`. */
export function errorAttributes(facts: ErrorFacts): Attributes {
  const attrs: Attributes = { [ATTR.errorType]: facts.type, [ATTR.errorReason]: facts.reason };
  if (facts.status !== undefined) attrs[ATTR.errorStatus] = facts.status;
  if (facts.code !== undefined) attrs[ATTR.errorCode] = facts.code;
  return attrs;
}

/** @internal Error attributes, the `exception` event and status ERROR (its description: the type) on `span`. */
export function recordError(span: Span, error: unknown, policy: ErrorSpanPolicy): void {
  const facts = errorFacts(error);
  span.setAttributes(errorAttributes(facts));
  // Built by hand, not with span.recordException: that copies `message` and the raw `stack`, and prefers `code` as the type.
  const event: Attributes = { [ATTR.exceptionType]: facts.type };
  if (policy.errorMessages)
    event[ATTR.exceptionMessage] = maskedMessage(error, ATTR.exceptionMessage, policy.mask, policy.maxContentLength);
  const stack = safeStack(error, facts.type);
  if (stack !== undefined) event[ATTR.exceptionStacktrace] = stack;
  span.addEvent("exception", event);
  span.setStatus({ code: SpanStatusCode.ERROR, message: facts.type });
}
