#!/usr/bin/env bash
# tests/run.sh — the project's test command (README.md, .ci/run):
# installs what is missing (tests/deps.sh), builds with -Werror, runs every
# test under ctest against real S3 servers it starts itself, then does the
# same in an AddressSanitizer+UndefinedBehaviorSanitizer build, then runs
# each libFuzzer target for a short while.
#
#   tests/run.sh            everything
#   S3B_QUICK=1 tests/run.sh   only the plain build's ctest
#   S3B_FUZZ_SECONDS=N      seconds per fuzz target (default 20)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${S3B_JOBS:-2}

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
tests/deps.sh

step "build (-Werror)"
cmake -S . -B build -DS3B_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
step "tests"
(cd build && ctest -j"$JOBS" --output-on-failure)
[ "${S3B_QUICK:-0}" = 1 ] && exit 0

step "build (ASan+UBSan)"
cmake -S . -B build-asan -DS3B_WERROR=ON -DS3B_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$JOBS"
step "tests under ASan+UBSan"
# the mount's daemon has no terminal: sanitizer reports go to files, and
# any report fails the run
SANLOG=$ROOT/build-asan/sanitizer-logs
rm -rf "$SANLOG" && mkdir -p "$SANLOG"
(cd build-asan && S3B_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$SANLOG/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$SANLOG/ubsan \
	ctest -j"$JOBS" --output-on-failure)
if compgen -G "$SANLOG/*" >/dev/null; then
	echo "sanitizer reports:"; head -n 60 "$SANLOG"/*; exit 1
fi
echo "no sanitizer reports"

step "fuzzing (libFuzzer, ${S3B_FUZZ_SECONDS:-20} s per target)"
cmake -S . -B build-fuzz -DS3B_FUZZ=ON -DS3B_SANITIZE=ON -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$JOBS" --target fuzz_xml fuzz_ini fuzz_bucketspec fuzz_sigv4
fails=0
for t in fuzz_xml fuzz_ini fuzz_bucketspec fuzz_sigv4; do
	work=$(mktemp -d)
	cp tests/fuzz/corpus/$t/* "$work"/
	if ! build-fuzz/tests/$t -max_total_time="${S3B_FUZZ_SECONDS:-20}" -print_final_stats=0 \
		"$work" >"build-fuzz/$t.log" 2>&1; then
		echo "FUZZ FAILURE in $t:"; tail -n 40 "build-fuzz/$t.log"; fails=$((fails + 1))
	else
		echo "$t: $(grep -Eo 'Done [0-9]+ runs' "build-fuzz/$t.log" | tail -n1)"
	fi
	rm -rf "$work"
done
[ "$fails" = 0 ] || { echo "$fails fuzz target(s) failed"; exit 1; }
echo "all done"
