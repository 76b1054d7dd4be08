/**
 * `instrumentCheckpointer(saver)`: latency and status of every checkpointer operation and the serialized size of
 * saved checkpoints, for any `BaseCheckpointSaver`. The saver is wrapped in a Proxy, so its class, fields and every
 * method it does not measure stay exactly as they were.
 */
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { checkOptions, describe, type OptionSpec, rule } from "../core/options.js";
import { coreOf, isMetrics, type Metrics, type MetricsCore, observe } from "./metrics.js";

/** Options of {@link instrumentCheckpointer}. */
export interface InstrumentCheckpointerOptions {
  /** Record `langgraph_checkpoint_*` series on these metrics. */
  metrics?: Metrics;
  /** Wrap each operation in an OpenTelemetry span `checkpoint {operation}`. Default false. */
  tracing?: boolean;
  /** The `saver` label. Default: the saver's class name (e.g. "MemorySaver"). */
  name?: string;
  /** Observe the serialized size of saved checkpoints (one extra serialization per `put`). Default true. */
  checkpointSize?: boolean;
  /**
   * Listen for `error` events on the saver's `pool` (LangGraph's `PostgresSaver` exposes its `pg.Pool` there) and
   * count each as a checkpoint error (`operation="pool"`, `status="error"`). A pool emits one for every idle client
   * the server drops (a restart or failover); with no listener, Node ends the process. Default true.
   */
  poolErrors?: boolean;
}

/** The operations measured, by method name, with their `operation` label. */
const OPERATIONS = { getTuple: "get", put: "put", putWrites: "put_writes", list: "list" } as const;
type Method = keyof typeof OPERATIONS;
/** @internal The accepted keys of {@link InstrumentCheckpointerOptions}: validation and the bad-input sweep read it. */
export const INSTRUMENT_CHECKPOINTER_OPTIONS = {
  metrics: rule.check("the result of createMetrics()", isMetrics),
  tracing: rule.boolean(),
  name: rule.string({ nonEmpty: true }),
  checkpointSize: rule.boolean(),
  poolErrors: rule.boolean(),
} as const satisfies OptionSpec<keyof InstrumentCheckpointerOptions>;

/** The `operation` label of errors the saver's connection pool reports outside any operation. */
export const POOL_OPERATION = "pool";

/** The part of a `pg.Pool` the listener needs. */
interface EventSource {
  on(event: "error", listener: (error: Error) => void): unknown;
}

/** Pools already listened to, per metrics (or none): instrumenting a saver twice must not count twice. */
const listened = new WeakMap<object, Set<MetricsCore | undefined>>();

function poolOf(saver: unknown): EventSource | undefined {
  const pool = (saver as { pool?: unknown }).pool as Partial<EventSource & { connect: unknown }> | null | undefined;
  return typeof pool === "object" && pool !== null && typeof pool.on === "function" && typeof pool.connect === "function"
    ? (pool as EventSource)
    : undefined;
}

/** Counts the pool's `error` events as checkpoint errors; the pool itself drops the broken client and reconnects. */
function listenToPool(pool: EventSource, r: Recorder): void {
  let seen = listened.get(pool);
  if (seen === undefined) {
    seen = new Set();
    listened.set(pool, seen);
  }
  if (seen.has(r.core)) return;
  seen.add(r.core);
  pool.on("error", () => record(r, POOL_OPERATION, performance.now(), "error"));
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

function byteLength(serialized: unknown): number | undefined {
  const bytes = Array.isArray(serialized) ? serialized[1] : undefined;
  if (bytes instanceof Uint8Array) return bytes.byteLength;
  if (typeof bytes === "string") return Buffer.byteLength(bytes);
  return undefined;
}

interface Recorder {
  core: MetricsCore | undefined;
  saver: string;
  tracing: boolean;
  size: boolean;
}

function record(r: Recorder, operation: string, start: number, status: "success" | "error"): void {
  if (r.core === undefined) return;
  observe(r.core, r.core.checkpointDuration, { saver: r.saver, operation, status }, (performance.now() - start) / 1000, undefined);
}

function startSpan(r: Recorder, operation: string): Span | undefined {
  if (!r.tracing) return undefined;
  return trace.getTracer("langgraph-ops").startSpan(`checkpoint ${operation}`, {
    attributes: { "langgraph.checkpoint.saver": r.saver, "langgraph.checkpoint.operation": operation },
  });
}

function endSpan(span: Span | undefined, error?: unknown): void {
  if (span === undefined) return;
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute("error.type", (error as { name?: unknown } | null)?.name === undefined ? "_OTHER" : String((error as Error).name));
  }
  span.end();
}

function measurePromise(r: Recorder, method: Method, original: AnyMethod, self: unknown, target: BaseCheckpointSaver, args: unknown[]) {
  const operation = OPERATIONS[method];
  const span = startSpan(r, operation);
  const start = performance.now();
  let result: Promise<unknown>;
  try {
    result = Promise.resolve(original.apply(self, args));
  } catch (error) {
    record(r, operation, start, "error");
    endSpan(span, error);
    throw error;
  }
  return result.then(
    async (value) => {
      record(r, operation, start, "success");
      endSpan(span);
      if (method === "put" && r.size && r.core !== undefined) {
        try {
          const size = byteLength(await target.serde.dumpsTyped(args[1]));
          if (size !== undefined) r.core.checkpointSize.observe({ saver: r.saver }, size);
        } catch {
          // The size is a nice-to-have; the put itself succeeded.
        }
      }
      return value;
    },
    (error: unknown) => {
      record(r, operation, start, "error");
      endSpan(span, error);
      throw error;
    },
  );
}

async function* measureList(r: Recorder, original: AnyMethod, self: unknown, args: unknown[]): AsyncGenerator<unknown> {
  const span = startSpan(r, "list");
  const start = performance.now();
  try {
    yield* original.apply(self, args) as AsyncIterable<unknown>;
  } catch (error) {
    record(r, "list", start, "error");
    endSpan(span, error);
    throw error;
  }
  record(r, "list", start, "success");
  endSpan(span);
}

/**
 * Instruments a checkpointer: `langgraph_checkpoint_operation_duration_seconds{saver,operation,status}` for get,
 * put, put_writes and list, and `langgraph_checkpoint_size_bytes{saver}` for saved checkpoints. Returns a saver of
 * the same type that behaves exactly like the original (results and errors pass through unchanged).
 * @example
 * const checkpointer = instrumentCheckpointer(new MemorySaver(), { metrics });
 * const graph = instrument(builder.compile({ checkpointer }), { metrics });
 */
export function instrumentCheckpointer<T extends BaseCheckpointSaver>(saver: T, options: InstrumentCheckpointerOptions = {}): T {
  const where = "instrumentCheckpointer(saver, options)";
  if (typeof saver !== "object" || saver === null || typeof (saver as BaseCheckpointSaver).getTuple !== "function") {
    throw new TypeError(`instrumentCheckpointer(saver) must be a LangGraph checkpointer (BaseCheckpointSaver), got ${describe(saver)}`);
  }
  checkOptions(options, INSTRUMENT_CHECKPOINTER_OPTIONS, where);
  const name = options.name ?? saver.constructor.name;
  if (typeof name !== "string" || name === "") throw new TypeError(`${where}.name must be a non-empty string, got ${describe(name)}`);
  const core = options.metrics === undefined ? undefined : coreOf(options.metrics, `${where}.metrics`);
  const recorder: Recorder = {
    core,
    saver: core === undefined ? name : core.guards.value("saver", name),
    tracing: options.tracing === true,
    size: options.checkpointSize !== false,
  };
  const pool = options.poolErrors === false ? undefined : poolOf(saver);
  if (pool !== undefined) listenToPool(pool, recorder);
  const wrappers = new Map<PropertyKey, AnyMethod>();
  const proxy: T = new Proxy(saver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || !(prop in OPERATIONS)) return value;
      const method = prop as Method;
      const original = value as AnyMethod;
      const cached = wrappers.get(prop);
      if (cached !== undefined && (cached as { original?: AnyMethod }).original === original) return cached;
      const wrapper: AnyMethod =
        method === "list"
          ? function (this: unknown, ...args: unknown[]) {
              return measureList(recorder, original, this === proxy ? target : this, args);
            }
          : function (this: unknown, ...args: unknown[]) {
              // The saver's own methods run with the saver as `this`, so `#private` fields keep working.
              return measurePromise(recorder, method, original, this === proxy ? target : this, target, args);
            };
      (wrapper as { original?: AnyMethod }).original = original;
      wrappers.set(prop, wrapper);
      return wrapper;
    },
  });
  return proxy;
}
