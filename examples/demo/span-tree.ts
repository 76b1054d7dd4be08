/**
 * A span exporter that prints a compact tree of a few graph runs to the console, for when no OTLP collector or
 * Langfuse is configured: the first successful run, the first failed run and the first interrupted run.
 */
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

const MAX_BUFFERED_TRACES = 200;

function millis(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}

function describe(span: ReadableSpan): string {
  const a = span.attributes;
  const parts = [`${span.name} (${millis(span).toFixed(0)} ms)`];
  if (a["gen_ai.usage.input_tokens"] !== undefined)
    parts.push(`tokens in=${a["gen_ai.usage.input_tokens"]} out=${a["gen_ai.usage.output_tokens"]}`);
  if (span.status.code === 2) parts.push(`ERROR ${a["error.type"] ?? ""}`.trim());
  const events = span.events.map((e) => e.name).filter((n) => n !== "exception");
  if (events.length > 0) parts.push(`[${events.join(", ")}]`);
  return parts.join("  ");
}

/** Prints up to one tree per outcome (ok, error, interrupted) through `print`. */
export class SpanTreeExporter implements SpanExporter {
  readonly #byTrace = new Map<string, ReadableSpan[]>();
  readonly #printed = new Set<string>();
  readonly #print: (text: string) => void;

  constructor(print: (text: string) => void) {
    this.#print = print;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const traceId = span.spanContext().traceId;
      const list = this.#byTrace.get(traceId) ?? [];
      list.push(span);
      this.#byTrace.set(traceId, list);
      if (span.parentSpanContext === undefined) this.#finish(traceId, span);
    }
    while (this.#byTrace.size > MAX_BUFFERED_TRACES) {
      const oldest = this.#byTrace.keys().next().value as string;
      this.#byTrace.delete(oldest);
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  #finish(traceId: string, root: ReadableSpan): void {
    const spans = this.#byTrace.get(traceId) ?? [];
    this.#byTrace.delete(traceId);
    const interrupted = spans.some((s) => s.events.some((e) => e.name === "langgraph.interrupt"));
    const outcome = root.status.code === 2 ? "error" : interrupted ? "interrupted" : "ok";
    if (this.#printed.has(outcome)) return;
    this.#printed.add(outcome);
    const children = new Map<string, ReadableSpan[]>();
    for (const s of spans) {
      const parent = s.parentSpanContext?.spanId;
      if (parent === undefined) continue;
      const list = children.get(parent) ?? [];
      list.push(s);
      children.set(parent, list);
    }
    const lines = [`trace ${traceId.slice(0, 12)}… (${outcome})`, `${describe(root)}`];
    const walk = (span: ReadableSpan, indent: string): void => {
      const kids = (children.get(span.spanContext().spanId) ?? []).sort(
        (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
      );
      kids.forEach((kid, i) => {
        const last = i === kids.length - 1;
        lines.push(`${indent}${last ? "└─ " : "├─ "}${describe(kid)}`);
        walk(kid, indent + (last ? "   " : "│  "));
      });
    };
    walk(root, "");
    this.#print(lines.join("\n"));
  }

  async shutdown(): Promise<void> {
    this.#byTrace.clear();
  }

  async forceFlush(): Promise<void> {}
}
