/**
 * Recognising LangGraph runs from LangChain callback arguments: which chain run is a graph root, which is a node
 * attempt, and which are LangGraph internals that must not show up as spans or log lines.
 */
import type { Serialized } from "@langchain/core/load/serializable";

const HIDDEN_TAG = "langsmith:hidden";
const STEP_TAG_PREFIX = "graph:step:";
const GRAPH_CLASSES = new Set(["CompiledStateGraph", "CompiledGraph", "Pregel", "CompiledMessageGraph"]);

/** @internal What a chain run is to the kit. */
export type ChainRunKind = "root" | "node" | "hidden" | "passthrough" | "foreign";

function hasStepTag(tags: string[] | undefined): boolean {
  if (tags === undefined) return false;
  for (const t of tags) if (t.startsWith(STEP_TAG_PREFIX)) return true;
  return false;
}

/** @internal Whether the serialized runnable is a compiled LangGraph graph. */
export function isGraphRun(chain: Serialized | undefined): boolean {
  const id = chain?.id;
  return Array.isArray(id) && GRAPH_CLASSES.has(id[id.length - 1] ?? "");
}

/**
 * @internal Classifies a chain run. `parentKnown` says whether the parent run is one the caller tracks.
 * - root: the instrumented graph's own run (no tracked parent);
 * - node: a node attempt (run name = `langgraph_node`, a `graph:step:N` tag, not hidden);
 * - hidden: `__start__` and other runs LangGraph hides;
 * - passthrough: conditional edges, nested graph roots, user chains inside nodes: children attach to the parent;
 * - foreign: a run under a parent the caller does not track.
 */
export function classifyChainRun(
  chain: Serialized | undefined,
  parentRunId: string | undefined,
  parentKnown: boolean,
  tags: string[] | undefined,
  metadata: Readonly<Record<string, unknown>> | undefined,
  runName: string | undefined,
): ChainRunKind {
  if (!parentKnown) return parentRunId === undefined || isGraphRun(chain) ? "root" : "foreign";
  if (tags?.includes(HIDDEN_TAG)) return "hidden";
  const node = metadata?.langgraph_node;
  if (typeof node === "string" && runName === node && hasStepTag(tags)) return "node";
  return "passthrough";
}
