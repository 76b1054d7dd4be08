/**
 * One replica of a booking agent. Every replica points at the same PostgreSQL database: LangGraph's PostgresSaver
 * keeps the threads, PostgresIdempotencyStore keeps the side-effect records. So a thread interrupted on one replica
 * resumes on another without repeating what already happened, and a request delivered to two replicas at once is
 * carried out once.
 *
 * Graph: reserve (holds a seat, once per request id) → pay (authorizes the card once per task, asks a human to
 * approve with interrupt(), then captures) → END.
 *
 * Run as a process: DATABASE_URL=postgres://... REPLICA=a npx tsx examples/postgres-replicas/replica.ts book <thread> <request> <seat>
 *                   DATABASE_URL=postgres://... REPLICA=b npx tsx examples/postgres-replicas/replica.ts approve <thread>
 * It prints one JSON line with the outcome.
 */
import { Annotation, Command, END, type LangGraphRunnableConfig, START, StateGraph, interrupt } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { idempotencyKey, runOnce, withIdempotency } from "../../src/index.js";
import { PostgresIdempotencyStore } from "../../src/integrations/postgres.js"; // in your app: "langgraph-ops/postgres"
import { runIfEntryPoint } from "../shared/run-main.js";

const BookingState = Annotation.Root({
  requestId: Annotation<string>(),
  seat: Annotation<string>(),
  holdId: Annotation<number | undefined>(),
  /** The thread that holds the seat; another thread with the same request is a duplicate delivery. */
  ownerThread: Annotation<string | undefined>(),
  authorizationId: Annotation<number | undefined>(),
  status: Annotation<string | undefined>(),
});
type Booking = typeof BookingState.State;

/** The application's own tables: what the side effects write, so their count can be checked. */
export const APP_SCHEMA = `
  CREATE TABLE IF NOT EXISTS example_holds (id serial PRIMARY KEY, request_id text NOT NULL, seat text NOT NULL, replica text NOT NULL);
  CREATE TABLE IF NOT EXISTS example_payments (id serial PRIMARY KEY, kind text NOT NULL, idempotency_key text NOT NULL, replica text NOT NULL);
`;

/** A running replica: the compiled graph and what it holds open. */
export interface Replica {
  readonly name: string;
  readonly graph: ReturnType<typeof buildGraph>;
  /** Creates the checkpointer's, the store's and the app's tables (idempotent; run it once before serving). */
  setup(): Promise<void>;
  close(): Promise<void>;
}

function threadOf(config: LangGraphRunnableConfig): string | undefined {
  const thread = config.configurable?.thread_id as unknown;
  return typeof thread === "string" ? thread : undefined;
}

function buildGraph(pool: pg.Pool, store: PostgresIdempotencyStore, checkpointer: PostgresSaver, replica: string) {
  // Keyed by the request id, not the thread: the same request delivered twice (two threads) holds one seat, and
  // the duplicate gets the first delivery's update back, owner thread included.
  const reserve = withIdempotency(
    async (state: Booking, config: LangGraphRunnableConfig) => {
      const { rows } = await pool.query<{ id: number }>(
        "INSERT INTO example_holds (request_id, seat, replica) VALUES ($1, $2, $3) RETURNING id",
        [state.requestId, state.seat, replica],
      );
      return { holdId: rows[0]?.id, ownerThread: threadOf(config) };
    },
    { store, key: (state: Booking) => `reserve:${state.requestId}` },
  );

  // Re-runs from the top when resumed, on whichever replica resumes it: runOnce replays the recorded authorization.
  const pay = async (_state: Booking, config: LangGraphRunnableConfig) => {
    const authorizationId = await runOnce(
      config,
      "authorize",
      async () => {
        // The key a payment API would get as its Idempotency-Key header.
        const key = idempotencyKey(config, "authorize");
        const { rows } = await pool.query<{ id: number }>(
          "INSERT INTO example_payments (kind, idempotency_key, replica) VALUES ('authorize', $1, $2) RETURNING id",
          [key, replica],
        );
        return rows[0]?.id;
      },
      { store },
    );
    const decision = interrupt({ question: "Approve the payment?", authorizationId }) as string;
    if (decision !== "approve") return { authorizationId, status: "cancelled" };
    await runOnce(
      config,
      "capture",
      () =>
        pool.query("INSERT INTO example_payments (kind, idempotency_key, replica) VALUES ('capture', $1, $2)", [
          idempotencyKey(config, "capture"),
          replica,
        ]),
      { store },
    );
    return { authorizationId, status: `confirmed by replica ${replica}` };
  };

  return new StateGraph(BookingState)
    .addNode("reserve", reserve)
    .addNode("pay", pay)
    .addEdge(START, "reserve")
    .addConditionalEdges(
      "reserve",
      (state: Booking, config: LangGraphRunnableConfig) => (state.ownerThread === threadOf(config) ? "pay" : END),
      ["pay", END],
    )
    .addEdge("pay", END)
    .compile({ checkpointer });
}

/** Connects a replica to `connectionString`. */
export function createReplica(connectionString: string, name: string): Replica {
  const pool = new pg.Pool({ connectionString, max: 5 });
  // An idle client losing its server emits "error" on the pool; unheard, that would crash the process.
  pool.on("error", () => undefined);
  const store = new PostgresIdempotencyStore({ pool });
  const checkpointer = new PostgresSaver(pool);
  return {
    name,
    graph: buildGraph(pool, store, checkpointer, name),
    async setup() {
      await pool.query(APP_SCHEMA);
      await checkpointer.setup();
      await store.setup();
    },
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

/** What a replica command printed. */
export interface ReplicaOutcome {
  replica: string;
  thread: string;
  /** Set while the thread waits for approval. */
  waitingFor?: string;
  holdId?: number;
  /** Set when this thread was a duplicate delivery: the thread that carries the booking. */
  duplicateOf?: string;
  authorizationId?: number;
  status?: string;
}

/** Runs one command on a replica: `book <thread> <request> <seat>` or `approve <thread>`. */
export async function runCommand(replica: Replica, args: readonly string[]): Promise<ReplicaOutcome> {
  const [command, thread, requestId, seat] = args;
  if (thread === undefined || (command === "book" && (requestId === undefined || seat === undefined))) {
    throw new TypeError("usage: replica.ts book <thread> <request> <seat> | approve <thread>");
  }
  const config = { configurable: { thread_id: thread }, durability: "sync" as const };
  let state: Booking;
  if (command === "book") state = await replica.graph.invoke({ requestId, seat }, config);
  else if (command === "approve") state = await replica.graph.invoke(new Command({ resume: "approve" }), config);
  else throw new TypeError(`unknown command "${command}"; use book or approve`);
  const snapshot = await replica.graph.getState(config);
  const waiting = snapshot.tasks.flatMap((t) => t.interrupts).at(0)?.value as { question?: string } | undefined;
  return {
    replica: replica.name,
    thread,
    ...(waiting?.question !== undefined ? { waitingFor: waiting.question } : {}),
    ...(state.holdId !== undefined ? { holdId: state.holdId } : {}),
    ...(state.ownerThread !== undefined && state.ownerThread !== thread ? { duplicateOf: state.ownerThread } : {}),
    ...(state.authorizationId !== undefined ? { authorizationId: state.authorizationId } : {}),
    ...(state.status !== undefined ? { status: state.status } : {}),
  };
}

runIfEntryPoint(import.meta.url, async () => {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") throw new TypeError("set DATABASE_URL to the shared PostgreSQL database");
  const replica = createReplica(url, process.env.REPLICA ?? String(process.pid));
  try {
    await replica.setup();
    console.log(JSON.stringify(await runCommand(replica, process.argv.slice(2))));
  } finally {
    await replica.close();
  }
});
