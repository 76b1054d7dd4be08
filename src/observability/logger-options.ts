/**
 * Validation of `createLogger` options, destination included: a destination is checked (and a file opened) when the
 * logger is created, so a bad one fails there with a `TypeError` instead of crashing the process on its first write.
 */
import { fstatSync, openSync } from "node:fs";
import { type OptionSpec, rule, stringArray } from "../core/options.js";
import type { DestinationStream, Level, LoggerOptions } from "pino";
import type { MaskFn } from "./tracing/content.js";

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level. Default: `LOG_LEVEL`, else "info". */
  level?: Level | "silent";
  /** `name` field on every line. */
  name?: string;
  /** Extra redaction paths (pino syntax), added to `DEFAULT_REDACT_PATHS`. */
  redact?: string[];
  /** Replace the default redaction paths instead of extending them. */
  replaceDefaultRedact?: boolean;
  /** Fields on every line (e.g. `{ service: "support-agent" }`). */
  base?: Record<string, unknown>;
  /**
   * Where lines go: a stream, an open file descriptor (`2` for stderr) or a file path (appended, opened when the
   * logger is created). A string of digits only is refused: pass a number for a descriptor, `"./5"` for a file.
   * Default: stdout.
   */
  destination?: DestinationStream | number | string;
  /**
   * Add the error's message (`error_message`) to the kit's error lines, masked and capped at 4096 characters.
   * Default false: lines carry `error_type`, `error_reason`, `error_status` and `error_code` only, since provider and
   * tool errors can echo API keys, request bodies and tool arguments.
   */
  errorMessages?: boolean;
  /** Extra masking for `error_message`; runs after the default mask (`defaultMask`), never instead of it. */
  mask?: MaskFn;
  /** Any other pino option; wins over the ones above. */
  pino?: LoggerOptions;
}

/** Log levels `level` accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Largest file descriptor Node's fs calls accept. */
const MAX_FD = 2_147_483_647;

function isOpenFd(value: unknown): boolean {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_FD) return false;
  try {
    fstatSync(value);
    return true;
  } catch {
    return false;
  }
}

/** A file path; a string of digits only is refused as ambiguous (a file descriptor meant as a number?). */
function isFilePath(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "" && !/^\d+$/.test(value.trim()) && !value.includes("\u0000");
}

const isPlainObject = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);

/** @internal The accepted keys of {@link CreateLoggerOptions}: validation and the bad-input sweep read it. */
export const CREATE_LOGGER_OPTIONS = {
  level: rule.oneOf(...LOG_LEVELS),
  name: rule.string(),
  redact: stringArray,
  replaceDefaultRedact: rule.boolean(),
  base: rule.check("an object of fields, or null", (v) => v === null || isPlainObject(v), [[], "x"]),
  destination: rule.union(
    rule.methods("a pino DestinationStream", "write"),
    rule.check("an open file descriptor (an integer from 0 to 2147483647)", isOpenFd, [-1, 1.5, 2 ** 53, MAX_FD, Number.NaN]),
    rule.check('a file path (a string of digits is refused: pass a number for a descriptor, "./5" for a file)', isFilePath, [
      "",
      " ",
      "5",
      "/nonexistent-dir-lgops/x.log",
    ]),
  ),
  pino: rule.check("a pino options object", isPlainObject, [[]]),
  errorMessages: rule.boolean(),
  mask: rule.function(),
} as const satisfies OptionSpec<keyof CreateLoggerOptions>;

/** @internal Where lines go: `undefined` (stdout), a stream, or an open descriptor; a path is opened here (append). */
export function resolveDestination(
  destination: CreateLoggerOptions["destination"],
  where: string,
): Exclude<CreateLoggerOptions["destination"], string> {
  if (typeof destination !== "string") return destination;
  try {
    return openSync(destination, "a");
  } catch (error) {
    throw new TypeError(
      `${where}.destination must be a writable file path, got ${JSON.stringify(destination)} (${(error as Error).message})`,
    );
  }
}
