/**
 * Keeps a label's cardinality bounded: the first `max` distinct values pass through, later ones fold into
 * `__other__`, so a graph that names nodes, tools or models after user input cannot blow up Prometheus.
 */

/** The value that stands for every label value past the limit. */
export const OTHER_LABEL = "__other__";

/** A per-label bounded set of admitted values. */
export class LabelGuard {
  private readonly admitted = new Set<string>();

  /** @param max how many distinct values this label may take before folding into `__other__` */
  constructor(readonly max: number) {}

  /** The value to export for `value`: itself while under the limit (or already admitted), `__other__` after. */
  value(value: string): string {
    if (this.admitted.has(value)) return value;
    if (this.admitted.size >= this.max) return OTHER_LABEL;
    this.admitted.add(value);
    return value;
  }

  /** How many distinct values were admitted. */
  get size(): number {
    return this.admitted.size;
  }
}

/** One guard per label name, created on first use. */
export class LabelGuards {
  private readonly guards = new Map<string, LabelGuard>();

  constructor(readonly max: number) {}

  /** The exported value of label `label` for `value`. */
  value(label: string, value: string): string {
    let guard = this.guards.get(label);
    if (guard === undefined) {
      guard = new LabelGuard(this.max);
      this.guards.set(label, guard);
    }
    return guard.value(value);
  }
}
