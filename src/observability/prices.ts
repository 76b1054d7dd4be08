/**
 * Price tables: what `createMetrics({ prices })` accepts and how a model name finds its price. The kit ships no
 * prices of its own (providers change them and only the user knows their contract); a model without a price is
 * never costed at 0, its tokens count as unpriced.
 *
 * Keys are matched in this order: the exact model name; the longest `prefix*` key the name starts with (dated
 * names such as `gpt-4o-2024-08-06`); the first `/regex/flags` key that matches, in table order.
 */
import { type OptionSpec, rule } from "../core/options.js";

/** USD per million tokens of one model, by token type. A type left out is not priced: its tokens count as unpriced. */
export interface ModelPrice {
  /** Input tokens that were neither read from nor written to the prompt cache. */
  input?: number;
  /** Output tokens (reasoning tokens included, unless `reasoning` prices them apart). */
  output?: number;
  /** Input tokens read from the prompt cache (`input_token_details.cache_read`). */
  cached_input?: number;
  /** Input tokens written to the prompt cache (`input_token_details.cache_creation`). */
  cache_write?: number;
  /**
   * Reasoning tokens (`output_token_details.reasoning`), for providers that bill them apart from output. When absent
   * they stay part of `output` and are billed at the output price, as OpenAI and Anthropic bill them.
   */
  reasoning?: number;
}

/** USD per million tokens by model name: exact names, `prefix*` keys and `/regex/flags` keys. */
export type Prices = Readonly<Record<string, ModelPrice>>;

/** The token types a price gives, in the order costs are summed. */
export const PRICE_TOKEN_TYPES = ["input", "cached_input", "cache_write", "output", "reasoning"] as const;
/** A token type of a price. */
export type PriceTokenType = (typeof PRICE_TOKEN_TYPES)[number];

/** Highest accepted price, USD per million tokens: well above any list price, low enough to catch a unit mistake. */
const MAX_PRICE = 1_000_000;

/** @internal The accepted keys of {@link ModelPrice}. */
export const MODEL_PRICE_OPTIONS = {
  input: rule.number(0, MAX_PRICE),
  output: rule.number(0, MAX_PRICE),
  cached_input: rule.number(0, MAX_PRICE),
  cache_write: rule.number(0, MAX_PRICE),
  reasoning: rule.number(0, MAX_PRICE),
} as const satisfies OptionSpec<keyof ModelPrice>;

const REGEX_KEY = /^\/(.+)\/([a-z]*)$/s;

function regexOf(key: string): RegExp | undefined {
  const m = REGEX_KEY.exec(key);
  if (m === null) return undefined;
  return new RegExp(m[1] as string, m[2]);
}

function validKey(key: string): boolean {
  if (key === "" || key === "*") return false;
  if (!REGEX_KEY.test(key)) return true;
  try {
    regexOf(key);
    return true;
  } catch {
    return false;
  }
}

/** @internal The rule of `createMetrics({ prices })`. */
export const PRICES_RULE = rule.recordOf(
  rule.options(MODEL_PRICE_OPTIONS, { label: "a price ({ input?, output?, cached_input?, cache_write?, reasoning? })" }),
  {
    expected: 'a model name, a "prefix*" or a valid "/regex/flags"',
    test: validKey,
    bad: ["", "*", "/(/"],
  },
);

/** @internal A compiled price table. */
export interface PriceBook {
  /** The price of `model`, or undefined when no key matches. */
  find(model: string | undefined): ModelPrice | undefined;
}

/** Names looked up are cached up to this many (model names are few; the cap only bounds a pathological caller). */
const CACHE_LIMIT = 1_000;

/** @internal Compiles a price table (already validated) into its lookup. */
export function priceBook(prices: Prices | undefined): PriceBook {
  const exact = new Map<string, ModelPrice>();
  const prefixes: Array<[string, ModelPrice]> = [];
  const patterns: Array<[RegExp, ModelPrice]> = [];
  for (const [key, given] of Object.entries(prices ?? {})) {
    // A copy: editing the caller's table later does not change what is charged.
    const price: ModelPrice = { ...given };
    const re = regexOf(key);
    if (re !== undefined) patterns.push([re, price]);
    else if (key.endsWith("*")) prefixes.push([key.slice(0, -1), price]);
    else exact.set(key, price);
  }
  // Longest prefix first: `gpt-4o-mini*` wins over `gpt-4o*` for `gpt-4o-mini-2024-07-18`.
  prefixes.sort((a, b) => b[0].length - a[0].length);
  const cache = new Map<string, ModelPrice | null>();
  const lookup = (model: string): ModelPrice | undefined => {
    const own = exact.get(model);
    if (own !== undefined) return own;
    for (const [prefix, price] of prefixes) if (model.startsWith(prefix)) return price;
    for (const [re, price] of patterns) {
      re.lastIndex = 0;
      if (re.test(model)) return price;
    }
    return undefined;
  };
  return {
    find(model) {
      if (model === undefined || model === "") return undefined;
      const cached = cache.get(model);
      if (cached !== undefined) return cached ?? undefined;
      const price = lookup(model);
      if (cache.size < CACHE_LIMIT) cache.set(model, price ?? null);
      return price;
    },
  };
}

/** @internal The book of a table with no prices: every token is unpriced. */
export const NO_PRICES: PriceBook = priceBook(undefined);
