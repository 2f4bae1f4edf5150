# shellcheck shell=bash
# Sourced by scripts/run.sh and scripts/local-cluster.sh: starts the example rpc backend
# (examples/backend/rpc-worker.mjs, docs/PROTOCOL.md section 11) for the demo page's backend panel.
# It needs node and npm `mqtt` (npm ci in the repository); without them the demo runs without it
# (its rpc buttons answer no_backend).
#   start_rpc_worker ROOT BROKER(HOST:PORT) PREFIX LOGFILE
# Sets rpc_worker_pid (empty when not started) and rpc_worker_note (one line for the user). The
# caller stops the worker with the rest (SIGTERM: it exits at once).
# shellcheck disable=SC2034 # rpc_worker_pid and rpc_worker_note are for the caller
start_rpc_worker() {
	local root=$1 broker=$2 prefix=$3 log=$4 i
	rpc_worker_pid=
	if ! command -v node >/dev/null 2>&1 || [ ! -d "$root/node_modules/mqtt" ]; then
		rpc_worker_note="not started (it needs node and npm ci; see examples/backend/README.md)"
		return 0
	fi
	node "$root/examples/backend/rpc-worker.mjs" --broker "$broker" --prefix "$prefix" --name w1 >"$log" 2>&1 &
	rpc_worker_pid=$!
	for i in $(seq 50); do
		grep -q ': ready ' "$log" 2>/dev/null && break
		kill -0 "$rpc_worker_pid" 2>/dev/null || break
		[ "$i" = 50 ] || sleep 0.1
	done
	if grep -q ': ready ' "$log" 2>/dev/null; then
		rpc_worker_note="worker w1 (examples/backend/rpc-worker.mjs), log $log"
	elif kill -0 "$rpc_worker_pid" 2>/dev/null; then
		rpc_worker_note="worker w1 started but not subscribed yet, see $log"
	else
		rpc_worker_note="worker w1 exited at start, see $log"
		rpc_worker_pid=
	fi
}
