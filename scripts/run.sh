#!/usr/bin/env bash
# The main job: install what is missing, build, start a private Mosquitto on loopback (unless
# --broker is given), one edge and the example rpc backend (examples/backend/rpc-worker.mjs, when
# node and npm ci's packages are there), and print where to connect. Ctrl-C stops them all.
#   scripts/run.sh [mqedge options...]     (--help, --version, --check-config: answered by mqedge)
# "mqedge is running" is printed once /readyz answers; if the edge exits first, its status is ours.
# Environment: MQEDGE_PORT (default 8080), MQEDGE_BROKER_PORT (default 1883),
#              MQEDGE_JWT_SECRET (default: a random one, printed with a dev token).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/deps.sh
scripts/build.sh build
. scripts/lib/broker-state.sh
. scripts/lib/rpc-worker.sh

# questions to the binary itself: answer them, start nothing
for a in "$@"; do
	case $a in
	--help|-h|--version|--check-config) exec build/bin/mqedge "$@" ;;
	esac
done

port=${MQEDGE_PORT:-8080}
broker_port=${MQEDGE_BROKER_PORT:-1883}
secret=${MQEDGE_JWT_SECRET:-$(head -c 36 /dev/urandom | base64 | tr -d '/+=')}
rundir=$root/run
mkdir -p "$rundir/broker" "$rundir/data"

busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

args=("$@")
# what the edge will really use: the last --port (--broker, --topic-prefix) among the arguments
# wins, as in mqedge; the rpc worker goes to the same broker and prefix
broker_arg=
prefix=mqedge/v1
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	--port) port=${args[i + 1]:-$port} ;;
	--port=*) port=${args[i]#--port=} ;;
	--broker) broker_arg=${args[i + 1]:-} ;;
	--broker=*) broker_arg=${args[i]#--broker=} ;;
	--topic-prefix) prefix=${args[i + 1]:-$prefix} ;;
	--topic-prefix=*) prefix=${args[i]#--topic-prefix=} ;;
	esac
done
if [[ " ${args[*]} " != *" --broker "* && " ${args[*]} " != *" --broker="* ]]; then
	if busy "$broker_port"; then
		echo "run: port $broker_port is taken; set MQEDGE_BROKER_PORT or pass --broker HOST:PORT" >&2
		exit 1
	fi
	state=$(broker_state_dir "$rundir/broker" "run-$broker_port")
	cat >"$rundir/broker/mosquitto.conf" <<CONF
# private development broker written by scripts/run.sh (see examples/mosquitto.conf)
listener $broker_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $state/
max_queued_messages 100000
max_inflight_messages 0
CONF
	mosquitto -c "$rundir/broker/mosquitto.conf" >"$rundir/broker/mosquitto.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do busy "$broker_port" && break; sleep 0.1; done
	busy "$broker_port" || { echo "run: mosquitto did not start, see $rundir/broker/mosquitto.log" >&2; exit 1; }
	args+=(--broker "127.0.0.1:$broker_port")
	broker_arg=127.0.0.1:$broker_port
fi
if busy "$port"; then
	echo "run: port $port is taken; set MQEDGE_PORT" >&2
	exit 1
fi

# the demo's backend panel: a worker answering rpc requests (its buttons show no_backend without it)
rpc_worker_pid='' rpc_worker_note=''	# set by start_rpc_worker
start_rpc_worker "$root" "$broker_arg" "$prefix" "$rundir/rpc-worker.log"
[ -z "$rpc_worker_pid" ] || pids+=("$rpc_worker_pid")

api_key=${MQEDGE_API_KEY:-dev-api-key}
# secrets through the environment (MQEDGE_*), not the command line that ps shows
MQEDGE_JWT_SECRET=$secret MQEDGE_API_KEY=$api_key \
build/bin/mqedge --port "$port" --edge-id "dev-$port" --data-dir "$rundir/data" \
	--web-root "$root/examples/web" \
	--history-rooms 'lobby,chat-*=500/600' --presence-rooms 'lobby,chat-*' --rpc-timeouts 'slow=3000' "${args[@]}" &
edge=$!
pids+=("$edge")
# "running" only once it answers /readyz (broker session up, store open); if it exits first, say so
ready=0
for _ in $(seq 100); do
	if ! kill -0 "$edge" 2>/dev/null; then
		rc=0
		wait "$edge" || rc=$?
		echo "run: mqedge exited with status $rc (see its messages above); nothing is running" >&2
		exit $((rc ? rc : 1))
	fi
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && { ready=1; break; }
	sleep 0.1
done
if [ "$ready" = 0 ]; then
	echo "run: mqedge is up but not ready after 10 s (GET http://127.0.0.1:$port/readyz; is the broker reachable?)" >&2
fi

token=$(build/bin/mqedge-token --secret "$secret" --sub alice --rooms '*' --devices '*' --cmd '*' --rpc '*' --ttl 86400)
cat <<MSG

mqedge is running$([ "$ready" = 1 ] || echo ' (not ready yet)').
  Demo page:  http://127.0.0.1:$port/demo/?token=$token&room=lobby&device=d1
  WebSocket:  ws://127.0.0.1:$port/ws?token=$token
  Health:     http://127.0.0.1:$port/healthz   Ready: http://127.0.0.1:$port/readyz   Metrics: http://127.0.0.1:$port/metrics
  JWT secret: $secret   (more tokens: build/bin/mqedge-token --secret '$secret' --sub bob --rooms 'lobby')
  HTTP API:   key $api_key (examples/backend/notify-http.sh); a device: build/bin/mqedge-device-sim --broker $broker_arg --id d1
  RPC:        $rpc_worker_note
Press Ctrl-C to stop.
MSG
wait "$edge"
