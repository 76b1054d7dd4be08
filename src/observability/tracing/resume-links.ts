/**
 * Links a resumed run to the run it resumes: the interrupted root span's context is kept per thread (bounded, this
 * process only) and becomes a span link on the next root span of that thread.
 */
import type { Link, SpanContext } from "@opentelemetry/api";

/** Threads remembered at most; the oldest is forgotten first. */
const MAX_THREADS = 10_000;
const interrupted = new Map<string, SpanContext>();

/** @internal Remembers that the run of `thread` whose root span is `root` ended interrupted. */
export function rememberInterrupted(thread: string, root: SpanContext): void {
  interrupted.delete(thread);
  interrupted.set(thread, root);
  if (interrupted.size > MAX_THREADS) {
    const oldest = interrupted.keys().next().value;
    if (oldest !== undefined) interrupted.delete(oldest);
  }
}

/** @internal The link to the interrupted run of `thread`, if one is waiting; forgets it. */
export function takeResumeLink(thread: unknown): Link[] | undefined {
  if (typeof thread !== "string") return undefined;
  const root = interrupted.get(thread);
  if (root === undefined) return undefined;
  interrupted.delete(thread);
  return [{ context: root, attributes: { "langgraph.link.type": "resumes" } }];
}
