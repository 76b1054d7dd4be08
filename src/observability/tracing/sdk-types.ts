/**
 * The OpenTelemetry SDK types the kit's public API speaks of, taken from the installed `@opentelemetry/sdk-node`
 * rather than from one trace SDK package: OpenTelemetry JS 2 declares them in `@opentelemetry/sdk-trace-base`, 3 in
 * `@opentelemetry/sdk-trace`, and a consumer has only one of them for sure. Type-only: nothing here loads at runtime.
 */
import type { NodeSDK } from "@opentelemetry/sdk-node";

type NodeSdkConfiguration = NonNullable<ConstructorParameters<typeof NodeSDK>[0]>;

/** OpenTelemetry's `SpanProcessor`, as the installed SDK (2.x or 3.x) declares it. */
export type SpanProcessor = NonNullable<NodeSdkConfiguration["spanProcessors"]>[number];

/** OpenTelemetry's `SpanExporter`, as the installed SDK (2.x or 3.x) declares it. */
export type SpanExporter = NonNullable<NodeSdkConfiguration["traceExporter"]>;

/** OpenTelemetry's `ReadableSpan` (a finished span), as the installed SDK (2.x or 3.x) declares it. */
export type ReadableSpan = Parameters<SpanExporter["export"]>[0][number];

/** OpenTelemetry's `Sampler`, as the installed SDK (2.x or 3.x) declares it. */
export type Sampler = NonNullable<NodeSdkConfiguration["sampler"]>;
