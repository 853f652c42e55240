#!/usr/bin/env bash
# tests/integration/test_crash.sh rgw — crashes mid-migration:
#   1. kill -9 of the s3bridge daemon while rsync -a is in the middle of a
#      multipart upload (held there by a stalled UploadPart), the dead mount
#      lazily unmounted, a remount, and rsync -a again: it completes, every
#      object is byte for byte right, no temporary object is left, and the
#      upload the dead daemon left open is aborted (the journal's orphan
#      abort at mount).
#   2. the RADOS gateway killed and restarted while cp -r runs: in-flight
#      requests are retried and the migration completes, every object right.
# Run under tests/servers/with-server.sh rgw --proxy.  Ground truth is read
# with curl straight from the server (S3_DIRECT_ENDPOINT).
. "$(dirname "$0")/lib.sh"
SERVER=${1:?rgw}
: "${S3B_PROXY:?run under with-server.sh with --proxy}"
[ "$SERVER" = rgw ] || { echo "test_crash.sh: rgw only (it restarts radosgw)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
MP=$WORK/mnt
LOG=$WORK/s3bridge.log
J=$WORK/journal.db
T_START=$(date +%s)
phase() { echo "# [$(($(date +%s) - T_START)) s] $*"; }

proxy_config() { curl -sS --fail -X POST --data "$1" "$S3B_PROXY/__proxy/config" >/dev/null || fail "proxy config $1"; }
proxy_stat() { curl -sS "$S3B_PROXY/__proxy/stats" | python3 -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
daemon_pid() { pgrep -f "s3bridge mount .*$MP\$" | head -n1; }
wait_for() { # seconds command... -> true once command succeeds
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
same_tree() { # PREFIX: dst/PREFIX/ holds exactly the files of $T, byte for byte
	local got=$WORK/got.$1 bad=0 extra
	rm -rf "$got"
	mkdir -p "$got"
	curl_many get dst "$1/" "$T" "$got" 2>/dev/null
	diff -r "$T" "$got" >&2 || bad=1
	extra=$(comm -13 <(cd "$T" && find . -type f | sed 's|^\./||' | sort) \
		<(s3list dst "$1/" | sed "s|^$1/||" | grep -v '/$' | sort))
	[ -z "$extra" ] || { echo "dst/$1/ holds objects not in the source: $extra" >&2; bad=1; }
	rm -rf "$got"
	return $bad
}
open_uploads() { # PREFIX -> multipart uploads open in dst under PREFIX
	curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_DIRECT_ENDPOINT/dst?uploads=" |
		python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read()); ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
print(sum(1 for u in root.findall(ns + "Upload") if (u.findtext(ns + "Key") or "").startswith(sys.argv[1])))' "$1"
}

# ---- the source tree: small files around several multipart ones ----
T=$WORK/tree
python3 - "$T" <<'PY'
import os, random, sys
root = sys.argv[1]
r = random.Random(3)
files = {}
for d in ["a", "a/deep/er", "b", "z", "z/last"]:
    for i in range(12):
        files["%s/f%02d.bin" % (d, i)] = int(2 ** r.uniform(0, 17))
files["a/empty"] = 0
# multipart sources (5 MiB parts): piped through the daemon, uploaded in parts
files.update({"big/mp12m": (12 << 20) + 1, "big/mp17m": (17 << 20) + 3, "big/mp23m": 23 << 20,
              "m/mp11m": (11 << 20) - 7})
for rel, n in files.items():
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(r.randbytes(n))
PY
check "seed the source" curl_many put src "" "$T"
N_FILES=$(find "$T" -type f | wc -l)
echo "# source: $N_FILES objects, $(du -sb "$T" | cut -f1) bytes"

# ---- 1. kill -9 of the daemon mid-upload ----
phase "kill -9 of the daemon during rsync -a"
check "mount" s3b_mount "$MP" --journal "$J" s3://src s3://dst
# the first upload of a part of big/mp17m (rsync's temporary name sits in
# big/ too) stalls: the daemon is then surely inside a multipart upload
proxy_config '{"replace": true, "stall_next": [{"op": "UploadPart", "path_prefix": "/dst/m/big/", "count": 1, "seconds": 600}]}'
rsync -a "$MP/src/" "$MP/dst/m/" 2>"$WORK/rsync1.err" &
RSYNC=$!
check "an upload part stalled (the daemon is mid-upload)" \
	wait_for 90 bash -c "[ \"\$(curl -sS '$S3B_PROXY/__proxy/stats' | python3 -c 'import json,sys;print(json.load(sys.stdin)[\"faults\"].get(\"stall\",0))')\" -ge 1 ]"
sleep 1
pid=$(daemon_pid)
n_before=$(s3list dst m/ | grep -vc '/$')
check "daemon found" test -n "$pid"
[ -n "$pid" ] && kill -9 "$pid"
# its threads take a moment to exit (a zombie counts as dead)
check "the daemon is dead" wait_for 20 bash -c "[ ! -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
phase "daemon killed"
fusermount3 -uz "$MP"
check "the dead mount is gone" bash -c "! mountpoint -q '$MP'"
wait "$RSYNC"
check "rsync saw the crash" test $? != 0
phase "rsync ended"
proxy_config '{"replace": true}'
echo "# killed after $n_before objects of $N_FILES had arrived"
check "some objects went through before the kill" test "$n_before" -gt 0
check "the kill came before the end" test "$n_before" -lt "$N_FILES"
orphans=$(open_uploads m/)
echo "# multipart uploads left open by the dead daemon: $orphans"
check "the crash left an open multipart upload (the test's premise)" test "$orphans" -ge 1
# every object the dead daemon left is right (or absent): none half-written
while IFS= read -r key; do
	rel=${key#m/}
	if [ -f "$T/$rel" ]; then
		s3get dst "$key" "$WORK/one" 2>/dev/null &&
			check_eq "after the crash: $key right" "$(sha "$WORK/one")" "$(sha "$T/$rel")"
	else
		echo "# after the crash: dst/$key is not a source file (an rsync temporary?)"
	fi
done < <(s3list dst m/ | grep -v '/$')
if [ -e "$J" ]; then
	check_eq "journal passes integrity_check after kill -9" "$(sqlite3 "$J" 'PRAGMA integrity_check;' 2>&1)" ok
fi
# TODO(lead, journal): every file rsync finished before the kill (close()
# returned 0) is 'verified' in the journal; the stalled one is not.

phase "remount and rsync -a again"
check "remount" s3b_mount "$MP" --journal "$J" s3://src s3://dst
rsync -a "$MP/src/" "$MP/dst/m/" 2>"$WORK/rsync2.err"
rc=$?
cat "$WORK/rsync2.err" >&2
check "rsync -a after the remount exits 0" test "$rc" = 0
check "after the crash and the rerun: every object byte for byte, nothing extra" same_tree m
grep 'journal:' "$LOG" | sed 's/^/# log: /'
check "unmount" s3b_unmount "$MP"
check "daemon exits after unmount" s3b_wait_exit "$MP"
left=$(open_uploads m/)
echo "# multipart uploads still open after the remount: $left (of $orphans)"
# Fails until the journal's orphan abort at mount is wired (DESIGN.md: "a
# restart aborts orphans").
check_eq "the remount aborted the uploads the dead daemon left open" "$left" 0

# ---- 2. the server restarted mid-migration ----
phase "radosgw killed and restarted during cp -r"
check "mount" s3b_mount "$MP" --journal "$J" s3://src s3://dst
curl -sS -X POST "$S3B_PROXY/__proxy/reset" >/dev/null
log_at=$(wc -l < "$LOG")
cp -r "$MP/src/." "$MP/dst/r/" 2>"$WORK/cp.err" &
CP=$!
# once the upload of the biggest file has begun, its parts (and the ranged
# GETs feeding them) are in flight: kill the gateway then
started() { grep -q 'CreateMultipartUpload /dst/r/big/mp23m' "$S3B_WORKDIR/proxy1.log"; }
for _ in $(seq 1 1800); do started && break; sleep 0.05; done
check "the upload of big/mp23m began before the restart" started
out=$("$HERE/../servers/restart-rgw.sh" "$S3B_WORKDIR/srv1" --signal KILL --down 3 2>&1)
check "radosgw restarted" test $? = 0
echo "# $out"
wait "$CP"
rc=$?
cat "$WORK/cp.err" >&2
check "cp -r across the restart exits 0" test "$rc" = 0
n502=$(proxy_stat 'd["by_status"].get("502", 0)')
retries=$(tail -n +"$((log_at + 1))" "$LOG" | grep -c 'retrying')
echo "# during the restart: $n502 requests answered 502 (server down), $retries retries logged;" \
	"failed: $(grep -E ' -> (502|reset)' "$S3B_WORKDIR/proxy1.log" | awk '{print $5}' | sort | uniq -c | tr -s ' \n' ' ')"
check "requests failed while the server was down (the restart hit the migration)" test "$n502" -gt 0
check "the daemon retried them" test "$retries" -gt 0
check "across the restart: every object byte for byte, nothing extra" same_tree r
check "unmount" s3b_unmount "$MP"
check "daemon exits after unmount" s3b_wait_exit "$MP"
check_eq "no multipart upload left open under r/" "$(open_uploads r/)" 0
phase "done"
report
