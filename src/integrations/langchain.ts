/**
 * `langgraph-ops/langchain`: resilience for `createAgent` (from `langchain` >= 1) as agent middleware.
 * @packageDocumentation
 */
import { type AgentMiddleware, createMiddleware } from "langchain";
import { agentHooks, type ResilienceMiddlewareOptions } from "../agents/agent-calls.js";

export type {
  AgentModelOptions,
  AgentToolCall,
  AgentToolOptions,
  ResilienceMiddlewareOptions,
} from "../agents/agent-calls.js";
export { FAILURE_METADATA_KEY, MODEL_FAILURE_MESSAGE, TOOL_FAILURE_MESSAGE, type OnFailure } from "../agents/failure-messages.js";

/** The middleware's name in `createAgent`'s middleware list. */
export const RESILIENCE_MIDDLEWARE_NAME = "langgraph-ops-resilience";

/**
 * Agent middleware that puts the kit's policies around each model call and each tool call of a `createAgent` agent:
 * - model calls: per-attempt timeout (aborts the HTTP request), retry with the kit's classification and backoff
 *   (`Retry-After` honoured; the client's own retries are switched off, so `retries: 2` means at most 3 requests),
 *   a circuit breaker, and fallback models tried in order;
 * - tool calls: per-attempt timeout (aborts the tool's signal), retry, a breaker per tool, and `idempotent` so a
 *   tool call's result is recorded and replayed for the same call across retries, interrupts, resumes and restarts
 *   (`runOnce` inside the tool runs a side effect once per tool call).
 * Events (retries, give-ups, timeouts, breaker changes, fallbacks, idempotency) go to the same diagnostics channels as
 * the node wrappers', with the agent node's `graph`/`node` labels, so `instrument()`'s metrics, spans and logs and the
 * dashboards cover them. A backoff sleep ends as soon as the run is cancelled.
 * @example
 * const agent = createAgent({
 *   model: new ChatOpenAI({ model: "gpt-4o-mini" }),
 *   tools: [charge],
 *   checkpointer,
 *   middleware: [
 *     resilienceMiddleware({
 *       model: { timeout: 30_000, retry: { retries: 2 }, circuitBreaker: { name: "openai" }, fallback: [claude] },
 *       tools: { timeout: 10_000, retry: { retries: 2 }, idempotent: true },
 *       onFailure: "message",
 *     }),
 *   ],
 * });
 */
export function resilienceMiddleware(options: ResilienceMiddlewareOptions = {}): AgentMiddleware {
  const hooks = agentHooks(options);
  return createMiddleware({
    name: RESILIENCE_MIDDLEWARE_NAME,
    wrapModelCall: (request, handler) =>
      hooks.wrapModelCall(
        request as unknown as Parameters<typeof hooks.wrapModelCall>[0],
        handler as unknown as Parameters<typeof hooks.wrapModelCall>[1],
      ) as ReturnType<typeof handler>,
    wrapToolCall: (request, handler) =>
      hooks.wrapToolCall(
        request as unknown as Parameters<typeof hooks.wrapToolCall>[0],
        handler as unknown as Parameters<typeof hooks.wrapToolCall>[1],
      ) as ReturnType<typeof handler>,
  }) as unknown as AgentMiddleware;
}
