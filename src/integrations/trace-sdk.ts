/**
 * The trace SDK's span processor and samplers, from the trace SDK package the application installed. OpenTelemetry
 * JS 3 ships them in `@opentelemetry/sdk-trace`, whose processors take `{ exporter }`; 2.x in
 * `@opentelemetry/sdk-trace-base`, whose processors take the exporter itself. Loaded on first use, so
 * `langgraph-ops/otel` imports neither package by name.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sampler, SpanExporter, SpanProcessor } from "../observability/tracing/sdk-types.js";

/** The trace SDK packages: OpenTelemetry JS 3's, then 2.x's. */
export const TRACE_SDK_PACKAGES = ["@opentelemetry/sdk-trace", "@opentelemetry/sdk-trace-base"] as const;

/** One of {@link TRACE_SDK_PACKAGES}. */
export type TraceSdkPackage = (typeof TRACE_SDK_PACKAGES)[number];

interface Samplers {
  ParentBasedSampler: new (config: { root: Sampler }) => Sampler;
  TraceIdRatioBasedSampler: new (ratio: number) => Sampler;
}

interface SdkTraceModule extends Samplers {
  BatchSpanProcessor: new (options: { exporter: SpanExporter }) => SpanProcessor;
}

interface SdkTraceBaseModule extends Samplers {
  BatchSpanProcessor: new (exporter: SpanExporter) => SpanProcessor;
}

/** What `startTelemetry` builds with the trace SDK, in the shape the installed major wants. */
export interface TraceSdk {
  /** The package loaded. */
  package: TraceSdkPackage;
  /** A batch span processor around `exporter` (its queue and delays from `OTEL_BSP_*`). */
  batchSpanProcessor(exporter: SpanExporter): SpanProcessor;
  /** `ParentBased(TraceIdRatio(ratio))`. */
  ratioSampler(ratio: number): Sampler;
}

function samplerOf(module: Samplers): TraceSdk["ratioSampler"] {
  return (ratio) => new module.ParentBasedSampler({ root: new module.TraceIdRatioBasedSampler(ratio) });
}

/** Builds the {@link TraceSdk} from a loaded module, by package name (exported for tests of both shapes). */
export function traceSdkOf(name: TraceSdkPackage, module: unknown): TraceSdk {
  if (name === "@opentelemetry/sdk-trace") {
    const m = module as SdkTraceModule;
    return { package: name, batchSpanProcessor: (exporter) => new m.BatchSpanProcessor({ exporter }), ratioSampler: samplerOf(m) };
  }
  const m = module as SdkTraceBaseModule;
  return { package: name, batchSpanProcessor: (exporter) => new m.BatchSpanProcessor(exporter), ratioSampler: samplerOf(m) };
}

/**
 * Which package to load, given the installed majors (undefined: not installed). `@opentelemetry/sdk-trace` 3 means
 * OpenTelemetry 3. On 2.x, sdk-trace-base is the package the application declares (sdk-trace 2.9+ is only its
 * dependency, possibly another patch with another `@opentelemetry/core`), so it comes before a 2.x sdk-trace.
 */
export function pickTraceSdk(majors: Readonly<Record<TraceSdkPackage, number | undefined>>): TraceSdkPackage | undefined {
  const sdkTrace = majors["@opentelemetry/sdk-trace"];
  if (sdkTrace !== undefined && sdkTrace >= 3) return "@opentelemetry/sdk-trace";
  if (majors["@opentelemetry/sdk-trace-base"] !== undefined) return "@opentelemetry/sdk-trace-base";
  return sdkTrace === undefined ? undefined : "@opentelemetry/sdk-trace";
}

const require = createRequire(import.meta.url);

/** The installed major of `name` (from its package.json above its entry), or undefined when it is not installed. */
function installedMajor(name: TraceSdkPackage): number | undefined {
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    return undefined;
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name === name && typeof manifest.version === "string") return Number.parseInt(manifest.version, 10);
    } catch {
      // No package.json here (or a nested one without a name): keep walking up.
    }
  }
  return undefined;
}

/** The ES module entry of `name` in the ESM build (`import.meta.resolve`); undefined in the CommonJS build. */
function esmEntry(name: string): string | undefined {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve !== "function") return undefined;
  try {
    const url = resolve(name);
    return url.startsWith("file:") ? fileURLToPath(url) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads `name` as the application's own `import` would, so the processors share its module instances: the SDK
 * reports export errors to `globalErrorHandler` of its `@opentelemetry/core` instance, and a CommonJS copy next to
 * an ESM app would report them to a handler the app never set. require(esm) needs Node 22.12; before it, the
 * CommonJS entry.
 */
function load(name: TraceSdkPackage): unknown {
  const entry = esmEntry(name);
  if (entry !== undefined) {
    try {
      return require(entry);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== "ERR_REQUIRE_ESM") throw error;
    }
  }
  return require(name);
}

let loaded: TraceSdk | undefined;

/** The installed trace SDK; an Error naming both packages when neither is installed. */
export function traceSdk(): TraceSdk {
  if (loaded !== undefined) return loaded;
  const name = pickTraceSdk({
    "@opentelemetry/sdk-trace": installedMajor("@opentelemetry/sdk-trace"),
    "@opentelemetry/sdk-trace-base": installedMajor("@opentelemetry/sdk-trace-base"),
  });
  if (name === undefined) {
    throw new Error(
      'langgraph-ops/otel: startTelemetry needs a trace SDK: "@opentelemetry/sdk-trace" (OpenTelemetry JS 3) or "@opentelemetry/sdk-trace-base" (2.x)',
    );
  }
  loaded = traceSdkOf(name, load(name));
  return loaded;
}
