// Consumer: langgraph-ops/otel exporting to Langfuse through @langfuse/otel's span processor; a local receiver plays
// Langfuse's OTLP endpoint and checks the path and the Basic auth.
import { instrument } from "langgraph-ops";
import { startTelemetry } from "langgraph-ops/otel";
import { doublingGraph } from "./graph.mjs";
import { check, startReceiver } from "./receiver.mjs";

const receiver = await startReceiver();
const telemetry = startTelemetry({
  serviceName: "consumer-langfuse",
  otlp: false,
  langfuse: { baseUrl: receiver.origin, publicKey: "pk-lf-consumer", secretKey: "sk-lf-consumer" },
});
try {
  const out = await instrument(doublingGraph(), { tracing: true }).invoke({ n: 2 });
  check(out.n === 4, "the instrumented graph returns its result");
  await telemetry.forceFlush();
  await receiver.waitFor((spans) => spans.some((s) => s.name === "double"));
  const request = receiver.requests[0];
  check(request.path === "/api/public/otel/v1/traces", `exported to Langfuse's OTLP path (${request.path})`);
  const auth = `Basic ${Buffer.from("pk-lf-consumer:sk-lf-consumer").toString("base64")}`;
  check(request.headers.authorization === auth, "with Langfuse's Basic auth");
  check(
    receiver.spans().some((s) => s.name.includes("consumer")),
    "the graph's root span went through Langfuse's processor",
  );
} finally {
  await telemetry.shutdown();
  await receiver.close();
}
