/**
 * The accepted keys of `startTelemetry` and its `otlp` / `langfuse` parts. A misspelt key (`servicename`,
 * `sampleRate`, `otlp.URL`, `langfuse.publickey`) is refused instead of silently falling back to a default.
 */
import { checkOptions, httpUrl, type OptionSpec, rule, stringRecord } from "../core/options.js";
import type { LangfuseSpanProcessorParams } from "@langfuse/otel";
import type { NodeSDK } from "@opentelemetry/sdk-node";
import type { SpanProcessor } from "../observability/tracing/sdk-types.js";

const isObjectArray = (methods: readonly string[]) => (v: unknown) =>
  Array.isArray(v) &&
  v.every((x) => typeof x === "object" && x !== null && methods.every((m) => typeof (x as Record<string, unknown>)[m] === "function"));

/** OTLP/HTTP destination. */
export interface OtlpOptions {
  /** Full traces URL, like `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. Default: the standard `OTEL_EXPORTER_OTLP_*` variables. */
  url?: string;
  /** Extra request headers (e.g. an API key). Default: `OTEL_EXPORTER_OTLP_HEADERS`. */
  headers?: Record<string, string>;
  /** Request timeout. Default 10_000 ms (or `OTEL_EXPORTER_OTLP_TIMEOUT`). */
  timeoutMillis?: number;
}

/** Langfuse destination (Langfuse's OTLP endpoint, `{baseUrl}/api/public/otel/v1/traces`). */
export interface LangfuseOptions {
  /** Default: `LANGFUSE_PUBLIC_KEY`. */
  publicKey?: string;
  /** Default: `LANGFUSE_SECRET_KEY`. */
  secretKey?: string;
  /** Default: `LANGFUSE_BASE_URL`, else Langfuse Cloud. */
  baseUrl?: string;
  /** Langfuse environment. Default: `LANGFUSE_TRACING_ENVIRONMENT`. */
  environment?: string;
  /** Langfuse's own masking of `langfuse.*` input/output/metadata attributes, on top of the kit's `mask`. */
  mask?: LangfuseSpanProcessorParams["mask"];
}

/** Options for `startTelemetry`. */
export interface TelemetryOptions {
  /** `service.name`. Default: `OTEL_SERVICE_NAME`, else the SDK's default. */
  serviceName?: string;
  /** `service.version`. */
  serviceVersion?: string;
  /** `deployment.environment.name`. */
  environment?: string;
  /**
   * Export over OTLP/HTTP. Default: on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is
   * set; `false` turns it off.
   */
  otlp?: OtlpOptions | false;
  /** Export to Langfuse. Default: on when `LANGFUSE_PUBLIC_KEY` is set; `false` turns it off. */
  langfuse?: LangfuseOptions | false;
  /**
   * Fraction of graph runs traced, decided once per run at its root span (`ParentBased(TraceIdRatio)`), so a run is
   * kept or dropped whole. Default: `OTEL_TRACES_SAMPLER_ARG`, else 1.
   */
  sampleRatio?: number;
  /** More span processors (your own exporters). */
  spanProcessors?: SpanProcessor[];
  /** OpenTelemetry instrumentations to register (HTTP, database clients...). */
  instrumentations?: NonNullable<ConstructorParameters<typeof NodeSDK>[0]>["instrumentations"];
  /**
   * Deadline of one export to OTLP or Langfuse, however slowly the collector answers: past it the batch counts as
   * failed in `langgraph_trace_export_spans_total` and its request is destroyed. Default 10_000 ms.
   */
  exportTimeoutMs?: number;
  /**
   * Bound of `Telemetry.shutdown`: it flushes for at most this long, then cancels the exports still in flight
   * (counted as failed) and frees every socket, so the process can exit. Default 5_000 ms.
   */
  shutdownTimeoutMs?: number;
}

/** @internal The accepted keys of {@link OtlpOptions}: validation and the bad-input sweep read it. */
export const OTLP_OPTIONS = {
  url: httpUrl,
  headers: stringRecord,
  timeoutMillis: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof OtlpOptions>;

/** @internal The accepted keys of {@link LangfuseOptions}: validation and the bad-input sweep read it. */
export const LANGFUSE_OPTIONS = {
  publicKey: rule.string({ nonEmpty: true }),
  secretKey: rule.string({ nonEmpty: true }),
  baseUrl: httpUrl,
  environment: rule.string({ nonEmpty: true }),
  mask: rule.function(),
} as const satisfies OptionSpec<keyof LangfuseOptions>;

/** @internal The accepted keys of {@link TelemetryOptions}: validation and the bad-input sweep read it. */
export const TELEMETRY_OPTIONS = {
  serviceName: rule.string({ nonEmpty: true }),
  serviceVersion: rule.string({ nonEmpty: true }),
  environment: rule.string({ nonEmpty: true }),
  otlp: rule.union(rule.literal(false), rule.options(OTLP_OPTIONS)),
  langfuse: rule.union(rule.literal(false), rule.options(LANGFUSE_OPTIONS)),
  sampleRatio: rule.number(0, 1),
  spanProcessors: rule.check(
    "an array of span processors (onStart, onEnd, forceFlush, shutdown)",
    isObjectArray(["onStart", "onEnd", "forceFlush", "shutdown"]),
    [[{}], "x", [null]],
  ),
  instrumentations: rule.check("an array of OpenTelemetry instrumentations", isObjectArray(["enable", "disable"]), [[{}], "x", [1]]),
  exportTimeoutMs: rule.integer(1, 2_147_483_647),
  shutdownTimeoutMs: rule.integer(1, 2_147_483_647),
} as const satisfies OptionSpec<keyof TelemetryOptions>;

/** @internal Validates `startTelemetry` options (nested parts included) in the kit's one message format. */
export function checkTelemetryOptions(options: unknown): TelemetryOptions {
  return checkOptions<TelemetryOptions>(options, TELEMETRY_OPTIONS, "startTelemetry(options)");
}
