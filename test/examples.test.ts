/**
 * Every TypeScript example runs for real: as the command its README gives (node + tsx, from the repository), against
 * servers on 127.0.0.1 (the examples' own HTTP servers, OTLP/HTTP receivers, a throwaway PostgreSQL).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, createMetrics } from "../src/index.js";
import { buildApiAgent } from "../examples/http-api/agent.js";
import { type AgentApp, createAgentApp } from "../examples/http-api/app.js";
import { FakeChatModel } from "../examples/shared/fake-chat-model.js";
import { main as wrapExample } from "../examples/wrap-existing-graph/main.js";
import { main as createAgentExample } from "../examples/create-agent/main.js";
import { main as fleetRateLimitExample } from "../examples/fleet-rate-limit/main.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver.js";
import { type PostgresServer, startPostgres } from "./support/postgres.js";
import { promtool } from "./support/prometheus.js";
import { startRedis } from "./support/redis.js";

const root = resolve(import.meta.dirname, "..");

/** An example started as its README says (`npx tsx <file>`; node --import tsx is the same loader without npx). */
interface ExampleProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

function startExample(file: string, env: Record<string, string> = {}, args: string[] = []): ExampleProcess {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, file), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async line(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = out.split("\n").find((l) => pattern.test(l));
        if (found !== undefined) return found;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`${file}: no line matching ${pattern}; exit ${child.exitCode}\nstdout:\n${out}\nstderr:\n${err}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

async function runExample(file: string, env: Record<string, string> = {}, args: string[] = []) {
  const p = startExample(file, env, args);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

const silent = () => createLogger({ level: "silent" });

describe("examples/fleet-rate-limit", () => {
  it("meets 429s with a limiter per replica and none with one shared limiter", async () => {
    const result = await fleetRateLimitExample();
    expect(result.perReplica.provider429).toBeGreaterThan(0);
    expect(result.shared).toEqual({ answered: 24, provider429: 0 });
    expect(result.metricLines).toContain('langgraph_rate_limit_wait_seconds_count{limiter="provider-shared"} 24');
  }, 60_000);
});

describe("examples/create-agent", () => {
  it("answers through provider faults with the middleware and the wrapped model, the idempotent tool runs once", async () => {
    const result = await createAgentExample();
    expect(result.answers.createAgent).toBe("Here is the forecast: 18°C and clear in Paris");
    expect(result.answers.createReactAgent).toBe("Here is the forecast: 18°C and clear in Paris");
    // Two failed model calls + two answered ones; one failed + two answered.
    expect(result.providerCalls).toEqual({ createAgent: 4, createReactAgent: 3 });
    expect(result.lookups).toBe(1);
    expect(result.retryLines).toContain('langgraph_node_retries_total{graph="create-agent",node="model_request",reason="server_error"} 2');
    expect(result.retryLines).toContain('langgraph_node_retries_total{graph="react-agent",node="agent",reason="server_error"} 1');
  });
});

describe("examples/wrap-existing-graph", () => {
  it("wraps the call-model node, instruments the graph and serves its metrics", async () => {
    const { answers, scrape } = await wrapExample({ port: 0 });
    expect(answers).toEqual(["Here is the forecast: 18°C and clear in Paris", "Here is the forecast: 18°C and clear in Lisbon"]);
    expect(scrape).toContain('langgraph_graph_runs_total{graph="weather-agent",status="success"} 2');
    // The provider's one 503 was retried by the wrapper, inside a single successful node execution.
    expect(scrape).toContain('langgraph_node_retries_total{graph="weather-agent",node="agent",reason="server_error"} 1');
    expect(scrape).toContain('langgraph_node_executions_total{graph="weather-agent",node="agent",status="success"} 4');
    expect(scrape).toContain('langgraph_circuit_breaker_state{breaker="openai",state="closed"} 1');
    expect(scrape).toMatch(/gen_ai_client_token_usage_count\{[^}]*gen_ai_request_model="fake-gpt"[^}]*gen_ai_token_type="input"[^}]*\} 4/);
    const check = promtool(["check", "metrics"], scrape);
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it("runs as a command and prints the answers and the scraped series", async () => {
    const { code, stdout, stderr } = await runExample("examples/wrap-existing-graph/main.ts", { METRICS_PORT: "0" });
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(stdout).toContain("agent: Here is the forecast: 18°C and clear in Paris");
    expect(stdout).toMatch(/scraped http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(stdout).toContain('langgraph_node_retries_total{graph="weather-agent",node="agent",reason="server_error"} 1');
  });
});

/** Reads a server-sent-events body into its events. */
async function readSse(res: Response): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as Record<string, unknown>;
      return { event, data };
    });
}

describe("examples/http-api", () => {
  let server: Server;
  let base: string;
  let api: AgentApp;
  let providerDown = false;
  const metrics = createMetrics();

  beforeAll(async () => {
    const model = new FakeChatModel({
      latencyMs: 5,
      fail: () => (providerDown ? Object.assign(new Error("upstream overloaded"), { status: 503 }) : undefined),
    });
    const { graph, breaker } = buildApiAgent({
      model,
      metrics,
      logger: silent(),
      retries: 0,
      // Its own name: a live breaker named "openai" with the default settings may exist (wrap-existing-graph's).
      breaker: { name: "weather-provider", volumeThreshold: 2, resetTimeout: 600_000 },
    });
    api = createAgentApp({ graph, metrics, breakers: [breaker], logger: silent() });
    server = api.app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("POST /chat answers with JSON and keeps the conversation per thread", async () => {
    const post = (body: unknown) =>
      fetch(`${base}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const first = await post({ message: "What is the weather in Paris?", thread_id: "thread-1" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ thread_id: "thread-1", answer: "Here is the forecast: 18°C and clear in Paris" });
    const second = await post({ message: "Thanks!", thread_id: "thread-1" });
    expect(((await second.json()) as { answer: string }).answer).toBe("I can tell you the weather: ask me about a city.");
    const bad = await post({ message: "" });
    expect(bad.status).toBe(400);
  });

  it("GET /chat/stream streams the model's tokens as server-sent events", async () => {
    const res = await fetch(`${base}/chat/stream?${new URLSearchParams({ message: "What is the weather in Oslo?", mode: "messages" })}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(res);
    expect(events.at(-1)?.event).toBe("end");
    const tokens = events.filter((e) => e.event === "token");
    // The tool call, the tool's result, then the answer word by word.
    expect(tokens.some((e) => e.data.node === "agent" && Array.isArray(e.data.tool_calls))).toBe(true);
    expect(tokens.some((e) => e.data.node === "tools" && String(e.data.content).includes("Oslo"))).toBe(true);
    const answer = tokens.filter((e) => e.data.node === "agent" && typeof e.data.content === "string").map((e) => e.data.content);
    expect(answer.length).toBeGreaterThan(3);
    expect(answer.join("")).toBe("Here is the forecast: 18°C and clear in Oslo");
  });

  it("POST /chat/stream streams node updates", async () => {
    const res = await fetch(`${base}/chat/stream`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "And in Rome?", mode: "updates" }),
    });
    const events = await readSse(res);
    expect(events.map((e) => (e.event === "update" ? e.data.node : e.event))).toEqual(["agent", "tools", "agent", "end"]);
    const last = (events[2]?.data.messages as { content: string }[] | undefined)?.[0];
    expect(last?.content).toBe("Here is the forecast: 18°C and clear in Rome");
  });

  it("serves /metrics, /healthz and /readyz", async () => {
    const scrape = await (await fetch(`${base}/metrics`)).text();
    expect(scrape).toMatch(/^langgraph_graph_runs_total\{graph="weather-agent",status="success"\} 4$/m);
    expect(scrape).toMatch(/^langgraph_node_executions_total\{graph="weather-agent",node="tools",status="success"\} 3$/m);
    expect(promtool(["check", "metrics"], scrape).status).toBe(0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ready\n");
  });

  it("reports not ready while the provider's breaker is open, and answers 503 with Retry-After", async () => {
    providerDown = true;
    try {
      const post = () =>
        fetch(`${base}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "Hi" }) });
      // The breaker opens once failures are half the calls in its window (the earlier tests' successes count too).
      const statuses: number[] = [];
      let rejected: Response | undefined;
      while (rejected === undefined && statuses.length < 30) {
        const res = await post();
        statuses.push(res.status);
        if (res.status === 503) rejected = res;
      }
      expect(statuses.slice(0, -1).every((s) => s === 502)).toBe(true);
      expect(statuses.length).toBeGreaterThan(2);
      if (rejected === undefined) throw new Error(`the breaker never opened: ${statuses.join(", ")}`);
      expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThan(0);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toBe("not ready: circuit breaker open: weather-provider\n");
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const scrape = await (await fetch(`${base}/metrics`)).text();
      expect(scrape).toContain('langgraph_circuit_breaker_state{breaker="weather-provider",state="open"} 1');
    } finally {
      providerDown = false;
    }
  });

  // This agent's breaker is the live "openai" one (equal default settings): the same breaker, closed.
  it("POST /chat answers 409 to a second message on a thread whose run is still going", async () => {
    const slow = buildApiAgent({ model: new FakeChatModel({ latencyMs: 400 }), metrics: createMetrics(), logger: silent(), retries: 0 });
    const slowApi = createAgentApp({ graph: slow.graph, metrics, breakers: [], logger: silent() });
    const slowServer = slowApi.app.listen(0, "127.0.0.1");
    await new Promise((r) => slowServer.once("listening", r));
    const url = `http://127.0.0.1:${(slowServer.address() as AddressInfo).port}/chat`;
    const post = (message: string) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message, thread_id: "busy" }) });
    try {
      const first = post("What is the weather in Paris?");
      await new Promise((r) => setTimeout(r, 100));
      const second = await post("And in Oslo?");
      expect(second.status).toBe(409);
      expect(second.headers.get("retry-after")).toBe("1");
      expect((await first).status).toBe(200);
      // The thread is free again once the first run ended.
      expect((await post("Thanks!")).status).toBe(200);
    } finally {
      slowServer.closeAllConnections();
      await new Promise((r) => slowServer.close(r));
    }
  });

  it("a client that disconnects cancels its run", async () => {
    const slowMetrics = createMetrics();
    const { graph, breaker } = buildApiAgent({ model: new FakeChatModel({ latencyMs: 60_000 }), metrics: slowMetrics, logger: silent() });
    const slow = createAgentApp({ graph, metrics: slowMetrics, breakers: [breaker], logger: silent() });
    const slowServer = slow.app.listen(0, "127.0.0.1");
    await new Promise((r) => slowServer.once("listening", r));
    const url = `http://127.0.0.1:${(slowServer.address() as AddressInfo).port}`;
    const scrape = async () => (await fetch(`${url}/metrics`)).text();
    try {
      const client = new AbortController();
      const request = fetch(`${url}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "What is the weather in Paris?" }),
        signal: client.signal,
      });
      while (!/^langgraph_graph_runs_in_flight\{graph="weather-agent"\} 1$/m.test(await scrape()))
        await new Promise((r) => setTimeout(r, 20));
      expect(slow.inFlight.count).toBe(1);
      client.abort();
      await expect(request).rejects.toThrow();
      // The abort reached the model call: the run ends as cancelled long before the model's 60 s.
      for (;;) {
        const text = await scrape();
        if (/^langgraph_graph_runs_in_flight\{graph="weather-agent"\} 0$/m.test(text)) {
          expect(text).toMatch(/^langgraph_graph_runs_total\{graph="weather-agent",status="cancelled"\} 1$/m);
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await slow.inFlight.idle();
    } finally {
      slowServer.closeAllConnections();
      await new Promise((r) => slowServer.close(r));
    }
  });

  it("two replicas with REDIS_URL answer, read one fleet breaker state, and exit 0 on SIGTERM with their stores closed", async () => {
    const redis = await startRedis();
    const replicas = [0, 1].map(() =>
      startExample("examples/http-api/server.ts", { PORT: "0", FAKE_MODEL_LATENCY_MS: "20", REDIS_URL: redis.url }),
    );
    try {
      for (const app of replicas) {
        const port = (JSON.parse(await app.line(/"msg":"listening"/)) as { port: number }).port;
        const url = `http://127.0.0.1:${port}`;
        const res = await fetch(`${url}/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: "What is the weather in Paris?" }),
        });
        expect(res.status).toBe(200);
        const scrape = await (await fetch(`${url}/metrics`)).text();
        expect(scrape).toMatch(/^langgraph_circuit_breaker_fleet_state\{breaker="openai",state="closed"\} 1$/m);
        expect(scrape).not.toMatch(/^langgraph_resilience_store_errors_total\{/m);
      }
      for (const app of replicas) app.child.kill("SIGTERM");
      for (const app of replicas) expect(await app.exited).toBe(0);
    } finally {
      for (const app of replicas) app.child.kill("SIGKILL");
      await redis.stop();
    }
  }, 60_000);

  it("on SIGTERM stops accepting connections, finishes the run in flight, flushes its trace, then exits 0", async () => {
    const collector = await startOtlpReceiver();
    const app = startExample("examples/http-api/server.ts", {
      PORT: "0",
      FAKE_MODEL_LATENCY_MS: "700",
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
      // Nothing is exported on the batch schedule during the test: the spans can only arrive through the shutdown flush.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    });
    try {
      const port = (JSON.parse(await app.line(/"msg":"listening"/)) as { port: number }).port;
      const url = `http://127.0.0.1:${port}`;
      const inFlight = fetch(`${url}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "What is the weather in Paris?" }),
      });
      // Wait until the run is really under way inside the server.
      for (;;) {
        const scrape = await (await fetch(`${url}/metrics`)).text();
        if (/^langgraph_graph_runs_in_flight\{graph="weather-agent"\} 1$/m.test(scrape)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(collector.spans()).toEqual([]);
      app.child.kill("SIGTERM");
      const draining = JSON.parse(await app.line(/"msg":"draining"/)) as { in_flight: number };
      expect(draining.in_flight).toBe(1);
      // The listener is closed: a new connection is refused while the old request is still being served.
      const refused = await new Promise<string>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve("accepted");
        });
        socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
      expect(refused).toBe("ECONNREFUSED");
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { answer: string }).answer).toBe("Here is the forecast: 18°C and clear in Paris");
      expect(await app.exited).toBe(0);
      const lines = app
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { msg: string });
      expect(lines.at(-1)?.msg).toBe("stopped");
      expect(lines.findIndex((l) => l.msg === "graph run finished")).toBeGreaterThan(lines.findIndex((l) => l.msg === "draining"));
      // The run that finished while draining was exported before the process exited.
      const roots = collector.spans().filter((span) => span.name === "weather-agent" && span.parentSpanId === "");
      expect(roots.map((r) => r.attributes["langgraph.run.status"])).toEqual(["success"]);
      expect(roots[0]?.resource["service.name"]).toBe("weather-agent-api");
    } finally {
      if (app.child.exitCode === null) app.child.kill("SIGKILL");
      await collector.close();
    }
  });
});

describe("examples/otlp-langfuse", () => {
  let collector: OtlpReceiver;
  let langfuse: OtlpReceiver;
  beforeAll(async () => {
    collector = await startOtlpReceiver();
    langfuse = await startOtlpReceiver({ path: "/api/public/otel/v1/traces" });
  });
  afterAll(async () => {
    await collector.close();
    await langfuse.close();
  });

  /** The agent's trace: root → agent, tools, agent nodes → chat and tool spans under their nodes. */
  function expectAgentTrace(spans: ReceivedSpan[], city: string): void {
    const roots = spans.filter((s) => s.name === "weather-agent" && s.parentSpanId === "");
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    const trace = spans.filter((s) => s.traceId === root.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentName = (s: ReceivedSpan) => byId.get(s.parentSpanId)?.name;
    expect(trace.map((s) => s.name).sort()).toEqual([
      "agent",
      "agent",
      "chat fake-gpt",
      "chat fake-gpt",
      "execute_tool get_weather",
      "tools",
      "weather-agent",
    ]);
    for (const s of trace.filter((x) => x.name === "agent" || x.name === "tools")) expect(parentName(s)).toBe("weather-agent");
    for (const s of trace.filter((x) => x.name === "chat fake-gpt")) expect(parentName(s)).toBe("agent");
    expect(parentName(trace.find((s) => s.name === "execute_tool get_weather")!)).toBe("tools");
    expect(root.attributes["langfuse.observation.type"]).toBe("agent");
    expect(root.attributes["langfuse.user.id"]).toBe("user-42");
    expect(String(root.attributes["langfuse.session.id"])).toMatch(/^thread-\d+$/);
    expect(root.resource["service.name"]).toBe("weather-agent");
    const chat = trace.find((s) => s.name === "chat fake-gpt")!;
    expect(chat.attributes["gen_ai.request.model"]).toBe("fake-gpt");
    expect(chat.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    // Message content stays out of the spans unless turned on.
    expect(JSON.stringify(trace.map((s) => s.attributes))).not.toContain(city);
  }

  for (const [file, city] of [
    ["examples/otlp-langfuse/start-telemetry.ts", "Paris"],
    ["examples/otlp-langfuse/own-sdk.ts", "Lisbon"],
  ] as const) {
    it(`${file} sends the same trace to a collector and to Langfuse`, async () => {
      collector.requests.length = 0;
      langfuse.requests.length = 0;
      const { code, stdout, stderr } = await runExample(file, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
        LANGFUSE_BASE_URL: langfuse.origin,
        LANGFUSE_PUBLIC_KEY: "pk-lf-example",
        LANGFUSE_SECRET_KEY: "sk-lf-example",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "false",
      });
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toContain(`agent: Here is the forecast: 18°C and clear in ${city}`);
      // The process flushed before exiting: everything is here already.
      expectAgentTrace(collector.spans(), city);
      expectAgentTrace(langfuse.spans(), city);
      const headers = langfuse.requests[0]!.headers;
      expect(headers.authorization).toBe(`Basic ${Buffer.from("pk-lf-example:sk-lf-example").toString("base64")}`);
      expect(headers["x-langfuse-ingestion-version"]).toBe("4");
      expect(collector.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
      // The export outcomes the example prints come from langgraph_trace_export_spans_total.
      expect(stdout).toContain(`exported spans: otlp ${collector.spans().length} ok, 0 failed`);
      if (file.endsWith("start-telemetry.ts")) expect(stdout).toContain(`exported spans: langfuse ${langfuse.spans().length} ok, 0 failed`);
    });
  }
});

describe("examples/postgres-replicas", () => {
  let postgres: PostgresServer;
  let url: string;
  beforeAll(async () => {
    postgres = await startPostgres();
    url = await postgres.createDatabase("replicas");
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it("two replica processes share threads and side-effect records through PostgreSQL", async () => {
    const { code, stdout, stderr } = await runExample("examples/postgres-replicas/main.ts", { DATABASE_URL: url });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    // Both deliveries got the same hold; one carries the booking, the other ended as its duplicate.
    const holds = lines.filter((l) => l.startsWith("replica ")).slice(0, 2);
    expect(holds).toHaveLength(2);
    expect(new Set(holds.map((l) => /hold #(\d+)/.exec(l)?.[1])).size).toBe(1);
    expect(holds.filter((l) => l.endsWith("(carries the booking)"))).toHaveLength(1);
    expect(holds.filter((l) => /duplicate of booking-\d+-delivery-\d, ended\)$/.test(l))).toHaveLength(1);
    expect(stdout).toContain("seats held for the request: 1");
    const stoppedOn = /replica (\w) stopped at: Approve the payment\?/.exec(stdout)?.[1];
    const resumedOn = /replica (\w) resumed it: confirmed by replica (\w)/.exec(stdout);
    expect(stoppedOn).toBeDefined();
    expect(resumedOn?.[1]).toBe(resumedOn?.[2]);
    expect(resumedOn?.[1]).not.toBe(stoppedOn);
    expect(stdout).toContain("card authorizations: 1, captures: 1");

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
      // The application's side effects happened once each, whichever replica ran them.
      expect(await count("SELECT count(*) AS n FROM example_holds")).toBe(1);
      expect(await count("SELECT count(*) AS n FROM example_payments WHERE kind = 'authorize'")).toBe(1);
      expect(await count("SELECT count(*) AS n FROM example_payments WHERE kind = 'capture'")).toBe(1);
      // The authorization was made by the replica that ran the thread first, and replayed by the other one.
      const payer = (await client.query<{ replica: string }>("SELECT replica FROM example_payments WHERE kind = 'authorize'")).rows[0];
      expect(payer?.replica).toBe(stoppedOn);
      // The records live in the shared store's table, and the threads in the checkpointer's.
      expect(await count("SELECT count(*) AS n FROM langgraph_ops_idempotency WHERE value IS NOT NULL")).toBe(3);
      expect(await count("SELECT count(DISTINCT thread_id) AS n FROM checkpoints")).toBe(2);
    } finally {
      await client.end();
    }
  });
});
