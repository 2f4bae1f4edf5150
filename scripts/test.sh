#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, build a normal and a sanitizer
# (ASan + UBSan) tree, and run every ctest (unit, integration, e2e, bench smoke) in both; then a
# short pass of every libFuzzer target (scripts/fuzz.sh); then the package tests (label package).
#   scripts/test.sh            everything
#   MQEDGE_TEST_QUICK=1 ...    normal build only
set -euo pipefail
cd "$(dirname "$0")/.."

MQEDGE_WITH_TEST_DEPS=1 scripts/deps.sh

run_tree() {	# run_tree DIR [cmake args...]
	local dir=$1
	shift
	echo "== build $dir $*"
	scripts/build.sh "$dir" "$@"
	echo "== test $dir"
	# one ctest per test program / integration file / e2e file, two at a time (each starts its own
	# broker and edges on free loopback ports; bench_smoke runs alone); ctest ends with
	# "N% tests passed, 0 tests failed out of N"
	(cd "$dir" && ctest --output-on-failure -j2 --timeout 600 -LE package)
}

run_tree build
if [ "${MQEDGE_TEST_QUICK:-0}" != 1 ]; then
	# halt on the first UB report; leaks are checked when each edge exits after SIGTERM
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_tree build-asan -DMQEDGE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	# libFuzzer targets (tests/fuzz, docs/TESTING.md): a clang tree; every target 20 s on a copy of
	# its corpus, two at a time; any crash, leak, sanitizer report or broken invariant fails
	echo "== fuzz (scripts/fuzz.sh --seconds 20)"
	scripts/fuzz.sh --seconds 20
fi
# the Debian package and scripts/deps.sh in debootstrap'd Debian 12 roots (tests/package), once,
# from the normal tree: skipped (and said why) without root or the Debian mirror
echo "== package tests (tests/package: the .deb, the image's runtime list, deps.sh on a bare Debian 12)"
(cd build && ctest --output-on-failure --timeout 1500 -L package)
echo "== all tests passed"
