# shellcheck shell=bash
# Sourced by scripts/run.sh and scripts/local-cluster.sh: where a private Mosquitto keeps its
# persistence file. Mosquitto started as root drops to user "mosquitto" before it saves, so a
# root-owned state dir fails ("Error saving in-memory database ... Permission denied"). We hand the
# dir to that user rather than configure "user root": the broker parses network input and should
# not keep root for it. A dir that user cannot even reach (a clone under a 0700 /root) gets a
# fallback under /var/lib/mosquitto, which Debian's package gives to that user.
#   broker_state_dir DIR NAME   prints the dir to use (DIR, or /var/lib/mosquitto/mqedge-NAME)
broker_state_dir() {
	local dir=$1 name=$2 alt
	if [ "$(id -u)" != 0 ] || ! id mosquitto >/dev/null 2>&1; then
		echo "$dir"	# not root: mosquitto keeps our user and writes where we can
		return
	fi
	chown mosquitto: "$dir"
	if runuser -u mosquitto -- test -w "$dir" 2>/dev/null; then
		echo "$dir"
		return
	fi
	alt=/var/lib/mosquitto/mqedge-$name
	mkdir -p "$alt"
	chown mosquitto: "$alt"
	echo "run: $dir is not reachable by user mosquitto; broker state in $alt" >&2
	echo "$alt"
}
