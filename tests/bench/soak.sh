#!/usr/bin/env bash
# tests/bench/soak.sh — the soak of issue #6: one long migration of many
# small objects through a faulty network, watching the daemon for leaks.
#
#   tests/bench/soak.sh [--objects N] [--tool cp|rsync] [--interval S] [--out DIR]
#                       [--no-faults] [--rss-slack MIB] [--fd-slack N] [--build DIR]
#                       [--heaptrack]
#
# It starts RGW behind the tests' fault proxy (tests/servers/with-server.sh
# rgw --proxy), seeds N objects (default 100,000; 1-16 KiB of distinct
# pseudo-random bytes each, keys dDDD/eE/fNNNNNN) straight to the server,
# turns on 5% 503 SlowDown and 2% connection resets (before or after the
# server acted, as test_faults.sh does), mounts src and dst with
# BUILD/s3bridge (S3B_BUILD or --build, default build/; built if missing)
# and runs `cp -r` (or `rsync -a`) of the whole of src into dst.  Every
# INTERVAL s (default 5) it records the daemon's VmRSS, open fds, threads
# and CPU time with the journal's counts (.integrity/summary.json) in a CSV.
#
# Checks: the copy exits 0; .integrity/summary.json says N verified and
# nothing failed, mismatched or pending; `s3bridge check src dst` passes;
# listed straight from the server, dst holds exactly src's N keys with the
# same sizes and ETags; the daemon exits after the unmount; and the
# flatness verdict: RSS at the end at most RSS-SLACK MiB (default 16)
# above RSS at 10% progress, fds within FD-SLACK (default 4).
#
# With --heaptrack the daemon runs under heaptrack (a diagnosis run: its
# RSS then includes heaptrack's own), and the summary adds the heap's peak
# consumers and what was still allocated when the daemon exited.
#
# Output in DIR (default BUILD/soak-results/DATE): soak.csv, summary.txt
# (also printed; the lines to paste into the README), proxy-stats.json,
# fds.txt (the daemon's fd table at the start, 10%, 50% and the end),
# s3bridge.log, seed.txt; with --heaptrack heaptrack.zst and heaptrack.txt.
# Exit status 0 if every check passed, 1 if one failed, 2 on a usage
# error, 77 if the server software is missing.
#
# SOAK_NOTE, if set, is printed with the summary (e.g. which commit was built).
#
# Everything (mount, daemon, servers, work directory /tmp/s3b-soak.*) is
# removed on exit, also on failure, INT, TERM and HUP.  It does not: run
# under ctest, compare tools, or keep the servers' data.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# ---------------------------------------------------------------------------
# The inner half: runs under with-server.sh, which exports S3_ENDPOINT (the
# proxy), S3_DIRECT_ENDPOINT, S3B_PROXY, the keys.  SOAK_* come from the
# outer half.  Its own process group: with-server.sh sends it TERM on exit.
# ---------------------------------------------------------------------------
inner() {
	# globals, not locals: the EXIT trap runs after this function returned
	W=$SOAK_WORK OUT=$SOAK_OUT N=$SOAK_OBJECTS S3BRIDGE=$SOAK_BUILD/s3bridge
	MP=$W/mnt LOG=$OUT/s3bridge.log CSV=$OUT/soak.csv STOP=$W/sampler.stop
	PY=(python3 "$HERE/soak_sample.py")
	DPID='' HPID='' SPID='' CPID='' failed=0 checks=()

	t() { date +%s.%N; }
	say() { echo "soak [$(date +%H:%M:%S)] $*" >&2; }
	bad() { failed=1; checks+=("FAIL $*"); say "FAIL: $*"; }
	good() { checks+=("ok $*"); }
	proxy() { # METHOD PATH [JSON]
		curl -sS --fail -X "$1" ${3:+--data "$3"} "$S3B_PROXY/__proxy/$2"
	}
	stop_all() {
		trap - EXIT TERM INT HUP
		[ -n "$CPID" ] && kill -TERM "$CPID" 2>/dev/null
		[ -n "$SPID" ] && { touch "$STOP"; kill -TERM "$SPID" 2>/dev/null; }
		if mountpoint -q "$MP" 2>/dev/null; then
			fusermount3 -u "$MP" 2>/dev/null || fusermount3 -uz "$MP" 2>/dev/null
		fi
		if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
			local i
			for i in $(seq 1 300); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
			kill -0 "$DPID" 2>/dev/null && { say "daemon $DPID still running after the unmount; killing it"; kill -KILL "$DPID"; }
		fi
		[ -n "$HPID" ] && wait "$HPID" 2>/dev/null
	}
	trap 'stop_all' EXIT
	trap 'say "stopped by a signal"; exit 143' TERM
	trap 'say "stopped by a signal"; exit 130' INT
	trap 'say "stopped by a signal"; exit 129' HUP

	# -- seed
	say "seeding $N objects into src (straight to $S3_DIRECT_ENDPOINT)"
	"${PY[@]}" seed src "$N" >"$OUT/seed.txt" || { say "seeding failed"; exit 1; }
	local seeded_bytes seed_s
	read -r _ seeded_bytes seed_s <"$OUT/seed.txt"
	say "seeded $N objects, $seeded_bytes bytes in $seed_s s"

	# -- faults on, stats zeroed
	local FAULTS='{"replace": true, "seed": 1234, "slowdown": 0.05, "reset": {"rate": 0.02, "when": "either"}}'
	local FAULT_TEXT="5% 503 SlowDown, 2% connection resets before or after the server acted"
	if [ "$SOAK_FAULTS" = 0 ]; then
		FAULTS='{"replace": true}'
		FAULT_TEXT="no faults"
	fi
	proxy POST config "$FAULTS" >/dev/null || { say "proxy config failed"; exit 1; }
	proxy POST reset >/dev/null || exit 1

	# -- mount (foreground daemon, our child: its pid is $!)
	mkdir -p "$MP"
	local MOUNT=("$S3BRIDGE" mount -f --endpoint "$S3_ENDPOINT" --journal "$W/soak.journal"
		--log-file "$LOG" --log-level info s3://src s3://dst "$MP")
	local i
	if [ "$SOAK_HEAPTRACK" = 1 ]; then
		# heaptrack runs the daemon as its child; the daemon's pid is needed
		heaptrack -o "$OUT/heaptrack" "${MOUNT[@]}" >"$OUT/heaptrack.log" 2>"$OUT/daemon.stderr" &
		HPID=$!
		for i in $(seq 1 300); do
			DPID=$(pgrep -P "$HPID" -x s3bridge | head -n 1)
			[ -n "$DPID" ] && break
			sleep 0.1
		done
		[ -n "$DPID" ] || { say "no daemon under heaptrack"; cat "$OUT/heaptrack.log" >&2; exit 1; }
	else
		"${MOUNT[@]}" 2>"$OUT/daemon.stderr" &
		DPID=$!
	fi
	for i in $(seq 1 600); do
		[ -e "$MP/.integrity/summary.json" ] && break
		kill -0 "$DPID" 2>/dev/null || { say "the daemon exited during the mount"; tail -n 20 "$LOG" >&2; exit 1; }
		sleep 0.1
	done
	[ -e "$MP/.integrity/summary.json" ] || { say "not mounted after 60 s"; exit 1; }
	say "mounted (daemon pid $DPID); $SOAK_TOOL of src to dst with $FAULT_TEXT"

	"${PY[@]}" sample "$DPID" "$MP" "$CSV" --interval "$SOAK_INTERVAL" --stop "$STOP" \
		--fds "$OUT/fds.txt" --objects "$N" &
	SPID=$!

	# -- the migration
	local t0 t1 rc
	t0=$(t)
	if [ "$SOAK_TOOL" = rsync ]; then
		rsync -a "$MP/src/" "$MP/dst/" 2>"$OUT/copy.err" &
	else
		cp -r "$MP/src/." "$MP/dst/" 2>"$OUT/copy.err" &
	fi
	CPID=$!
	wait "$CPID"
	rc=$?
	CPID=''
	local copy_rc=$rc
	t1=$(t)
	local wall
	wall=$(echo "$t1 - $t0" | bc)
	say "$SOAK_TOOL exited $rc after $wall s"
	[ -s "$OUT/copy.err" ] && { say "its stderr (first lines):"; head -n 20 "$OUT/copy.err" >&2; }
	if [ "$rc" = 0 ]; then good "$SOAK_TOOL exit 0"; else bad "$SOAK_TOOL exit $rc"; fi

	# the proxy's figures of the copy, then faults off for the checks
	proxy GET stats >"$OUT/proxy-stats.json" || bad "proxy stats"
	proxy POST config '{"replace": true}' >/dev/null

	# the last sample (the sampler writes one more row when STOP appears)
	touch "$STOP"
	wait "$SPID" || bad "the sampler failed"
	SPID=''

	# -- checks
	local sj v f m p
	sj=$(cat "$MP/.integrity/summary.json")
	echo "$sj" >"$OUT/summary.json"
	read -r v f m p < <(echo "$sj" | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d["verified"],d["failed"],d["mismatch"],d["pending"])')
	local JTEXT="$v verified, $f failed, $m mismatch, $p pending"
	if [ "$v" = "$N" ] && [ "$f" = 0 ] && [ "$m" = 0 ] && [ "$p" = 0 ]; then
		good "journal: $JTEXT"
	else
		bad "journal: $JTEXT (want $N verified, 0 failed)"
		head -n 30 "$MP/.integrity/failed" >&2
	fi
	cp "$MP/.integrity/summary" "$OUT/integrity-summary.txt" 2>/dev/null

	say "s3bridge check src dst"
	local c0 cs
	c0=$(t)
	"$S3BRIDGE" check "$MP/src" "$MP/dst" >"$OUT/check.txt" 2>&1
	rc=$?
	cs=$(printf '%.0f' "$(echo "$(t) - $c0" | bc)")
	if [ "$rc" = 0 ]; then
		good "s3bridge check (${cs} s)"
	else
		bad "s3bridge check exit $rc (see check.txt)"
		tail -n 20 "$OUT/check.txt" >&2
	fi

	say "src and dst listed straight from the server"
	if "${PY[@]}" compare src dst "$N" >"$OUT/compare.txt" 2>&1; then
		good "server listing: dst has src's $N keys, sizes and ETags"
	else
		bad "server listing (see compare.txt)"
	fi
	cat "$OUT/compare.txt" >&2

	# -- unmount: the daemon must exit by itself
	fusermount3 -u "$MP" || bad "unmount"
	for i in $(seq 1 300); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$DPID" 2>/dev/null; then
		bad "daemon still running 30 s after the unmount"
	else
		# heaptrack exits with its child's status, after writing its file
		wait "${HPID:-$DPID}"
		local drc=$?
		if [ "$drc" = 0 ]; then good "daemon exit 0"; else bad "daemon exit $drc"; fi
	fi
	DPID='' HPID=''

	# -- the figures
	local logtext
	logtext="$(grep -c 'retrying' "$LOG") retries logged, $(awk '$3 == "warning:" || $3 == "error:"' "$LOG" | wc -l) warning or error lines"
	local ctext
	ctext=$(IFS=';'; echo "${checks[*]}" | sed 's/;/; /g')
	"${PY[@]}" report "$CSV" --stats "$OUT/proxy-stats.json" --objects "$N" \
		--bytes "$seeded_bytes" --wall "$wall" --exit "$copy_rc" --tool "$SOAK_TOOL" \
		--faults "$FAULT_TEXT" --journal "$JTEXT; $logtext" --checks "$ctext" \
		--interval "$SOAK_INTERVAL" --csv-name "$CSV" \
		--rss-slack "$SOAK_RSS_SLACK" --fd-slack "$SOAK_FD_SLACK" >"$OUT/summary.txt"
	local frc=$?
	[ "$frc" = 0 ] || failed=1
	if [ "$SOAK_HEAPTRACK" = 1 ]; then
		local hf
		hf=$(ls "$OUT"/heaptrack.zst "$OUT"/heaptrack.gz 2>/dev/null | head -n 1)
		if [ -n "$hf" ] && heaptrack_print -f "$hf" -p 1 -a 0 -T 0 -l 1 -n 8 -s 3 >"$OUT/heaptrack.txt" 2>&1; then
			{ echo "  under heaptrack (RSS includes its overhead; details in heaptrack.txt):"
			  grep -E '^(total runtime|calls to allocation|peak heap memory|peak RSS|total memory leaked|suppressed leaks)' \
				"$OUT/heaptrack.txt" | sed 's/^/    /'; } >>"$OUT/summary.txt"
		else
			echo "  heaptrack: no data (see heaptrack.log)" >>"$OUT/summary.txt"
		fi
	fi
	{ echo; echo "command: $SOAK_CMD"; [ -n "${SOAK_NOTE:-}" ] && echo "note: $SOAK_NOTE"; \
	  echo "seeding: $N objects in $seed_s s (not counted)"; \
	  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"; \
	  echo "verdict: $([ "$failed" = 0 ] && echo PASS || echo FAIL)"; } >>"$OUT/summary.txt"
	echo
	cat "$OUT/summary.txt"
	[ "$failed" = 0 ]
}

if [ "${1:-}" = --inner ]; then
	inner
	exit $?
fi

# ---------------------------------------------------------------------------
# The outer half: options, build, work dir, servers, cleanup.
# ---------------------------------------------------------------------------
OBJECTS=100000 TOOL=cp INTERVAL=5 OUT='' FAULTS=1 RSS_SLACK=16 FD_SLACK=4 HEAPTRACK=0
BUILD=${S3B_BUILD:-$ROOT/build}
CMDLINE="tests/bench/soak.sh $*"
while [ $# -gt 0 ]; do
	case $1 in
	--objects) OBJECTS=${2:-}; shift 2 || usage;;
	--tool) TOOL=${2:-}; shift 2 || usage;;
	--interval) INTERVAL=${2:-}; shift 2 || usage;;
	--out) OUT=${2:-}; shift 2 || usage;;
	--no-faults) FAULTS=0; shift;;
	--rss-slack) RSS_SLACK=${2:-}; shift 2 || usage;;
	--fd-slack) FD_SLACK=${2:-}; shift 2 || usage;;
	--build) BUILD=${2:-}; shift 2 || usage;;
	--heaptrack) HEAPTRACK=1; shift;;
	-h|--help) usage;;
	*) usage;;
	esac
done
case $OBJECTS in ''|*[!0-9]*|0) usage;; esac
case $TOOL in cp|rsync) ;; *) usage;; esac
case $FD_SLACK in ''|*[!0-9]*) usage;; esac
[[ $INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage
[[ $RSS_SLACK =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage

for b in fusermount3 mountpoint curl python3 bc cmake; do
	command -v "$b" >/dev/null || { echo "soak: $b is not installed" >&2; exit 77; }
done
[ "$TOOL" = rsync ] && ! command -v rsync >/dev/null && { echo "soak: rsync is not installed" >&2; exit 77; }
[ "$HEAPTRACK" = 1 ] && ! command -v heaptrack_print >/dev/null && { echo "soak: heaptrack is not installed" >&2; exit 77; }

mkdir -p "$BUILD" && BUILD=$(cd "$BUILD" && pwd) || exit 1
if [ ! -x "$BUILD/s3bridge" ]; then
	echo "soak: building s3bridge in $BUILD" >&2
	{ cmake -S "$ROOT" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j2 --target s3bridge >/dev/null; } || exit 1
fi

OUT=${OUT:-$BUILD/soak-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
# mounts live in a directory of their own, never inside the servers' work
# directory (with-server.sh removes that one with rm -rf)
WORK=$(mktemp -d /tmp/s3b-soak.XXXXXXXX) || exit 1

cleanup() {
	local rc=$? mp
	trap - EXIT INT TERM HUP
	while read -r mp; do
		echo "soak: unmounting leftover $mp" >&2
		fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	done < <(awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r)
	if awk -v w="$WORK/" 'index($2, w) == 1 {f = 1} END {exit !f}' /proc/self/mounts; then
		echo "soak: something is still mounted under $WORK; not removing it" >&2
	else
		rm -rf "$WORK"
	fi
	echo "soak: results in $OUT" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# memstore keeps every object in RAM: src and dst of 100,000 x 8.5 KiB
# on average, plus the bucket indexes
export RGW_STORE_GB=${RGW_STORE_GB:-8}
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
export SOAK_WORK=$WORK SOAK_OUT=$OUT SOAK_OBJECTS=$OBJECTS SOAK_TOOL=$TOOL SOAK_BUILD=$BUILD
export SOAK_INTERVAL=$INTERVAL SOAK_FAULTS=$FAULTS SOAK_RSS_SLACK=$RSS_SLACK SOAK_FD_SLACK=$FD_SLACK
export SOAK_HEAPTRACK=$HEAPTRACK
export SOAK_CMD="$CMDLINE (build $BUILD)"
echo "soak: $OBJECTS objects, $TOOL, results in $OUT" >&2
# S3B_KILL_GRACE: on a stop, the inner half needs time to unmount
S3B_KILL_GRACE=${S3B_KILL_GRACE:-40} S3B_LOG_LINES=${S3B_LOG_LINES:-10} "$ROOT/tests/servers/with-server.sh" rgw --proxy -- "$0" --inner
