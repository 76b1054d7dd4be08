/**
 * Serving the exposition over node:http-compatible request/response objects (node:http, express, fastify's raw
 * objects). Kept free of routing so applications can mount it on their own path.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** What {@link writeMetrics} needs from a `Metrics`. */
export interface Exposition {
  readonly contentType: string;
  text(): Promise<string>;
}

/** @internal Sends `status` with a short plain-text body (no body for HEAD). */
export function sendText(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * Writes the current exposition of `metrics` to `res`: 200 with the registry's content type for GET and HEAD,
 * 405 for other methods, 500 when a collect callback fails. Never throws.
 */
export function writeMetrics(metrics: Exposition, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendText(req, res, 405, "method not allowed\n", { allow: "GET, HEAD" });
    return;
  }
  metrics.text().then(
    (body) => {
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    },
    () => {
      // The error text could carry details of the app; the scrape only needs to know it failed.
      if (!res.writableEnded && !res.destroyed) sendText(req, res, 500, "metrics collection failed\n");
    },
  );
}
