/**
 * Comparable forms of what an instrumented run leaves behind, for tests that run the same graphs two ways: the
 * Prometheus exposition without its time-dependent lines, and each span as its path of names from the trace root.
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/** The exposition without what depends on time: duration sums and buckets (counts stay); sorted. */
export function comparableExposition(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .filter((line) => !/_(duration|time)[a-z_]*seconds_(sum|bucket)/.test(line))
    .sort();
}

/** Each span as the path of span names from its trace's root, plus its events' names in brackets; sorted. */
export function spanTrees(spans: readonly ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const path = (s: ReadableSpan): string => {
    const parentId = s.parentSpanContext?.spanId;
    const parent = parentId === undefined ? undefined : byId.get(parentId);
    return parent === undefined ? s.name : `${path(parent)} > ${s.name}`;
  };
  return spans.map((s) => `${path(s)} [${s.events.map((e) => e.name).join(",")}]`).sort();
}
