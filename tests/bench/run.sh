#!/usr/bin/env bash
# tests/bench/run.sh — the performance benchmark: s3bridge against s3fs and
# rclone (mount and copy) on the same work, through request-counting proxies.
#
#   tests/bench/run.sh [--quick] [--server rgw|s3rver] [--rounds N] [--out DIR]
#                      [--items small,large,list,rsync] [--tools T,T...] [--perf]
#                      [--small N] [--large BYTES] [--list N] [--rsync N]
#
# It builds s3bridge, s3b_seed and test_verify (Release) in build-bench,
# starts two fresh servers of the given kind (default rgw), each behind its
# own counting proxy (tests/servers/with-server.sh SERVER --proxy --second
# SERVER), runs tests/bench/bench.py under them, and renders the tables with
# tests/bench/report.py.  Output, in DIR (default
# build-bench/bench-results/SERVER-DATE): raw.json (every measurement),
# report.md (the tables, also printed), logs/ (the tools' logs), and with
# --perf perf-large-rN.data (perf record of s3bridge during the large copy).
#
# Sizes (see README.md for why they are scaled down from the issue's):
#                  full (3 rounds)        --quick (1 round)
#   small          1,000 x 100 KiB        1,000 x 100 KiB
#   large          1 GiB                  1 GiB
#   list           21,000 x 10 B          21,000 x 10 B
#   rsync          200 x 100 KiB          100 x 100 KiB
# A full run takes about 30-35 min on the 2-core project machine, --quick
# about 9 min.  Exit status: 0 if every measurement's check passed, 1 if one
# failed (the tables still print), 2 on a usage error; 77 if a tool is missing.
#
# Mounts live in a work directory of its own (/tmp/s3b-bench.*), never
# inside the servers' directory; whatever is still mounted there on exit
# (INT, TERM, HUP, failure) is unmounted before the directory is removed.
# It does not: install s3fs or rclone, tune the servers, or keep the data.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${S3B_BENCH_BUILD:-$ROOT/build-bench}
SERVER=rgw QUICK=0 ROUNDS='' OUT='' ITEMS='' TOOLS='' EXTRA=()

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; shift;;
	--server) SERVER=${2:-}; shift 2 || usage;;
	--rounds) ROUNDS=${2:-}; shift 2 || usage;;
	--out) OUT=${2:-}; shift 2 || usage;;
	--items) ITEMS=${2:-}; shift 2 || usage;;
	--tools) TOOLS=${2:-}; shift 2 || usage;;
	--small|--large|--list|--rsync) EXTRA+=("$1" "${2:-}"); shift 2 || usage;;
	--perf) command -v perf >/dev/null || { echo "bench: --perf needs perf (linux-perf)" >&2; exit 77; }
		EXTRA+=(--perf); shift;;
	-h|--help) usage;;
	*) usage;;
	esac
done
case $SERVER in rgw|s3rver) ;; *) usage;; esac

for b in s3fs rclone rsync fusermount3 curl python3 cmake; do
	command -v "$b" >/dev/null || { echo "bench: $b is not installed" >&2; exit 77; }
done

if [ "$QUICK" = 1 ]; then
	SIZES=(--rounds "${ROUNDS:-1}" --quick --small 1000 --rsync 100)
else
	SIZES=(--rounds "${ROUNDS:-3}" --small 1000 --rsync 200)
fi

echo "=== build ($BUILD)" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
cmake --build "$BUILD" -j2 --target s3bridge s3b_seed test_verify >/dev/null || exit 1
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")

OUT=${OUT:-$BUILD/bench-results/$SERVER-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/s3b-bench.XXXXXXXX) || exit 1

unmount_all() { # everything still mounted under WORK, deepest first
	local mp n=0
	while read -r mp; do
		fusermount3 -u "$mp" 2>/dev/null || fusermount -u "$mp" 2>/dev/null ||
			fusermount3 -uz "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
		n=$((n + 1))
	done < <(awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r)
	[ "$n" = 0 ] || echo "bench: unmounted $n leftover mount(s)" >&2
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	unmount_all
	[ -d "$WORK/logs" ] && cp -r "$WORK/logs" "$OUT/" 2>/dev/null
	if awk -v w="$WORK/" 'index($2, w) == 1 {f = 1} END {exit !f}' /proc/self/mounts; then
		echo "bench: something is still mounted under $WORK; not removing it" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

echo "=== bench: two $SERVER servers behind counting proxies; results in $OUT" >&2
# memstore capacity only (RAM is used as data arrives; the bench deletes
# what each command wrote and runs RGW's garbage collector)
export RGW_STORE_GB=${RGW_STORE_GB:-8}
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
"$ROOT/tests/servers/with-server.sh" "$SERVER" --proxy --second "$SERVER" -- \
	python3 "$HERE/bench.py" --out "$OUT/raw.json" --work "$WORK" \
	--s3bridge "$BUILD/s3bridge" --seed "$BUILD/tests/s3b_seed" \
	--test-verify "$BUILD/tests/test_verify" --testdata "${S3B_TESTDATA:-$ROOT/../shared/testdata}" \
	--build-type "$BUILD_TYPE" ${ITEMS:+--items "$ITEMS"} ${TOOLS:+--tools "$TOOLS"} \
	"${SIZES[@]}" "${EXTRA[@]}"
rc=$?
if [ -s "$OUT/raw.json" ]; then
	python3 "$HERE/report.py" "$OUT/raw.json" > "$OUT/report.md" && cat "$OUT/report.md"
	echo "raw measurements: $OUT/raw.json; tables: $OUT/report.md" >&2
fi
exit "$rc"
