/**
 * Content capture: turning inputs, outputs and messages into bounded, masked strings. Only reached when content
 * capture is on; by default no content leaves the process.
 */

const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // Credential-carrying header or field values (`Authorization: Basic …`, `"x-api-key":"…"`, `apiKey=…`): the name
  // stays, the value goes, whatever shape the value has.
  [
    /(?<![A-Za-z0-9])((?:proxy-)?authorization|x-api-key|x-goog-api-key|api[-_]?key|anthropic-api-key|openai-api-key)(["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|Token|Digest)\s+)?[^\s"',;&}\]]+/gi,
    "$1$2[REDACTED]",
  ],
  // Provider API keys (OpenAI `sk-`, `sk-proj-`, Anthropic `sk-ant-`, Langfuse, Stripe-style prefixes).
  // Not after a letter or digit (so "task-…" stays), but after "_" too (`KEY_sk-…`).
  [/(?<![A-Za-z0-9])(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "[REDACTED]"],
  // HTTP credentials embedded in text.
  [/(?<![A-Za-z0-9])(?:Bearer|Basic)\s+[\w.~+/=-]{6,}/gi, "[REDACTED]"],
  // JWTs.
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, "[REDACTED]"],
  // AWS access key ids.
  [/\bAKIA[0-9A-Z]{16}\b/g, "[REDACTED]"],
];

/** Masks one string before it leaves the process. `attribute` names where it is going (a span attribute key, a log field). */
export type MaskFn = (value: string, attribute: string) => string;

/**
 * Default mask: replaces API keys (`sk-…`, `sk-proj-…`, `sk-ant-…`), bearer/basic credentials, the values of
 * `Authorization`, `x-api-key` and `api_key` headers or fields, JWTs and AWS key ids with `[REDACTED]`. Runs on every
 * captured content value and every exported error message; a `mask` option runs after it (see {@link composeMasks}).
 */
export function defaultMask(value: string, _attribute?: string): string {
  let out = value;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Chains masks left to right: each gets the previous one's output. The kit builds `composeMasks(defaultMask, mask)`
 * from a `mask` option, so a custom mask adds redactions and never removes the default ones.
 * @example
 * const mask = composeMasks(defaultMask, (value) => value.replace(/\b\d{16}\b/g, "[card]"));
 */
export function composeMasks(...masks: MaskFn[]): MaskFn {
  for (const [i, m] of masks.entries()) {
    if (typeof m !== "function") throw new TypeError(`composeMasks(masks[${i}]) must be a function (value, attribute) => string`);
  }
  return (value, attribute) => {
    let out = value;
    for (const m of masks) {
      out = m(out, attribute);
      // A mask that returns a non-string breaks the chain; maskAndCap turns that into "[masked]".
      if (typeof out !== "string") return out;
    }
    return out;
  };
}

/** @internal The mask a `mask` option stands for: the default, then the user's. */
export function withDefaultMask(mask: MaskFn | undefined): MaskFn {
  return mask === undefined ? defaultMask : composeMasks(defaultMask, mask);
}

/** Default length cap, in characters, of a captured content value or an exported error message. */
export const DEFAULT_MAX_CONTENT_LENGTH = 4096;

/** Shape of a LangChain message as far as content capture cares. */
interface MessageLike {
  content: unknown;
  getType?: () => string;
  _getType?: () => string;
  tool_calls?: unknown;
  name?: unknown;
}

function isMessage(value: unknown): value is MessageLike {
  return (
    typeof value === "object" &&
    value !== null &&
    "content" in value &&
    (typeof (value as MessageLike).getType === "function" || typeof (value as MessageLike)._getType === "function")
  );
}

const ROLES: Readonly<Record<string, string>> = { human: "user", ai: "assistant", system: "system", tool: "tool", generic: "user" };

/** @internal A LangChain message in the GenAI semantic-convention message shape (`{ role, parts }`). */
export function toGenAIMessage(message: MessageLike): Record<string, unknown> {
  const type = message.getType?.() ?? message._getType?.() ?? "generic";
  const parts: unknown[] = [];
  if (typeof message.content === "string") {
    if (message.content !== "") parts.push({ type: "text", content: message.content });
  } else if (Array.isArray(message.content)) {
    for (const block of message.content as Array<Record<string, unknown>>) {
      // Inline images/audio are large and rarely useful in a trace; keep a marker only.
      if (block?.type === "text") parts.push({ type: "text", content: block.text });
      else parts.push({ type: String(block?.type ?? "unknown") });
    }
  }
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as Array<Record<string, unknown>>) {
      parts.push({ type: "tool_call", id: call.id, name: call.name, arguments: call.args });
    }
  }
  return { role: ROLES[type] ?? type, parts };
}

const MAX_DEPTH = 8;

/** Plain JSON-able copy of `value` with messages in GenAI shape (messages' own toJSON would emit LangChain's wire format). */
function normalize(value: unknown, depth: number, seen: Set<object>): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "function" || typeof value === "symbol") return undefined;
    return value;
  }
  if (depth >= MAX_DEPTH || seen.has(value)) return "[…]";
  if (isMessage(value)) return normalize(toGenAIMessage(value), depth + 1, seen);
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) out = value.map((v) => normalize(v, depth + 1, seen));
  else if (value instanceof Date) out = value.toISOString();
  else {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) obj[k] = normalize(v, depth + 1, seen);
    out = obj;
  }
  seen.delete(value);
  return out;
}

/** @internal JSON text of `value` (messages in GenAI shape); never throws. */
export function toContentString(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(normalize(value, 0, new Set())) ?? "";
  } catch {
    // Hostile getters: a marker is better than breaking the run.
    return "[unserializable]";
  }
}

/** @internal Masks then caps `text` for attribute `attribute`. A throwing mask drops the content entirely. */
export function maskAndCap(text: string, attribute: string, mask: (value: string, attribute: string) => string, max: number): string {
  let masked: string;
  try {
    masked = mask(text, attribute);
    if (typeof masked !== "string") return "[masked]";
  } catch {
    return "[masked]";
  }
  return masked.length > max ? `${masked.slice(0, max)}…[truncated]` : masked;
}
