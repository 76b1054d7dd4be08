/**
 * The metrics server under slow-client load, with a hanging readiness check, and its auth scheme parsing; gzip on
 * `/metrics` and on `metrics.handler`. Raw sockets on 127.0.0.1 against real servers and a real registry.
 */
import { createServer, request, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { Annotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/observability/instrument.js";
import { createMetrics } from "../src/observability/metrics.js";
import { acceptsGzip } from "../src/observability/exposition.js";
import { serveMetrics } from "../src/server/serve.js";
import { promtool } from "./support/prometheus.js";

const metrics = createMetrics();
const closers: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  metrics.close();
});

beforeAll(async () => {
  const graph = instrument(
    new StateGraph(Annotation.Root({ n: Annotation<number>() }))
      .addNode("work", async (s) => ({ n: s.n + 1 }))
      .addEdge(START, "work")
      .compile(),
    { metrics, name: "hardening" },
  );
  for (let i = 0; i < 5; i++) await graph.invoke({ n: i });
});

/** Sends one request on a fresh connection and resolves with the status line, or rejects after `ms`. */
function probe(port: number, path: string, ms: number, headers = ""): Promise<{ status: number; elapsedMs: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${path}: no answer within ${ms} ms`));
    }, ms);
    let data = "";
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`));
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("latin1");
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match !== null) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(match[1]), elapsedMs: performance.now() - started });
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      reject(new Error(`${path}: connection closed without an answer`));
    });
  });
}

/** Keeps `count` slowloris connections open: each sends a partial request, then one header byte every 500 ms. */
function slowloris(port: number, count: number) {
  const sockets = new Set<Socket>();
  let opened = 0;
  let closedByServer = 0;
  let stopped = false;
  const open = (): void => {
    if (stopped) return;
    opened += 1;
    const socket = connect(port, "127.0.0.1");
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("connect", () => socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    const drip = setInterval(() => socket.write("a"), 500);
    socket.on("close", () => {
      clearInterval(drip);
      sockets.delete(socket);
      if (!stopped) {
        closedByServer += 1;
        // A new wave: every dropped connection comes back (after a pause, to keep the test's CPU use small).
        setTimeout(open, 50);
      }
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    held: () => sockets.size,
    opened: () => opened,
    closedByServer: () => closedByServer,
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

describe("health checks under slow-client load", () => {
  it("with 100 slowloris connections (past the default 64) /healthz and /metrics answer within 1 s, wave after wave", async () => {
    const server = await serveMetrics(metrics, { port: 0 });
    closers.push(() => server.close());
    const attack = slowloris(server.port, 100);
    closers.push(() => attack.stop());
    // Let the whole first wave connect.
    await new Promise((r) => setTimeout(r, 300));
    const worst: Record<string, number> = { "/healthz": 0, "/metrics": 0 };
    // Over 5 s: longer than the 2 s headers timeout, so slow connections are dropped and come back meanwhile.
    const until = performance.now() + 5_000;
    let probes = 0;
    while (performance.now() < until) {
      for (const path of ["/healthz", "/metrics"]) {
        const { status, elapsedMs } = await probe(server.port, path, 1_000);
        expect(status).toBe(200);
        worst[path] = Math.max(worst[path] ?? 0, elapsedMs);
        probes += 1;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.info(
      `slowloris: ${attack.opened()} connections opened, ${attack.closedByServer()} closed by the server, ${probes} probes, worst /healthz ${worst["/healthz"]?.toFixed(1)} ms, /metrics ${worst["/metrics"]?.toFixed(1)} ms`,
    );
    // The attack was real: the server had to drop slow connections (budget and headers timeout) and they came back.
    expect(attack.closedByServer()).toBeGreaterThan(36);
    expect(attack.held()).toBeGreaterThan(50);
    attack.stop();
  }, 30_000);

  it("a slow client is disconnected once its headers take longer than headersTimeoutMs", async () => {
    const server = await serveMetrics(metrics, { port: 0, headersTimeoutMs: 500 });
    closers.push(() => server.close());
    const attack = slowloris(server.port, 1);
    closers.push(() => attack.stop());
    const deadline = performance.now() + 5_000;
    while (attack.closedByServer() === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(attack.closedByServer()).toBeGreaterThanOrEqual(1);
    attack.stop();
  });
});

describe("connections that send nothing", () => {
  it("are closed after headersTimeoutMs, while a slow request on another connection is answered", async () => {
    const server = await serveMetrics(metrics, {
      port: 0,
      headersTimeoutMs: 300,
      readiness: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 800)),
    });
    closers.push(() => server.close());
    const silent = connect(server.port, "127.0.0.1");
    silent.on("error", () => undefined);
    // Reading, so the client notices the server's close.
    silent.resume();
    const closed = new Promise<number>((resolve) => {
      const started = performance.now();
      silent.once("close", () => resolve(performance.now() - started));
    });
    // The request arrived in time; its answer takes longer than the headers timeout and must not be cut.
    expect(await probe(server.port, "/readyz", 5_000)).toMatchObject({ status: 200 });
    const after = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 5_000))]);
    expect(after).toBeGreaterThanOrEqual(250);
    expect(after).toBeLessThan(5_000);
  });
});

describe("readiness deadline", () => {
  it("a check that never settles makes /readyz answer 503 past readinessTimeoutMs, without piling up checks", async () => {
    let calls = 0;
    const server = await serveMetrics(metrics, {
      port: 0,
      readiness: () => {
        calls += 1;
        return new Promise<boolean>(() => undefined);
      },
      readinessTimeoutMs: 300,
    });
    closers.push(() => server.close());
    const url = server.url.replace("/metrics", "/readyz");
    const started = performance.now();
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("readiness check timed out after 300 ms");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    const again = await Promise.all([1, 2, 3].map(() => fetch(url, { signal: AbortSignal.timeout(5_000) })));
    expect(again.map((r) => r.status)).toEqual([503, 503, 503]);
    // The hanging check is shared by later probes instead of being started once per probe.
    expect(calls).toBe(1);
    expect((await fetch(server.url.replace("/metrics", "/healthz"))).status).toBe(200);
  });

  it("a check that recovers is run again on the next probe", async () => {
    let ready = false;
    const server = await serveMetrics(metrics, { port: 0, readiness: async () => ready });
    closers.push(() => server.close());
    const url = server.url.replace("/metrics", "/readyz");
    expect((await fetch(url)).status).toBe(503);
    ready = true;
    expect((await fetch(url)).status).toBe(200);
  });

  it("rejects a bad readinessTimeoutMs", async () => {
    await expect(serveMetrics(metrics, { readinessTimeoutMs: 0 })).rejects.toThrow(/readinessTimeoutMs must be an integer >= 1/);
    await expect(serveMetrics(metrics, { headersTimeoutMs: 10 })).rejects.toThrow(/headersTimeoutMs must be an integer >= 100/);
  });
});

describe("Authorization scheme", () => {
  it("matches the scheme in any case and the credentials exactly", async () => {
    const bearer = await serveMetrics(metrics, { port: 0, auth: { bearer: "s3cret" } });
    const basic = await serveMetrics(metrics, { port: 0, auth: { basic: { username: "prom", password: "pw" } } });
    closers.push(
      () => bearer.close(),
      () => basic.close(),
    );
    const status = async (url: string, authorization: string) => (await fetch(url, { headers: { authorization } })).status;
    for (const header of ["bearer s3cret", "BEARER s3cret", "Bearer  s3cret", "Bearer\ts3cret"])
      expect(await status(bearer.url, header)).toBe(200);
    for (const header of ["bearer S3CRET", "bearer", "Basic s3cret", "bearer s3cret extra", "s3cret"]) {
      expect(await status(bearer.url, header)).toBe(401);
    }
    const creds = Buffer.from("prom:pw").toString("base64");
    for (const header of [`basic ${creds}`, `BASIC ${creds}`, `Basic ${creds}`]) expect(await status(basic.url, header)).toBe(200);
    expect(await status(basic.url, `Bearer ${creds}`)).toBe(401);
    expect(await status(basic.url, `basic ${creds.toLowerCase()}`)).toBe(401);
  });

  it("rejects auth with both bearer and basic", async () => {
    await expect(serveMetrics(metrics, { auth: { bearer: "x", basic: { username: "a", password: "b" } } as never })).rejects.toThrow(
      /auth must be \{ bearer: string \} or \{ basic/,
    );
  });
});

/** GET `url` with node:http (no automatic decompression), returning status, headers and the raw body. */
function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("gzip", () => {
  const check = async (url: string) => {
    const identity = await rawGet(url, {});
    expect(identity.status).toBe(200);
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(identity.headers.vary).toBe("Accept-Encoding");
    const text = identity.body.toString("utf8");
    expect(text).toContain('langgraph_graph_runs_total{graph="hardening",status="success"} 5');

    // What Prometheus sends.
    const zipped = await rawGet(url, { "accept-encoding": "gzip" });
    expect(zipped.status).toBe(200);
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("Accept-Encoding");
    expect(zipped.headers["content-type"]).toBe(metrics.contentType);
    expect(zipped.body.length).toBeLessThan(identity.body.length);
    const decoded = gunzipSync(zipped.body).toString("utf8");
    expect(decoded).toBe(text);
    const result = promtool(["check", "metrics"], decoded);
    expect(result.stderr + result.stdout).toBe("");
    expect(result.status).toBe(0);

    // gzip refused with q=0: identity.
    const refused = await rawGet(url, { "accept-encoding": "gzip;q=0, identity" });
    expect(refused.headers["content-encoding"]).toBeUndefined();
    expect(refused.body.toString("utf8")).toBe(text);
  };

  it("serveMetrics compresses /metrics when asked, identity otherwise", async () => {
    const server = await serveMetrics(metrics, { port: 0 });
    closers.push(() => server.close());
    await check(server.url);
    const head = await rawGet(server.url, { "accept-encoding": "gzip" }).then(() =>
      fetch(server.url, { method: "HEAD", headers: { "accept-encoding": "gzip" } }),
    );
    expect(head.status).toBe(200);
    expect(head.headers.get("content-encoding")).toBe("gzip");
  });

  it("metrics.handler compresses too", async () => {
    const server: Server = createServer((req, res) => metrics.handler(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
  });

  it("reads Accept-Encoding like a client means it", () => {
    expect(acceptsGzip("gzip")).toBe(true);
    expect(acceptsGzip("deflate, gzip;q=0.5")).toBe(true);
    expect(acceptsGzip("GZIP")).toBe(true);
    expect(acceptsGzip("x-gzip")).toBe(true);
    expect(acceptsGzip("*")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("*, gzip;q=0")).toBe(false);
    expect(acceptsGzip("identity")).toBe(false);
    expect(acceptsGzip("br")).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip("")).toBe(false);
  });
});
