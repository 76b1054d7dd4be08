// Consumer: langgraph-ops/otel next to the OpenTelemetry JS the fixture installed (3.x or 2.x): startTelemetry
// exports a real graph run's spans over OTLP/HTTP to a local receiver.
import { instrument } from "langgraph-ops";
import { startTelemetry } from "langgraph-ops/otel";
import { doublingGraph } from "./graph.mjs";
import { check, startReceiver } from "./receiver.mjs";

const receiver = await startReceiver();
const telemetry = startTelemetry({ serviceName: "consumer-otel", otlp: { url: `${receiver.origin}/v1/traces` }, langfuse: false });
try {
  const graph = instrument(doublingGraph(), { tracing: true });
  const out = await graph.invoke({ n: 21 });
  check(out.n === 42, "the instrumented graph returns its result");
  await telemetry.forceFlush();
  await receiver.waitFor((spans) => spans.some((s) => s.name === "double"));
  const spans = receiver.spans();
  const node = spans.find((s) => s.name === "double");
  const root = spans.find((s) => s.spanId === node.parentSpanId);
  check(root?.name.includes("consumer") === true, `the node span's parent is the graph's root span (${root?.name})`);
  check(node.resource["service.name"] === "consumer-otel", "spans carry service.name from startTelemetry");
  check(
    receiver.requests.every((r) => r.path === "/v1/traces"),
    "exports went to the configured OTLP URL",
  );
} finally {
  await telemetry.shutdown();
  await receiver.close();
}
