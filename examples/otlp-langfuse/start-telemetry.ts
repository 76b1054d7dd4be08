/**
 * Traces to an OpenTelemetry collector and to Langfuse at once, with the kit's `startTelemetry`.
 *
 * Run: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces \
 *      LANGFUSE_PUBLIC_KEY=pk-lf-... LANGFUSE_SECRET_KEY=sk-lf-... LANGFUSE_BASE_URL=http://localhost:3000 \
 *      npx tsx examples/otlp-langfuse/start-telemetry.ts
 */
import { createMetrics } from "../../src/index.js"; // in your app: "langgraph-ops"
import { startTelemetry } from "../../src/integrations/otel.js"; // in your app: "langgraph-ops/otel"
import { runIfEntryPoint } from "../shared/run-main.js";
import { askTracedAgent, exportReport } from "./run-agent.js";

runIfEntryPoint(import.meta.url, async () => {
  // Counts what the exporters of startTelemetry hand on (langgraph_trace_export_spans_total); serve it on /metrics.
  const metrics = createMetrics();
  // Both destinations come from the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or _ENDPOINT) turns the
  // OTLP exporter on, LANGFUSE_PUBLIC_KEY the Langfuse one; passing `otlp: { url }` or `langfuse: { ... }` works too.
  const telemetry = startTelemetry({ serviceName: "weather-agent", serviceVersion: "1.0.0", environment: "example" });
  try {
    console.log(`agent: ${await askTracedAgent("What is the weather in Paris?", `thread-${Date.now()}`)}`);
  } finally {
    // Flushes the batch processors: without it the last spans of a short-lived process are lost.
    await telemetry.shutdown();
  }
  console.log(await exportReport(metrics));
  metrics.close();
});
