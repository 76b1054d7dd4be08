/**
 * Happy-path cost of one node call through the resilience wrappers, against the bare function and the peers:
 * cockatiel's wrap(retry, circuitBreaker, timeout), opossum's fire alone and p-retry alone.
 * Run: npm run bench:resilience
 */
import { ConsecutiveBreaker, ExponentialBackoff, TimeoutStrategy, circuitBreaker, handleAll, retry, timeout, wrap } from "cockatiel";
import OpossumBreaker from "opossum";
import pRetry from "p-retry";
import { resilient, withCircuitBreaker, withRetry, withTimeout } from "../src/index.js";
import { machine, measure, table, writeResults } from "./support.js";

type State = { n: number };
const state: State = { n: 1 };
const config = { metadata: { langgraph_node: "call_model" } };
const node = async (s: State, _c: unknown) => ({ n: s.n + 1 });

const kit = resilient(node, { timeout: 30_000, retry: { retries: 3 }, circuitBreaker: { name: "bench" } });
const kitRetry = withRetry(node, { retries: 3 });
const kitTimeout = withTimeout(node, 30_000);
const kitBreaker = withCircuitBreaker(node, { name: "bench-breaker-only" });

const cockatielPolicy = wrap(
  retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
  circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
  timeout(30_000, TimeoutStrategy.Cooperative),
);
const opossum = new OpossumBreaker(node, { timeout: false });

const rows = await measure([
  { name: "bare function", run: () => node(state, config) },
  { name: "langgraph-ops resilient({ timeout, retry, circuitBreaker })", run: () => kit(state, config) },
  { name: "langgraph-ops withRetry", run: () => kitRetry(state, config) },
  { name: "langgraph-ops withTimeout", run: () => kitTimeout(state, config) },
  { name: "langgraph-ops withCircuitBreaker", run: () => kitBreaker(state, config) },
  { name: "opossum fire (timeout off)", run: () => opossum.fire(state, config) },
  { name: "p-retry", run: () => pRetry(() => node(state, config), { retries: 3 }) },
  { name: "cockatiel wrap(retry, circuitBreaker, timeout)", run: () => cockatielPolicy.execute(() => node(state, config)) },
]);

const report = `## Resilience wrappers: happy-path cost per call

Command: \`npm run bench:resilience\` · ${machine()} · ${new Date().toISOString().slice(0, 10)}

${table(rows, "bare function")}

"overhead" is the mean cost per call above the bare async function (1,000 sequential awaited calls per sample).
`;
console.log(report);
writeResults("bench/results/resilience.md", report);
opossum.shutdown();
