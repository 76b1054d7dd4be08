/**
 * `@langfuse/otel` is an optional peer, needed only when traces go to Langfuse: it is loaded on first use, so
 * `langgraph-ops/otel` works for OTLP alone without it installed.
 */
import { createRequire } from "node:module";
import type * as LangfuseOtel from "@langfuse/otel";

let loaded: typeof LangfuseOtel | undefined;

/** The `@langfuse/otel` module; an Error naming the install command when it is not installed. */
export function langfuseOtel(): typeof LangfuseOtel {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)("@langfuse/otel") as typeof LangfuseOtel;
  } catch (error) {
    throw new Error('langgraph-ops/otel: exporting to Langfuse needs the optional peer "@langfuse/otel" (npm install @langfuse/otel)', {
      cause: error,
    });
  }
  return loaded;
}
