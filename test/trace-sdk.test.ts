/**
 * The trace SDK loader of `langgraph-ops/otel`: it prefers `@opentelemetry/sdk-trace` and builds processors and
 * samplers in the shape each package wants (`{ exporter }` for sdk-trace, the exporter itself for sdk-trace-base).
 * Both shapes run here on the real packages: a span ended on a provider reaches the exporter through the processor,
 * and the ratio sampler keeps or drops whole traces.
 */
import { createRequire } from "node:module";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { pickTraceSdk, TRACE_SDK_PACKAGES, type TraceSdkPackage, traceSdk, traceSdkOf } from "../src/integrations/trace-sdk.js";

const require = createRequire(import.meta.url);

async function exportedThrough(name: TraceSdkPackage, ratio: number): Promise<string[]> {
  const sdk = traceSdkOf(name, require(name));
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [sdk.batchSpanProcessor(exporter)], sampler: sdk.ratioSampler(ratio) });
  const tracer = provider.getTracer("trace-sdk-test");
  tracer.startActiveSpan("root", (root) => {
    tracer.startSpan("child").end();
    root.end();
  });
  await provider.forceFlush();
  const names = exporter.getFinishedSpans().map((s) => s.name);
  await provider.shutdown();
  return names.sort();
}

describe("pickTraceSdk", () => {
  const pick = (sdkTrace: number | undefined, sdkTraceBase: number | undefined) =>
    pickTraceSdk({ "@opentelemetry/sdk-trace": sdkTrace, "@opentelemetry/sdk-trace-base": sdkTraceBase });

  it("takes sdk-trace 3 whenever it is installed, even next to a forced sdk-trace-base 2", () => {
    expect(pick(3, undefined)).toBe("@opentelemetry/sdk-trace");
    expect(pick(3, 2)).toBe("@opentelemetry/sdk-trace");
  });

  it("takes sdk-trace-base on 2.x, where sdk-trace (2.9+) is only its dependency", () => {
    expect(pick(2, 2)).toBe("@opentelemetry/sdk-trace-base");
    expect(pick(undefined, 2)).toBe("@opentelemetry/sdk-trace-base");
    expect(pick(2, undefined)).toBe("@opentelemetry/sdk-trace");
    expect(pick(undefined, undefined)).toBeUndefined();
  });
});

describe("traceSdk", () => {
  it("loads the package of the installed major (2.x here: sdk-trace-base) once", () => {
    expect(traceSdk().package).toBe("@opentelemetry/sdk-trace-base");
    expect(traceSdk()).toBe(traceSdk());
  });

  for (const name of TRACE_SDK_PACKAGES) {
    it(`${name}: the batch processor exports through the exporter and the sampler keeps a sampled run whole`, async () => {
      expect(await exportedThrough(name, 1)).toEqual(["child", "root"]);
    });

    it(`${name}: ratio 0 drops the run's root and its child`, async () => {
      expect(await exportedThrough(name, 0)).toEqual([]);
      expect(trace.getActiveSpan()).toBeUndefined();
    });
  }
});
