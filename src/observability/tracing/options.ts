/**
 * Tracing options and their validation. Everything is resolved once, when `instrument()` runs, so the callbacks on
 * the hot path only read plain fields.
 */
import { type Tracer, trace } from "@opentelemetry/api";
import { checkOptions, type OptionSpec, rule, stringArray } from "../../core/options.js";
import { DEFAULT_MAX_CONTENT_LENGTH, type MaskFn, withDefaultMask } from "./content.js";

export type { MaskFn } from "./content.js";

/** Instrumentation scope name of every span the kit creates. */
export const TRACER_NAME = "langgraph-ops";

/** Options for `instrument(graph, { tracing })`. Every key is optional; `tracing: true` means all defaults. */
export interface TracingOptions {
  /** Tracer to use. Default: `trace.getTracer("langgraph-ops")` from the global provider (set later is fine). */
  tracer?: Tracer;
  /**
   * Record message content (graph/node inputs and outputs, LLM messages, tool arguments and results).
   * Default: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` turns it on, otherwise off.
   */
  captureContent?: boolean;
  /**
   * Extra masking for every content attribute and every exported error message. It runs after the default mask
   * ({@link defaultMask}: API keys, bearer tokens, credential headers, JWTs), so it can add redactions but never
   * remove the default ones.
   */
  mask?: MaskFn;
  /** Longest content attribute or error message kept, in characters, after masking. Default 4096. */
  maxContentLength?: number;
  /**
   * Add the error's message to failed spans (`exception.message`), masked and capped like content. Default false:
   * spans carry the error's type, status, code and classification reason only, since provider and tool errors can
   * echo API keys, request bodies and tool arguments.
   */
  errorMessages?: boolean;
  /**
   * The end user of a run, as `user.id` and `langfuse.user.id` on the root span: a fixed id, or a function of the
   * run's metadata (e.g. `invoke(input, { metadata: { user_id } })` with `(md) => md.user_id as string`).
   */
  userId?: string | ((metadata: Readonly<Record<string, unknown>>) => string | undefined);
  /** Tags for the whole trace (`langfuse.trace.tags`). */
  tags?: string[];
  /** `"agent"` marks the root as an agent (`invoke_agent`, Langfuse type `agent`); default `"workflow"`. */
  kind?: "workflow" | "agent";
  /** A span still open this long after it started is ended with `error.type=abandoned`. Default 3_600_000 (1 h). */
  abandonAfterMs?: number;
}

/** @internal Options after defaults and validation. */
export interface ResolvedTracingOptions {
  tracer: Tracer;
  captureContent: boolean;
  /** The default mask, then the user's. */
  mask: MaskFn;
  maxContentLength: number;
  errorMessages: boolean;
  userId: ((metadata: Readonly<Record<string, unknown>>) => string | undefined) | undefined;
  tags: string[] | undefined;
  kind: "workflow" | "agent";
  abandonAfterMs: number;
}

function envCapture(): boolean {
  return process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === "true";
}

/** @internal The accepted keys of {@link TracingOptions}: validation and the bad-input sweep read it. */
export const TRACING_OPTIONS = {
  tracer: rule.methods("an OpenTelemetry Tracer", "startSpan"),
  captureContent: rule.boolean(),
  mask: rule.function(),
  maxContentLength: rule.integer(0, 1_000_000_000),
  userId: rule.union(rule.string(), rule.function()),
  tags: stringArray,
  kind: rule.oneOf("workflow", "agent"),
  abandonAfterMs: rule.integer(1000, 2_147_483_647),
  errorMessages: rule.boolean(),
} as const satisfies OptionSpec<keyof TracingOptions>;

/** @internal Validates `options` and fills in defaults; throws a TypeError that names the bad option. */
export function resolveTracingOptions(
  options: TracingOptions | true,
  where = "instrument(graph, options).tracing",
): ResolvedTracingOptions {
  const o = checkOptions<TracingOptions>(options === true ? {} : options, TRACING_OPTIONS, where);
  const max = o.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
  const abandon = o.abandonAfterMs ?? 3_600_000;
  const user = o.userId;
  return {
    tracer: o.tracer ?? trace.getTracer(TRACER_NAME),
    captureContent: o.captureContent ?? envCapture(),
    mask: withDefaultMask(o.mask),
    maxContentLength: max,
    errorMessages: o.errorMessages ?? false,
    userId: typeof user === "string" ? () => user : user,
    tags: o.tags === undefined ? undefined : [...o.tags],
    kind: o.kind ?? "workflow",
    abandonAfterMs: abandon,
  };
}
