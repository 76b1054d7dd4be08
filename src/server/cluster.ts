/**
 * Metrics of a `node:cluster` application: each worker has its own registry, so a scrape of one worker sees only
 * its share. Workers made with `createMetrics({ cluster: true })` answer the primary's requests for their series;
 * `serveClusterMetrics()` in the primary serves their sum (prom-client's `AggregatorRegistry`).
 *
 * How series combine: counters and histograms (each bucket, `_sum` and `_count`) add up across workers, and so
 * does the in-flight gauge; the one-hot breaker state gauge takes the maximum, so a state reads 1 when at least one
 * worker's breaker is in it (an open breaker anywhere shows, and alerts on `== 1` still fire).
 */
import cluster from "node:cluster";
import { AggregatorRegistry, type RegistryContentType } from "prom-client";
import { type MetricsServer, type ServeMetricsOptions, serveExposition } from "./serve.js";

/** Options of {@link serveClusterMetrics}: those of `serveMetrics`. */
export type ServeClusterMetricsOptions = ServeMetricsOptions;

/**
 * Serves, from the cluster's primary process, the sum of the series of every worker made with
 * `createMetrics({ cluster: true })`: `/metrics`, `/healthz` and `/readyz` with the options, defaults and hardening of
 * `serveMetrics`. A worker that does not answer within 5 s (prom-client's limit) fails that scrape with a 500.
 * @example
 * if (cluster.isPrimary) {
 *   for (let i = 0; i < 4; i++) cluster.fork();
 *   await serveClusterMetrics({ port: 9464 });
 * } else {
 *   const metrics = createMetrics({ cluster: true });
 *   // instrument(graph, { metrics }) as usual
 * }
 */
export async function serveClusterMetrics(options: ServeClusterMetricsOptions = {}): Promise<MetricsServer> {
  if (!cluster.isPrimary) {
    throw new Error(
      "serveClusterMetrics() runs in the cluster's primary process; in workers, create the metrics with createMetrics({ cluster: true })",
    );
  }
  const aggregator = new AggregatorRegistry<RegistryContentType>();
  return serveExposition(
    { contentType: aggregator.contentType, text: () => aggregator.clusterMetrics() },
    options,
    "serveClusterMetrics(options)",
  );
}
