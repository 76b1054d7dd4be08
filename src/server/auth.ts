/**
 * `Authorization` checks of the metrics server. The scheme is matched case-insensitively (RFC 9110 §11.1: `bearer`,
 * `BASIC` and `Bearer` are the same scheme); the credentials are compared exactly, in constant time.
 */
import { timingSafeEqual } from "node:crypto";
import { assertObject } from "../resilience/options.js";

/** Credentials the scrape must present on the metrics path. */
export type MetricsAuth = { bearer: string } | { basic: { username: string; password: string } };

/** A resolved check: whether an `Authorization` header value grants access, and the challenge to send when not. */
export interface AuthCheck {
  authorized(header: string | undefined): boolean;
  readonly challenge: string;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Splits `Scheme credentials` (one or more spaces or tabs between them); undefined when malformed. */
export function parseAuthorization(header: string | undefined): { scheme: string; credentials: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]+(\S+)[ \t]*$/.exec(header);
  if (match === null) return undefined;
  return { scheme: (match[1] as string).toLowerCase(), credentials: match[2] as string };
}

/** @internal Validates `auth` and returns its check, or undefined when no auth is asked for. */
export function resolveAuth(auth: unknown, where: string): AuthCheck | undefined {
  if (auth === undefined) return undefined;
  assertObject(auth, where);
  let scheme: string;
  let expected: string;
  if (typeof auth.bearer === "string" && auth.bearer !== "" && !("basic" in auth)) {
    scheme = "bearer";
    expected = auth.bearer;
  } else {
    const basic = auth.basic as { username?: unknown; password?: unknown } | undefined;
    if (
      "bearer" in auth ||
      typeof basic !== "object" ||
      basic === null ||
      typeof basic.username !== "string" ||
      typeof basic.password !== "string"
    ) {
      throw new TypeError(`${where} must be { bearer: string } or { basic: { username, password } }`);
    }
    scheme = "basic";
    expected = Buffer.from(`${basic.username}:${basic.password}`).toString("base64");
  }
  return {
    challenge: scheme === "basic" ? 'Basic realm="metrics"' : "Bearer",
    authorized(header) {
      const parsed = parseAuthorization(header);
      return parsed !== undefined && parsed.scheme === scheme && safeEqual(parsed.credentials, expected);
    },
  };
}
