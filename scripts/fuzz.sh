#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, a clang tree with -DMQEDGE_FUZZ=ON) and runs each one for
# a while with its seed corpus and dictionary; fails on any crash, leak, sanitizer report or broken
# invariant. docs/TESTING.md says what each target checks and what the long run found.
#   scripts/fuzz.sh [--seconds N] [--runs N] [--target T]... [--jobs J] [--update-corpus] [--build-dir D]
#     --seconds N      fuzz each target for N seconds (default 30)
#     --runs N         ...or stop a target after N executions, whichever comes first
#     --target T       only this target (repeat, or T1,T2); default: every tests/fuzz/fuzz_*.c
#     --jobs J         targets fuzzed at the same time (default: the number of cores)
#     --update-corpus  merge the new, coverage-adding inputs into tests/fuzz/corpus/<target>
#                      (minimised with -merge=1); without it the tree is never modified
#     --build-dir D    the fuzz tree (default build-fuzz)
# Each target runs on a copy of its corpus in a temporary directory. Findings (crash-*, leak-*,
# timeout-*, oom-*) are kept in D/fuzz-findings/<target>/; add each one, once fixed, to the
# target's corpus as a regression input. Prints per target: executions, exec/s, cov and ft (from
# libFuzzer's final line) and the corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
runs=0
jobs=$(nproc 2>/dev/null || echo 1)
update=0
build="build-fuzz"
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--target) IFS=, read -r -a more <<<"$2"; targets+=("${more[@]}"); shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--update-corpus) update=1; shift ;;
	--build-dir) build=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "fuzz: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		t=${f#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi

# ---- what the build needs: the project's packages, clang and the libFuzzer runtime ----
scripts/deps.sh
if ! command -v clang >/dev/null 2>&1 || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a" >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "fuzz: installing clang libclang-rt-14-dev"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
	else
		echo "fuzz: needs clang and libclang-rt-14-dev (run as root to install them)" >&2
		exit 1
	fi
fi

echo "== build $build (clang, -fsanitize=fuzzer-no-link,address,undefined)"
cmake -S . -B "$build" -DMQEDGE_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_targets -j"$(nproc)" >/dev/null

# The largest input worth generating for each target (what its parser meets in practice).
max_len() {
	case $1 in
	topics) echo 512 ;;
	api_body) echo 2048 ;;
	dispatch|jsontext) echo 4096 ;;
	auth) echo 9000 ;;
	http_ingest) echo 16384 ;;
	*) echo 8192 ;;
	esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/mqedge-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
findings="$build/fuzz-findings"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# run_one T: fuzzes T into $work/T; its summary line goes to $work/T.summary, its status to $work/T.rc
run_one() {
	local t=$1 dir=$work/$1 bin=$build/bin/fuzz_$1 rc=0 limit=()
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
	[ "$runs" -gt 0 ] && limit=(-runs="$runs")
	# the process itself gets a generous deadline on top of -max_total_time
	timeout --kill-after=30 $((seconds + 300)) "$bin" "$dir/corpus" -dict="tests/fuzz/$t.dict" \
		-max_len="$(max_len "$t")" -max_total_time="$seconds" "${limit[@]}" -timeout=10 -rss_limit_mb=2560 \
		-detect_leaks=1 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" -close_fd_mask=1 \
		>"$dir/log" 2>&1 || rc=$?
	# a report that did not stop the run still fails it
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz: invariant failed|SUMMARY: ' "$dir/log"; then
		[ "$rc" = 0 ] && rc=1
	fi
	if compgen -G "$dir/artifacts/*" >/dev/null; then
		[ "$rc" = 0 ] && rc=1
		mkdir -p "$findings/$t"
		cp "$dir/artifacts/"* "$findings/$t/"
	fi
	local execs eps line cov ft
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
	line=$(grep -E '^#[0-9]+' "$dir/log" | grep ' cov: ' | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
	printf '%-14s %12s %9s %6s %7s %7s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
		"$(find "$dir/corpus" -type f | wc -l)" "$([ "$rc" = 0 ] && echo ok || echo "FAILED (rc=$rc)")" \
		>"$work/$t.summary"
	echo "$rc" >"$work/$t.rc"
	if [ "$rc" != 0 ]; then
		echo "== fuzz_$t failed; the end of its log:" >&2
		grep -vE '^#[0-9]+ +(NEW|REDUCE|pulse)' "$dir/log" | tail -60 >&2
		echo "== findings kept in $findings/$t/ (reproduce: $bin FILE)" >&2
	fi
}

echo "== fuzz ${targets[*]}: ${seconds}s each$([ "$runs" -gt 0 ] && echo " (or $runs executions)"), $jobs at a time"
start=$(date +%s)
running=0
for t in "${targets[@]}"; do
	if [ ! -x "$build/bin/fuzz_$t" ]; then
		echo "fuzz: no target $t (tests/fuzz/fuzz_$t.c)" >&2
		exit 2
	fi
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

failed=0
printf '%-14s %12s %9s %6s %7s %7s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
	cat "$work/$t.summary"
	[ "$(cat "$work/$t.rc")" = 0 ] || failed=$((failed + 1))
done
if [ "$update" = 1 ]; then
	for t in "${targets[@]}"; do
		before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
		"$build/bin/fuzz_$t" -merge=1 -max_len="$(max_len "$t")" "tests/fuzz/corpus/$t" "$work/$t/corpus" \
			>"$work/$t.merge" 2>&1 || { echo "fuzz: merge of $t failed" >&2; tail -20 "$work/$t.merge" >&2; }
		echo "corpus $t: $before -> $(find "tests/fuzz/corpus/$t" -type f | wc -l) files"
	done
fi
echo "== fuzz: ${#targets[@]} targets, $failed failed, $(($(date +%s) - start)) s"
[ "$failed" = 0 ]
