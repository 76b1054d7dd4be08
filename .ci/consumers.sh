#!/usr/bin/env bash
# Leg: consumer fixtures. `npm pack` the kit, then per combination a fresh project that runs a plain `npm install`
# (no --legacy-peer-deps) of the tarball and its peers, and a script that really uses it:
#   otel3    OpenTelemetry JS 3 + langgraph-ops/otel: a graph run's spans exported to a local OTLP receiver
#   redis6   ioredis 6 + langgraph-ops/redis: an idempotency claim on a real redis-server
#   langfuse @langfuse/otel 5 (on OpenTelemetry JS 2, which it peers on) + langgraph-ops/otel: export to Langfuse's path
# Run locally: bash .ci/consumers.sh [otel3|redis6|langfuse ...]   (KEEP=1 keeps the temp projects)
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
ci_trap "consumers"
use_node 22

work="$(mktemp -d "${TMPDIR:-/tmp}/lgops-consumers-XXXXXX")"
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
npm run build --silent >/dev/null
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "== packed $tarball"

graph_peers=(@langchain/langgraph @langchain/core)
otel2=(@opentelemetry/api@~1.9.0 "@opentelemetry/sdk-node@>=0.200.0 <0.300.0"
  "@opentelemetry/exporter-trace-otlp-http@>=0.200.0 <0.300.0" @opentelemetry/resources@^2 @opentelemetry/sdk-trace-base@^2)
otel3=(@opentelemetry/api@~1.10.0 @opentelemetry/sdk-node@^0.301.0 @opentelemetry/exporter-trace-otlp-http@^0.301.0
  @opentelemetry/resources@^3.1.0 @opentelemetry/sdk-trace@^3.1.0)

# fixture NAME SCRIPT EXPECTED-VERSIONS -- PACKAGES...: a fresh project, a plain npm install, the script.
fixture() {
  local name="$1" script="$2" expect="$3"
  shift 4
  local dir="$work/$name"
  mkdir -p "$dir"
  printf '{ "name": "consumer-%s", "version": "1.0.0", "private": true, "type": "module" }\n' "$name" >"$dir/package.json"
  cp .ci/consumers/*.mjs .ci/expect-versions.mjs "$dir/"
  echo "== [$name] npm install $tarball $*"
  local started=$SECONDS
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$tarball" "$@") || {
    echo "!! [$name] npm install of the kit next to: $* failed (a peer range no longer admits them?)" >&2
    return 1
  }
  # shellcheck disable=SC2086 # a list of package@version
  (cd "$dir" && node expect-versions.mjs $expect && node "$script") || {
    echo "!! [$name] the consumer script $script failed" >&2
    return 1
  }
  echo "== [$name] passed in $((SECONDS - started)) s"
}

for leg in "${@:-otel3 redis6 langfuse}"; do
  for one in $leg; do
    case "$one" in
    otel3) fixture otel3 otel.mjs "@opentelemetry/sdk-node@0.301 @opentelemetry/sdk-trace@3 @opentelemetry/api@1.10" -- \
      "${otel3[@]}" "${graph_peers[@]}" ;;
    redis6) fixture redis6 redis.mjs "ioredis@6" -- ioredis@^6 "${graph_peers[@]}" ;;
    langfuse) fixture langfuse langfuse.mjs "@langfuse/otel@5 @opentelemetry/sdk-trace-base@2 @opentelemetry/api@1.9" -- \
      @langfuse/otel@^5 "${otel2[@]}" "${graph_peers[@]}" ;;
    *)
      echo "!! unknown consumer fixture: $one (otel3, redis6, langfuse)" >&2
      exit 2
      ;;
    esac
  done
done
echo "== consumers: passed"
