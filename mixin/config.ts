/**
 * Settings shared by the rule and dashboard generators (the mixin's `_config`). Everything an SRE is expected to
 * tune lives here, so the shipped files and a customised build come from the same source.
 */

import { checkOptions, type OptionSpec, rule } from "../src/core/options.js";

/** Alerts whose `for:` can be overridden through {@link MixinConfig.for}. */
export type AlertKey =
  | "burn1h"
  | "burn6h"
  | "burn1d"
  | "burn3d"
  | "highRunErrorRate"
  | "runLatencyHigh"
  | "runsStuck"
  | "nodeErrorRateHigh"
  | "retryRateHigh"
  | "retriesExhausted"
  | "timeoutRateHigh"
  | "circuitBreakerOpen"
  | "breakerOffFleetState"
  | "rateLimitRejections"
  | "idempotencyConflicts"
  | "checkpointErrors"
  | "checkpointLatencyHigh"
  | "llmErrorRateHigh"
  | "llmTokenBudgetExceeded"
  | "llmCostBurn"
  | "llmTimeToFirstTokenHigh"
  | "targetDown"
  | "traceExportFailing";

/** Thresholds the alerts compare against. Ratios are 0–1. */
export interface Thresholds {
  /** Share of failed graph runs over 5m. */
  runErrorRatio: number;
  /** p95 graph run duration, seconds. */
  runLatencyP95Seconds: number;
  /** Share of failed node executions over 5m. */
  nodeErrorRatio: number;
  /** Retries per node execution over 5m. */
  retryRatio: number;
  /** Timed-out attempts per node execution over 5m. */
  timeoutRatio: number;
  /** Share of idempotency lookups that conflicted over 5m. */
  idempotencyConflictRatio: number;
  /** Share of failed LLM calls over 5m. */
  llmErrorRatio: number;
  /** p99 of checkpoint `put`, seconds. */
  checkpointPutP99Seconds: number;
  /** Tokens (input + output) a job may use per day. */
  tokenBudgetPerDay: number;
  /** USD a job may spend on LLM tokens per hour (`langgraph_llm_cost_usd_total`, at the prices given to `createMetrics`). */
  llmCostBudgetUsdPerHour: number;
  /** Time-to-first-token SLO: p95 of streamed calls' time to first chunk, seconds, per model. */
  llmTimeToFirstTokenP95Seconds: number;
  /** Recoveries (transitions to closed) of one breaker in 30m that count as flapping. */
  breakerFlapsPer30m: number;
  /** Share of the spans a trace exporter handed on over 5m that failed to export. */
  traceExportFailureRatio: number;
}

/** The generator's configuration. */
export interface MixinConfig {
  /**
   * Extra label matchers added to every raw metric selector, e.g. `job=~"agents-.*"` when Prometheus scrapes
   * other apps too. Empty selects every job.
   */
  selector: string;
  /** Availability objective of graph runs (share of runs that do not fail), e.g. 0.995. */
  sloTarget: number;
  /** SLO period; the error budget and its remaining share are computed over it. */
  sloPeriod: string;
  /** Fewest events a ratio alert needs in its window before it may fire. */
  minEvents: number;
  /** Alert thresholds. */
  thresholds: Thresholds;
  /** `for:` per alert, as Prometheus durations. */
  for: Record<AlertKey, string>;
  /** Address of the runbook; each alert links to `<runbookUrl>#alert-name-<lowercased alert name>`. */
  runbookUrl: string;
  /** Tag shared by the dashboards (drives the links between them). */
  dashboardTag: string;
  /** Prefix of dashboard uids. */
  uidPrefix: string;
}

/** Options accepted by {@link resolveConfig}: any subset, merged over the defaults. */
export interface MixinConfigInput extends Partial<Omit<MixinConfig, "thresholds" | "for">> {
  thresholds?: Partial<Thresholds>;
  for?: Partial<Record<AlertKey, string>>;
}

/** The shipped defaults. */
export const defaultConfig: MixinConfig = {
  selector: "",
  sloTarget: 0.995,
  sloPeriod: "30d",
  minEvents: 10,
  thresholds: {
    runErrorRatio: 0.05,
    runLatencyP95Seconds: 60,
    nodeErrorRatio: 0.1,
    retryRatio: 0.25,
    timeoutRatio: 0.05,
    idempotencyConflictRatio: 0.05,
    llmErrorRatio: 0.1,
    checkpointPutP99Seconds: 1,
    tokenBudgetPerDay: 50_000_000,
    llmCostBudgetUsdPerHour: 20,
    llmTimeToFirstTokenP95Seconds: 5,
    breakerFlapsPer30m: 3,
    traceExportFailureRatio: 0.1,
  },
  for: {
    burn1h: "2m",
    burn6h: "15m",
    burn1d: "1h",
    burn3d: "3h",
    highRunErrorRate: "10m",
    runLatencyHigh: "15m",
    runsStuck: "15m",
    nodeErrorRateHigh: "15m",
    retryRateHigh: "15m",
    retriesExhausted: "5m",
    timeoutRateHigh: "10m",
    circuitBreakerOpen: "5m",
    breakerOffFleetState: "10m",
    rateLimitRejections: "10m",
    idempotencyConflicts: "30m",
    checkpointErrors: "5m",
    checkpointLatencyHigh: "15m",
    llmErrorRateHigh: "10m",
    llmTokenBudgetExceeded: "5m",
    llmCostBurn: "15m",
    llmTimeToFirstTokenHigh: "10m",
    targetDown: "10m",
    traceExportFailing: "15m",
  },
  runbookUrl: "https://github.com/langgraph-ops/langgraph-ops/blob/main/alerts/RUNBOOK.md",
  dashboardTag: "langgraph-ops",
  uidPrefix: "langgraph-ops",
};

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Seconds in a Prometheus duration such as `1h30m`; throws a TypeError naming `option` when malformed. */
export function durationSeconds(value: string, option = "duration"): number {
  if (!DURATION.test(value))
    throw new TypeError(`${option} must be a Prometheus duration like "5m" or "1h30m", got ${JSON.stringify(value)}`);
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(amount) * (UNIT_SECONDS[unit ?? "s"] ?? 0);
  return total;
}

/** Thresholds that are shares of events: strictly between 0 and 1. */
const RATIO_THRESHOLDS: ReadonlySet<string> = new Set<keyof Thresholds>([
  "runErrorRatio",
  "nodeErrorRatio",
  "retryRatio",
  "timeoutRatio",
  "idempotencyConflictRatio",
  "llmErrorRatio",
  "traceExportFailureRatio",
]);

const positive = rule.check("a finite number > 0", (v) => typeof v === "number" && Number.isFinite(v) && v > 0, [0, -1]);
const ratio = rule.check("a ratio > 0 and < 1", (v) => typeof v === "number" && v > 0 && v < 1, [0, 1, 2, -0.5]);
const duration = rule.check('a Prometheus duration like "5m" or "1h30m"', (v) => typeof v === "string" && DURATION.test(v), [
  "",
  "5",
  "ten minutes",
  "5 m",
]);

/** @internal The accepted keys of {@link MixinConfigInput} (the threshold and `for:` keys from the defaults). */
export const MIXIN_CONFIG_OPTIONS = {
  selector: rule.check('label matchers without braces, e.g. job=~"agents-.*"', (v) => typeof v === "string" && !/[{}]/.test(v), [
    "{job='x'}",
    "}",
  ]),
  sloTarget: ratio,
  sloPeriod: rule.check(
    "a Prometheus duration longer than the 3d burn-rate window",
    (v) => typeof v === "string" && DURATION.test(v) && durationSeconds(v) > 3 * 86_400,
    ["1d", "3d", "30 days"],
  ),
  minEvents: positive,
  thresholds: rule.options(
    Object.fromEntries(Object.keys(defaultConfig.thresholds).map((key) => [key, RATIO_THRESHOLDS.has(key) ? ratio : positive])),
  ),
  for: rule.options(Object.fromEntries(Object.keys(defaultConfig.for).map((key) => [key, duration]))),
  runbookUrl: rule.check("an http(s) URL", (v) => typeof v === "string" && /^https?:\/\/./.test(v), ["RUNBOOK.md", ""]),
  dashboardTag: rule.string({ nonEmpty: true }),
  uidPrefix: rule.check("1-20 chars of [a-z0-9-]", (v) => typeof v === "string" && /^[a-z0-9-]{1,20}$/.test(v), ["", "A", "a".repeat(21)]),
} as const satisfies OptionSpec<keyof MixinConfigInput>;

/**
 * Checks `input` (a parsed JSON file, say) against {@link MIXIN_CONFIG_OPTIONS}: an object with only known keys, at
 * every level, each of the right type and range; a TypeError names the key path.
 */
export function assertConfigInput(input: unknown, name = "mixin config"): asserts input is MixinConfigInput {
  checkOptions(input, MIXIN_CONFIG_OPTIONS, name);
}

/**
 * Merges `input` over {@link defaultConfig} and validates it: unknown keys (at any level), values of the wrong type
 * and values out of range are a TypeError that names the key path.
 */
export function resolveConfig(input: MixinConfigInput = {}): MixinConfig {
  checkOptions(input, MIXIN_CONFIG_OPTIONS, "resolveConfig(config)");
  return {
    ...defaultConfig,
    ...input,
    thresholds: { ...defaultConfig.thresholds, ...input.thresholds },
    for: { ...defaultConfig.for, ...input.for },
  };
}
