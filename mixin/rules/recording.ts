/**
 * Recording rules for the rates, ratios and quantiles the alerts and dashboards read. Names follow
 * `level:metric:operations`; everything is aggregated to `job` plus the metric's bounded labels, so one rule
 * serves every replica of a job.
 */
import { is, metric } from "../catalogue.js";
import type { MixinConfig } from "../config.js";
import { ratio, selector } from "../promql.js";
import type { RecordingRule, RuleGroup } from "./types.js";

/** Quantiles recorded for every latency histogram. */
export const QUANTILES = ["0.5", "0.95", "0.99"] as const;

/** Names of the recording rules, so alerts and dashboards refer to them by constant. */
export const RECORDED = {
  runsRate: "job_graph_status:langgraph_graph_runs:rate5m",
  runErrorRatio: "job_graph:langgraph_graph_runs_error:ratio_rate5m",
  runDuration: "job_graph:langgraph_graph_run_duration_seconds:histogram_quantile",
  nodeExecRate: "job_graph_node_status:langgraph_node_executions:rate5m",
  nodeErrorRatio: "job_graph_node:langgraph_node_executions_error:ratio_rate5m",
  nodeDuration: "job_graph_node:langgraph_node_duration_seconds:histogram_quantile",
  retriesRate: "job_graph_node_reason:langgraph_node_retries:rate5m",
  retryRatio: "job_graph_node:langgraph_node_retries:ratio_rate5m",
  timeoutRatio: "job_graph_node:langgraph_node_timeouts:ratio_rate5m",
  idempotencyRate: "job_graph_node_result:langgraph_idempotency_requests:rate5m",
  idempotencyConflictRatio: "job_graph_node:langgraph_idempotency_conflicts:ratio_rate5m",
  toolCallsRate: "job_graph_tool_status:langgraph_tool_calls:rate5m",
  llmRate: "job_provider_model:gen_ai_client_operations:rate5m",
  llmErrorRatio: "job_provider_model:gen_ai_client_operations_error:ratio_rate5m",
  llmDuration: "job_provider_model:gen_ai_client_operation_duration_seconds:histogram_quantile",
  tokensRate: "job_provider_model_token_type:gen_ai_client_token_usage:rate5m",
  checkpointRate: "job_saver_operation_status:langgraph_checkpoint_operations:rate5m",
  checkpointDuration: "job_saver_operation:langgraph_checkpoint_operation_duration_seconds:histogram_quantile",
  traceExportRate: "job_exporter_result:langgraph_trace_export_spans:rate5m",
  traceExportFailureRatio: "job_exporter:langgraph_trace_export_spans_failure:ratio_rate5m",
} as const;

function braces(matchers: string): string {
  return matchers === "" ? "" : `{${matchers}}`;
}

function quantiles(record: string, by: string, bucket: string): RecordingRule[] {
  return QUANTILES.map((q) => ({
    record,
    expr: `histogram_quantile(${q}, sum by (${by}, le) (rate(${bucket}[5m])))`,
    labels: { quantile: q },
  }));
}

/** The `langgraph.rules` group. */
export function recordingRules(config: MixinConfig): RuleGroup<RecordingRule> {
  const s = (...m: string[]) => selector(config, ...m);
  const gen = "job, gen_ai_provider_name, gen_ai_request_model";
  const sumRuns = (m: string) => `sum by (job, graph) (${RECORDED.runsRate}${braces(m)})`;
  const sumNode = (m: string) => `sum by (job, graph, node) (${RECORDED.nodeExecRate}${braces(m)})`;
  const execByNode = `sum by (job, graph, node) (${RECORDED.nodeExecRate})`;
  const llmCount = (m: string) => `sum by (${gen}) (rate(${metric("genAiDuration", "count")}${s(m)}[5m]))`;
  const sumExported = (m: string) => `sum by (job, exporter) (${RECORDED.traceExportRate}${braces(m)})`;
  return {
    name: "langgraph.rules",
    rules: [
      { record: RECORDED.runsRate, expr: `sum by (job, graph, status) (rate(${metric("graphRuns")}${s()}[5m]))` },
      {
        record: RECORDED.runErrorRatio,
        expr: ratio(sumRuns(is("graphRuns", "status", "error")), sumRuns(is("graphRuns", "status", "cancelled", "!="))),
      },
      ...quantiles(RECORDED.runDuration, "job, graph", `${metric("graphDuration", "bucket")}${s()}`),
      { record: RECORDED.nodeExecRate, expr: `sum by (job, graph, node, status) (rate(${metric("nodeExecutions")}${s()}[5m]))` },
      { record: RECORDED.nodeErrorRatio, expr: ratio(sumNode(is("nodeExecutions", "status", "error")), sumNode("")) },
      ...quantiles(RECORDED.nodeDuration, "job, graph, node", `${metric("nodeDuration", "bucket")}${s()}`),
      { record: RECORDED.retriesRate, expr: `sum by (job, graph, node, reason) (rate(${metric("nodeRetries")}${s()}[5m]))` },
      { record: RECORDED.retryRatio, expr: `sum by (job, graph, node) (${RECORDED.retriesRate})\n/\n${execByNode}` },
      {
        record: RECORDED.timeoutRatio,
        expr: `sum by (job, graph, node) (rate(${metric("nodeTimeouts")}${s()}[5m]))\n/\n${execByNode}`,
      },
      {
        record: RECORDED.idempotencyRate,
        expr: `sum by (job, graph, node, result) (rate(${metric("idempotencyRequests")}${s()}[5m]))`,
      },
      {
        record: RECORDED.idempotencyConflictRatio,
        expr: ratio(
          `sum by (job, graph, node) (${RECORDED.idempotencyRate}{${is("idempotencyRequests", "result", "conflict")}})`,
          `sum by (job, graph, node) (${RECORDED.idempotencyRate})`,
        ),
      },
      { record: RECORDED.toolCallsRate, expr: `sum by (job, graph, tool, status) (rate(${metric("toolCalls")}${s()}[5m]))` },
      { record: RECORDED.llmRate, expr: llmCount("") },
      { record: RECORDED.llmErrorRatio, expr: ratio(llmCount(`error_type!=""`), llmCount("")) },
      ...quantiles(RECORDED.llmDuration, gen, `${metric("genAiDuration", "bucket")}${s()}`),
      {
        record: RECORDED.tokensRate,
        expr: `sum by (${gen}, gen_ai_token_type) (rate(${metric("genAiTokens", "sum")}${s()}[5m]))`,
      },
      {
        record: RECORDED.checkpointRate,
        expr: `sum by (job, saver, operation, status) (rate(${metric("checkpointDuration", "count")}${s()}[5m]))`,
      },
      ...quantiles(RECORDED.checkpointDuration, "job, saver, operation", `${metric("checkpointDuration", "bucket")}${s()}`),
      { record: RECORDED.traceExportRate, expr: `sum by (job, exporter, result) (rate(${metric("traceExportSpans")}${s()}[5m]))` },
      { record: RECORDED.traceExportFailureRatio, expr: ratio(sumExported(is("traceExportSpans", "result", "failure")), sumExported("")) },
    ],
  };
}
