#!/usr/bin/env bash
# The main job: install what is missing, build, start a private Mosquitto on loopback (unless
# --broker is given) and one edge, and print where to connect. Ctrl-C stops both.
#   scripts/run.sh [mqedge options...]
# Environment: MQEDGE_PORT (default 8080), MQEDGE_BROKER_PORT (default 1883),
#              MQEDGE_JWT_SECRET (default: a random one, printed with a dev token).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/deps.sh
scripts/build.sh build

port=${MQEDGE_PORT:-8080}
broker_port=${MQEDGE_BROKER_PORT:-1883}
secret=${MQEDGE_JWT_SECRET:-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')}
rundir=$root/run
mkdir -p "$rundir/broker" "$rundir/data"

busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

args=("$@")
if [[ " ${args[*]} " != *" --broker "* && " ${args[*]} " != *" --broker="* ]]; then
	if busy "$broker_port"; then
		echo "run: port $broker_port is taken; set MQEDGE_BROKER_PORT or pass --broker HOST:PORT" >&2
		exit 1
	fi
	cat >"$rundir/broker/mosquitto.conf" <<CONF
# private development broker written by scripts/run.sh (see examples/mosquitto.conf)
listener $broker_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $rundir/broker/
max_queued_messages 100000
max_inflight_messages 0
CONF
	mosquitto -c "$rundir/broker/mosquitto.conf" >"$rundir/broker/mosquitto.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do busy "$broker_port" && break; sleep 0.1; done
	busy "$broker_port" || { echo "run: mosquitto did not start, see $rundir/broker/mosquitto.log" >&2; exit 1; }
	args+=(--broker "127.0.0.1:$broker_port")
fi
if busy "$port"; then
	echo "run: port $port is taken; set MQEDGE_PORT" >&2
	exit 1
fi

api_key=${MQEDGE_API_KEY:-dev-api-key}
build/bin/mqedge --port "$port" --edge-id "dev-$port" --jwt-secret "$secret" --data-dir "$rundir/data" \
	--web-root "$root/examples/web" --api-key "$api_key" \
	--history-rooms 'lobby,chat-*=500/600' --presence-rooms 'lobby,chat-*' "${args[@]}" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

token=$(build/bin/mqedge-token --secret "$secret" --sub alice --rooms '*' --devices '*' --cmd '*' --ttl 86400)
cat <<MSG

mqedge is running.
  Demo page:  http://127.0.0.1:$port/demo/?token=$token&room=lobby&device=d1
  WebSocket:  ws://127.0.0.1:$port/ws?token=$token
  Health:     http://127.0.0.1:$port/healthz   Ready: http://127.0.0.1:$port/readyz   Metrics: http://127.0.0.1:$port/metrics
  JWT secret: $secret   (more tokens: build/bin/mqedge-token --secret '$secret' --sub bob --rooms 'lobby')
  HTTP API:   key $api_key (examples/backend/notify-http.sh); a device: build/bin/mqedge-device-sim --broker 127.0.0.1:$broker_port --id d1
Press Ctrl-C to stop.
MSG
wait "${pids[-1]}"
