#!/usr/bin/env bash
# netns.sh - two "hosts" in network namespaces for the bridged-brokers topology (tests/topology/README.md).
#
#   netns.sh up [--owner PID]   create a run; prints KEY=VALUE lines (RUN, NS_A, NS_B, HOST_A, HOST_B, ...)
#   netns.sh down RUN           stop what still runs in the run's namespaces, delete them and their links
#   netns.sh clean              down every run whose owner process is gone (up does this first)
#   netns.sh list               the runs on this machine and their owners
#
# One run, with N a free number in 1..254 (10.213.N.0/24 belongs to the run alone):
#
#        root namespace (test clients)
#     10.213.N.1 |              | 10.213.N.5
#     mqt<RUN>a  |              | mqt<RUN>b             (veth pairs; the other ends are called "root")
#     10.213.N.2 |              | 10.213.N.6
#     [ ns A: HOST_A ]--peer----peer--[ ns B: HOST_B ]   10.213.N.9 <-> 10.213.N.10 (veth pair)
#
# HOST_A is where broker A and edges 1 and 2 listen, HOST_B broker B and edge 3. Each namespace reaches
# the other's host address through the A-B link (a /32 route via the peer), so traffic between the two
# groups never passes through the root namespace, which forwards nothing (its ip_forward is not touched).
# Names are prefixed (mqt-) and carry the run id; a state file per run (in $MQEDGE_TOPO_STATE, default
# /run/mqedge-topology) names the owner process (pid and start time), written before anything is
# created, so a crashed run is always found and cleaned by the next `up` or `clean`. Needs root and
# iproute2.
set -euo pipefail

state=${MQEDGE_TOPO_STATE:-/run/mqedge-topology}
prefix=mqt

die() { echo "netns.sh: $*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces and veth links); run as root"
	command -v ip >/dev/null 2>&1 || die "needs ip (Debian package iproute2; scripts/deps.sh with MQEDGE_WITH_TEST_DEPS=1 installs it)"
	mkdir -p "$state"
}

# start time of a process (field 22 of /proc/PID/stat), empty when it is gone
proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }	# the command name may hold spaces; fields after it are plain
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}"
}

# the value of KEY in a state file
field() { sed -n "s/^$2=//p" "$1"; }

owner_alive() {
	local f=$1 pid start
	pid=$(field "$f" OWNER_PID)
	start=$(field "$f" OWNER_START)
	[ -n "$pid" ] && [ -n "$start" ] && [ "$(proc_start "$pid")" = "$start" ]
}

kill_in_ns() {
	local ns=$1 pids tries=0
	ip netns list 2>/dev/null | grep -qw "^$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	while [ -n "$(ip netns pids "$ns" 2>/dev/null || true)" ] && [ $tries -lt 20 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

down_run() {
	local run=$1 f="$state/$1" ns
	[[ $run =~ ^[0-9a-f]{6}$ ]] || die "not a run id: $run"
	for ns in "$prefix-$run-a" "$prefix-$run-b"; do
		kill_in_ns "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
	# deleting a namespace deletes its veth ends and so their peers; these are for a run that died
	# half-way through `up`
	ip link del "${prefix}${run}a" 2>/dev/null || true
	ip link del "${prefix}${run}b" 2>/dev/null || true
	rm -f "$f"
}

clean() {
	local f run ns
	for f in "$state"/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]; do
		[ -e "$f" ] || continue
		owner_alive "$f" && continue
		run=${f##*/}
		echo "netns.sh: cleaning run $run left by process $(field "$f" OWNER_PID) (gone)" >&2
		down_run "$run"
	done
	# namespaces of ours with no state file (its file is written first, so these are leftovers)
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-[0-9a-f]{6}-[ab]$" || true); do
		run=${ns#"$prefix"-}
		run=${run%-?}
		[ -e "$state/$run" ] && continue
		echo "netns.sh: removing stray namespace $ns" >&2
		kill_in_ns "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
}

net_in_use() {
	local n=$1 f
	for f in "$state"/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]; do
		[ -e "$f" ] || continue
		[ "$(field "$f" NET)" = "$n" ] && return 0
	done
	ip -4 -o addr show | grep -q " 10\.213\.$n\." && return 0
	ip -4 route show | grep -q "^10\.213\.$n\." && return 0
	return 1
}

up() {
	local owner=$PPID run n net a b la lb start tries=0
	while [ $# -gt 0 ]; do
		case $1 in
		--owner) owner=$2; shift 2 ;;
		*) die "up: unknown argument $1" ;;
		esac
	done
	start=$(proc_start "$owner")
	[ -n "$start" ] || die "up: owner process $owner does not exist"
	exec 9>"$state/.lock"
	flock 9
	clean
	while :; do
		run=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
		[ -e "$state/$run" ] || break
	done
	while :; do
		n=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 254 + 1 ))
		net_in_use "$n" || break
		tries=$((tries + 1))
		[ $tries -lt 100 ] || die "up: no free 10.213.N.0/24"
	done
	net=10.213.$n
	a=$prefix-$run-a b=$prefix-$run-b la=${prefix}${run}a lb=${prefix}${run}b
	cat >"$state/$run" <<EOF
OWNER_PID=$owner
OWNER_START=$start
NET=$n
EOF
	flock -u 9
	trap 'down_run "$run"' ERR
	ip netns add "$a"
	ip netns add "$b"
	ip -n "$a" link set lo up
	ip -n "$b" link set lo up
	# root <-> A, root <-> B
	ip link add "$la" type veth peer name root netns "$a"
	ip link add "$lb" type veth peer name root netns "$b"
	ip addr add "$net.1/30" dev "$la"
	ip addr add "$net.5/30" dev "$lb"
	ip link set "$la" up
	ip link set "$lb" up
	ip -n "$a" addr add "$net.2/30" dev root
	ip -n "$b" addr add "$net.6/30" dev root
	ip -n "$a" link set root up
	ip -n "$b" link set root up
	# A <-> B, and each host address through it
	ip -n "$a" link add peer type veth peer name peer netns "$b"
	ip -n "$a" addr add "$net.9/30" dev peer
	ip -n "$b" addr add "$net.10/30" dev peer
	ip -n "$a" link set peer up
	ip -n "$b" link set peer up
	ip -n "$a" route add "$net.6/32" via "$net.10" dev peer
	ip -n "$b" route add "$net.2/32" via "$net.9" dev peer
	trap - ERR
	cat <<EOF
RUN=$run
NS_A=$a
NS_B=$b
HOST_A=$net.2
HOST_B=$net.6
ROOT_A=$net.1
ROOT_B=$net.5
PEER_A=$net.9
PEER_B=$net.10
LINK_A=$la
LINK_B=$lb
LINK_AB=peer
EOF
}

cmd=${1:-}
shift || true
case $cmd in
up) need_root; up "$@" ;;
down) need_root; [ $# -eq 1 ] || die "usage: netns.sh down RUN"; down_run "$1" ;;
clean) need_root; exec 9>"$state/.lock"; flock 9; clean ;;
list)
	need_root
	for f in "$state"/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]; do
		[ -e "$f" ] || continue
		if owner_alive "$f"; then s=alive; else s=gone; fi
		echo "${f##*/} net=10.213.$(field "$f" NET).0/24 owner=$(field "$f" OWNER_PID) ($s)"
	done
	;;
*) die "usage: netns.sh up [--owner PID] | down RUN | clean | list" ;;
esac
