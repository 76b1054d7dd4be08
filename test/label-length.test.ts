/**
 * Label values are capped in length as well as in count: 500 models named with 10 KB strings (and a long node and
 * tool name) give a scrape of bounded size whose values end in the documented marker, and promtool accepts it.
 */
import { tool } from "@langchain/core/tools";
import { Annotation, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { instrument } from "../src/observability/instrument.js";
import { LabelGuard, MAX_LABEL_LENGTH, TRUNCATED_MARKER, truncateLabel } from "../src/observability/label-guard.js";
import { createMetrics } from "../src/observability/metrics.js";
import { ScriptedChatModel } from "./metrics-fixtures.js";
import { promtool } from "./support/prometheus.js";

const KB10 = 10 * 1024;

describe("label length cap", () => {
  it("truncates with the marker, never splitting a surrogate pair, and keeps short values as they are", () => {
    expect(truncateLabel("gpt-4o")).toBe("gpt-4o");
    const long = "x".repeat(KB10);
    const cut = truncateLabel(long);
    expect(cut).toHaveLength(MAX_LABEL_LENGTH);
    expect(cut.endsWith(TRUNCATED_MARKER)).toBe(true);
    // An emoji (two UTF-16 units) straddling the cut is dropped whole.
    const emoji = `${"a".repeat(MAX_LABEL_LENGTH - TRUNCATED_MARKER.length - 1)}😀${"b".repeat(100)}`;
    const cutEmoji = truncateLabel(emoji);
    expect(cutEmoji.length).toBeLessThanOrEqual(MAX_LABEL_LENGTH);
    expect(Buffer.from(cutEmoji, "utf8").toString("utf8")).toBe(cutEmoji);
    expect(cutEmoji).not.toContain("\uFFFD");
    // Values that only differ past the cap share one truncated value and count once against the limit.
    const guard = new LabelGuard(2);
    expect(guard.value(`${long}1`)).toBe(guard.value(`${long}2`));
    expect(guard.size).toBe(1);
  });

  it("500 models with 10 KB names give a bounded exposition that promtool accepts", { timeout: 60_000 }, async () => {
    const metrics = createMetrics();
    const models = Array.from({ length: 500 }, (_, i) => new ScriptedChatModel([{ content: "x" }], `${i}-${"m".repeat(KB10)}`));
    const longTool = tool(async () => "ok", { name: `t${"t".repeat(KB10)}`, description: "t", schema: z.object({}) });
    const State = Annotation.Root({ i: Annotation<number>() });
    const graph = instrument(
      new StateGraph(State)
        .addNode(`n${"n".repeat(KB10)}`, async (_s, config) => {
          await longTool.invoke({}, config);
          for (const m of models) await m.invoke("hi", config);
          return {};
        })
        .addEdge(START, `n${"n".repeat(KB10)}`)
        .compile(),
      { metrics, name: `g${"g".repeat(KB10)}` },
    );
    await graph.invoke({ i: 0 });
    const text = await metrics.text();

    // Every label value in the exposition is within the cap (the escaped form can only be longer than the value).
    const values = [...text.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) expect(v.length).toBeLessThanOrEqual(MAX_LABEL_LENGTH);
    const models500 = new Set(
      [...text.matchAll(/gen_ai_request_model="((?:[^"\\]|\\.)*)"/g)]
        .map((m) => m[1] as string)
        .filter((v) => v.endsWith(TRUNCATED_MARKER)),
    );
    expect(models500.size).toBe(500);
    expect(text).toContain(`node="${truncateLabel(`n${"n".repeat(KB10)}`)}"`);
    expect(text).toContain(`tool="${truncateLabel(`t${"t".repeat(KB10)}`)}"`);

    // Uncapped, each of the ~50 sample lines per model (histogram buckets) would carry the 10 KB name: ~250 MB.
    // Capped, a line holds at most a few capped values next to the short fixed labels and the number.
    const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const lineBound = 4 * MAX_LABEL_LENGTH + 256;
    const longest = Math.max(...lines.map((l) => l.length));
    expect(longest).toBeLessThan(lineBound);
    expect(text.length).toBeLessThan(lines.length * lineBound);
    expect(text.length).toBeLessThan(500 * 50 * KB10 * 0.05);
    console.log(`exposition: ${text.length} bytes, ${lines.length} samples, longest line ${longest} characters`);

    const check = promtool(["check", "metrics"], text);
    expect(check.status, check.stderr + check.stdout).toBe(0);
    metrics.close();
  });
});
