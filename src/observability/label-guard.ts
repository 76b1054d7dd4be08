/**
 * Keeps labels bounded in count and in length: the first `max` distinct values pass through, later ones fold into
 * `__other__`, and a value longer than `maxLength` characters is cut and marked, so a graph that names nodes, tools
 * or models after user input cannot blow up Prometheus or the scrape.
 */

/** The value that stands for every label value past the limit. */
export const OTHER_LABEL = "__other__";

/** Ends a label value that was cut to the length cap. */
export const TRUNCATED_MARKER = "…[truncated]";

/** Default longest label value, in characters (UTF-16 code units), marker included. */
export const MAX_LABEL_LENGTH = 128;

/** Shortest length cap accepted: room for the marker and a recognisable prefix. */
export const MIN_LABEL_LENGTH = 32;

/**
 * `value` cut to `maxLength` characters, ending in {@link TRUNCATED_MARKER}; unchanged when it fits. The cut never
 * splits a surrogate pair, so the result stays valid UTF-8 in the exposition.
 */
export function truncateLabel(value: string, maxLength: number = MAX_LABEL_LENGTH): string {
  if (value.length <= maxLength) return value;
  let end = maxLength - TRUNCATED_MARKER.length;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}${TRUNCATED_MARKER}`;
}

/** A per-label bounded set of admitted values. */
export class LabelGuard {
  private readonly admitted = new Set<string>();

  /**
   * @param max how many distinct values this label may take before folding into `__other__`
   * @param maxLength longest value kept, in characters; longer ones are truncated before counting
   */
  constructor(
    readonly max: number,
    readonly maxLength: number = MAX_LABEL_LENGTH,
  ) {}

  /** The value to export for `value`: itself (truncated) while under the limit or already admitted, `__other__` after. */
  value(value: string): string {
    if (this.admitted.has(value)) return value;
    const cut = value.length > this.maxLength ? truncateLabel(value, this.maxLength) : value;
    if (cut !== value && this.admitted.has(cut)) return cut;
    if (this.admitted.size >= this.max) return OTHER_LABEL;
    this.admitted.add(cut);
    return cut;
  }

  /** How many distinct values were admitted. */
  get size(): number {
    return this.admitted.size;
  }
}

/** One guard per label name, created on first use. */
export class LabelGuards {
  private readonly guards = new Map<string, LabelGuard>();

  constructor(
    readonly max: number,
    readonly maxLength: number = MAX_LABEL_LENGTH,
  ) {}

  /** The exported value of label `label` for `value`. */
  value(label: string, value: string): string {
    let guard = this.guards.get(label);
    if (guard === undefined) {
      guard = new LabelGuard(this.max, this.maxLength);
      this.guards.set(label, guard);
    }
    return guard.value(value);
  }
}
