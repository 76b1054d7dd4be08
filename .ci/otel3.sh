#!/usr/bin/env bash
# Leg: the tracing and otel tests against OpenTelemetry JS 3 (SDK 3.1, experimental 0.301, api 1.10), on Node 22.
# A copy of the repository gets the OpenTelemetry 3 packages in place of the 2.x dev install; the tests run unchanged.
# @langfuse/otel 5 still peers on OpenTelemetry 2's core and sdk-trace-base, so this install passes
# --legacy-peer-deps: it keeps Langfuse's processor (built on sdk-trace-base 2) inside SDK 3, the combination the
# README documents. The plain install next to OpenTelemetry 3 is checked by .ci/consumers.sh.
# Run locally: bash .ci/otel3.sh   (KEEP=1 keeps the temp copy)
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
ci_trap "otel3"
use_node 22

work="$(mktemp -d "${TMPDIR:-/tmp}/lgops-otel3-XXXXXX")"
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
copy_repo "$work"
set_dev_deps "$work" \
  "@opentelemetry/api=~1.10.0" \
  "@opentelemetry/core=^3.1.0" \
  "@opentelemetry/context-async-hooks=^3.1.0" \
  "@opentelemetry/exporter-trace-otlp-http=^0.301.0" \
  "@opentelemetry/resources=^3.1.0" \
  "@opentelemetry/sdk-node=^0.301.0" \
  "@opentelemetry/sdk-trace=^3.1.0" \
  "@opentelemetry/sdk-trace-node=-"
cd "$work"
echo "== installing OpenTelemetry JS 3 in $work"
npm install --no-audit --no-fund --legacy-peer-deps --loglevel=error
node .ci/expect-versions.mjs \
  @opentelemetry/api@1.10 @opentelemetry/sdk-node@0.301 @opentelemetry/sdk-trace@3 @opentelemetry/resources@3 \
  @opentelemetry/exporter-trace-otlp-http@0.301 @opentelemetry/core@3 @langfuse/otel@5
npx vitest run test/otel.test.ts test/tracing.test.ts test/tracing-content.test.ts test/export-reporting.test.ts \
  test/exporter-faults.test.ts
echo "== otel3: passed on OpenTelemetry JS 3"
