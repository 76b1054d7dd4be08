/**
 * The same traces with an OpenTelemetry SDK the application already runs: the kit's spans go to whatever tracer
 * provider is registered. Two things matter with Langfuse's span processor: its default filter keeps only spans it
 * recognises as LLM calls, so pass `isKitOrDefaultExportSpan` to keep the whole graph tree; and the
 * `x-langfuse-ingestion-version: 4` header asks for real-time ingestion.
 *
 * Run: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces \
 *      LANGFUSE_PUBLIC_KEY=pk-lf-... LANGFUSE_SECRET_KEY=sk-lf-... LANGFUSE_BASE_URL=http://localhost:3000 \
 *      npx tsx examples/otlp-langfuse/own-sdk.ts
 */
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createMetrics } from "../../src/index.js"; // in your app: "langgraph-ops"
import { isKitOrDefaultExportSpan, reportExports } from "../../src/integrations/otel.js"; // in your app: "langgraph-ops/otel"
import { runIfEntryPoint } from "../shared/run-main.js";
import { askTracedAgent, exportReport } from "./run-agent.js";

runIfEntryPoint(import.meta.url, async () => {
  const metrics = createMetrics();
  const sdk = new NodeSDK({
    serviceName: "weather-agent",
    spanProcessors: [
      // The URL comes from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; LANGFUSE_* variables configure the second processor.
      // reportExports counts each export's outcome in langgraph_trace_export_spans_total{exporter="otlp"}.
      new BatchSpanProcessor(reportExports(new OTLPTraceExporter(), "otlp")),
      new LangfuseSpanProcessor({
        shouldExportSpan: isKitOrDefaultExportSpan,
        additionalHeaders: { "x-langfuse-ingestion-version": "4" },
      }),
    ],
    // This example sends traces only; your SDK may export metrics and logs as well.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  try {
    console.log(`agent: ${await askTracedAgent("What is the weather in Lisbon?", `thread-${Date.now()}`)}`);
  } finally {
    await sdk.shutdown();
  }
  console.log(await exportReport(metrics));
  metrics.close();
});
