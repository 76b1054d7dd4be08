/**
 * A minimal OTLP/HTTP traces receiver on 127.0.0.1: decodes the JSON encoding (what
 * `@opentelemetry/exporter-trace-otlp-http` sends), gzip or not, and keeps every span with its resource and scope.
 * `mode: "hang"` accepts requests and never answers, to play a stuck collector.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** An attribute value after decoding. */
export type AttrValue = string | number | boolean | AttrValue[] | undefined;

/** One received span, flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  attributes: Record<string, AttrValue>;
  events: { name: string; attributes: Record<string, AttrValue> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, AttrValue> }[];
  startNs: bigint;
  endNs: bigint;
  scope: string;
  resource: Record<string, AttrValue>;
}

/** One received export request. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The decoded request body as text. */
  body: string;
  spans: ReceivedSpan[];
}

/** A running receiver. */
export interface OtlpReceiver {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  origin: string;
  /** Full traces URL for `path`. */
  url: string;
  requests: ReceivedRequest[];
  /** Requests accepted and never answered (mode "hang"). */
  pending(): number;
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  /** Resolves once `predicate(spans)` holds, or rejects after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

function decodeValue(v: JsonAnyValue | undefined): AttrValue {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

function decodeAttributes(list: JsonKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = decodeValue(kv.value);
  return out;
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: JsonKeyValue[];
  events?: { name: string; attributes?: JsonKeyValue[] }[];
  links?: { traceId: string; spanId: string; attributes?: JsonKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface JsonExport {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: JsonSpan[] }[];
  }[];
}

/** Decodes an OTLP/HTTP JSON ExportTraceServiceRequest into flat spans. */
export function decodeTraces(body: JsonExport): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = decodeAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          name: s.name,
          kind: s.kind,
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? "",
          attributes: decodeAttributes(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: decodeAttributes(e.attributes) })),
          links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: decodeAttributes(l.attributes) })),
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          scope: ss.scope?.name ?? "",
          resource,
        });
      }
    }
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Starts a receiver on a free loopback port. `path` defaults to `/v1/traces`. */
export async function startOtlpReceiver(options: { path?: string; mode?: "ok" | "hang" } = {}): Promise<OtlpReceiver> {
  const path = options.path ?? "/v1/traces";
  const mode = options.mode ?? "ok";
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer(async (req, res) => {
    if (mode === "hang") {
      hanging.add(res);
      return;
    }
    try {
      let body = await readBody(req);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const type = req.headers["content-type"] ?? "";
      if (!type.includes("json")) {
        res.writeHead(415).end("only OTLP/HTTP JSON is decoded here");
        return;
      }
      const text = body.toString("utf8");
      const spans = decodeTraces(JSON.parse(text) as JsonExport);
      requests.push({ path: req.url ?? "", headers: req.headers, body: text, spans });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    } catch (error) {
      res.writeHead(400).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const spans = () => requests.filter((r) => r.path === path).flatMap((r) => r.spans);
  return {
    origin,
    url: `${origin}${path}`,
    requests,
    spans,
    pending: () => hanging.size,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = spans();
        if (predicate(current)) return current;
        if (Date.now() > deadline)
          throw new Error(`OTLP receiver: condition not met within ${timeoutMs} ms; got ${current.map((s) => s.name).join(", ")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
