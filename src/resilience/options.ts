/** Wrap-time validation: bad options throw a `TypeError` naming the option and the accepted range. */

/** @internal */
export function assertFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

/** @internal */
export function assertObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an options object, got ${describe(value)}`);
  }
}

/** @internal Throws on keys outside `known`, suggesting none: typos must not silently disable a policy. */
export function assertKnownKeys(options: Record<string, unknown>, known: readonly string[], name: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${name}: unknown option "${key}"; accepted options are ${known.join(", ")}`);
    }
  }
}

/** @internal Checks an optional number option against a range; returns it or the default. */
export function numberOption(
  value: unknown,
  name: string,
  fallback: number,
  range: { min: number; max?: number; integer?: boolean; allowInfinity?: boolean },
): number {
  if (value === undefined) return fallback;
  const max = range.max ?? (range.allowInfinity ? Number.POSITIVE_INFINITY : Number.MAX_SAFE_INTEGER);
  const ok =
    typeof value === "number" &&
    !Number.isNaN(value) &&
    value >= range.min &&
    value <= max &&
    (Number.isFinite(value) ? !range.integer || Number.isInteger(value) : range.allowInfinity === true);
  if (!ok) {
    const kind = range.integer ? "an integer" : "a number";
    const upper = range.max !== undefined ? ` and <= ${range.max}` : range.allowInfinity ? " (Infinity allowed)" : "";
    throw new TypeError(`${name} must be ${kind} >= ${range.min}${upper}, got ${describe(value)}`);
  }
  return value;
}

/** @internal */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) return String(value);
  if (typeof value === "function") return "a function";
  return Array.isArray(value) ? "an array" : typeof value;
}
