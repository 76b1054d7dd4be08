import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { MemorySaver } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import express from "express";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createCircuitBreaker } from "../src/resilience/circuit-breaker.js";
import { instrumentCheckpointer } from "../src/observability/checkpointer.js";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { type MetricsServer, serveMetrics } from "../src/server/serve.js";
import { ScriptedChatModel } from "./metrics-fixtures.js";
import { promtool } from "./support/prometheus.js";
import { freePort } from "./support/ports.js";

const metrics = createMetrics();
const servers: Array<{ close(): Promise<void> | void }> = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  metrics.close();
});

/** Exercises every family of series so the scrape has something in each. */
async function exercise(): Promise<void> {
  const failing = tool(
    async () => {
      throw new Error("down");
    },
    { name: "lookup", description: "d", schema: z.object({}) },
  );
  const model = new ScriptedChatModel([{ toolCalls: [{ name: "lookup", args: {} }] }, { content: "done" }]);
  const checkpointer = instrumentCheckpointer(new MemorySaver(), { metrics });
  const agent = instrument(createReactAgent({ llm: model, tools: [failing], checkpointer }), { metrics, name: "scrape-agent" });
  await agent.invoke({ messages: [new HumanMessage("hi")] }, { configurable: { thread_id: "s1" } });
  const breaker = createCircuitBreaker({ name: "scrape-dep" });
  servers.push({ close: () => breaker.shutdown() });
}

describe("serveMetrics", () => {
  let server: MetricsServer;
  let ready = true;
  beforeAll(async () => {
    await exercise();
    server = await serveMetrics(metrics, { port: 0, readiness: { check: () => ready } });
    servers.push(server);
  });

  it("binds 127.0.0.1 and serves the exposition on /metrics", async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(metrics.contentType);
    const body = await res.text();
    expect(body).toContain('langgraph_graph_runs_total{graph="scrape-agent",status="success"} 1');
    expect(body).toContain('langgraph_checkpoint_operation_duration_seconds_count{saver="MemorySaver",operation="put",status="success"}');
  });

  it("a real scrape passes promtool check metrics", async () => {
    const body = await (await fetch(server.url)).text();
    for (const family of [
      "langgraph_graph_runs_total",
      "langgraph_node_executions_total",
      "langgraph_tool_calls_total",
      "langgraph_circuit_breaker_state",
      "langgraph_checkpoint_size_bytes",
      "gen_ai_client_operation_duration_seconds",
      "gen_ai_client_token_usage",
    ]) {
      expect(body).toMatch(new RegExp(`^${family}`, "m"));
    }
    const result = promtool(["check", "metrics"], body);
    expect(result.stderr + result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it("HEAD answers without a body; other methods get 405; unknown paths 404", async () => {
    const head = await fetch(server.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await fetch(server.url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(server.url.replace("/metrics", "/nope"))).status).toBe(404);
  });

  it("/healthz is live; /readyz follows the user check", async () => {
    const base = server.url.replace("/metrics", "");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain("readiness check failed");
    ready = true;
  });

  it("/readyz with noOpenBreakers turns 503 while a watched breaker is open", async () => {
    const breaker = createCircuitBreaker({ name: "ready-dep", volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeout: 60_000 });
    const s = await serveMetrics(metrics, { port: 0, readiness: { noOpenBreakers: ["ready-dep"], check: async () => true } });
    servers.push(s);
    const readyz = s.url.replace("/metrics", "/readyz");
    expect((await fetch(readyz)).status).toBe(200);
    await breaker
      .execute(() => {
        throw Object.assign(new Error("x"), { status: 503 });
      })
      .catch(() => undefined);
    expect(breaker.state).toBe("open");
    const res = await fetch(readyz);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("ready-dep");
    breaker.shutdown();
    expect((await fetch(readyz)).status).toBe(200);
  });

  it("bearer and basic auth protect the metrics path", async () => {
    const bearer = await serveMetrics(metrics, { port: 0, auth: { bearer: "s3cret" } });
    const basic = await serveMetrics(metrics, { port: 0, auth: { basic: { username: "prom", password: "pw" } } });
    servers.push(bearer, basic);
    const noAuth = await fetch(bearer.url);
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("www-authenticate")).toBe("Bearer");
    expect((await fetch(bearer.url, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(bearer.url, { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
    expect((await fetch(basic.url)).headers.get("www-authenticate")).toContain("Basic");
    const good = `Basic ${Buffer.from("prom:pw").toString("base64")}`;
    expect((await fetch(basic.url, { headers: { authorization: good } })).status).toBe(200);
    expect((await fetch(basic.url.replace("/metrics", "/healthz"))).status).toBe(200);
  });

  it("close() frees the port", async () => {
    const port = await freePort();
    const s = await serveMetrics(metrics, { port });
    expect((await fetch(s.url)).status).toBe(200);
    await s.close();
    await expect(fetch(s.url)).rejects.toThrow();
    const again = await serveMetrics(metrics, { port });
    await again.close();
  });

  it("a custom path and bad options", async () => {
    const s = await serveMetrics(metrics, { port: 0, path: "/internal/prom" });
    servers.push(s);
    expect(s.url.endsWith("/internal/prom")).toBe(true);
    expect((await fetch(s.url)).status).toBe(200);
    expect((await fetch(s.url.replace("/internal/prom", "/metrics"))).status).toBe(404);
    await expect(serveMetrics(metrics, { port: 70_000 })).rejects.toThrow(/port/);
    await expect(serveMetrics(metrics, { path: "metrics" })).rejects.toThrow(/path/);
    await expect(serveMetrics(metrics, { auth: { bearer: "" } })).rejects.toThrow(/auth/);
    await expect(serveMetrics({} as never)).rejects.toThrow(/createMetrics/);
    await expect(serveMetrics(metrics, { maxConnections: 0 })).rejects.toThrow(/maxConnections/);
    await expect(serveMetrics(metrics, { requestTimeoutMs: 5 })).rejects.toThrow(/requestTimeoutMs/);
  });

  it("past maxConnections closes the longest-idle connection to let a newcomer in", async () => {
    const s = await serveMetrics(metrics, { port: 0, maxConnections: 2 });
    servers.push(s);
    const oldest = await openSocket(s.port);
    const held = await openSocket(s.port);
    const newcomer = await openSocket(s.port);
    await expect(closedWithin(oldest.socket, 5_000)).resolves.toBe(true);
    // The other two still get answers.
    for (const c of [held, newcomer]) {
      c.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      await expect(c.response()).resolves.toMatch(/^HTTP\/1\.1 200/);
    }
    for (const c of [held, newcomer]) c.socket.destroy();
  });

  it("refuses a newcomer only while every connection has a request in flight", async () => {
    let release: (ready: boolean) => void = () => undefined;
    const pending = new Promise<boolean>((resolve) => {
      release = resolve;
    });
    const s = await serveMetrics(metrics, { port: 0, maxConnections: 2, readiness: () => pending, readinessTimeoutMs: 10_000 });
    servers.push(s);
    const busy = [await openSocket(s.port), await openSocket(s.port)];
    for (const c of busy) c.socket.write("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 100));
    const extra = await openSocket(s.port);
    await expect(closedWithin(extra.socket, 5_000)).resolves.toBe(true);
    release(true);
    for (const c of busy) await expect(c.response()).resolves.toMatch(/^HTTP\/1\.1 200/);
    for (const c of busy) c.socket.destroy();
    expect((await fetch(s.url)).status).toBe(200);
  });

  it("answers 408 and disconnects a client that never finishes its request", async () => {
    const s = await serveMetrics(metrics, { port: 0, requestTimeoutMs: 300 });
    servers.push(s);
    const slow = await openSocket(s.port);
    slow.socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n");
    await expect(slow.response()).resolves.toMatch(/^HTTP\/1\.1 408/);
    await expect(closedWithin(slow.socket, 5_000)).resolves.toBe(true);
    expect((await fetch(s.url)).status).toBe(200);
  });
});

/** A raw TCP connection to the server; `response()` resolves with the first bytes the server sends. */
async function openSocket(port: number): Promise<{ socket: Socket; response(): Promise<string> }> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.on("error", () => undefined);
  const first = new Promise<string>((resolve) => socket.once("data", (chunk: Buffer) => resolve(chunk.toString())));
  return { socket, response: () => first };
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readyState === "closed") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("metrics.handler in other servers", () => {
  const scrape = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
  };

  it("node:http", async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === "/metrics") metrics.handler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const { status, type, body } = await scrape(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(status).toBe(200);
    expect(type).toBe(metrics.contentType);
    expect(body).toContain("langgraph_graph_runs_total");
  });

  it("express", async () => {
    const app = express();
    app.get("/metrics", metrics.handler);
    const server = await new Promise<Server>((r) => {
      const s = app.listen(0, "127.0.0.1", () => r(s));
    });
    servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const { status, type, body } = await scrape(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(status).toBe(200);
    expect(type).toBe(metrics.contentType);
    expect(body).toContain("langgraph_node_executions_total");
  });

  it("fastify (raw handler after hijack, and reply.send)", async () => {
    const app = Fastify();
    app.get("/metrics", (request, reply) => {
      reply.hijack();
      metrics.handler(request.raw, reply.raw);
    });
    app.get("/metrics2", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
    await app.listen({ port: 0, host: "127.0.0.1" });
    servers.push({ close: () => app.close() });
    const port = (app.server.address() as AddressInfo).port;
    for (const path of ["/metrics", "/metrics2"]) {
      const { status, type, body } = await scrape(`http://127.0.0.1:${port}${path}`);
      expect(status).toBe(200);
      expect(type).toBe(metrics.contentType);
      expect(body).toContain("gen_ai_client_token_usage_bucket");
    }
  });
});
