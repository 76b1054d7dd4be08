/**
 * `npm run demo`: a support agent with injected faults, instrumented end to end. No API key, no external service.
 *
 *   npm run demo -- --duration 30 --rate 10 --faults mixed --port 9464
 *
 * Serves /metrics on 127.0.0.1, writes pino logs, prints a compact span tree (or exports to OTLP / Langfuse when
 * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT or LANGFUSE_PUBLIC_KEY are set), and ends with a summary table.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Command, MemorySaver } from "@langchain/langgraph";
import { SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import pino from "pino";
import { createCircuitBreaker, createLogger, createMetrics, instrument, instrumentCheckpointer, serveMetrics } from "../../src/index.js";
import { startTelemetry } from "../../src/integrations/otel.js";
import { buildSupportAgent } from "./agent.js";
import { SupportChatModel } from "./fake-model.js";
import { FaultInjector, type FaultProfile } from "./faults.js";
import { SpanTreeExporter } from "./span-tree.js";
import { type LoopCounts, summary } from "./summary.js";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "20" },
    rate: { type: "string", default: "8" },
    concurrency: { type: "string", default: "16" },
    faults: { type: "string", default: "mixed" },
    port: { type: "string", default: "9464" },
    host: { type: "string", default: "127.0.0.1" },
    logs: { type: "string", default: join(tmpdir(), "langgraph-ops-demo.log") },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(
    "npm run demo -- [--duration SECONDS] [--rate RUNS_PER_SECOND] [--concurrency N] [--faults mixed|outage|none] [--port 9464] [--logs FILE|stdout]",
  );
  process.exit(0);
}
const durationMs = Number(flags.duration) * 1000;
const rate = Number(flags.rate);
const concurrency = Number(flags.concurrency);
const profile = flags.faults as FaultProfile;
if (!(durationMs > 0) || !(rate > 0) || !(concurrency > 0) || !["mixed", "outage", "none"].includes(profile)) {
  console.error("invalid flags; see --help");
  process.exit(2);
}

const exportsElsewhere = Boolean(
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.LANGFUSE_PUBLIC_KEY,
);
const telemetry = startTelemetry({
  serviceName: "langgraph-ops-demo",
  spanProcessors: exportsElsewhere ? [] : [new SimpleSpanProcessor(new SpanTreeExporter((tree) => console.log(`\n${tree}`)))],
});

const logger = createLogger({
  name: "support-agent",
  destination: flags.logs === "stdout" ? pino.destination(1) : pino.destination({ dest: flags.logs, sync: false, mkdir: true }),
});
// EXAMPLE prices (USD per million tokens) for the demo's made-up models, as of 2026-12; not any provider's list
// prices. Supply your own: the kit ships none. "support-gpt-nano" is left out on purpose, so the demo shows
// unpriced tokens too.
const metrics = createMetrics({
  prices: { "support-gpt-mini*": { input: 0.4, cached_input: 0.1, output: 1.6 } },
});
const server = await serveMetrics(metrics, { port: Number(flags.port), host: flags.host });

const faults = new FaultInjector(profile, durationMs);
const payments = new Map<string, number>();
// A 2 s rolling window, so the error rate seen during the outage is the outage's own and not diluted by the healthy
// traffic before it: the breaker opens within the outage even on a slow, busy machine.
const llmBreaker = createCircuitBreaker({
  name: "llm-provider",
  volumeThreshold: 8,
  errorThresholdPercentage: 50,
  rollingCountTimeout: 2000,
  rollingCountBuckets: 4,
  resetTimeout: 3000,
});
const graph = instrument(
  buildSupportAgent({
    model: new SupportChatModel(faults),
    answerModel: new SupportChatModel(faults, Math.random, "support-gpt-nano"),
    llmBreaker,
    paymentFaults: new FaultInjector(profile === "none" ? "none" : "mixed", durationMs),
    checkpointer: instrumentCheckpointer(new MemorySaver(), { metrics }),
    payments,
  }),
  { metrics, tracing: true, logger, name: "support-agent" },
);

const QUESTIONS = [
  "Where is my order 1042?",
  "How do I reset my password?",
  "Order 7781 has not arrived, can you check?",
  "I want a refund for order 5520 ($40)",
  "Please refund order 9001 ($250), it arrived broken",
];

console.log(`langgraph-ops demo: ${flags.duration}s at ${rate} runs/s, faults "${profile}"`);
console.log(`metrics: ${server.url}   health: ${server.url.replace(/\/metrics$/, "/healthz")}   logs: ${flags.logs}`);
console.log(
  exportsElsewhere ? "traces: exported to the configured OTLP endpoint / Langfuse" : "traces: a span tree per outcome is printed below",
);

const counts: LoopCounts = { started: 0, success: 0, error: 0, interrupted: 0, resumed: 0, cancelled: 0, durationsMs: [] };
const inFlight = new Set<Promise<void>>();
let stopping = false;

async function oneRun(n: number): Promise<void> {
  const config = { configurable: { thread_id: `demo-${process.pid}-${n}` } };
  const controller = new AbortController();
  // One run in 50 is abandoned by its caller after 100 ms.
  const cancelTimer = n % 50 === 49 ? setTimeout(() => controller.abort(new Error("client went away")), 100) : undefined;
  const started = performance.now();
  counts.started += 1;
  try {
    const question = QUESTIONS[n % QUESTIONS.length] as string;
    const input = { messages: [{ role: "user", content: question }] };
    let interrupted = false;
    if (n % 2 === 1) {
      // Every other run streams its tokens, as a chat UI would: the model streams, and time to first token is measured.
      const stream = await graph.stream(input, { ...config, signal: controller.signal, streamMode: ["messages", "updates"] });
      for await (const [mode, chunk] of stream as AsyncIterable<[string, Record<string, unknown>]>) {
        if (mode === "updates" && "__interrupt__" in chunk) interrupted = true;
      }
    } else {
      const out = (await graph.invoke(input, { ...config, signal: controller.signal })) as Record<string, unknown>;
      interrupted = Array.isArray(out.__interrupt__) && out.__interrupt__.length > 0;
    }
    if (interrupted) {
      counts.interrupted += 1;
      await graph.invoke(new Command({ resume: "approve" }), config);
      counts.resumed += 1;
    }
    counts.success += 1;
  } catch {
    if (controller.signal.aborted) counts.cancelled += 1;
    else counts.error += 1;
  } finally {
    clearTimeout(cancelTimer);
    counts.durationsMs.push(performance.now() - started);
  }
}

function progress(elapsedMs: number): void {
  const line = `[${String(Math.round(elapsedMs / 1000)).padStart(3)}s] runs ${counts.started}  ok ${counts.success}  failed ${counts.error}  interrupted ${counts.interrupted}  cancelled ${counts.cancelled}  in flight ${inFlight.size}  breaker ${llmBreaker.state}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(110)}`);
  else console.error(line);
}

const startedAt = performance.now();
let n = 0;
const shutdown = (): void => {
  if (!stopping) console.error("\nstopping: draining in-flight runs…");
  stopping = true;
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);

let lastProgress = 0;
while (!stopping && performance.now() - startedAt < durationMs) {
  if (inFlight.size < concurrency) {
    const run = oneRun(n).finally(() => inFlight.delete(run));
    inFlight.add(run);
    n += 1;
  }
  const elapsed = performance.now() - startedAt;
  if (elapsed - lastProgress >= (process.stderr.isTTY ? 500 : 5000)) {
    progress(elapsed);
    lastProgress = elapsed;
  }
  await new Promise((r) => setTimeout(r, 1000 / rate));
}
await Promise.allSettled([...inFlight]);
progress(performance.now() - startedAt);
if (process.stderr.isTTY) process.stderr.write("\n");

console.log(await summary(counts, metrics, payments));
console.log(`\n/metrics served ${server.url} during the run; logs in ${flags.logs}`);

await server.close();
llmBreaker.shutdown();
metrics.close();
await telemetry.shutdown();
logger.flush();
