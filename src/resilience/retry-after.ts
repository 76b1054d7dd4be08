/**
 * Reads the delay a server asked for from an error's response headers: `retry-after-ms`, `Retry-After`
 * (seconds or an HTTP date) and the `x-ratelimit-reset-*` family (OpenAI's "1m30s" durations, plain seconds,
 * or an RFC 3339 time).
 */

type HeaderBag = Headers | Record<string, unknown>;

function isHeaders(value: unknown): value is Headers {
  return typeof value === "object" && value !== null && typeof (value as Headers).get === "function";
}

function headerBag(error: unknown): HeaderBag | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { headers?: unknown; response?: { headers?: unknown } };
  const bag = e.headers ?? e.response?.headers;
  return typeof bag === "object" && bag !== null ? (bag as HeaderBag) : undefined;
}

function read(bag: HeaderBag, name: string): string | undefined {
  if (isHeaders(bag)) return bag.get(name) ?? undefined;
  for (const key of Object.keys(bag)) {
    if (key.toLowerCase() === name) {
      const value = bag[key];
      if (Array.isArray(value)) return value.length > 0 ? String(value[0]) : undefined;
      return value === undefined || value === null ? undefined : String(value);
    }
  }
  return undefined;
}

/** @internal The value of header `name` (lower case) on an error's response headers, if any. */
export function headerOf(error: unknown, name: string): string | undefined {
  const bag = headerBag(error);
  return bag === undefined ? undefined : read(bag, name);
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "1m30s", "250ms", "2.5s", "20" (seconds) or a date; returns milliseconds from `now`, or undefined. */
export function parseResetDuration(value: string, now: number): number | undefined {
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) {
    let total = 0;
    for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
    return Math.round(total);
  }
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The delay in milliseconds the server asked for, or undefined when the error carries no such header.
 * `retry-after-ms` wins over `Retry-After`, which wins over the longest `x-ratelimit-reset-*`.
 */
export function retryAfterFromHeaders(error: unknown, now: number = Date.now()): number | undefined {
  const bag = headerBag(error);
  if (bag === undefined) return undefined;
  const ms = read(bag, "retry-after-ms");
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const retryAfter = read(bag, "retry-after");
  if (retryAfter !== undefined) {
    const trimmed = retryAfter.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
    const at = Date.parse(trimmed);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  let longest: number | undefined;
  for (const name of ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset"]) {
    const value = read(bag, name);
    const delay = value === undefined ? undefined : parseResetDuration(value, now);
    if (delay !== undefined && (longest === undefined || delay > longest)) longest = delay;
  }
  return longest;
}
