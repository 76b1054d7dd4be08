/**
 * Trace export outcomes as events: a span exporter wrapper that publishes, per finished export, whether the
 * destination took the batch. Metrics count them in `langgraph_trace_export_spans_total`, so a dead collector shows
 * on a dashboard and in an alert instead of only in OpenTelemetry's diagnostic log.
 */
import type { ReadableSpan, SpanExporter } from "./sdk-types.js";
import { CHANNELS, hasSubscribers, publish } from "../events.js";

/** `ExportResultCode.SUCCESS` of `@opentelemetry/core` (a stable enum value; the package is not a dependency). */
const SUCCESS = 0;

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

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Wraps `exporter` so that each finished export is published on `CHANNELS.traceExport` (and so counted by every
 * `Metrics` in `langgraph_trace_export_spans_total{exporter=name, result}`). Export results pass through unchanged.
 * `startTelemetry` wraps its OTLP and Langfuse exporters itself; wrap yours when you run your own SDK.
 * @example
 * const exporter = reportExports(new OTLPTraceExporter({ url }), "otlp");
 * const sdk = new NodeSDK({ spanProcessors: [new BatchSpanProcessor(exporter)] });
 */
export function reportExports(exporter: SpanExporter, name: string): SpanExporter {
  if (exporter === null || typeof exporter !== "object" || typeof exporter.export !== "function") {
    throw new TypeError("reportExports(exporter) must be an OpenTelemetry SpanExporter (with export and shutdown)");
  }
  if (typeof name !== "string" || name.trim() === "") throw new TypeError("reportExports(exporter, name): name must be a non-empty string");
  known.add(name);
  const report = (result: "success" | "failure", spans: number, error: Error | undefined): void => {
    if (hasSubscribers(CHANNELS.traceExport)) publish(CHANNELS.traceExport, { exporter: name, result, spans, error });
  };
  const wrapped: SpanExporter = {
    export(spans: ReadableSpan[], resultCallback) {
      let settled = false;
      try {
        exporter.export(spans, (result) => {
          if (!settled) {
            settled = true;
            if (result.code === SUCCESS) report("success", spans.length, undefined);
            else report("failure", spans.length, result.error ?? new Error(`${name} export failed`));
          }
          resultCallback(result);
        });
      } catch (error) {
        // An exporter that throws instead of calling back still fails only its batch.
        if (!settled) {
          settled = true;
          report("failure", spans.length, toError(error));
        }
        resultCallback({ code: 1, error: toError(error) });
      }
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => (typeof exporter.forceFlush === "function" ? exporter.forceFlush() : Promise.resolve()),
  };
  return wrapped;
}
