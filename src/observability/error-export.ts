/**
 * What of an error may leave the process: its type, HTTP status, code and classification reason. Messages, headers,
 * request and response bodies can echo API keys, prompts and tool arguments, so they never leave by default; the
 * `errorMessages` options add the message only through the mask and the length cap. Shared by spans and log lines.
 */
import { classifyError } from "../resilience/classify.js";
import { chainCode, chainStatus } from "../resilience/error-fields.js";
import type { ErrorReason } from "../core/reasons.js";
import { errorType } from "./runs/facts.js";
import { defaultMask, type MaskFn, maskAndCap } from "./tracing/content.js";

/** @internal The exportable facts of an error. */
export interface ErrorFacts {
  /** Class name (`error.type`). */
  readonly type: string;
  /** `classifyError(error).reason`. */
  readonly reason: ErrorReason;
  /** HTTP status found on the error or its causes. */
  readonly status?: number;
  /** Machine-readable code (`ECONNRESET`, `insufficient_quota`, …) found on the error or its causes. */
  readonly code?: string;
}

/** A code is exported only when it looks like an identifier, never free text. */
const CODE_SHAPE = /^[A-Za-z0-9_.:-]{1,64}$/;

function classify(error: unknown): ErrorReason {
  try {
    return classifyError(error).reason;
  } catch {
    // Hostile getters on the error: the sink still reports the failure.
    return "unknown";
  }
}

/** @internal Type, reason, and the first status and code on the error or along its `cause` chain (bounded, cycle-safe). */
export function errorFacts(error: unknown): ErrorFacts {
  const type = errorType(error);
  const reason = classify(error);
  let status: number | undefined;
  let code: string | undefined;
  try {
    status = chainStatus(error);
    const found = chainCode(error);
    if (found !== undefined && CODE_SHAPE.test(found)) code = found;
  } catch {
    // A throwing getter ends the walk; what was found so far stands.
  }
  const facts: { type: string; reason: ErrorReason; status?: number; code?: string } = { type, reason };
  if (status !== undefined) facts.status = status;
  if (code !== undefined) facts.code = code;
  return facts;
}

const FRAME = /^\s*at\s/;

/**
 * @internal `error.stack` reduced to its frames under a first line naming only `type`: the message (which V8 writes
 * into the stack's first lines, however many) is cut out, only `at …` lines are kept, and the default mask runs over
 * them in case a message faked frames. Undefined when the error has no stack.
 */
export function safeStack(error: unknown, type: string): string | undefined {
  let stack: unknown;
  let message: unknown;
  try {
    stack = (error as { stack?: unknown } | null)?.stack;
    message = (error as { message?: unknown } | null)?.message;
  } catch {
    return undefined;
  }
  if (typeof stack !== "string") return undefined;
  let rest = stack;
  if (typeof message === "string" && message !== "") {
    const at = stack.indexOf(message);
    if (at >= 0) rest = stack.slice(at + message.length);
  }
  const frames = rest.split("\n").filter((line) => FRAME.test(line));
  return defaultMask([type, ...frames].join("\n"));
}

/** @internal The error's message (or the thrown value's text), masked and capped; never throws. */
export function maskedMessage(error: unknown, where: string, mask: MaskFn, max: number): string {
  let text: string;
  try {
    text = error instanceof Error ? String(error.message) : String(error);
  } catch {
    return "[unreadable]";
  }
  return maskAndCap(text, where, mask, max);
}

/** @internal How a sink exports error text: off (default), or messages through `mask` capped at `max`. */
export interface ErrorTextPolicy {
  readonly errorMessages: boolean;
  readonly mask: MaskFn;
  readonly max: number;
}
