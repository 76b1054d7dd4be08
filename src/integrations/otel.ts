/**
 * `startTelemetry`: a ready OpenTelemetry SDK for the kit's traces, exporting over OTLP/HTTP to any collector and/or
 * to Langfuse through its OpenTelemetry span processor. Optional: applications that run their own `NodeSDK` skip it
 * and the kit's spans flow into their SDK.
 */
import { diag } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { reportExports } from "../observability/tracing/export-reporting.js";
import { TRACER_NAME } from "../observability/tracing/options.js";
import type { ReadableSpan, SpanProcessor } from "../observability/tracing/sdk-types.js";
import { boundedShutdown, type ExportTransport, exportDeadlines, exportTransport } from "./export-deadline.js";
import { langfuseOtel } from "./langfuse-module.js";
import { checkTelemetryOptions, type LangfuseOptions, type TelemetryOptions } from "./telemetry-options.js";
import { traceSdk } from "./trace-sdk.js";

export { reportExports, type ReportExportsOptions } from "../observability/tracing/export-reporting.js";
export { DEFAULT_EXPORT_TIMEOUT_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from "./export-deadline.js";

export type { LangfuseOptions, OtlpOptions, TelemetryOptions } from "./telemetry-options.js";

/** A running telemetry setup. */
export interface Telemetry {
  /** Exports everything buffered so far (call before a serverless function returns). */
  forceFlush(): Promise<void>;
  /**
   * Flushes and stops exporting, within `shutdownTimeoutMs` (default 5 s) whatever the collectors do; spans not
   * exported by then are dropped and counted as failed. Never rejects. Leaves no socket or timer behind.
   */
  shutdown(): Promise<void>;
}

function envRatio(): number | undefined {
  const raw = process.env.OTEL_TRACES_SAMPLER_ARG;
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
}

function otlpFromEnv(): boolean {
  return Boolean(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Langfuse's default filter keeps only spans it recognises as LLM-related; every span the kit creates is part of the
 * graph's trace, so it is always exported (and so is anything the default filter keeps).
 */
export function isKitOrDefaultExportSpan({ otelSpan }: { otelSpan: ReadableSpan }): boolean {
  return otelSpan.instrumentationScope.name === TRACER_NAME || langfuseOtel().isDefaultExportSpan(otelSpan);
}

interface LangfuseDestination {
  publicKey: string | undefined;
  secretKey: string | undefined;
  baseUrl: string;
  timeoutMillis: number;
}

/** Langfuse's own defaults: the `LANGFUSE_*` variables, Langfuse Cloud, a 5 s export timeout. */
function langfuseDestination(lf: LangfuseOptions | undefined): LangfuseDestination {
  const env = process.env;
  const baseUrl = lf?.baseUrl ?? env.LANGFUSE_BASE_URL ?? env.LANGFUSE_BASEURL ?? "https://cloud.langfuse.com";
  const timeoutSeconds = Number(env.LANGFUSE_TIMEOUT ?? 5);
  return {
    publicKey: lf?.publicKey ?? env.LANGFUSE_PUBLIC_KEY,
    secretKey: lf?.secretKey ?? env.LANGFUSE_SECRET_KEY,
    baseUrl: baseUrl.replace(/\/+$/, ""),
    timeoutMillis: Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 : 5000,
  };
}

/**
 * The exporter Langfuse's processor would build itself (its OTLP endpoint, basic auth), built here so that its
 * outcomes are reported like the OTLP exporter's.
 */
function langfuseExporter(d: LangfuseDestination, transport: ExportTransport): OTLPTraceExporter {
  if (d.publicKey === undefined || d.secretKey === undefined) {
    diag.warn("langgraph-ops: Langfuse export is on but LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY are not set; exports will fail");
  }
  return new OTLPTraceExporter({
    url: `${d.baseUrl}/api/public/otel/v1/traces`,
    headers: {
      Authorization: `Basic ${Buffer.from(`${d.publicKey ?? ""}:${d.secretKey ?? ""}`).toString("base64")}`,
      "x-langfuse-sdk-name": "javascript",
      "x-langfuse-public-key": d.publicKey ?? "<missing>",
      // Real-time ingestion on Langfuse's OTLP endpoint.
      "x-langfuse-ingestion-version": "4",
    },
    timeoutMillis: d.timeoutMillis,
    httpAgentOptions: transport.agentFactory,
  });
}

/**
 * Starts an OpenTelemetry SDK that exports the kit's traces over OTLP/HTTP and/or to Langfuse, both at once if both are
 * configured, with `ParentBased(TraceIdRatio)` sampling per graph run. Reads the standard `OTEL_*` and `LANGFUSE_*`
 * environment variables; batch processing honours `OTEL_BSP_*`. Exports happen in the background: a dead or hanging
 * collector never fails or slows a graph run.
 * @example
 * const telemetry = startTelemetry({ serviceName: "support-agent", langfuse: {} });
 * process.on("SIGTERM", () => telemetry.shutdown());
 */
export function startTelemetry(options: TelemetryOptions = {}): Telemetry {
  checkTelemetryOptions(options);
  const { exportTimeoutMs, shutdownTimeoutMs } = exportDeadlines(options);
  const transport = exportTransport(exportTimeoutMs);
  const reporting = { timeoutMs: exportTimeoutMs, signal: transport.signal };
  const sdkTrace = traceSdk();
  const processors: SpanProcessor[] = [];
  const otlp = options.otlp;
  if (otlp !== false && (otlp !== undefined || otlpFromEnv())) {
    const exporter = new OTLPTraceExporter({
      ...(otlp?.url !== undefined ? { url: otlp.url } : {}),
      ...(otlp?.headers !== undefined ? { headers: otlp.headers } : {}),
      ...(otlp?.timeoutMillis !== undefined ? { timeoutMillis: otlp.timeoutMillis } : {}),
      httpAgentOptions: transport.agentFactory,
    });
    // No config object: the processor then reads OTEL_BSP_* itself.
    processors.push(sdkTrace.batchSpanProcessor(reportExports(exporter, "otlp", reporting)));
  }
  const lf = options.langfuse;
  if (lf !== false && (lf !== undefined || Boolean(process.env.LANGFUSE_PUBLIC_KEY))) {
    const { LangfuseSpanProcessor } = langfuseOtel();
    const destination = langfuseDestination(lf);
    processors.push(
      new LangfuseSpanProcessor({
        publicKey: destination.publicKey,
        secretKey: destination.secretKey,
        baseUrl: destination.baseUrl,
        ...(lf?.environment !== undefined ? { environment: lf.environment } : {}),
        ...(lf?.mask !== undefined ? { mask: lf.mask } : {}),
        shouldExportSpan: isKitOrDefaultExportSpan,
        exporter: reportExports(langfuseExporter(destination, transport), "langfuse", reporting),
      }),
    );
  }
  processors.push(...(options.spanProcessors ?? []));
  const resourceAttributes: Record<string, string> = {};
  if (options.serviceVersion !== undefined) resourceAttributes["service.version"] = options.serviceVersion;
  if (options.environment !== undefined) resourceAttributes["deployment.environment.name"] = options.environment;
  const ratio = options.sampleRatio ?? envRatio() ?? 1;
  const sdk = new NodeSDK({
    ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
    resource: resourceFromAttributes(resourceAttributes),
    spanProcessors: processors,
    sampler: sdkTrace.ratioSampler(ratio),
    instrumentations: options.instrumentations ?? [],
    // Traces only: without these NodeSDK would also start OTLP metric and log exporters from its defaults.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    async forceFlush() {
      await Promise.allSettled(processors.map((p) => p.forceFlush()));
    },
    shutdown() {
      stopped ??= boundedShutdown(() => sdk.shutdown(), transport, shutdownTimeoutMs);
      return stopped;
    },
  };
}
