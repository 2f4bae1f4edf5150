#!/usr/bin/env bash
# scripts/deps.sh on a bare Debian 12 (debootstrap; tests/package/root.sh), nothing else installed:
# with MQEDGE_WITH_TEST_DEPS=1 it must bring a Node >= 20 (Debian 12's is 18; README: Set-up), npm ci
# must work, and Node's test runner must run the schema tests that need no server (with
# --test-force-exit, which Node 18 refuses). Then scripts/package.sh builds the .deb there, as the
# Dockerfile's build stage does (its two RUN lines). Chromium is left out (MQEDGE_NO_BROWSER=1) to
# keep the download small. Needs root and the Debian mirror, else it is skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/package/root.sh

t_start=$SECONDS
phase() { echo "== $* ($((SECONDS - t_start)) s)"; }
die() { echo "FAIL: $*" >&2; exit 1; }

root_setup
phase "the working tree into the root (/src)"
mkdir "$root/src"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -C "$root/src" -xf -

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

phase "deps test passed"
