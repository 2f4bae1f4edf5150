#!/usr/bin/env bash
# README's second command, scripts/test.sh (the whole suite: both trees, fuzzing, the package tests
# in roots of their own), run as typed in a bare Debian 12 root (debootstrap; tests/package/root.sh)
# where nothing but the scripts' own installs exist: Debian's Node 18 replaced by deps.sh, Chromium
# from Debian, npm ci. Not part of scripts/test.sh (it is that suite again, ~30 min and a few
# hundred MB of downloads): run it by hand before a release; figures in docs/PACKAGING.md.
#   tests/package/suite-root.sh      (as root; MQEDGE_KEEP_ROOT=1 keeps the root to look into)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/package/root.sh


root_setup
phase "the working tree into the root (/src)"
root_copy_tree
# the package tests inside make roots of their own: they need /proc there (root_setup mounted it)
# and a cache of their own; the root's resolver is the host's
phase "scripts/test.sh in the root (log: $root_work/suite.log)"
# Node trusts its bundled CAs only: a host that makes it trust more (a proxy's CA) passes that on
extra_ca=()
[ -z "${NODE_EXTRA_CA_CERTS:-}" ] || extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
rc=0
inroot env "${extra_ca[@]}" sh -c 'cd /src && exec scripts/test.sh' >"$root_work/suite.log" 2>&1 || rc=$?
sed -nE '/^== |tests passed|tests failed|^target |^[a-z_]+ +[0-9]+ .* (ok|FAILED)|SKIPPED|Total Test time/p' \
	"$root_work/suite.log"
if [ "$rc" != 0 ]; then
	tail -60 "$root_work/suite.log" >&2
	MQEDGE_KEEP_ROOT=1
	die "scripts/test.sh failed in the root (exit $rc); the root is kept: $root"
fi
grep -q '^== all tests passed$' "$root_work/suite.log" || die "scripts/test.sh ended 0 without '== all tests passed'"
phase "the whole suite passed on a bare Debian 12"
