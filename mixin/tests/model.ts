/** The shapes promtool unit-test scenarios are written in before they become `promtool test rules` files. */

/** One input series: metric name, labels and promtool's expanding notation (`0+10x60`, `1x30`, `stale`). */
export interface InputSeries {
  metric: string;
  labels: Record<string, string>;
  values: string;
}

/** An alert expected to fire: its series labels, variant labels (e.g. burn windows) and the rendered description. */
export interface ExpectedAlert {
  /** Labels coming from the data (job, graph, node…). Rule labels such as `severity` are added by the renderer. */
  labels: Record<string, string>;
  /** Picks one rule when several share the alert name (the burn-rate windows), by its rule labels. */
  variant?: Record<string, string>;
  /** The description as Prometheus renders it for these inputs. */
  description: string;
}

/** Alert state at one instant, in minutes since the start of the input. */
export interface Check {
  atMinutes: number;
  firing: ExpectedAlert[];
}

/** One test case: input data and the checks on one alert. */
export interface Scenario {
  name: string;
  series: InputSeries[];
  checks: Check[];
}

/** All cases for one alert name. */
export interface AlertScenarios {
  alert: string;
  scenarios: Scenario[];
}
