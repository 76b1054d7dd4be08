/**
 * The accepted keys of `startTelemetry` and its `otlp` / `langfuse` parts. A misspelt key (`servicename`,
 * `sampleRate`, `otlp.URL`, `langfuse.publickey`) is refused instead of silently falling back to a default.
 */
import { checkOptions, httpUrl, type OptionSpec, rule, stringRecord } from "../core/options.js";
import type { LangfuseOptions, OtlpOptions, TelemetryOptions } from "./otel.js";

const isObjectArray = (methods: readonly string[]) => (v: unknown) =>
  Array.isArray(v) &&
  v.every((x) => typeof x === "object" && x !== null && methods.every((m) => typeof (x as Record<string, unknown>)[m] === "function"));

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
