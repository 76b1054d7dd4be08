/**
 * Reads what classification needs from an error as provider clients build it: the `cause` chain, HTTP status, error
 * code, provider error type, class names and LangChain's retryable marker. Pure, and never reads the message into
 * anything but a pattern test.
 */

/** How deep the `cause` chain is followed (the real clients nest three: APIConnectionError → TypeError → SocketError). */
export const MAX_CAUSE_DEPTH = 8;

/** The marker `stampRetryable` / `getRetryable` of `@langchain/core/errors` read and write. */
const LANGCHAIN_RETRYABLE = Symbol.for("langchain.errors.retryable");

/** The fields of an error that classification looks at. */
export type ErrorFields = {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  statusCode?: unknown;
  code?: unknown;
  type?: unknown;
  lc_error_code?: unknown;
  retryAfterMs?: unknown;
  headers?: unknown;
  response?: { status?: unknown; headers?: unknown };
  error?: { code?: unknown; type?: unknown; error?: { type?: unknown } };
  cause?: unknown;
};

/** `error` and its causes, outermost first: objects only, each once, at most `MAX_CAUSE_DEPTH` + 1. */
export function causeChain(error: unknown): ErrorFields[] {
  const chain: ErrorFields[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === "object" && current !== null && !seen.has(current) && chain.length <= MAX_CAUSE_DEPTH) {
    seen.add(current);
    chain.push(current as ErrorFields);
    try {
      current = (current as ErrorFields).cause;
    } catch {
      break;
    }
  }
  return chain;
}

/** The HTTP status on this error itself (`status`, `statusCode`, `response.status`). */
export function ownStatus(e: ErrorFields): number | undefined {
  for (const value of [e.status, e.statusCode, e.response?.status]) {
    if (typeof value === "number" && Number.isInteger(value) && value >= 100 && value <= 599) return value;
    if (typeof value === "string" && /^\d{3}$/.test(value)) return Number(value);
  }
  return undefined;
}

/** The string error code on this error itself (`code`, or the provider body's `error.code`). */
export function ownCode(e: ErrorFields): string | undefined {
  if (typeof e.code === "string") return e.code;
  const bodyCode = e.error?.code;
  return typeof bodyCode === "string" ? bodyCode : undefined;
}

/** Provider error types on this error: `type`, the body's `error.type` and Anthropic's nested `error.error.type`. */
export function ownTypes(e: ErrorFields): string[] {
  const types: string[] = [];
  for (const value of [e.type, e.error?.type, e.error?.error?.type]) {
    if (typeof value === "string" && value !== "error") types.push(value);
  }
  return types;
}

/**
 * The error's `name` and the class names along its prototype chain. The openai SDK's and the bundled
 * @anthropic-ai/sdk's errors keep `name === "Error"`, so the class is the only reliable sign of what they are.
 */
export function kindsOf(e: ErrorFields): Set<string> {
  const kinds = new Set<string>();
  if (typeof e.name === "string") kinds.add(e.name);
  try {
    let proto: unknown = Object.getPrototypeOf(e);
    for (let i = 0; i < MAX_CAUSE_DEPTH && proto !== null && proto !== Object.prototype; i += 1) {
      const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
      if (typeof ctor?.name === "string" && ctor.name !== "") kinds.add(ctor.name);
      proto = Object.getPrototypeOf(proto);
    }
  } catch {
    // an exotic object (a revoked proxy): its name is all there is
  }
  return kinds;
}

/** LangChain's retryable marker on this error: `true`, `false`, or `undefined` when unstamped. */
export function langChainRetryable(e: ErrorFields): boolean | undefined {
  try {
    const value = Object.getOwnPropertyDescriptor(e, LANGCHAIN_RETRYABLE)?.value;
    return typeof value === "boolean" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The most specific type name of an error, without its message: `name` unless it is the generic "Error", else the
 * class name (`InternalServerError` for an openai 5xx whose `name` is "Error").
 */
export function errorTypeName(error: unknown): string {
  if (typeof error !== "object" || error === null) return typeof error;
  const e = error as ErrorFields;
  if (typeof e.name === "string" && e.name !== "" && e.name !== "Error") return e.name;
  for (const kind of kindsOf(e)) if (kind !== "Error") return kind;
  return "Error";
}

/** The first HTTP status along the cause chain. */
export function chainStatus(error: unknown): number | undefined {
  for (const link of causeChain(error)) {
    const status = ownStatus(link);
    if (status !== undefined) return status;
  }
  return undefined;
}

/** The first string error code along the cause chain. */
export function chainCode(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    const code = ownCode(link);
    if (code !== undefined) return code;
  }
  return undefined;
}
