/**
 * The worker side of cluster metrics: registries made with `createMetrics({ cluster: true })` answer the primary's
 * requests for their series (prom-client's `AggregatorRegistry` protocol); `serveClusterMetrics()` in the primary
 * serves their sum.
 */
import cluster from "node:cluster";
import { AggregatorRegistry, type Registry, type RegistryContentType, register } from "prom-client";
// Process-wide (keyed in the global symbol registry): the CommonJS build may load this module more than once, and
// prom-client keeps a single list of the registries a worker reports.
const KEY = Symbol.for("langgraph-ops.cluster-registries");
const slot = globalThis as unknown as Record<symbol, { registries: Set<Registry<RegistryContentType>>; listening: boolean } | undefined>;
slot[KEY] ??= { registries: new Set(), listening: false };
const state = slot[KEY];

function report(): void {
  // prom-client reports the global registry by default; keep it, so the app's own global metrics still add up.
  AggregatorRegistry.setRegistries([...new Set<Registry<RegistryContentType>>([register, ...state.registries])]);
}

/**
 * @internal Makes `registry` answer the cluster primary's scrapes; returns the function that stops it. Does nothing
 * outside a cluster worker, so the same code runs unclustered (a single process, tests).
 */
export function joinCluster(registry: Registry<RegistryContentType>): () => void {
  if (!cluster.isWorker) return () => undefined;
  state.registries.add(registry);
  report();
  if (!state.listening) {
    state.listening = true;
    // Constructing one installs prom-client's worker-side listener for the primary's requests.
    new AggregatorRegistry();
  }
  return () => {
    state.registries.delete(registry);
    report();
  };
}
