#!/usr/bin/env bash
# The README's test command: installs what is missing, builds an optimised
# and an ASan+UBSan build, runs every suite in both, fuzzes each libFuzzer
# target for FUZZ_SECONDS (default 15), prints
# "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

tools/deps.sh || { echo "dependency install failed"; exit 1; }

passed=0 failed=0 failures=()
record() { # name rc
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"
	else failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1"; fi
}

# Hugepages when the machine gives them; --no-huge otherwise. Tests read
# PODLANE_EAL_MEM for the memory flags of every DPDK process they start.
old_hp=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
restore_hp() { [ -w /proc/sys/vm/nr_hugepages ] && echo "$old_hp" >/proc/sys/vm/nr_hugepages 2>/dev/null || true; }
if [ "$old_hp" -lt 512 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
	echo 512 >/proc/sys/vm/nr_hugepages 2>/dev/null || true
	trap restore_hp EXIT
fi
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${free_hp:-0}" -ge 512 ] && mountpoint -q /dev/hugepages; then
	export PODLANE_EAL_MEM="-m 256"
else
	export PODLANE_EAL_MEM="--no-huge -m 512"
fi
echo "DPDK memory: $PODLANE_EAL_MEM"

# Static checks of the tree (tests/lint): once, before any build.
for t in tests/lint/*_test.sh; do
	out=$(bash "$t" 2>&1)
	rc=$?; [ $rc -eq 0 ] || echo "$out"
	record "lint $(basename "$t")" $rc
done

build() { # dir, meson args...
	local dir=$1; shift
	if [ ! -d "$dir" ]; then meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }; fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
}

# Sanitizer reports (ASAN/UBSAN log_path) of every process a suite ran
# (podlaned, the CNI plugin, podlanectl, unit tests), leaks included: any
# report fails the suite. Prints them and empties the directory.
sanitizer_reports() { # build dir
	local d=$1/sanitizer found=0
	if [ -n "$(ls -A "$d" 2>/dev/null)" ]; then
		for f in "$d"/*; do echo "== $f"; head -60 "$f"; done
		found=1
	fi
	rm -rf "$d"; mkdir -p "$d"
	return $found
}

run_suites() { # build dir, label
	local b=$1 label=$2
	rm -rf "$b/sanitizer"; mkdir -p "$b/sanitizer"
	meson test -C "$b" --suite unit --print-errorlogs >"$b/unit.log" 2>&1
	rc=$?; [ $rc -eq 0 ] || cat "$b/unit.log"
	sanitizer_reports "$b" || rc=1
	record "$label unit" $rc
	for t in tests/api/*_test.py tests/e2e/*_test.sh; do
		[ -e "$t" ] || continue
		case $t in *.py) run=python3 ;; *) run=bash ;; esac
		PODLANE_BUILD=$top/$b timeout 600 $run "$t" >"$b/$(basename "$t").log" 2>&1
		rc=$?; [ $rc -eq 0 ] || tail -60 "$b/$(basename "$t").log"
		sanitizer_reports "$b" || rc=1
		record "$label $(basename "$t")" $rc
	done
}

if build build-release -Dbuildtype=release -Dcni_musl=enabled; then
	record "release build" 0; run_suites build-release release
	PODLANE_BUILD=$top/build-release bash tests/install/install_test.sh >build-release/install_test.log 2>&1
	rc=$?; [ $rc -eq 0 ] || tail -30 build-release/install_test.log
	record "release install_test.sh" $rc
	# Every benchmark, short: each measurement must produce a number and no
	# packet may be lost while the route table is replaced; never a speed.
	if [[ "$PODLANE_EAL_MEM" == *--no-huge* ]]; then
		echo "skip release bench --quick: vhost-user needs hugepages"
	else
		PODLANE_BUILD=$top/build-release tools/bench/run.sh --quick --out build-release/bench-quick \
			>build-release/bench.log 2>&1
		rc=$?; [ $rc -eq 0 ] && cat build-release/bench-quick/bench.md || tail -40 build-release/bench.log
		record "release bench --quick" $rc
	fi
else
	record "release build" 1
fi
if build build-asan -Dbuildtype=debug -Doptimization=1 -Db_sanitize=address,undefined -Db_lundef=false; then
	record "asan build" 0
	# LeakSanitizer on; reports land in build-asan/sanitizer (run_suites).
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_exe_name=1:log_path=$top/build-asan/sanitizer/asan
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_exe_name=1:log_path=$top/build-asan/sanitizer/ubsan
	export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
	run_suites build-asan asan
else
	record "asan build" 1
fi

# libFuzzer (clang): each target for FUZZ_SECONDS on a copy of its corpus;
# a crash leaves its input in build-fuzz/ for a regression corpus entry.
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
fuzz_one() { # TARGET: one run, its exit status into build-fuzz/fuzz_TARGET.rc
	local corpus
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus/$1/* "$corpus"/
	# A private /run/dpdk, so the targets' EAL runtime dirs vanish with them.
	ASAN_OPTIONS= UBSAN_OPTIONS=halt_on_error=1 timeout $((FUZZ_SECONDS + 120)) \
		unshare --mount --propagation private -- sh -c \
		'mkdir -p /run/dpdk && mount -t tmpfs pl-fuzz /run/dpdk && exec "$@"' sh \
		build-fuzz/tests/fuzz/fuzz_$1 -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 \
		-artifact_prefix=build-fuzz/crash-$1- "$corpus" >build-fuzz/fuzz_$1.log 2>&1
	echo $? >build-fuzz/fuzz_$1.rc
	rm -rf "$corpus"
}
if CC=clang build build-fuzz -Dfuzz=true -Dtests=false -Dbuildtype=debug -Doptimization=1 \
	-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link; then
	record "fuzz build" 0
	# Two at a time, a core each: every target still runs FUZZ_SECONDS.
	for pair in "config rpc" "packet cni"; do
		pids=()
		for t in $pair; do
			fuzz_one $t &
			pids+=($!)
		done
		wait "${pids[@]}"
		for t in $pair; do
			rc=$(cat build-fuzz/fuzz_$t.rc)
			[ "$rc" -eq 0 ] || tail -40 build-fuzz/fuzz_$t.log
			record "fuzz $t (${FUZZ_SECONDS}s, $(grep -o -m1 'Done [0-9]* runs' build-fuzz/fuzz_$t.log))" "$rc"
		done
	done
else
	record "fuzz build" 1
fi

[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
