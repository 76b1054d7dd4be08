/**
 * Bad input sweep. Public options get arbitrary values (fast-check): each call either succeeds or throws a TypeError
 * whose message names the option, never anything else. The `/metrics` server gets malformed requests over raw TCP:
 * each gets a 4xx or a closed connection, and the server keeps serving `/metrics` afterwards.
 */
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCircuitBreaker,
  createMetrics,
  type MetricsServer,
  resilient,
  serveMetrics,
  withBulkhead,
  withCircuitBreaker,
  withIdempotency,
  withRetry,
  withTimeout,
} from "../src/index.js";

const node = async (s: { n: number }) => ({ n: s.n + 1 });

/** Anything a user might pass by mistake, including the right types with wrong values. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -1_000_000, max: 10_000_000_000 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1, 2, 100, 101),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("decorrelated", "full", "none", "", " ", "x"),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({}),
  fc.constant(() => true),
  fc.constant(Symbol("s")),
  fc.bigInt({ min: -5n, max: 5n }),
);

/** An options object with some known keys (arbitrary values) and maybe a misspelt one. */
function optionsOf(keys: readonly string[]): fc.Arbitrary<unknown> {
  const known = fc.dictionary(fc.constantFrom(...keys), junk, { maxKeys: keys.length });
  const typo = fc.option(fc.constantFrom("retires", "timout", "limt", "nmae", "__proto__x"), { nil: undefined });
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(known, typo, junk).map(([o, t, v]) => (t === undefined ? o : { ...o, [t]: v })) },
    { weight: 1, arbitrary: junk },
  );
}

let seq = 0;
const created: Array<{ shutdown(): void }> = [];

/** Runs `build`; passes when it returns, or throws a TypeError mentioning one of `names`. */
function acceptsOrNames(build: () => unknown, names: readonly string[]): void {
  try {
    const made = build();
    if (typeof made === "object" && made !== null && typeof (made as { shutdown?: unknown }).shutdown === "function") {
      created.push(made as { shutdown(): void });
    }
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as TypeError).message;
    expect(
      names.some((n) => message.includes(n)),
      `"${message}" names none of ${names.join(", ")}`,
    ).toBe(true);
  }
}

afterAll(() => {
  for (const b of created.splice(0)) b.shutdown();
});

const RETRY = ["retries", "minDelayMs", "maxDelayMs", "factor", "jitter", "maxElapsedMs", "maxRetryAfterMs", "retryOn", "clock", "random"];
const BREAKER = [
  "name",
  "errorThresholdPercentage",
  "volumeThreshold",
  "rollingCountTimeout",
  "rollingCountBuckets",
  "resetTimeout",
  "isFailure",
  "now",
];
const RUNS = { numRuns: 300 };

describe("option sweep: accepted, or a TypeError naming the option", () => {
  it("withRetry", () => {
    fc.assert(
      fc.property(optionsOf(RETRY), (o) => acceptsOrNames(() => withRetry(node, o as never), ["withRetry(options)"])),
      RUNS,
    );
  });

  it("withTimeout", () => {
    fc.assert(
      fc.property(fc.oneof(junk, optionsOf(["ms"])), (o) => acceptsOrNames(() => withTimeout(node, o as never), ["withTimeout(ms)"])),
      RUNS,
    );
  });

  it("createCircuitBreaker and withCircuitBreaker", () => {
    fc.assert(
      fc.property(optionsOf(BREAKER), (o) => {
        seq += 1;
        const named = typeof o === "object" && o !== null && !Array.isArray(o) && !("name" in o) ? { ...o, name: `fuzz-${seq}` } : o;
        acceptsOrNames(() => createCircuitBreaker(named as never), ["createCircuitBreaker(options)"]);
        acceptsOrNames(() => withCircuitBreaker(node, o as never), ["withCircuitBreaker(options)"]);
      }),
      RUNS,
    );
  });

  it("withBulkhead and withIdempotency", () => {
    fc.assert(
      fc.property(optionsOf(["limit", "queue"]), optionsOf(["store", "key", "ttlMs", "leaseMs", "waitMs", "clock"]), (b, i) => {
        acceptsOrNames(() => withBulkhead(node, b as never), ["withBulkhead(options)"]);
        acceptsOrNames(() => withIdempotency(node, i as never), ["withIdempotency(options)"]);
      }),
      RUNS,
    );
  });

  it("resilient, with every policy's options", () => {
    const policies = fc.record(
      {
        retry: optionsOf(RETRY),
        timeout: fc.oneof(junk, optionsOf(["ms"])),
        circuitBreaker: optionsOf(BREAKER),
        bulkhead: optionsOf(["limit", "queue"]),
        idempotency: fc.oneof(fc.constant(true), optionsOf(["ttlMs", "leaseMs"])),
        fallback: junk,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: policies }, { weight: 1, arbitrary: junk }), (o) => {
        seq += 1;
        const named = function fuzzNode(s: { n: number }) {
          return node(s);
        };
        Object.defineProperty(named, "name", { value: `fuzz_node_${seq}` });
        acceptsOrNames(() => resilient(named, o as never), ["resilient(options)", "resilient(node)"]);
      }),
      RUNS,
    );
  });

  it("createMetrics", () => {
    fc.assert(
      fc.property(optionsOf(["registry", "prefix", "defaultMetrics", "exemplars", "maxLabelValues"]), (o) => {
        acceptsOrNames(() => {
          const m = createMetrics(o as never);
          m.close();
        }, ["createMetrics(options)"]);
      }),
      RUNS,
    );
  });

  it("serveMetrics (rejected options never bind a port)", async () => {
    const metrics = createMetrics();
    const opts = fc.record(
      {
        port: fc.oneof(junk, fc.constant(0)),
        host: fc.oneof(junk, fc.constant("127.0.0.1")),
        path: fc.oneof(junk, fc.constantFrom("/metrics", "/m?x", "metrics", "/")),
        auth: fc.oneof(junk, fc.constant({ bearer: "t" }), fc.constant({ basic: { username: "u" } })),
        readiness: fc.oneof(junk, fc.constant({ noOpenBreakers: "yes" })),
        maxConnections: fc.oneof(junk, fc.constantFrom(0, -1, 1.5)),
        requestTimeoutMs: fc.oneof(junk, fc.constantFrom(0, 99, Number.POSITIVE_INFINITY)),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(opts, async (o) => {
        // A real port other than 0 could be taken or privileged; those are environment errors, not option errors.
        const port = (o as { port?: unknown }).port;
        if (typeof port === "number" && Number.isInteger(port) && port > 0 && port <= 65_535) return;
        const host = (o as { host?: unknown }).host;
        if (typeof host === "string" && host !== "127.0.0.1") return;
        let server: MetricsServer | undefined;
        try {
          server = await serveMetrics(metrics, o as never);
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
          expect((error as TypeError).message).toMatch(/serveMetrics\(metrics(, options)?\)/);
        } finally {
          await server?.close();
        }
      }),
      { numRuns: 150 },
    );
    metrics.close();
  });
});

/** Sends raw bytes; resolves with the status code of the first response line, or "closed" if none came. */
function raw(port: number, chunks: Array<string | Buffer>, settleMs = 3000): Promise<number | "closed"> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1");
    let data = "";
    let done = false;
    const finish = (value: number | "closed") => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    // Bounded: a server that neither answers nor closes within settleMs fails the assertion below (not a 4xx, not closed).
    const timer = setTimeout(() => finish(Number.NaN), settleMs);
    socket.on("data", (d: Buffer) => {
      data += d.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (m) finish(Number(m[1]));
    });
    socket.on("error", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    socket.on("connect", () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

describe("/metrics server under malformed requests", () => {
  let server: MetricsServer;
  const metrics = createMetrics();

  beforeAll(async () => {
    server = await serveMetrics(metrics, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    metrics.close();
  });

  const stillServes = async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("langgraph_graph_runs_total");
  };

  it("bad methods, paths, versions and header floods get a 4xx or a closed connection", async () => {
    const cases: string[] = [
      "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
      "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics%00 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n",
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`,
      `GET /metrics HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n`,
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      `GET /${"x".repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ];
    for (const request of cases) {
      const status = await raw(server.port, [request]);
      const ok = status === "closed" || (typeof status === "number" && status >= 400 && status < 500);
      expect(ok, `${JSON.stringify(request.slice(0, 60))} → ${String(status)}`).toBe(true);
    }
    await stillServes();
  });

  it("random junk bytes get a 4xx or a closed connection", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
        // Junk that happens to spell a valid request line is not junk.
        const text = Buffer.from(bytes).toString("latin1");
        fc.pre(!/^(GET|HEAD) /.test(text));
        // Empty lines before a request line are ignored by HTTP parsers (RFC 9112 §2.2): that connection is just idle.
        fc.pre(!/^[\r\n]*$/.test(text));
        const status = await raw(server.port, [Buffer.from(bytes), "\r\n\r\n"]);
        const ok = status === "closed" || (typeof status === "number" && status >= 400 && status < 500);
        expect(ok, `junk → ${String(status)}`).toBe(true);
      }),
      { numRuns: 60 },
    );
    await stillServes();
  });

  it("slowloris connections holding headers open do not stop /metrics, and close() ends them", async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = connect(server.port, "127.0.0.1");
      s.on("error", () => undefined);
      s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      sockets.push(s);
    }
    // Drip one byte on each held connection, a few times, while scrapes go on.
    for (let round = 0; round < 5; round++) {
      for (const s of sockets) s.write("a");
      await stillServes();
    }
    for (const s of sockets) s.destroy();
    await stillServes();
  });
});
