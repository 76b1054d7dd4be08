/**
 * The process-wide table of open runs: LangChain run id → the span that represents it. Shared by every tracing
 * handler so nested instrumented graphs do not create duplicate spans, and so wrapper events and the node context
 * bridge can find a node's span from its run config.
 */
import { type Context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { ATTR } from "./attributes.js";

/** @internal Kinds of runs that get a span. */
export type RunKind = "root" | "node" | "llm" | "tool";

/** @internal One open span. Runs without a span of their own (hidden, lambdas, nested graph roots) point at their parent's record. */
export interface RunRecord {
  readonly runId: string;
  readonly span: Span;
  readonly kind: RunKind;
  /** The handler that created the span; only it ends the span. */
  readonly owner: object;
  /** The context the root span was started in (keeps the caller's baggage for every child). */
  readonly base: Context;
  /** `base` with this run's span active; built on first use by {@link spanContextOf}. */
  active: Context | undefined;
  /** The run's root record (itself for the root); undefined when the root is not ours. */
  readonly root: RunRecord | undefined;
  /** Graph name, for child attributes. */
  readonly graph: string;
  /** Node name for node runs. */
  readonly node: string | undefined;
  /** Wall-clock start, for the abandonment sweep. */
  readonly startMs: number;
  readonly abandonAfterMs: number;
  /** Node runs: how many times the context bridge entered this node (attempts made by the kit's retry wrapper); LLM and tool spans below record it. */
  calls: number;
  /** LLM runs: when the first streamed chunk arrived (0 = none yet). */
  firstChunkMs: number;
  /** Root runs: a node below was interrupted. */
  interrupted: boolean;
  /** Root runs: the thread id, to link a later resume. */
  readonly thread: string | undefined;
}

const runs = new Map<string, RunRecord>();

/**
 * @internal The context in which `record`'s span is the active one: the parent context of its child spans and the
 * context its node runs in. Built once per run; OpenTelemetry copies a context's whole map on every `setSpan`.
 */
export function spanContextOf(record: RunRecord): Context {
  let active = record.active;
  if (active === undefined) {
    active = trace.setSpan(record.base, record.span);
    record.active = active;
  }
  return active;
}

/** @internal The record that `runId` maps to (its own, or its nearest traced ancestor's). */
export function getRun(runId: string | undefined): RunRecord | undefined {
  return runId === undefined ? undefined : runs.get(runId);
}

/** @internal Whether a run id is registered. */
export function hasRun(runId: string): boolean {
  return runs.has(runId);
}

/** @internal Registers `runId` → `record` (its own or an ancestor's). */
export function setRun(runId: string, record: RunRecord): void {
  runs.set(runId, record);
  ensureSweeper();
}

/** @internal Forgets `runId`. */
export function deleteRun(runId: string): void {
  runs.delete(runId);
}

/** Number of run ids the tracing layer currently tracks (spans open plus pass-through runs); 0 when idle. */
export function openRunCount(): number {
  return runs.size;
}

interface CallbackManagerLike {
  getParentRunId?: () => string | undefined;
}

/**
 * @internal The record of the node run a node function was called with. LangGraph hands the node function a
 * callback manager whose parent run is the node's run.
 */
export function runOfConfig(config: { callbacks?: unknown } | undefined): { id: string; record: RunRecord } | undefined {
  const callbacks = config?.callbacks as CallbackManagerLike | undefined;
  if (callbacks === undefined || typeof callbacks.getParentRunId !== "function") return undefined;
  const id = callbacks.getParentRunId();
  if (id === undefined) return undefined;
  const record = runs.get(id);
  return record === undefined ? undefined : { id, record };
}

/** @internal Every open record of the run under `root`, innermost first; pass-through ids are forgotten on the way. */
export function recordsOfRoot(root: RunRecord): RunRecord[] {
  const out: RunRecord[] = [];
  for (const [id, record] of runs) {
    if (record.root !== root && record !== root) continue;
    if (record.runId !== id) runs.delete(id);
    else out.push(record);
  }
  // Children were registered after their parents.
  return out.reverse();
}

let sweeper: ReturnType<typeof setInterval> | undefined;
const SWEEP_INTERVAL_MS = 60_000;

function ensureSweeper(): void {
  if (sweeper !== undefined) return;
  sweeper = setInterval(() => sweepAbandoned(Date.now()), SWEEP_INTERVAL_MS);
  // Bookkeeping only: never keep the process alive for it.
  sweeper.unref();
}

/**
 * Ends every span older than its `abandonAfterMs` (runs whose end callback never came, e.g. a stream the caller
 * stopped reading without cancelling) with `error.type=abandoned`, and forgets it. Returns how many spans it ended.
 * Runs on an unref'd timer; exported so a host can call it with its own clock.
 */
export function sweepAbandoned(nowMs: number): number {
  let ended = 0;
  for (const [id, record] of runs) {
    if (record.runId !== id) {
      if (!runs.has(record.runId)) runs.delete(id);
      continue;
    }
    if (nowMs - record.startMs < record.abandonAfterMs) continue;
    record.span.setAttribute(ATTR.errorType, "abandoned");
    record.span.setStatus({ code: SpanStatusCode.ERROR, message: "abandoned" });
    record.span.end();
    runs.delete(id);
    ended++;
  }
  // Second pass: pass-through ids whose target was swept above.
  for (const [id, record] of runs) if (record.runId !== id && !runs.has(record.runId)) runs.delete(id);
  if (runs.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
  return ended;
}
