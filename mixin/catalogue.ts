/**
 * The series catalogue as PromQL: metric names and label matchers of the mixin come from here, so a query can only
 * name a series, a label or a label value that `createMetrics` emits (a value outside the catalogue does not compile).
 */
import { DEFAULT_PREFIX, type LabelOf, type LabelValue, type SeriesKey, seriesName } from "../src/observability/series.js";

/** The name of series `key` as Prometheus stores it, with a histogram's `_bucket`, `_sum` or `_count` suffix. */
export function metric(key: SeriesKey, suffix?: "bucket" | "sum" | "count"): string {
  const name = seriesName(key, DEFAULT_PREFIX);
  return suffix === undefined ? name : `${name}_${suffix}`;
}

/** `label="value"` (or `label!="value"`), the value checked against the catalogue. */
export function is<K extends SeriesKey, L extends LabelOf<K>>(_key: K, label: L, value: LabelValue<K, L>, op: "=" | "!=" = "="): string {
  return `${label}${op}"${value}"`;
}

/** `label=~"a|b"`, each value checked against the catalogue. */
export function oneOf<K extends SeriesKey, L extends LabelOf<K>>(_key: K, label: L, ...values: LabelValue<K, L>[]): string {
  return `${label}=~"${values.join("|")}"`;
}
