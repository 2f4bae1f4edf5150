#!/usr/bin/env bash
# The Debian package on a minimal Debian 12 (debootstrap; tests/package/root.sh): it is installed
# with docker/install-runtime.sh, the Dockerfile's runtime stage, so this also proves the image's
# package list. First, before anything else is installed there, the binaries must find every
# library (ldd), answer --version and --help, and the package must have made its user, state dir,
# conffile, a random JWT secret (0640, kept by a reinstall) that the packaged config reads, and an
# enabled (not started) unit. Then Mosquitto (the package's Recommends) and the edge run in the
# root, as the mqedge user with the packaged config, on free loopback ports: /readyz
# answers 200 to the host, a WebSocket client with a token from the package's mqedge-token gets
# its welcome, the demo is served, SIGTERM exits 0. Last, remove keeps the state and purge removes
# it (the user stays). Needs root, the Debian mirror, node and the repo's node_modules (npm ci).
#   tests/package/debian-root.sh [PACKAGE.deb]   (default: scripts/package.sh builds one)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/package/root.sh


[ -d node_modules/ws ] || die "node_modules is missing: run npm ci (scripts/deps.sh does)"

root_setup
deb=${1:-}
if [ -z "$deb" ]; then
	phase "package (scripts/package.sh ${MQEDGE_PKG_BUILD_DIR:-build-pkg})"
	deb=$(scripts/package.sh "${MQEDGE_PKG_BUILD_DIR:-build-pkg}" | tail -1)
fi
[ -f "$deb" ] || die "no package file: $deb"
dpkg-deb --field "$deb" Depends

phase "install $(basename "$deb") with docker/install-runtime.sh"
cp "$deb" "$root/tmp/"
cp docker/install-runtime.sh "$root/tmp/"
inroot /tmp/install-runtime.sh "/tmp/$(basename "$deb")" >"$root_work/install.log" 2>&1 ||
	{ cat "$root_work/install.log" >&2; die "install-runtime.sh failed in the root"; }

phase "the runtime list is complete: libraries, --version, --help (nothing else installed yet)"
if inroot ldd /usr/bin/mqedge /usr/bin/mqedge-token | grep "not found"; then
	die "a library the binaries link is missing from the package's Depends"
fi
[ -f "$root/usr/lib/x86_64-linux-gnu/libwebsockets-evlib_ev.so" ] ||
	ls "$root"/usr/lib/*/libwebsockets-evlib_ev.so >/dev/null || die "libwebsockets' libev plugin is missing"
version=$(inroot mqedge --version) || die "mqedge --version failed"
[ "$version" = "mqedge $(dpkg-deb --field "$deb" Version | sed 's/-[^-]*$//')" ] || die "--version says '$version'"
help=$(inroot mqedge --help) || die "mqedge --help failed"
grep -q -- '--config FILE' <<<"$help" || die "mqedge --help does not list --config"
inroot mqedge-token --secret s --sub x >/dev/null || die "mqedge-token does not run"

phase "what postinst did: user, state dir, conffile, unit enabled and not started"
[[ $(inroot getent passwd mqedge) == *:/var/lib/mqedge:/usr/sbin/nologin ]] || die "no mqedge system user"
[ "$(inroot stat -c '%U:%G %a' /var/lib/mqedge)" = "mqedge:mqedge 750" ] || die "/var/lib/mqedge: $(inroot stat -c '%U:%G %a' /var/lib/mqedge)"
[ "$(inroot stat -c '%U:%G %a' /etc/mqedge/mqedge.conf)" = "root:mqedge 640" ] || die "/etc/mqedge/mqedge.conf: $(inroot stat -c '%U:%G %a' /etc/mqedge/mqedge.conf)"
[[ $(inroot dpkg-query -W -f='${Conffiles}' mqedge) == *" /etc/mqedge/mqedge.conf "* ]] || die "the config is not a conffile"
[ "$(inroot stat -c '%U:%G %a' /etc/mqedge/jwt-secret)" = "root:mqedge 640" ] || die "/etc/mqedge/jwt-secret: $(inroot stat -c '%U:%G %a' /etc/mqedge/jwt-secret)"
jwt_secret=$(cat "$root/etc/mqedge/jwt-secret")
[[ $jwt_secret =~ ^[A-Za-z0-9+/]{43}=$ ]] || die "the generated JWT secret is not 32 random bytes in base64: '$jwt_secret'"
grep -q '^jwt-secret-file = /etc/mqedge/jwt-secret$' "$root/etc/mqedge/mqedge.conf" || die "the packaged config does not read the generated secret"
! grep -q 'change-me-to-a-long-random-string' "$root/etc/mqedge/mqedge.conf" || die "the packaged config still holds the example's placeholder secret"
inroot dpkg -i "/tmp/$(basename "$deb")" >"$root_work/reinstall.log" 2>&1 ||
	{ cat "$root_work/reinstall.log" >&2; die "reinstalling the package failed"; }
[ "$(cat "$root/etc/mqedge/jwt-secret")" = "$jwt_secret" ] || die "a reinstall changed the JWT secret (issued tokens would die)"
[ -L "$root/etc/systemd/system/multi-user.target.wants/mqedge.service" ] || die "the unit is not enabled"
inroot grep -q '^ExecStart=/usr/bin/mqedge --config /etc/mqedge/mqedge.conf' /lib/systemd/system/mqedge.service ||
	die "the unit does not start /usr/bin/mqedge"
for p in /proc/[0-9]*; do
	if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && grep -q mqedge "$p/comm" 2>/dev/null; then
		die "an edge runs already: the package must not start it"
	fi
done

phase "Mosquitto (the package's Recommends) into the root"
inroot apt-get update -qq >"$root_work/mosquitto-install.log" 2>&1
inroot apt-get install -y -qq --no-install-recommends mosquitto >>"$root_work/mosquitto-install.log" 2>&1 ||
	{ cat "$root_work/mosquitto-install.log" >&2; die "apt-get install mosquitto failed in the root"; }

phase "broker and edge in the root, checked from the host"
broker_port=$(free_port)
edge_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$broker_port" >"$root/tmp/mosquitto.conf"
inroot_exec mosquitto -c /tmp/mosquitto.conf >"$root_work/mosquitto.log" 2>&1 &
edge_log=$root_work/edge.log
# the packaged config as the service uses it (read as user mqedge, with its generated secret); the
# test's ports
inroot_exec chroot --userspec=mqedge:mqedge / mqedge --config /etc/mqedge/mqedge.conf --port "$edge_port" \
	--broker "127.0.0.1:$broker_port" --edge-id pkg-test \
	--web-root /usr/share/mqedge/web >"$edge_log" 2>&1 &
edge_pid=$!
show_logs() { echo "--- edge log"; cat "$edge_log"; echo "--- mosquitto log"; cat "$root_work/mosquitto.log"; } >&2
ready=0
for _ in $(seq 100); do
	if curl -fsS -o /dev/null "http://127.0.0.1:$edge_port/readyz" 2>/dev/null; then ready=1; break; fi
	kill -0 "$edge_pid" 2>/dev/null || { show_logs; die "the edge exited"; }
	sleep 0.2
done
[ "$ready" = 1 ] || { show_logs; curl -sS "http://127.0.0.1:$edge_port/readyz" >&2 || true; die "/readyz never answered 200"; }
echo "/readyz: $(curl -sS -w ' %{http_code}' "http://127.0.0.1:$edge_port/readyz")"
token=$(inroot mqedge-token --secret-file /etc/mqedge/jwt-secret --sub alice --rooms lobby)
node tests/package/ws-welcome.mjs "$edge_port" "$token" alice || { show_logs; die "no welcome"; }
demo=$(curl -fsS "http://127.0.0.1:$edge_port/demo/") && [[ $demo == *app.js* ]] ||
	{ show_logs; die "the demo is not served from /usr/share/mqedge/web"; }
kill -TERM "$edge_pid"
rc=0
wait "$edge_pid" || rc=$?
[ "$rc" = 0 ] || { show_logs; die "the edge exited $rc after SIGTERM"; }
[ -n "$(ls -A "$root/var/lib/mqedge")" ] || die "the edge wrote nothing to /var/lib/mqedge"
! grep -q jwt_secret_weak "$edge_log" || { show_logs; die "the packaged secret was called weak"; }

phase "remove keeps the state and the user; purge removes the state, the config, the unit's links"
inroot apt-get remove -y -qq mqedge >"$root_work/remove.log" 2>&1 || { cat "$root_work/remove.log" >&2; die "remove failed"; }
[ -d "$root/var/lib/mqedge" ] && [ -f "$root/etc/mqedge/mqedge.conf" ] && [ -f "$root/etc/mqedge/jwt-secret" ] ||
	die "remove took the state, the config or the JWT secret"
[ ! -e "$root/usr/bin/mqedge" ] || die "remove left /usr/bin/mqedge"
inroot apt-get purge -y -qq mqedge >"$root_work/purge.log" 2>&1 || { cat "$root_work/purge.log" >&2; die "purge failed"; }
[ ! -e "$root/var/lib/mqedge" ] && [ ! -e "$root/etc/mqedge" ] || die "purge left /var/lib/mqedge or /etc/mqedge"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/mqedge.service" ] || die "purge left the unit enabled"
[ ! -e "$root/etc/systemd/system/mqedge.service" ] || die "purge left the unit masked"
inroot getent passwd mqedge >/dev/null || die "purge removed the mqedge user (it should stay)"

phase "package test passed"
