#!/usr/bin/env bash
# scripts/deps.sh on a bare Debian 12 (debootstrap; tests/package/root.sh), nothing else installed:
# with MQEDGE_WITH_TEST_DEPS=1 it must bring a Node >= 20 (Debian 12's is 18; README: Set-up), npm ci
# must work, and Node's test runner must run the schema tests that need no server (with
# --test-force-exit, which Node 18 refuses). Then scripts/package.sh builds the .deb there, as the
# Dockerfile's build stage does (its two RUN lines). Last, README's first command as a user types
# it: scripts/run.sh starts a broker and an edge, prints URLs that work (readyz, the demo, a token
# the edge welcomes), the broker running as root saves its state, and stopping run.sh stops both.
# (README's second command, the whole suite, is what .ci/run runs on a fresh machine.) Chromium is
# left out (MQEDGE_NO_BROWSER=1) to keep the download small. Needs root and the Debian mirror, else
# it is skipped with the reason; node and the repo's node_modules on the host (ports, a WS client).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/package/root.sh


[ -d node_modules/ws ] || die "node_modules is missing: run npm ci (scripts/deps.sh does)"
root_setup
phase "the working tree into the root (/src)"
root_copy_tree

phase "MQEDGE_WITH_TEST_DEPS=1 MQEDGE_NO_BROWSER=1 scripts/deps.sh in the root"
log=$root_work/deps.log
inroot apt-get update -qq >"$log" 2>&1
# deps.sh's own apt-get update runs only when something is missing; curl is there for nothing else
# Node's own build trusts its bundled CAs only: a host that makes Node trust more (a proxy's CA,
# NODE_EXTRA_CA_CERTS) gets the same in the root, from the system bundle root.sh filled
extra_ca=()
[ -z "${NODE_EXTRA_CA_CERTS:-}" ] || extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
if ! inroot env "${extra_ca[@]}" MQEDGE_WITH_TEST_DEPS=1 MQEDGE_NO_BROWSER=1 /src/scripts/deps.sh >>"$log" 2>&1; then
	tail -40 "$log" >&2
	die "scripts/deps.sh failed on a bare Debian 12"
fi
grep '^deps:' "$log"
node_version=$(inroot node --version) || die "no node after deps.sh"
echo "node in the root: $(inroot sh -c 'command -v node') $node_version (Debian's: $(inroot dpkg-query -W -f='${Version}' nodejs 2>/dev/null || echo none))"
[ "${node_version#v}" != "$node_version" ] && [ "$(echo "${node_version#v}" | cut -d. -f1)" -ge 20 ] ||
	die "deps.sh left node $node_version (the tests need >= 20)"

phase "node --test --test-force-exit tests/integration/schemas.test.mjs (the tests that need no server)"
out=$(inroot env "${extra_ca[@]}" sh -c "cd /src && node --test --test-force-exit \
	--test-name-pattern='^(every schema file|ids:|client frames|edge frames|envelope)' \
	tests/integration/schemas.test.mjs" 2>&1) || { echo "$out" >&2; die "node's test runner failed"; }
grep -E '^# (pass|fail)' <<<"$out"
grep -q '^# pass 5$' <<<"$out" && grep -q '^# fail 0$' <<<"$out" || { echo "$out" >&2; die "expected 5 passing schema tests"; }

phase "scripts/package.sh in the root (the Dockerfile's build stage)"
if ! inroot sh -c 'cd /src && scripts/package.sh build-pkg' >"$root_work/package.log" 2>&1; then
	tail -40 "$root_work/package.log" >&2
	die "scripts/package.sh failed on the root deps.sh made"
fi
tail -4 "$root_work/package.log"

phase "README's first command, scripts/run.sh, in the root (ports from MQEDGE_PORT/MQEDGE_BROKER_PORT)"
edge_port=$(free_port)
broker_port=$(free_port)
run_log=$root_work/run.log
# as a user types it (root, from the clone); the root shares the host's network
inroot env MQEDGE_PORT="$edge_port" MQEDGE_BROKER_PORT="$broker_port" sh -c 'cd /src && exec scripts/run.sh' \
	>"$run_log" 2>&1 &
run_job=$!
# pids of the processes in the root whose command line contains $1 (run.sh's own comm is "bash")
in_root_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$1" &&
			echo "${p#/proc/}"
	done
	return 0
}
# it builds first (deps.sh finds everything there): minutes, not seconds
for _ in $(seq 900); do
	grep -q '^mqedge is running' "$run_log" && break
	kill -0 "$run_job" 2>/dev/null || { cat "$run_log" >&2; die "run.sh exited without 'mqedge is running'"; }
	sleep 1
done
grep -q '^mqedge is running\.$' "$run_log" || { tail -40 "$run_log" >&2; die "no 'mqedge is running.' (ready) line after 15 min"; }
sed -n '/^mqedge is running/,/^Press Ctrl-C/p' "$run_log"
demo=$(sed -n 's/^  Demo page:  \(http[^ ]*\)$/\1/p' "$run_log")
[[ $demo == "http://127.0.0.1:$edge_port/demo/?token="* ]] || die "the demo URL printed is '$demo' (port $edge_port expected)"
token=${demo#*token=}
token=${token%%&*}
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$edge_port/readyz")" = 200 ] || die "/readyz is not 200"
page=$(curl -fsS "$demo") && [[ $page == *app.js* ]] || die "the printed demo URL does not serve the demo"
node tests/package/ws-welcome.mjs "$edge_port" "$token" alice || die "the printed token gets no welcome on /ws"
grep -q "listener $broker_port 127.0.0.1" "$root/src/run/broker/mosquitto.conf" || die "the broker is not on loopback port $broker_port"

# SIGTERM, not SIGINT: a script's background job ignores SIGINT; run.sh traps both alike
phase "run.sh stopped (SIGTERM) stops both; the broker (root -> user mosquitto) saved its state"
for p in $(in_root_pids scripts/run.sh); do kill -TERM "$p"; done
for _ in $(seq 100); do
	[ -z "$(in_root_pids scripts/run.sh)$(in_root_pids bin/mqedge)$(in_root_pids "mosquitto -c")" ] && break
	sleep 0.1
done
[ -z "$(in_root_pids scripts/run.sh)$(in_root_pids bin/mqedge)$(in_root_pids "mosquitto -c")" ] ||
	die "still running 10 s after SIGTERM: $(in_root_pids scripts/run.sh) $(in_root_pids bin/mqedge) $(in_root_pids "mosquitto -c")"
if grep -E 'Permission denied|Error saving' "$root/src/run/broker/mosquitto.log"; then
	die "the broker could not write its state (the lines above)"
fi
db=$(find "$root/src/run/broker" "$root/var/lib/mosquitto" -name mosquitto.db 2>/dev/null | head -1)
[ -n "$db" ] || { cat "$root/src/run/broker/mosquitto.log" >&2; die "the broker saved no mosquitto.db"; }
echo "broker state saved: ${db#"$root"}"

phase "deps test passed"
