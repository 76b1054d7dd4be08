/** "LangGraph / LLM & Tools": token use, model latency and errors, and tool calls. */
import { is, metric } from "../catalogue.js";
import type { MixinConfig } from "../config.js";
import { type Dashboard, dashboard, layout, queryVariable, standardVariables } from "./grafana.js";
import { num, panelRatio, panelSelectors, percent, quantile, sumRate } from "../promql.js";

const OPS = metric("genAiDuration");
const TOKENS = metric("genAiTokens");
const MODEL = "gen_ai_provider_name, gen_ai_request_model";
const TOOLS = metric("toolCalls");
const COST = metric("llmCost");
const UNPRICED = metric("llmUnpricedTokens");
const RUN_COST = metric("llmRunCost", "bucket");
const TTFC = metric("genAiTimeToFirstChunk", "bucket");
const TPOC = metric("genAiTimePerOutputChunk", "bucket");

/** The LLM and tools dashboard. LLM metrics follow the OpenTelemetry GenAI conventions and carry no `graph` label. */
export function llmDashboard(config: MixinConfig): Dashboard {
  const { g, j } = panelSelectors(config);
  const m = (metric: string, ...extra: string[]): string => j(metric, 'gen_ai_request_model=~"$model"', ...extra);
  return dashboard({
    uid: `${config.uidPrefix}-llm`,
    title: "LangGraph / LLM & Tools",
    description:
      "LLM calls (OpenTelemetry GenAI metrics): tokens, latency, time to first token and errors by model; cost at the prices given to createMetrics; tool calls by tool. The GenAI metrics carry no graph label, so those panels follow job and instance only; cost and tool panels also follow graph.",
    tag: config.dashboardTag,
    variables: [
      ...standardVariables(config.selector),
      queryVariable(
        "model",
        "Model",
        `label_values(${OPS}_count{${['job=~"$job"', 'instance=~"$instance"', config.selector].filter((x) => x !== "").join(", ")}}, gen_ai_request_model)`,
        true,
      ),
    ],
    panels: layout([
      [
        {
          type: "timeseries",
          id: 1,
          title: "Tokens/s by model and type",
          description: "Input and output tokens per second reported by the models (usage metadata).",
          unit: "short",
          targets: [
            {
              expr: sumRate(m(`${TOKENS}_sum`), "gen_ai_request_model, gen_ai_token_type"),
              legend: "{{gen_ai_request_model}} {{gen_ai_token_type}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 2,
          title: "Tokens per run",
          description: "Tokens of all models divided by graph runs finished, for the selected jobs and instances.",
          unit: "short",
          targets: [{ expr: `${sumRate(m(`${TOKENS}_sum`))} / ${sumRate(j(metric("graphRuns")))}`, legend: "tokens per run" }],
        },
      ],
      [
        {
          type: "timeseries",
          id: 3,
          title: "LLM calls/s by model",
          description: "Model calls per second, successful or not.",
          unit: "reqps",
          targets: [{ expr: sumRate(m(`${OPS}_count`), MODEL), legend: "{{gen_ai_provider_name}} {{gen_ai_request_model}}" }],
        },
        {
          type: "timeseries",
          id: 4,
          title: "LLM latency p50 / p95 / p99 by model",
          description: "Quantiles of model call duration (gen_ai.client.operation.duration).",
          unit: "s",
          targets: ["0.5", "0.95", "0.99"].map((q) => ({
            expr: quantile(q, m(`${OPS}_bucket`), "gen_ai_request_model"),
            legend: `{{gen_ai_request_model}} p${num(Number(q) * 100)}`,
          })),
        },
        {
          type: "timeseries",
          id: 5,
          title: "LLM error ratio by model",
          description: `Share of model calls that failed (series with an error_type). Alert threshold: ${percent(config.thresholds.llmErrorRatio)}.`,
          unit: "percentunit",
          min: 0,
          targets: [
            {
              expr: panelRatio(sumRate(m(`${OPS}_count`, 'error_type!=""'), MODEL), sumRate(m(`${OPS}_count`), MODEL)),
              legend: "{{gen_ai_provider_name}} {{gen_ai_request_model}}",
            },
          ],
        },
      ],
      [
        {
          type: "timeseries",
          id: 11,
          title: "Cost per hour by model and graph",
          description:
            "USD per hour spent on LLM tokens, at the prices given to createMetrics({ prices }). Tokens of models without a price are not included: see Unpriced tokens.",
          unit: "currencyUSD",
          targets: [
            {
              expr: `${sumRate(g(COST, 'gen_ai_request_model=~"$model"'), "graph, gen_ai_request_model")} * 3600`,
              legend: "{{graph}} {{gen_ai_request_model}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 12,
          title: "Cost per run p50 / p95",
          description: "Quantiles of the LLM cost of one graph run (runs whose tokens were all priced).",
          unit: "currencyUSD",
          targets: ["0.5", "0.95"].map((q) => ({
            expr: quantile(q, g(RUN_COST), "graph"),
            legend: `{{graph}} p${num(Number(q) * 100)}`,
          })),
        },
        {
          type: "timeseries",
          id: 13,
          title: "Unpriced tokens/s by model and type",
          description:
            "Tokens of models (or token types) with no price in createMetrics({ prices }): the cost panels leave them out. Add a price for each model shown here.",
          unit: "short",
          targets: [
            {
              expr: sumRate(g(UNPRICED, 'gen_ai_request_model=~"$model"'), "gen_ai_request_model, gen_ai_token_type"),
              legend: "{{gen_ai_request_model}} {{gen_ai_token_type}}",
            },
          ],
        },
      ],
      [
        {
          type: "timeseries",
          id: 14,
          title: "Time to first token p50 / p95 by model",
          description: `Streamed calls only: time from the call's start to its first text or tool-call chunk (gen_ai.client.operation.time_to_first_chunk). Alert SLO: ${num(config.thresholds.llmTimeToFirstTokenP95Seconds)}s at p95.`,
          unit: "s",
          targets: ["0.5", "0.95"].map((q) => ({
            expr: quantile(q, m(TTFC), "gen_ai_request_model"),
            legend: `{{gen_ai_request_model}} p${num(Number(q) * 100)}`,
          })),
        },
        {
          type: "timeseries",
          id: 15,
          title: "Time per output chunk p50 / p95 by model",
          description: "Streamed calls only: time between consecutive output chunks (gen_ai.client.operation.time_per_output_chunk).",
          unit: "s",
          targets: ["0.5", "0.95"].map((q) => ({
            expr: quantile(q, m(TPOC), "gen_ai_request_model"),
            legend: `{{gen_ai_request_model}} p${num(Number(q) * 100)}`,
          })),
        },
      ],
      [
        {
          type: "table",
          id: 6,
          title: "Top models by tokens",
          description: "The ten models that used the most tokens over the dashboard's time range.",
          unit: "short",
          targets: [
            { expr: `topk(10, sum by (${MODEL}) (increase(${m(`${TOKENS}_sum`)}[$__range])))`, instant: true, format: "table", legend: "" },
          ],
          options: { sortBy: [{ displayName: "Value", desc: true }] },
        },
        {
          type: "bargauge",
          id: 7,
          title: "Tokens per call by model and type",
          description: "Average tokens per model call over the dashboard's time range.",
          unit: "short",
          targets: [
            {
              expr: `sum by (gen_ai_request_model, gen_ai_token_type) (increase(${m(`${TOKENS}_sum`)}[$__range])) / sum by (gen_ai_request_model, gen_ai_token_type) (increase(${m(`${TOKENS}_count`)}[$__range]))`,
              instant: true,
              legend: "{{gen_ai_request_model}} {{gen_ai_token_type}}",
            },
          ],
        },
      ],
      [
        {
          type: "timeseries",
          id: 8,
          title: "Tool calls/s by tool and status",
          description: "Tool calls per second by tool and outcome.",
          unit: "ops",
          targets: [{ expr: sumRate(g(TOOLS), "graph, tool, status"), legend: "{{graph}} {{tool}} {{status}}" }],
        },
        {
          type: "timeseries",
          id: 9,
          title: "Tool error ratio by tool",
          description: "Share of tool calls that failed.",
          unit: "percentunit",
          min: 0,
          targets: [
            {
              expr: panelRatio(sumRate(g(TOOLS, is("toolCalls", "status", "error")), "graph, tool"), sumRate(g(TOOLS), "graph, tool")),
              legend: "{{graph}} {{tool}}",
            },
          ],
        },
        {
          type: "timeseries",
          id: 10,
          title: "Tool p95 duration",
          description: "95th percentile of tool call duration.",
          unit: "s",
          targets: [{ expr: quantile("0.95", g(metric("toolDuration", "bucket")), "graph, tool"), legend: "{{graph}} {{tool}}" }],
        },
      ],
    ]),
  });
}
