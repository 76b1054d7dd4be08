/**
 * Warns once per node when a chat model that retries on its own runs inside a node the kit retries: the two layers'
 * attempts multiply (the README's "Retry layers" table has the measured counts). A node counts as kit-retried once
 * `withRetry` has retried it (the retry channel); a model's own retries are read from its serialized constructor
 * arguments (`max_retries`), or LangChain's default when a provider chat model was built without one.
 */
import type { Serialized } from "@langchain/core/load/serializable";
import { CHANNELS, subscribe } from "../core/events.js";

/** The `code` of the process warning (`process.on("warning", w => w.code === NESTED_RETRIES_WARNING_CODE)`). */
export const NESTED_RETRIES_WARNING_CODE = "LANGGRAPH_OPS_NESTED_RETRIES";

/** LangChain's `AsyncCaller` default when a chat model is built without `maxRetries`. */
const LANGCHAIN_DEFAULT_MAX_RETRIES = 6;

/** LangChain provider chat models that retry through `AsyncCaller`; others (test doubles, custom models) are not guessed at. */
const PROVIDER_CHAT_MODELS = new Set([
  "ChatOpenAI",
  "AzureChatOpenAI",
  "ChatAnthropic",
  "ChatGoogleGenerativeAI",
  "ChatVertexAI",
  "ChatMistralAI",
  "ChatGroq",
  "ChatBedrockConverse",
  "ChatCohere",
  "ChatFireworks",
  "ChatTogetherAI",
  "ChatXAI",
  "ChatDeepSeek",
  "ChatOllama",
]);

/** Nodes and warnings tracked per process; past this the warner stops adding (a bounded set, never a leak). */
const MAX_TRACKED = 1000;

const retried = new Set<string>();
const warned = new Set<string>();
let listening = false;

const keyOf = (graph: string, node: string): string => `${graph}\u0000${node}`;

/**
 * How many times a chat model retries a failed request on its own, from its serialized form: `kwargs.max_retries`,
 * LangChain's default for a known provider chat model built without it, undefined when it cannot tell.
 */
export function modelRetries(serialized: unknown): number | undefined {
  if (typeof serialized !== "object" || serialized === null) return undefined;
  const s = serialized as { id?: unknown; kwargs?: { max_retries?: unknown } };
  const explicit = s.kwargs?.max_retries;
  if (typeof explicit === "number" && Number.isFinite(explicit)) return explicit;
  const className = Array.isArray(s.id) ? s.id[s.id.length - 1] : undefined;
  return typeof className === "string" && PROVIDER_CHAT_MODELS.has(className) ? LANGCHAIN_DEFAULT_MAX_RETRIES : undefined;
}

/** @internal Starts hearing the retry channel (once per process); `instrument()`'s handler calls it. */
export function watchNestedRetries(): void {
  if (listening) return;
  listening = true;
  subscribe(CHANNELS.retry, (e) => {
    if (retried.size < MAX_TRACKED) retried.add(keyOf(e.graph, e.node));
  });
}

/**
 * @internal Called on each chat model start in an instrumented graph: warns (a process warning with
 * `NESTED_RETRIES_WARNING_CODE`) the first time a node the kit has retried runs a model that retries on its own.
 */
export function checkNestedRetries(graph: string | undefined, llm: Serialized, metadata: Record<string, unknown> | undefined): void {
  if (retried.size === 0 || graph === undefined) return;
  const node = metadata?.langgraph_node;
  if (typeof node !== "string") return;
  const key = keyOf(graph, node);
  if (!retried.has(key) || warned.has(key) || warned.size >= MAX_TRACKED) return;
  const retries = modelRetries(llm);
  if (retries === undefined || retries <= 0) return;
  warned.add(key);
  process.emitWarning(
    `node "${node}" of graph "${graph}" is retried by the kit and calls a chat model that retries on its own ` +
      `(maxRetries ${retries}): provider requests multiply. Set maxRetries: 0 on the model.`,
    { code: NESTED_RETRIES_WARNING_CODE },
  );
}
