#!/usr/bin/env bash
# Runs the benchmark driver (tests/bench/run.mjs) inside a private network namespace where only
# loopback exists: Mosquitto's WebSocket listener binds every interface. Needs root (unshare -n).
#   tests/bench/run.sh [--smoke] [--runs R] [--only s1,s2,...] [--out results.jsonl]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${MQEDGE_BENCH_NETNS:-}" != 1 ]; then
	exec unshare -n env MQEDGE_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
exec node tests/bench/run.mjs "$@"
