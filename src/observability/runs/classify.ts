/**
 * Recognising LangGraph runs from what a source reports of a chain run: the graph's own run, a node attempt, and
 * everything else (LangGraph internals, edge lambdas, nested graph roots, user chains), which has no record of its
 * own and stands for its parent.
 */

const HIDDEN_TAG = "langsmith:hidden";
const STEP_TAG_PREFIX = "graph:step:";
/** Runnables LangGraph serialises its graphs as (a `RemoteGraph` proxies one). */
const GRAPH_CLASSES: ReadonlySet<string> = new Set([
  "CompiledStateGraph",
  "CompiledGraph",
  "Pregel",
  "CompiledMessageGraph",
  "RemoteGraph",
]);

/** @internal What a chain run is to the tracker. */
export type ChainRunKind = "root" | "node" | "subgraph" | "hidden" | "passthrough" | "detached" | "foreign";

/** @internal Whether a runnable class is a LangGraph graph. */
export function isGraphClass(className: string | undefined): boolean {
  return className !== undefined && GRAPH_CLASSES.has(className);
}

function isNodeRun(tags: readonly string[] | undefined, node: unknown, runName: string | undefined): boolean {
  if (tags === undefined || typeof node !== "string" || runName !== node) return false;
  let step = false;
  for (const tag of tags) {
    if (tag === HIDDEN_TAG) return false;
    if (tag.startsWith(STEP_TAG_PREFIX)) step = true;
  }
  return step;
}

/**
 * @internal Classifies a chain run. `parentTracked` says whether the parent run is one the tracker knows.
 * - root: a graph run with no tracked parent (the instrumented graph's own run);
 * - detached: a parentless run that is not a graph (`updateState`'s writers): no graph run, its children stand alone;
 * - foreign: a run that is not a graph under a parent the tracker does not know;
 * - node: a node attempt (run name = `langgraph_node`, a `graph:step:N` tag, not hidden);
 * - subgraph: a nested graph's own run (its nodes are nodes of the tree);
 * - hidden: runs LangGraph hides (`__start__`, channel writes);
 * - passthrough: conditional edges, user chains inside nodes.
 * Subgraph, hidden and pass-through runs get no record: they stand for their parent.
 */
export function classifyChainRun(
  className: string | undefined,
  parentRunId: string | undefined,
  parentTracked: boolean,
  tags: readonly string[] | undefined,
  metadata: Readonly<Record<string, unknown>> | undefined,
  runName: string | undefined,
): ChainRunKind {
  if (!parentTracked) {
    if (isGraphClass(className)) return "root";
    return parentRunId === undefined ? "detached" : "foreign";
  }
  if (isNodeRun(tags, metadata?.langgraph_node, runName)) return "node";
  if (isGraphClass(className)) return "subgraph";
  if (tags?.includes(HIDDEN_TAG) === true) return "hidden";
  return "passthrough";
}
