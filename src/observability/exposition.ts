/**
 * Serving the exposition over node:http-compatible request/response objects (node:http, express, fastify's raw
 * objects). Kept free of routing so applications can mount it on their own path.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";

const gzipAsync = promisify(gzip);

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
 * @internal Whether an `Accept-Encoding` value accepts gzip: listed as `gzip` (or `x-gzip`, or `*`) with a non-zero
 * quality. Prometheus sends `Accept-Encoding: gzip` on every scrape.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(",") : header;
  let star = false;
  for (const part of value.split(",")) {
    const [coding = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (coding === "gzip" || coding === "x-gzip") return accepted;
    if (coding === "*") star = accepted;
  }
  return star;
}

/**
 * Writes the current exposition of `metrics` to `res`: 200 with the registry's content type for GET and HEAD,
 * gzip-compressed (`Content-Encoding: gzip`) when the request's `Accept-Encoding` allows it, identity otherwise,
 * always with `Vary: Accept-Encoding`; 405 for other methods, 500 when a collect callback fails. Never throws.
 */
export function writeMetrics(metrics: Exposition, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendText(req, res, 405, "method not allowed\n", { allow: "GET, HEAD" });
    return;
  }
  const compress = acceptsGzip(req.headers["accept-encoding"]);
  metrics
    .text()
    .then(async (text) => {
      // Compressed off the event loop (zlib's thread pool): a large exposition must not stall probes meanwhile.
      const body = compress && req.method !== "HEAD" ? await gzipAsync(text) : text;
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(200, {
        "content-type": metrics.contentType,
        "cache-control": "no-store",
        vary: "Accept-Encoding",
        ...(compress ? { "content-encoding": "gzip" } : {}),
        ...(req.method === "HEAD" ? {} : { "content-length": String(Buffer.byteLength(body)) }),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    })
    .catch(() => {
      // The error text could carry details of the app; the scrape only needs to know it failed.
      if (!res.writableEnded && !res.destroyed && !res.headersSent) sendText(req, res, 500, "metrics collection failed\n");
    });
}
