/**
 * `startTelemetry`: a ready OpenTelemetry SDK for the kit's traces, exporting over OTLP/HTTP to any collector and/or
 * to Langfuse through its OpenTelemetry span processor. Optional: applications that run their own `NodeSDK` skip it
 * and the kit's spans flow into their SDK.
 */
import type { LangfuseSpanProcessorParams } from "@langfuse/otel";
import { diag } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { reportExports } from "../observability/tracing/export-reporting.js";
import { TRACER_NAME } from "../observability/tracing/options.js";
import type { ReadableSpan, SpanProcessor } from "../observability/tracing/sdk-types.js";
import { boundedShutdown, type ExportTransport, exportDeadlines, exportTransport } from "./export-deadline.js";
import { langfuseOtel } from "./langfuse-module.js";
import { checkTelemetryOptions } from "./telemetry-options.js";
import { traceSdk } from "./trace-sdk.js";

export { reportExports, type ReportExportsOptions } from "../observability/tracing/export-reporting.js";
export { DEFAULT_EXPORT_TIMEOUT_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from "./export-deadline.js";

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

/** Options for {@link startTelemetry}. */
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
   * Bound of {@link Telemetry.shutdown}: it flushes for at most this long, then cancels the exports still in flight
   * (counted as failed) and frees every socket, so the process can exit. Default 5_000 ms.
   */
  shutdownTimeoutMs?: number;
}

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
