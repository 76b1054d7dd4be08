// A small OTLP/HTTP JSON receiver on 127.0.0.1 for the consumer fixtures: keeps each request's path, headers and
// spans (name, ids, scope, resource attributes as strings).
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";

const text = (v) => v?.stringValue ?? (v?.intValue !== undefined ? String(v.intValue) : undefined);
const attributes = (list) => Object.fromEntries((list ?? []).map((a) => [a.key, text(a.value)]));

export async function startReceiver() {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let raw = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      const spans = [];
      try {
        for (const rs of JSON.parse(raw.toString("utf8")).resourceSpans ?? []) {
          const resource = attributes(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({ name: s.name, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "", scope: ss.scope?.name, resource });
            }
          }
        }
      } catch (error) {
        res.writeHead(400).end(String(error));
        return;
      }
      requests.push({ path: req.url, headers: req.headers, spans });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    requests,
    spans: () => requests.flatMap((r) => r.spans),
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (predicate(requests.flatMap((r) => r.spans))) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `receiver: condition not met in ${timeoutMs} ms; got ${JSON.stringify(requests.map((r) => [r.path, r.spans.map((s) => s.name)]))}`,
      );
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Throws with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(`consumer check failed: ${message}`);
  console.log(`ok  ${message}`);
}
