import { describe, expect, it } from "vitest";
import { is, metric, oneOf } from "../mixin/catalogue.js";
import { ERROR_REASONS } from "../src/core/reasons.js";
import { labelNames, labelValue, RETRY_REASONS, SERIES, seriesName } from "../src/observability/series.js";

describe("series catalogue", () => {
  it("names series under a prefix, except the gen_ai ones", () => {
    expect(seriesName("graphRuns")).toBe("langgraph_graph_runs_total");
    expect(seriesName("graphRuns", "agents_")).toBe("agents_graph_runs_total");
    expect(seriesName("genAiTokens", "agents_")).toBe("gen_ai_client_token_usage");
    expect(metric("graphDuration", "bucket")).toBe("langgraph_graph_run_duration_seconds_bucket");
    expect(labelNames("nodeRetries")).toEqual(["graph", "node", "reason"]);
  });

  it("takes retry reasons from the classification reasons", () => {
    expect(RETRY_REASONS).toEqual([...ERROR_REASONS, "retry_policy"]);
    expect(SERIES.nodeRetries.labels.reason).toContain("rate_limited");
    expect(SERIES.nodeRetries.labels.reason).not.toContain("rate_limit");
  });

  it("accepts listed values and any value of an open label; refuses the rest at compile and run time", () => {
    expect(labelValue("nodeRetries", "reason", "rate_limited")).toBe("rate_limited");
    expect(labelValue("nodeRetries", "graph", "any-name")).toBe("any-name");
    // @ts-expect-error "rate_limit" is not a retry reason
    expect(() => labelValue("nodeRetries", "reason", "rate_limit")).toThrow(
      new TypeError(`reason of langgraph_node_retries_total must be one of ${RETRY_REASONS.join(", ")}, got "rate_limit"`),
    );
    // @ts-expect-error no such label
    expect(() => labelValue("graphRuns", "reason", "x")).toThrow(TypeError);
  });

  it("writes PromQL matchers only from catalogue values", () => {
    expect(is("graphRuns", "status", "error")).toBe('status="error"');
    expect(is("graphRuns", "status", "cancelled", "!=")).toBe('status!="cancelled"');
    expect(oneOf("breakerState", "state", "open", "half_open")).toBe('state=~"open|half_open"');
    // @ts-expect-error "failed" is not a graph run status
    expect(is("graphRuns", "status", "failed")).toBe('status="failed"');
  });
});
