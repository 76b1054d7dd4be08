/**
 * The price table (`createMetrics({ prices })`): how a model name finds its price, how the options are refused, and
 * the billing rule that splits LangChain's usage into disjoint billed types.
 */
import { describe, expect, it } from "vitest";
import { createMetrics } from "../src/index.js";
import { billedTokens, llmCost } from "../src/observability/cost.js";
import { priceBook } from "../src/observability/prices.js";
import type { TokenUsage } from "../src/observability/runs/facts.js";

const usage = (u: Partial<TokenUsage>): TokenUsage => ({
  input: undefined,
  output: undefined,
  total: undefined,
  cacheRead: undefined,
  cacheCreation: undefined,
  reasoning: undefined,
  ...u,
});

describe("priceBook", () => {
  const a = { input: 1 };
  const b = { input: 2 };
  const c = { input: 3 };
  const d = { input: 4 };
  const book = priceBook({ "gpt-4o": a, "gpt-4o*": b, "gpt-4o-mini*": c, "/^claude-(opus|sonnet)-4/i": d });

  it("exact name, then the longest prefix, then the first regex", () => {
    expect(book.find("gpt-4o")).toEqual(a);
    expect(book.find("gpt-4o-2024-08-06")).toEqual(b);
    expect(book.find("gpt-4o-mini-2024-07-18")).toEqual(c);
    expect(book.find("Claude-Sonnet-4-5-20250929")).toEqual(d);
    expect(book.find("claude-haiku-4")).toBeUndefined();
    expect(book.find(undefined)).toBeUndefined();
  });

  it("a later edit of the caller's table changes nothing", () => {
    const table = { m: { input: 1 } };
    const own = priceBook(table);
    table.m.input = 100;
    expect(own.find("m")?.input).toBe(1);
  });
});

describe("createMetrics({ prices }) refuses bad tables naming the entry", () => {
  it.each([
    [{ "gpt-4o": { input: -1 } }, 'createMetrics(options).prices["gpt-4o"].input must be a number >= 0'],
    [{ "gpt-4o": { input: "2.5" } }, 'prices["gpt-4o"].input'],
    [{ "gpt-4o": { inptu: 2.5 } }, 'createMetrics(options).prices["gpt-4o"]: unknown option "inptu" (did you mean "input"?)'],
    [{ "gpt-4o": 2.5 }, 'prices["gpt-4o"] must be an options object'],
    [{ "/(/": { input: 1 } }, 'prices["/(/"]: the key must be'],
    [{ "": { input: 1 } }, 'prices[""]'],
    [[{ input: 1 }], "createMetrics(options).prices must be an object"],
  ])("%j", (prices, message) => {
    expect(() => createMetrics({ prices: prices as never })).toThrow(TypeError);
    expect(() => createMetrics({ prices: prices as never })).toThrow(message);
  });
});

describe("the billing rule", () => {
  it("cache reads and writes come out of input, reasoning out of output only with a reasoning rate", () => {
    const u = usage({ input: 1050, output: 81, cacheRead: 900, cacheCreation: 100, reasoning: 30 });
    expect(billedTokens(u, false)).toEqual({ input: 50, cached_input: 900, cache_write: 100, output: 81, reasoning: 0 });
    expect(billedTokens(u, true)).toEqual({ input: 50, cached_input: 900, cache_write: 100, output: 51, reasoning: 30 });
  });

  it("the billed types add up to input + output: no token counted twice or lost", () => {
    for (const u of [usage({ input: 10, output: 5 }), usage({ input: 1200, output: 300, cacheRead: 1000, reasoning: 200 })]) {
      for (const split of [false, true]) {
        const t = billedTokens(u, split);
        expect(t.input + t.cached_input + t.cache_write + t.output + t.reasoning).toBe((u.input ?? 0) + (u.output ?? 0));
      }
    }
  });

  it("a type with tokens and no rate is unpriced; a type with no tokens is neither", () => {
    const cost = llmCost(usage({ input: 500, output: 40, cacheRead: 300 }), { input: 0.1, output: 0.4 });
    expect(cost.usd).toEqual({ input: (200 * 0.1) / 1_000_000, output: (40 * 0.4) / 1_000_000 });
    expect(cost.unpriced).toEqual({ cached_input: 300 });
    expect(cost.unpricedTokens).toBe(300);
    expect(llmCost(usage({ input: 5, output: 1 }), undefined).unpriced).toEqual({ input: 5, output: 1 });
  });
});
