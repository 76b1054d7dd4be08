/**
 * Bad inputs generated from an option spec (src/core/options.ts): for every key, values of the wrong type, out of
 * range, near-miss strings, and misspellings of the key itself; nested options objects recursively. Nothing here
 * lists an option by hand: adding a key to a spec adds its probes.
 */
import type { OptionRule, OptionSpec } from "../../src/core/options.js";

/** One options object to try. */
export interface Probe {
  /** `typo` probes carry a misspelt or unknown key: they must be refused. */
  kind: "value" | "typo";
  /** Dotted path of the probed key, e.g. `otlp.url`. */
  path: string;
  /** A short description for failure messages. */
  label: string;
  options: Record<string, unknown>;
}

const noop = () => undefined;

/** A value that passes `rule`, when one can be made without a fixture (used for required keys and typo values). */
export function validValue(r: OptionRule): unknown {
  switch (r.kind) {
    case "number":
      return r.integer ? Math.max(r.min, Math.min(r.max ?? r.min + 1, Math.ceil(r.min) + 1)) : r.min;
    case "string":
      return r.oneOf?.[0] ?? "x";
    case "boolean":
      return true;
    case "function":
      return noop;
    case "methods":
      return Object.fromEntries(r.methods.map((m) => [m, noop]));
    case "options":
      return requiredOf(r.spec);
    case "literal":
      return r.value;
    case "array":
      return [];
    case "record":
      return {};
    case "union":
      for (const alt of r.of) {
        const v = validValue(alt);
        if (v !== undefined) return v;
      }
      return undefined;
    case "check":
      return undefined;
  }
}

/** The smallest valid options object for `spec`: its required keys with generated values. */
export function requiredOf(spec: OptionSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, r] of Object.entries(spec)) if (r.required) out[key] = validValue(r);
  return out;
}

/** Values `rule` should refuse (or, for predicates and unions, may accept: then they must work). */
export function badValues(r: OptionRule): unknown[] {
  const common: unknown[] = [null, Symbol("s"), 1n];
  switch (r.kind) {
    case "number": {
      const out: unknown[] = [...common, "1", String(r.min), true, {}, [], Number.NaN, Number.NEGATIVE_INFINITY];
      if (Number.isFinite(r.min)) out.push(r.min - 1, r.min - 0.001);
      if (r.max !== undefined) out.push(r.max + 1, r.max * 2 + 1);
      if (!r.allowInfinity) out.push(Number.POSITIVE_INFINITY, 2 ** 53);
      if (r.integer) out.push(r.min + 0.5);
      return out;
    }
    case "string": {
      const out: unknown[] = [...common, 1, true, {}, ["x"]];
      if (r.nonEmpty) out.push("", "   ");
      if (r.oneOf !== undefined) {
        const first = r.oneOf[0] ?? "";
        out.push("", "nope", first.toUpperCase(), ` ${first}`, `${first}s`);
      }
      return out;
    }
    case "boolean":
      return [...common, "true", "false", 1, 0, {}];
    case "function":
      return [...common, "fn", 1, {}, true];
    case "methods":
      return [...common, 1, true, {}, [], Object.fromEntries(r.methods.map((m) => [m, 1]))];
    case "options":
      return [...common, "x", 1, true, []];
    case "literal":
      return [...common, !r.value, String(r.value), 0];
    case "check":
      return [...common, 1, true, {}, ...(r.bad ?? [])];
    case "array":
      // Not an array, and arrays holding one bad item (each must be refused by its index).
      return [...common, 1, "x", true, {}, ...badValues(r.of).map((item) => [item])];
    case "record":
      // Not an object, entries holding one bad value, and keys the rule refuses.
      return [
        ...common,
        1,
        "x",
        true,
        [],
        ...badValues(r.of).map((item) => ({ entry: item })),
        ...(r.key?.bad ?? []).map((key) => ({ [key]: validValue(r.of) ?? {} })),
      ];
    case "union": {
      // A value refused by one alternative may be another's: every alternative's probes, once each.
      const seen = new Set<unknown>();
      const out: unknown[] = [];
      for (const alt of r.of) {
        for (const v of badValues(alt)) {
          const id = typeof v === "object" && v !== null ? JSON.stringify(v) : v;
          if (!seen.has(id)) {
            seen.add(id);
            out.push(v);
          }
        }
      }
      return out;
    }
  }
}

/** Near-miss spellings of `key` that are not themselves accepted keys: case, a dropped, doubled or swapped letter. */
export function typosOf(key: string, accepted: readonly string[]): string[] {
  const out = new Set<string>([key.toLowerCase(), key.toUpperCase(), `${key}s`, `${key.slice(0, -1)}`, `_${key}`]);
  const upperFirst = key.charAt(0).toUpperCase() + key.slice(1);
  out.add(upperFirst);
  if (key.length > 3) {
    const mid = Math.floor(key.length / 2);
    out.add(key.slice(0, mid) + key.charAt(mid + 1) + key.charAt(mid) + key.slice(mid + 2));
    out.add(key.slice(0, mid) + key.charAt(mid) + key.slice(mid));
  }
  return [...out].filter((t) => t !== "" && !accepted.includes(t));
}

/** The nested options shapes a rule admits (an options rule, or the options alternatives of a union). */
function shapes(r: OptionRule): OptionSpec[] {
  if (r.kind === "options") return [r.spec];
  if (r.kind === "record") return [];
  if (r.kind === "union") return r.of.flatMap(shapes);
  return [];
}

/**
 * Every probe for `spec`, each merged into `base` (the valid options the entry point needs, e.g. a breaker name).
 * @param base valid options; nested probes start from `base[key]` when it is an object, else from the shape's required keys
 */
export function probes(spec: OptionSpec, base: Record<string, unknown> = {}, prefix = ""): Probe[] {
  const out: Probe[] = [];
  const keys = Object.keys(spec);
  for (const [key, r] of Object.entries(spec)) {
    const path = `${prefix}${key}`;
    if (r.required) {
      const { [key]: _missing, ...without } = base;
      out.push({ kind: "value", path, label: `${path} missing`, options: without });
    }
    for (const value of badValues(r)) {
      out.push({ kind: "value", path, label: `${path} = ${show(value)}`, options: { ...base, [key]: value } });
    }
    for (const typo of typosOf(key, keys)) {
      const { [key]: _dropped, ...rest } = base;
      const value = base[key] ?? validValue(r) ?? 1;
      out.push({ kind: "typo", path: `${prefix}${typo}`, label: `${prefix}${typo} (for ${path})`, options: { ...rest, [typo]: value } });
    }
    // A record of options objects (a price table): the inner shape's probes, under one entry.
    if (r.kind === "record" && r.of.kind === "options") {
      for (const p of probes(r.of.spec, requiredOf(r.of.spec), `${path}.`))
        out.push({ ...p, options: { ...base, [key]: { entry: p.options } } });
    }
    for (const shape of shapes(r)) {
      const inner = typeof base[key] === "object" && base[key] !== null ? (base[key] as Record<string, unknown>) : requiredOf(shape);
      for (const p of probes(shape, inner, `${path}.`)) out.push({ ...p, options: { ...base, [key]: p.options } });
    }
  }
  out.push({ kind: "typo", path: `${prefix}__unknown`, label: `${prefix}__unknown`, options: { ...base, __unknown: 1 } });
  return out;
}

function show(value: unknown): string {
  if (typeof value === "symbol") return "Symbol()";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "fn";
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 60);
  } catch {
    return String(value);
  }
}
