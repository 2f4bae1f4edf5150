#!/usr/bin/env bash
# The soak (docs/TESTING.md "Soak"): 10,000 ws + 1,000 wss clients on two edges for 10 minutes, with
# churn, traffic, a broker restart and an edge SIGKILL; report (JSON + text) in the output dir; exits
# non-zero on any loss, duplicate, crash, climbing RSS or leaked fd.
#   scripts/soak.sh [--seconds 600] [--ws 10000] [--wss 1000] [--out DIR] [more: tests/soak/soak.mjs]
# The edge is MQEDGE_BIN, else build-release/bin/mqedge (a Release tree, built here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MQEDGE_BIN:-}" ]; then
	[ -x build-release/bin/mqedge ] || scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release
	export MQEDGE_BIN=$PWD/build-release/bin/mqedge
fi
[ -d node_modules ] || npm ci --silent
exec node tests/soak/soak.mjs "$@"
