/**
 * instrument() warns once per node when a chat model that retries on its own (the real ChatOpenAI / ChatAnthropic)
 * runs inside a node the kit retries.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { instrument, resilient } from "../src/index.js";
import { modelRetries, NESTED_RETRIES_WARNING_CODE } from "../src/observability/nested-retries.js";
import { type FakeProvider, startFakeProvider } from "./support/fake-provider.js";
import { fakeClock, oneNodeGraph, type TestNode, threadConfig } from "./support/graph.js";
import { chatAnthropic, chatOpenAI } from "./support/provider-clients.js";

let provider: FakeProvider;
const warnings: string[] = [];
const onWarning = (w: Error & { code?: string }) => {
  if (w.code === NESTED_RETRIES_WARNING_CODE) warnings.push(w.message);
};
beforeAll(async () => {
  provider = await startFakeProvider();
  process.on("warning", onWarning);
});
afterAll(async () => {
  process.off("warning", onWarning);
  await provider.close();
});
beforeEach(() => {
  provider.clear();
  warnings.length = 0;
});

/** Lets process warnings (emitted on the next tick) arrive. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("modelRetries", () => {
  it("reads the real clients' serialized maxRetries and LangChain's default", () => {
    expect(modelRetries(chatOpenAI(provider).toJSON())).toBe(6);
    expect(modelRetries(chatAnthropic(provider).toJSON())).toBe(6);
    expect(modelRetries(chatOpenAI(provider, { maxRetries: 0 }).toJSON())).toBe(0);
    expect(modelRetries(chatAnthropic(provider, { maxRetries: 2 }).toJSON())).toBe(2);
    expect(modelRetries({ lc: 1, type: "constructor", id: ["tests", "ScriptedChatModel"], kwargs: {} })).toBeUndefined();
    expect(modelRetries(undefined)).toBeUndefined();
  });
});

describe("nested retry warning", () => {
  const run = async (
    graphName: string,
    model: ReturnType<typeof chatOpenAI> | ReturnType<typeof chatAnthropic>,
    ownRetries: number,
    times: number,
  ) => {
    const call: TestNode = async (_s, config) => ({ result: String((await model.invoke("hi", { signal: config.signal })).content) });
    const graph = instrument(oneNodeGraph(resilient(call, { retry: { retries: 1, clock: fakeClock() } })), { name: graphName });
    for (let i = 0; i < times; i += 1) {
      // The first attempt fails (after the model's own retries), so the kit retries; the retry's model call is where
      // the warning comes from. Then the provider answers.
      for (let n = 0; n <= ownRetries; n += 1) provider.enqueue({ fault: "server_error", status: 503 });
      await graph.invoke({ requestId: `r${i}` }, threadConfig());
    }
    await settle();
  };

  it("warns once per node for a model with its own retries, naming the node and the count", async () => {
    // maxRetries 1 so its one backoff sleep (1-2 s) stays short.
    await run("nested-openai", chatOpenAI(provider, { maxRetries: 1 }), 1, 2);
    expect(provider.count()).toBe(6);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('node "work" of graph "nested-openai"');
    expect(warnings[0]).toContain("maxRetries 1");
  });

  it("stays quiet when the model's retries are off", async () => {
    await run("nested-off", chatAnthropic(provider, { maxRetries: 0 }), 0, 1);
    expect(provider.count()).toBe(2);
    expect(warnings).toEqual([]);
  });
});
