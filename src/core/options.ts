/**
 * The one option-validation rule of the kit. Every public options type has its accepted keys written once, as an
 * {@link OptionSpec} next to the type; {@link checkOptions} rejects unknown keys (with the nearest accepted key as a
 * hint), wrong types and out-of-range values with a `TypeError` in one format, `where.path must be …, got …`, at
 * construction or wrap time. The same specs drive the bad-input sweep of the tests, so a key cannot be validated
 * without being swept, or accepted without being listed.
 *
 * This module imports nothing of the kit: both the resilience wrappers and the observability side use it.
 */

/** Fields every rule may carry. */
interface RuleBase {
  /** The key must be present (not `undefined`). */
  readonly required?: boolean;
}

/** A number within a range. */
export interface NumberRule extends RuleBase {
  readonly kind: "number";
  readonly min: number;
  /** Default: `Number.MAX_SAFE_INTEGER` (or `Infinity` with `allowInfinity`). */
  readonly max?: number;
  readonly integer?: boolean;
  readonly allowInfinity?: boolean;
}

/** A string, optionally non-empty or one of a fixed set. */
export interface StringRule extends RuleBase {
  readonly kind: "string";
  readonly nonEmpty?: boolean;
  readonly oneOf?: readonly string[];
}

/** A boolean or a function. */
export interface SimpleRule extends RuleBase {
  readonly kind: "boolean" | "function";
}

/** An object exposing the named methods (a store, a clock, a logger). */
export interface MethodsRule extends RuleBase {
  readonly kind: "methods";
  /** What the value is, for messages: "an IdempotencyStore". */
  readonly label: string;
  readonly methods: readonly string[];
}

/** A nested options object with its own spec. */
export interface NestedRule extends RuleBase {
  readonly kind: "options";
  readonly spec: OptionSpec;
  /** What the object is, for messages when it is one of several shapes: "{ bearer }". Default "an options object". */
  readonly label?: string;
}

/** A value checked by a predicate (an instance of a class, a URL, an array of strings). */
export interface CheckRule extends RuleBase {
  readonly kind: "check";
  /** What is accepted, for messages: "an absolute http(s) URL". */
  readonly expected: string;
  readonly test: (value: unknown) => boolean;
  /** Values of the right JavaScript type that the predicate rejects, for the bad-input sweep. */
  readonly bad?: readonly unknown[];
}

/** Exactly one value (`false` in `otlp: OtlpOptions | false`, `true` in `idempotency: true | options`). */
export interface LiteralRule extends RuleBase {
  readonly kind: "literal";
  readonly value: boolean | string | number;
}

/** An array whose every item passes `of` (messages name the item: `fallback[1]`). */
export interface ArrayRule extends RuleBase {
  readonly kind: "array";
  readonly of: OptionRule;
}

/**
 * A plain object keyed by names the user chooses (models in a price table), every value passing `of` and every key
 * `key` (messages name the entry: `prices["gpt-4o"].input`).
 */
export interface RecordRule extends RuleBase {
  readonly kind: "record";
  readonly of: OptionRule;
  /** What a key must be, and its test; any string when absent. */
  readonly key?: { readonly expected: string; readonly test: (key: string) => boolean; readonly bad?: readonly string[] };
}

/** Any of several rules. */
export interface UnionRule extends RuleBase {
  readonly kind: "union";
  readonly of: readonly OptionRule[];
}

/** How one option is checked. */
export type OptionRule =
  | NumberRule
  | StringRule
  | SimpleRule
  | MethodsRule
  | NestedRule
  | CheckRule
  | LiteralRule
  | ArrayRule
  | RecordRule
  | UnionRule;

/** The accepted keys of one options type and how each value is checked. */
export type OptionSpec<K extends string = string> = { readonly [P in K]: OptionRule };

/** Rule builders: `{ retries: integer(0, 1000), jitter: oneOf("full", "none") }`. */
export const rule = {
  number: (min: number, max?: number, extra: { allowInfinity?: boolean; required?: boolean } = {}): NumberRule => ({
    kind: "number",
    min,
    ...(max === undefined ? {} : { max }),
    ...extra,
  }),
  integer: (min: number, max?: number, extra: { allowInfinity?: boolean; required?: boolean } = {}): NumberRule => ({
    kind: "number",
    min,
    ...(max === undefined ? {} : { max }),
    integer: true,
    ...extra,
  }),
  string: (extra: { nonEmpty?: boolean; required?: boolean } = {}): StringRule => ({ kind: "string", ...extra }),
  oneOf: (...values: string[]): StringRule => ({ kind: "string", oneOf: values }),
  boolean: (): SimpleRule => ({ kind: "boolean" }),
  function: (): SimpleRule => ({ kind: "function" }),
  methods: (label: string, ...methods: string[]): MethodsRule => ({ kind: "methods", label, methods }),
  options: (spec: OptionSpec, extra: { required?: boolean; label?: string } = {}): NestedRule => ({ kind: "options", spec, ...extra }),
  check: (expected: string, test: (value: unknown) => boolean, bad?: readonly unknown[]): CheckRule => ({
    kind: "check",
    expected,
    test,
    ...(bad === undefined ? {} : { bad }),
  }),
  literal: (value: boolean | string | number): LiteralRule => ({ kind: "literal", value }),
  arrayOf: (of: OptionRule): ArrayRule => ({ kind: "array", of }),
  recordOf: (of: OptionRule, key?: RecordRule["key"]): RecordRule => ({ kind: "record", of, ...(key === undefined ? {} : { key }) }),
  union: (...of: OptionRule[]): UnionRule => ({ kind: "union", of }),
  required: <R extends OptionRule>(r: R): R => ({ ...r, required: true }),
} as const;

/** An array of strings (tags, redaction paths, breaker names). */
export const stringArray: CheckRule = rule.check("an array of strings", (v) => Array.isArray(v) && v.every((x) => typeof x === "string"), [
  [1],
  [null],
  ["a", 2],
]);

/** A flat record of strings (HTTP headers). */
export const stringRecord: CheckRule = rule.check(
  "an object of string values",
  (v) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string"),
  [{ a: 1 }, ["x"]],
);

/** An absolute http(s) URL. */
export const httpUrl: CheckRule = rule.check(
  "an absolute http(s) URL",
  (v) => {
    if (typeof v !== "string") return false;
    try {
      const url = new URL(v);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch {
      return false;
    }
  },
  ["", "localhost:4318", "ftp://example.com/", "not a url"],
);

/** How a value is shown in a message: strings quoted, objects by kind, never their content. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) return String(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  if (isPlainObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value);
    return keys.length === 0
      ? "an empty object"
      : `an object with ${keys
          .slice(0, 5)
          .map((k) => k.slice(0, 40))
          .join(", ")}${keys.length > 5 ? ", …" : ""}`;
  }
  return typeof value;
}

/** What `rule` accepts, as the words after "must be". */
export function expected(r: OptionRule): string {
  switch (r.kind) {
    case "number": {
      const kind = r.integer ? "an integer" : "a number";
      const upper = r.max !== undefined ? ` and <= ${r.max}` : r.allowInfinity ? " (Infinity allowed)" : "";
      return `${kind} >= ${r.min}${upper}`;
    }
    case "string":
      if (r.oneOf !== undefined) return `one of ${r.oneOf.join(", ")}`;
      return r.nonEmpty ? "a non-empty string" : "a string";
    case "boolean":
      return "a boolean";
    case "function":
      return "a function";
    case "methods":
      return `${r.label} (an object with ${r.methods.join(", ")})`;
    case "options":
      return r.label ?? "an options object";
    case "check":
      return r.expected;
    case "literal":
      return JSON.stringify(r.value);
    case "array":
      return `an array, each item ${expected(r.of)}`;
    case "record":
      return `an object whose every value is ${expected(r.of)}`;
    case "union":
      return r.of.map(expected).join(" or ");
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numberOk(r: NumberRule, value: unknown): boolean {
  if (typeof value !== "number" || Number.isNaN(value)) return false;
  const max = r.max ?? (r.allowInfinity ? Number.POSITIVE_INFINITY : Number.MAX_SAFE_INTEGER);
  if (value < r.min || value > max) return false;
  return Number.isFinite(value) ? !r.integer || Number.isInteger(value) : r.allowInfinity === true;
}

/** Whether `value` passes `r` (no throw), for unions. */
function passes(r: OptionRule, value: unknown): boolean {
  try {
    checkValue(value, r, "");
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/** Throws a `TypeError` naming `path` unless `value` (present) satisfies `r`. */
export function checkValue(value: unknown, r: OptionRule, path: string): void {
  const fail = (): never => {
    throw new TypeError(`${path} must be ${expected(r)}, got ${describe(value)}`);
  };
  switch (r.kind) {
    case "number":
      if (!numberOk(r, value)) fail();
      return;
    case "string":
      if (typeof value !== "string") fail();
      if (r.nonEmpty && (value as string).trim() === "") fail();
      if (r.oneOf !== undefined && !r.oneOf.includes(value as string)) fail();
      return;
    case "boolean":
      if (typeof value !== "boolean") fail();
      return;
    case "function":
      if (typeof value !== "function") fail();
      return;
    case "methods": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) fail();
      const o = value as Record<string, unknown>;
      for (const m of r.methods) {
        if (typeof o[m] !== "function") throw new TypeError(`${path}.${m} must be a function, got ${describe(o[m])}`);
      }
      return;
    }
    case "options":
      checkOptions(value, r.spec, path);
      return;
    case "check":
      if (!r.test(value)) fail();
      return;
    case "literal":
      if (value !== r.value) fail();
      return;
    case "array":
      if (!Array.isArray(value)) fail();
      for (const [i, item] of (value as unknown[]).entries()) checkValue(item, r.of, `${path}[${i}]`);
      return;
    case "record":
      if (!isPlainObject(value)) fail();
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const at = `${path}[${JSON.stringify(key)}]`;
        if (r.key !== undefined && !r.key.test(key)) throw new TypeError(`${at}: the key must be ${r.key.expected}`);
        checkValue(item, r.of, at);
      }
      return;
    case "union": {
      if (r.of.some((alt) => passes(alt, value))) return;
      // An object that only one options shape can be meant as gets that shape's precise message.
      if (isPlainObject(value)) {
        const shapes = r.of.filter((alt): alt is NestedRule => alt.kind === "options");
        const keys = Object.keys(value);
        const fitting = shapes.filter((shape) => keys.every((k) => Object.hasOwn(shape.spec, k)));
        const meant = fitting.length === 1 ? fitting[0] : fitting.length === 0 && shapes.length === 1 ? shapes[0] : undefined;
        if (meant !== undefined) checkValue(value, meant, path);
      }
      fail();
    }
  }
}

/** Levenshtein distance, bounded to the short keys options have. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = row[j] as number;
      row[j] = Math.min(next + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = next;
    }
  }
  return row[b.length] as number;
}

/** The accepted key `key` was probably meant as, if one is close. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : distance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Throws on keys outside `known`: a typo must never silently disable a policy. */
export function assertKnownKeys(options: Record<string, unknown>, known: readonly string[], name: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = nearestKey(key, known);
      const hint = near === undefined ? "" : ` (did you mean "${near}"?)`;
      throw new TypeError(`${name}: unknown option "${key}"${hint}; accepted options are ${known.join(", ")}`);
    }
  }
}

/** Throws unless `value` is a plain options object. */
export function assertObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw new TypeError(`${name} must be an options object, got ${describe(value)}`);
}

/** Throws unless `value` is a function. */
export function assertFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

/**
 * Validates `options` against `spec`: a plain object (`undefined` counts as `{}`), no key outside the spec, every
 * present value valid, every required key present. Returns the object, typed as the caller's options type.
 * @param where names the options in messages: `"withRetry(options)"`
 */
export function checkOptions<T = Record<string, unknown>>(options: unknown, spec: OptionSpec, where: string): T {
  const o = options === undefined ? {} : options;
  assertObject(o, where);
  assertKnownKeys(o, Object.keys(spec), where);
  for (const [key, r] of Object.entries(spec)) {
    const value = o[key];
    if (value === undefined) {
      if (r.required) throw new TypeError(`${where}.${key} must be ${expected(r)}, got undefined (it is required)`);
      continue;
    }
    checkValue(value, r, `${where}.${key}`);
  }
  return o as T;
}

/**
 * Checks an optional number option against a range; returns it or the default. For options outside a spec
 * (positional arguments such as `withTimeout(node, ms)`).
 */
export function numberOption(
  value: unknown,
  name: string,
  fallback: number,
  range: { min: number; max?: number; integer?: boolean; allowInfinity?: boolean },
): number {
  if (value === undefined) return fallback;
  checkValue(value, { kind: "number", ...range }, name);
  return value as number;
}
