#!/usr/bin/env bash
# tests/integration/test_status.sh SERVER — `s3bridge status` during a real
# cp -r: the source's totals equal the seeded tree's (counted here with
# find), the bar and the percentage reach 100%, the plain lines (a pipe)
# carry no control characters and an ETA, the terminal line (a pty made by
# script(1)) is redrawn with \r within 79 columns, --once, ^C, a reader
# that goes away, and the mount going away end it.  Run under
# tests/servers/with-server.sh.
. "$(dirname "$0")/lib.sh"
SERVER=${1:?rgw|s3rver}
MP=$WORK/mnt
T=$WORK/tree
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; cleanup_mounts' EXIT

# human SIZE: what the status line must print for SIZE bytes (binary
# units, one decimal, written here independently of s3bridge)
human() {
	python3 - "$1" <<'PY'
import sys
v = int(sys.argv[1])
if v < 1024:
    print("%d B" % v)
else:
    d, u = v / 1024, 0
    units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    while d >= 1023.95 and u + 1 < len(units):
        d, u = d / 1024, u + 1
    print("%.1f %s" % (d, units[u]))
PY
}
count() { find "$1" -type f | wc -l; }
size() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
# wait_for SECONDS FILE REGEX: until FILE has a line matching REGEX
wait_for() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		grep -qE "$3" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# wait_exit SECONDS PID: until PID (a child of this shell) exits; its status
wait_exit() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$2" 2>/dev/null && return 124
	wait "$2"
}
# lacks [GREP OPTIONS] PATTERN FILE: grep finds nothing (status 1; an
# error, status 2, is a failure too)
lacks() {
	LC_ALL=C grep -q "$@"
	[ $? -eq 1 ]
}
# the status segments of a typescript: split at CR and LF, script's own
# header and footer and empty pieces dropped
segments() { tr '\r' '\n' <"$1" | grep -v '^Script \(started\|done\)' | grep -v '^$'; }

# ---- the source: a few hundred objects seeded straight into the server ----
python3 - "$T" <<'PY'
import os, random, sys
r = random.Random(8)
root = sys.argv[1]
for i in range(240):
    d = os.path.join(root, "d%d" % (i % 6), "e%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%03d" % i), "wb") as f:
        f.write(r.randbytes(r.randint(20000, 300000)))
open(os.path.join(root, "empty"), "wb").close()
with open(os.path.join(root, "d1", "six-mib"), "wb") as f:
    f.write(r.randbytes(6 << 20))          # a multipart source
PY
check "seed the source bucket" curl_many put src "" "$T"
N=$(count "$T")
B=$(size "$T")
H=$(human "$B")
echo "# source: $N objects, $B bytes ($H)"

check "mount" s3b_mount "$MP" s3://src s3://dst
mkdir -p "$MP/dst/cp"

# ---- before the copy: totals, nothing done, no rate, no ETA ----
out=$("$S3BRIDGE" status --once "$MP" src)
check_eq "--once, source relative to MOUNTPOINT, nothing copied: exit 0" $? 0
check_eq "--once before the copy" "$out" \
	"0% done: 0 of $N objects, 0 B of $H | -- B/s, -- objects/s | ETA -- | 0 verified, 0 failed, 0 mismatch, 0 pending, 0 interrupted | 0 uploads in flight"

out=$(cd "$WORK" && "$S3BRIDGE" status --once mnt mnt/src)
check_eq "--once, relative MOUNTPOINT and source (from the current directory)" "${out%% | *}" \
	"0% done: 0 of $N objects, 0 B of $H"

# ---- part of it: the done counts are the journal's, the ETA is known ----
check "cp -r of one directory" cp -r "$MP/src/d0" "$MP/dst/cp/"
sleep 1.1 # .integrity/ reuses a render for a second (fs/integrity.c)
n0=$(count "$T/d0")
b0=$(size "$T/d0")
pct=$(python3 -c "print(int($b0 / $B * 100))")
out=$("$S3BRIDGE" status --once --source "$MP/src" "$MP")
check_eq "--once --source, part copied: exit 0" $? 0
check_eq "--once after one directory: counts" "${out%% | *}" \
	"$pct% done: $n0 of $N objects, $(human "$b0") of $H"
check "--once after one directory: an ETA from the journal's rate" \
	grep -qE '\| ETA [0-9]+(s|m[0-9]{2}s|h[0-9]{2}m|d[0-9]{2}h) \|' <<<"$out"

# ---- live, piped and on a pty, while cp -r does the rest ----
"$S3BRIDGE" status --interval 1 "$MP" src >"$WORK/plain.out" 2>"$WORK/plain.err" &
plain_pid=$!
PIDS+=("$plain_pid")
script -qfec "'$S3BRIDGE' status '$MP' '$MP/src'" "$WORK/tty.out" >/dev/null 2>&1 </dev/null &
tty_pid=$!
PIDS+=("$tty_pid")
check "plain: a first line" wait_for 20 "$WORK/plain.out" 'done:'
check "tty: a first line" wait_for 20 "$WORK/tty.out" '\] +[0-9]+%'
(cd "$MP/src" && for e in *; do [ "$e" = d0 ] || cp -r "$e" "$MP/dst/cp/" || exit 1; done)
check_eq "cp -r of the rest" $? 0
check "plain: reaches 100%" wait_for 30 "$WORK/plain.out" "^100% done: $N of $N objects, $H of $H "
check "tty: reaches 100%" wait_for 30 "$WORK/tty.out" '\] 100% '

# the whole mount as the source: .integrity/ is not counted
out=$("$S3BRIDGE" status --once "$MP" "$MP")
check_eq "the whole mount as source: both trees, not .integrity" "${out%% | *}" \
	"$(python3 -c "print(int($B / $((2 * B)) * 100))")% done: $N of $((2 * N)) objects, $H of $(human $((2 * B)))"
out=$("$S3BRIDGE" status --once "$MP")
check "--once without a source: no percentage, no ETA; rates and outcomes" \
	grep -qE "^$N objects, $H \| [0-9.]+ [KMG]?i?B/s, [0-9.]+ objects/s \| $N verified, 0 failed, 0 mismatch, 0 pending, 0 interrupted \| 0 uploads in flight$" <<<"$out"

# --once on a terminal: the bar line, once, no redraw
script -qfec "'$S3BRIDGE' status --once '$MP' src" "$WORK/once.tty" >/dev/null 2>&1 </dev/null
check_eq "--once on a pty: exit 0" $? 0
check_eq "--once on a pty: one bar line, 100%" "$(segments "$WORK/once.tty" | grep -cE "^\[#+\] 100% $N/$N obj $H/$H .* ETA 0s 0 failed$")" 1
check "--once on a pty: no bare CR (every CR ends a line)" lacks $'\r.' "$WORK/once.tty"

# a reader that goes away ends a plain status at once, not at the next line
s=$(date +%s)
"$S3BRIDGE" status --interval 30 "$MP" src | head -c 5 >/dev/null
check "a reader that goes away ends it" test $(($(date +%s) - s)) -lt 10

# ^C on a terminal: the line ends with a newline, exit 0
script -qfec "'$S3BRIDGE' status '$MP'" "$WORK/int.tty" >/dev/null 2>&1 </dev/null &
int_pid=$!
PIDS+=("$int_pid")
check "^C case: a first line" wait_for 20 "$WORK/int.tty" 'failed'
sb=$(pgrep -P "$int_pid" -x s3bridge || pgrep -P "$(pgrep -P "$int_pid" | head -1)" -x s3bridge)
check "^C case: the status process found" test -n "$sb"
[ -n "$sb" ] && kill -INT $sb
wait_exit 10 "$int_pid"
check_eq "^C: exit 0" $? 0
# the pty turns our "\n" into "\r\n" (script's own footer has a bare "\n")
check "^C: the last line is ended" python3 -c '
import re, sys
t = open(sys.argv[1], "rb").read()
sys.exit(0 if re.search(rb"failed *\r\n(\n?Script done[^\n]*\n?)?$", t) else 1)' "$WORK/int.tty"

# ---- the mount goes away: both live ones end by themselves ----
check "unmount" s3b_unmount "$MP"
wait_exit 15 "$plain_pid"
check_eq "plain: ends when the mount goes away, exit 0" $? 0
wait_exit 15 "$tty_pid"
check_eq "tty: ends when the mount goes away, exit 0" $? 0
check "plain: says the mount is gone" grep -q 'the mount is gone' "$WORK/plain.err"

# ---- the plain lines ----
lines=$(wc -l <"$WORK/plain.out")
echo "# plain: $lines lines; the last: $(tail -1 "$WORK/plain.out")"
check "plain: several lines" test "$lines" -ge 2
check "plain: no control characters (no CR, no escape)" \
	lacks $'[\x01-\x09\x0b-\x1f\x7f]' "$WORK/plain.out"
check_eq "plain: every line has the totals" \
	"$(grep -c " of $N objects, [^|]* of $H | " "$WORK/plain.out")" "$lines"
check_eq "plain: every line has an ETA" "$(grep -c ' | ETA ' "$WORK/plain.out")" "$lines"
check "plain: an ETA while copying (not 100%, not --)" \
	grep -qE '^([0-9]|[1-9][0-9])% done: .* \| ETA [0-9]+(s|m[0-9]{2}s|h[0-9]{2}m|d[0-9]{2}h) \|' "$WORK/plain.out"
check "plain: the percentage never goes down" \
	awk -F% '$1 + 0 < last { exit 1 } { last = $1 + 0 }' "$WORK/plain.out"
check "plain: the last line is 100%, all verified" \
	grep -qE "^100% done: $N of $N objects, $H of $H \| .* \| ETA 0s \| $N verified, 0 failed, 0 mismatch, 0 pending, 0 interrupted \|" \
	<(tail -1 "$WORK/plain.out")

# ---- the terminal lines ----
check "tty: redrawn with CR" grep -q $'\r\\[' "$WORK/tty.out"
check "tty: no escape sequences" lacks $'\e' "$WORK/tty.out"
segments "$WORK/tty.out" | grep -E '^\[' >"$WORK/tty.lines"
check "tty: several redraws" test "$(wc -l <"$WORK/tty.lines")" -ge 2
check_eq "tty: every redraw fits 79 columns (no size: 80)" \
	"$(awk 'length($0) > 79' "$WORK/tty.lines" | wc -l)" 0
check "tty: every redraw has the totals and an ETA" \
	lacks -vE "^\[[#.]+\] +[0-9]+% [0-9]+/$N obj [^ ]+ [^ ]+/$H .*ETA [^ ]+ [0-9]+ failed *$" "$WORK/tty.lines"
check "tty: the bar reaches 100%" \
	grep -qE "^\[#+\] 100% $N/$N obj $H/$H .* ETA 0s 0 failed *$" <(tail -1 "$WORK/tty.lines")

# ---- errors ----
"$S3BRIDGE" status --once "$WORK" >/dev/null 2>&1
check_eq "not a mount: exit 2" $? 2
mkdir -p "$MP"
"$S3BRIDGE" status --once "$MP" >/dev/null 2>&1
check_eq "an unmounted mount point: exit 2" $? 2
"$S3BRIDGE" status --interval soon "$MP" >/dev/null 2>&1
check_eq "a bad --interval: exit 2" $? 2
check "mount again" s3b_mount "$MP" s3://src s3://dst
"$S3BRIDGE" status --once "$MP" no-such-dir >/dev/null 2>"$WORK/err"
check_eq "a missing source: exit 2" $? 2
check "a missing source: says so" grep -q 'no-such-dir' "$WORK/err"
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
report
