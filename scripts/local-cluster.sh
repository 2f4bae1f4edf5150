#!/usr/bin/env bash
# The docker-compose.yml topology without Docker: one private Mosquitto and two edges from the
# build tree, all on loopback, sharing the broker, plus the example rpc backend for the demo page
# (examples/backend/rpc-worker.mjs, when node and npm ci's packages are there; not in
# docker-compose.yml). Ctrl-C (or SIGTERM) stops everything.
#   scripts/local-cluster.sh [--broker-port N] [--edge-ports N,N] [--dir DIR] [--no-build]
# Environment: MQEDGE_BIN, MQEDGE_TOKEN_BIN (default: the build tree), MQEDGE_JWT_SECRET, MQEDGE_API_KEY.
# Keep it in step with docker-compose.yml (same services, options and config files).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
broker_port=1883
edge_ports=8081,8082
dir=$root/run/cluster
build=1
secret=${MQEDGE_JWT_SECRET:-dev-secret-change-me}
mqedge=${MQEDGE_BIN:-$root/build/bin/mqedge}
token_tool=${MQEDGE_TOKEN_BIN:-$root/build/bin/mqedge-token}
api_key=${MQEDGE_API_KEY:-dev-api-key}
while [ $# -gt 0 ]; do
	case $1 in
	--broker-port) broker_port=$2; shift 2 ;;
	--edge-ports) edge_ports=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	*) echo "usage: $0 [--broker-port N] [--edge-ports N,N] [--dir DIR] [--no-build]" >&2; exit 2 ;;
	esac
done
IFS=, read -r port1 port2 <<<"$edge_ports"
[ "$build" = 1 ] && scripts/build.sh build >/dev/null
. scripts/lib/broker-state.sh
. scripts/lib/rpc-worker.sh

busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$broker_port" "$port1" "$port2"; do
	if busy "$p"; then echo "local-cluster: port $p is taken" >&2; exit 1; fi
done
mkdir -p "$dir/broker" "$dir/edge1" "$dir/edge2"

pids=()
stop() {
	trap - EXIT INT TERM
	# edges (they publish their offline status) and the rpc worker first, then the broker
	for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]:1}"; do wait "$p" 2>/dev/null || true; done
	kill -TERM "${pids[0]}" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

# the broker config of docker-compose.yml, with a loopback listener and local paths
state=$(broker_state_dir "$dir/broker" "cluster-$broker_port")
sed -e "s|^listener 1883.*|listener $broker_port 127.0.0.1|" \
    -e "s|^persistence_location .*|persistence_location $state/|" \
    docker/mosquitto.conf >"$dir/broker/mosquitto.conf"
mosquitto -c "$dir/broker/mosquitto.conf" >"$dir/broker/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do busy "$broker_port" && break; sleep 0.05; done

start_edge() {	# start_edge NAME PORT
	# secrets through the environment (MQEDGE_*), as docker-compose.yml passes them
	MQEDGE_JWT_SECRET=$secret MQEDGE_API_KEY=$api_key \
		"$mqedge" --config docker/mqedge.conf --bind 127.0.0.1 --port "$2" --edge-id "$1" \
		--broker "127.0.0.1:$broker_port" --data-dir "$dir/$1" --web-root "$root/examples/web" \
		--rpc-timeouts 'slow=3000' >"$dir/$1.log" 2>&1 &
	pids+=($!)
}
start_edge edge1 "$port1"
start_edge edge2 "$port2"
for port in "$port1" "$port2"; do
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "local-cluster: edge on $port not ready, see $dir" >&2; exit 1; }
done
# after the edges: pids[1] and pids[2] are theirs (waited for below)
rpc_worker_pid='' rpc_worker_note=''	# set by start_rpc_worker
start_rpc_worker "$root" "127.0.0.1:$broker_port" mqedge/v1 "$dir/rpc-worker.log"
[ -z "$rpc_worker_pid" ] || pids+=("$rpc_worker_pid")
token=$("$token_tool" --secret "$secret" --sub alice --rooms '*' --devices '*' --cmd '*' --rpc '*' --ttl 86400)
echo "local-cluster: ready broker=127.0.0.1:$broker_port edges=$port1,$port2 logs=$dir"
echo "  demo:  http://127.0.0.1:$port1/demo/?token=$token   and   http://127.0.0.1:$port2/demo/?token=$token"
echo "  rpc:   $rpc_worker_note"
echo "  API:   EDGE_URL=http://127.0.0.1:$port1 API_KEY=$api_key examples/backend/notify-http.sh alice"
wait "${pids[1]}" "${pids[2]}"
