#!/usr/bin/env bash
# Installs the servers the test suite starts on loopback: Prometheus (+ promtool) and Redis from Debian.
# PostgreSQL binaries (initdb, postgres) are expected on the machine; installed from Debian when missing.
set -euo pipefail
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then missing+=(postgresql); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "test services: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test services missing (${missing[*]}); run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
# Debian starts the packaged daemons; the tests run their own on free ports, so stop the system ones.
(service redis-server stop || true) >/dev/null 2>&1
(service prometheus stop || true) >/dev/null 2>&1
echo "test services: installed"
