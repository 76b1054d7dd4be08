/**
 * Trace export outcomes as events: a span exporter wrapper that publishes, per finished export, whether the
 * destination took the batch. Metrics count them in `langgraph_trace_export_spans_total`, so a dead collector shows
 * on a dashboard and in an alert instead of only in OpenTelemetry's diagnostic log.
 *
 * Every export has a deadline: a collector that accepts a batch and never finishes answering (or trickles its
 * answer) fails the batch when the deadline passes, so such a collector is counted like one that refuses.
 */
import { assertKnownKeys, assertObject, describe, numberOption } from "../../resilience/options.js";
import type { ReadableSpan, SpanExporter } from "./sdk-types.js";
import { toError } from "../../core/errors.js";
import { CHANNELS, hasSubscribers, publish } from "../../core/events.js";

/** `ExportResultCode.SUCCESS` / `FAILED` of `@opentelemetry/core` (stable enum values; the package is not a dependency). */
const SUCCESS = 0;
const FAILED = 1;

/** Default deadline of one export through {@link reportExports}: the batch span processor's own export timeout. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;

/** Options of {@link reportExports}. */
export interface ReportExportsOptions {
  /**
   * Deadline of one export. Past it the batch counts as failed and the span processor is told so, even if the
   * wrapped exporter is still waiting on its destination. Default 30_000 ms (the batch processor's export timeout).
   */
  timeoutMs?: number;
  /** Once aborted, exports in flight fail at once and later ones fail without reaching the wrapped exporter. */
  signal?: AbortSignal;
}

const OPTION_KEYS = ["timeoutMs", "signal"] as const;

// Process-wide (keyed in the global symbol registry): the CommonJS build gives each entry point its own copy of this
// module, and `langgraph-ops/otel` must seed the series of the `Metrics` created from `langgraph-ops`.
const KNOWN = Symbol.for("langgraph-ops.reported-exporters");
const registry = globalThis as unknown as Record<symbol, Set<string> | undefined>;
registry[KNOWN] ??= new Set<string>();
const known: Set<string> = registry[KNOWN];

/** @internal Names of the exporters wrapped so far in this process, so their series exist at 0 from the start. */
export function reportedExporters(): ReadonlySet<string> {
  return known;
}

function resolveOptions(options: unknown): { timeoutMs: number; signal: AbortSignal | undefined } {
  const where = "reportExports(exporter, name, options)";
  if (options === undefined) return { timeoutMs: DEFAULT_EXPORT_TIMEOUT_MS, signal: undefined };
  assertObject(options, where);
  assertKnownKeys(options, OPTION_KEYS, where);
  const timeoutMs = numberOption(options.timeoutMs, `${where}.timeoutMs`, DEFAULT_EXPORT_TIMEOUT_MS, {
    min: 1,
    max: 2_147_483_647,
    integer: true,
  });
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${where}.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return { timeoutMs, signal };
}

/**
 * Wraps `exporter` so that each finished export is published on `CHANNELS.traceExport` (and so counted by every
 * `Metrics` in `langgraph_trace_export_spans_total{exporter=name, result}`). Results pass through unchanged, except
 * that an export still unanswered at its deadline (`options.timeoutMs`) fails then; its late answer is ignored.
 * `startTelemetry` wraps its OTLP and Langfuse exporters itself (and also cancels their requests at the deadline);
 * wrap yours when you run your own SDK.
 * @example
 * const exporter = reportExports(new OTLPTraceExporter({ url }), "otlp", { timeoutMs: 10_000 });
 * const sdk = new NodeSDK({ spanProcessors: [new BatchSpanProcessor(exporter)] });
 */
export function reportExports(exporter: SpanExporter, name: string, options?: ReportExportsOptions): SpanExporter {
  if (exporter === null || typeof exporter !== "object" || typeof exporter.export !== "function") {
    throw new TypeError("reportExports(exporter) must be an OpenTelemetry SpanExporter (with export and shutdown)");
  }
  if (typeof name !== "string" || name.trim() === "") throw new TypeError("reportExports(exporter, name): name must be a non-empty string");
  const { timeoutMs, signal } = resolveOptions(options);
  known.add(name);
  const report = (result: "success" | "failure", spans: number, error: Error | undefined): void => {
    if (hasSubscribers(CHANNELS.traceExport)) publish(CHANNELS.traceExport, { exporter: name, result, spans, error });
  };
  /** Exports in flight, so an abort can fail them at once. */
  const pending = new Set<(error: Error) => void>();
  const abortError = () => new Error(`${name} export cancelled: telemetry is shutting down`);
  signal?.addEventListener(
    "abort",
    () => {
      const error = abortError();
      for (const fail of [...pending]) fail(error);
    },
    { once: true },
  );
  const wrapped: SpanExporter = {
    export(spans: ReadableSpan[], resultCallback) {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (result: { code: number; error?: Error }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        pending.delete(fail);
        if (result.code === SUCCESS) report("success", spans.length, undefined);
        else report("failure", spans.length, result.error ?? new Error(`${name} export failed`));
        resultCallback(result);
      };
      const fail = (error: Error): void => settle({ code: FAILED, error });
      if (signal?.aborted === true) {
        fail(abortError());
        return;
      }
      // Ref'd on purpose: the span processor waits on this export, and the timer ends when the export does.
      timer = setTimeout(() => fail(new Error(`${name} export timed out after ${timeoutMs} ms`)), timeoutMs);
      pending.add(fail);
      try {
        exporter.export(spans, settle);
      } catch (error) {
        // An exporter that throws instead of calling back still fails only its batch.
        fail(toError(error));
      }
    },
    // Once aborted, shutting down does not wait on the wrapped exporter's requests: they are being cancelled.
    shutdown: () => {
      const done = Promise.resolve(exporter.shutdown());
      if (signal === undefined) return done;
      if (signal.aborted) {
        done.catch(() => undefined);
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          done.catch(() => undefined);
          resolve();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        done.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      });
    },
    forceFlush: () => (typeof exporter.forceFlush === "function" ? exporter.forceFlush() : Promise.resolve()),
  };
  return wrapped;
}
