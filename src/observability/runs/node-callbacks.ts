/**
 * The callbacks a node's function gets. Where LangGraph passed the node none (no handler at invoke time, no
 * LangSmith tracing, no `streamEvents` or `messages` stream), they hold only the kit's handler, and the chains the
 * node runs (sequences, lambdas, prompt templates, model bindings) are transparent: LangChain builds no run manager
 * for them, and the calls they make (LLMs, tools, retrievers, nested graphs) report straight to the node run. The
 * kit records only those calls; a run manager per inner chain is the cost every callback-based tool pays per
 * runnable. As soon as another handler listens (added inside the node, or by LangChain's configure hooks), chains
 * are real runs again, for that handler's sake.
 */
import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { CallbackManager, CallbackManagerForChainRun } from "@langchain/core/callbacks/manager";
import type { Serialized } from "@langchain/core/load/serializable";
import { isGraphClass } from "./classify.js";

type ManagerFields = NonNullable<ConstructorParameters<typeof CallbackManager>[1]>;

/** The class name a runnable serialises as (last element of its `id`). */
function className(serialized: Serialized | undefined): string | undefined {
  const id = (serialized as { id?: unknown } | undefined)?.id;
  return Array.isArray(id) ? (id[id.length - 1] as string | undefined) : undefined;
}

/** @internal A callback manager whose only listener is the kit's handler; see the module comment. */
export class NodeCallbackManager extends CallbackManager {
  readonly #own: BaseCallbackHandler;
  #transparent: CallbackManagerForChainRun | undefined;

  constructor(parentRunId: string | undefined, own: BaseCallbackHandler, fields?: ManagerFields) {
    super(parentRunId, fields ?? { handlers: [own], inheritableHandlers: [own] });
    this.#own = own;
  }

  /** Nothing but the kit's handler listens. */
  #alone(): boolean {
    return this.handlers.length === 1 && this.handlers[0] === this.#own;
  }

  /**
   * A copy holding the same listener; `inheritableOnly`: the manager a chain run's children get (this one's
   * inheritable handlers, tags and metadata), as LangChain's `getChild` builds it.
   */
  #clone(inheritableOnly: boolean): NodeCallbackManager {
    const handlers = inheritableOnly ? this.inheritableHandlers : this.handlers;
    const tags = inheritableOnly ? this.inheritableTags : this.tags;
    const metadata = inheritableOnly ? this.inheritableMetadata : this.metadata;
    return new NodeCallbackManager(this._parentRunId, this.#own, {
      handlers: [...handlers],
      inheritableHandlers: [...this.inheritableHandlers],
      tags: [...tags],
      inheritableTags: [...this.inheritableTags],
      metadata: { ...metadata },
      inheritableMetadata: { ...this.inheritableMetadata },
    });
  }

  override copy(additionalHandlers: BaseCallbackHandler[] = [], inherit = true): CallbackManager {
    // Another handler joins: LangChain's own copy, whose chains are real runs.
    if (additionalHandlers.length > 0) return super.copy(additionalHandlers, inherit);
    return this.#clone(false);
  }

  override handleChainStart(
    chain: Serialized,
    inputs: Parameters<CallbackManager["handleChainStart"]>[1],
    runId?: string,
    runType?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
    parentRunId?: string,
    extra?: Record<string, unknown>,
  ): Promise<CallbackManagerForChainRun> {
    // A graph invoked inside a node is a real run: its nodes are node runs of this graph's tree.
    if (!this.#alone() || isGraphClass(className(chain)))
      return super.handleChainStart(chain, inputs, runId, runType, tags, metadata, runName, parentRunId, extra);
    if (this.#transparent === undefined) {
      // No handlers: ending it tells no one. Its children report to this manager's parent, the node run.
      const run = new CallbackManagerForChainRun(this._parentRunId ?? "", [], [], [], [], {}, {}, undefined);
      run.getChild = () => this.#clone(true);
      this.#transparent = run;
    }
    return Promise.resolve(this.#transparent);
  }
}

/**
 * @internal `callbacks` (a run config's: a handler list or a manager) with `handler` added, as LangChain merges
 * them; anything else is returned as it is.
 */
export function withHandler(callbacks: unknown, handler: BaseCallbackHandler): unknown {
  if (callbacks === undefined || callbacks === null) return [handler];
  if (Array.isArray(callbacks)) return [...callbacks, handler];
  const manager = callbacks as { copy?: () => { addHandler(h: BaseCallbackHandler, inherit?: boolean): void } };
  if (typeof manager.copy !== "function") return callbacks;
  const copy = manager.copy();
  copy.addHandler(handler, true);
  return copy;
}

/** @internal The callbacks a node's function gets: LangGraph's (if any) plus the kit's handler, parented to node run `runId`. */
export function nodeCallbacks(callbacks: unknown, runId: string, handler: BaseCallbackHandler): unknown {
  if (callbacks === undefined || callbacks === null) return new NodeCallbackManager(runId, handler);
  if (Array.isArray(callbacks)) {
    const handlers = [...(callbacks as BaseCallbackHandler[]), handler];
    return new CallbackManager(runId, { handlers, inheritableHandlers: [...handlers] });
  }
  return withHandler(callbacks, handler);
}
