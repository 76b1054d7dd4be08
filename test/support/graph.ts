import { Annotation, MemorySaver, StateGraph } from "@langchain/langgraph";
import type { LangGraphRunnableConfig, RetryPolicy } from "@langchain/langgraph";
import type { Clock } from "../../src/index.js";

/** State of the one-node test graphs. */
export const TestState = Annotation.Root({
  requestId: Annotation<string>(),
  result: Annotation<string>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
export type TestStateType = typeof TestState.State;
export type TestNode = (state: TestStateType, config: LangGraphRunnableConfig) => Promise<Partial<TestStateType>>;

/** Compiles START → work → END with a MemorySaver. */
export function oneNodeGraph(node: TestNode, options: { retryPolicy?: RetryPolicy; checkpointer?: boolean } = {}) {
  const builder = new StateGraph(TestState)
    .addNode("work", node, options.retryPolicy ? { retryPolicy: options.retryPolicy } : {})
    .addEdge("__start__", "work")
    .addEdge("work", "__end__");
  return builder.compile(options.checkpointer === false ? {} : { checkpointer: new MemorySaver() });
}

/** A clock whose sleeps advance time at once and are recorded. */
export function fakeClock(start = 0): Clock & { sleeps: number[]; advance(ms: number): void } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    async sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** An error shaped like the HTTP errors of provider SDKs. */
export function httpError(status: number, headers: Record<string, string> = {}, message = `HTTP ${status}`): Error {
  return Object.assign(new Error(message), { status, headers });
}

let thread = 0;
/** A fresh thread config. */
export function threadConfig(extra: Record<string, unknown> = {}) {
  thread += 1;
  return { configurable: { thread_id: `t-${process.pid}-${thread}`, ...extra } };
}

/** State of the counting test graphs: one number every node adds to. */
export const CountState = Annotation.Root({ n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }) });
export type CountStateType = typeof CountState.State;

/** Compiles START → a → b → END, each node adding 1 to `n` (a graph to invoke from inside another graph's node). */
export function twoNodeCounter() {
  return new StateGraph(CountState)
    .addNode("a", (s: CountStateType) => ({ n: s.n + 1 }))
    .addNode("b", (s: CountStateType) => ({ n: s.n + 1 }))
    .addEdge("__start__", "a")
    .addEdge("a", "b")
    .addEdge("b", "__end__")
    .compile();
}
