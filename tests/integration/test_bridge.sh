#!/usr/bin/env bash
# tests/integration/test_bridge.sh MODE — the streaming bridge: cp -r and
# rsync -a between buckets, every object compared byte for byte with what
# curl reads straight from the servers.  MODE:
#   rgw      both buckets on one RGW (server-side copies where provable)
#   s3rver   both buckets on one s3rver
#   cross    source on RGW, destination on s3rver (run with --second s3rver)
# Run under with-server.sh with --proxy: requests are counted by the proxy.
. "$(dirname "$0")/lib.sh"
MODE=${1:?rgw|s3rver|cross}
MP=$WORK/mnt
mkdir -p "$MP"
SRC_EP=$S3_ENDPOINT
DST_EP=$S3_ENDPOINT
if [ "$MODE" = cross ]; then
	DST_EP=${S3_ENDPOINT2:?cross needs --second}
fi

proxy() { # path [json] -> body
	curl -sS -X "${2:+POST}${2:-GET}" ${2:+--data "$2"} "$S3B_PROXY$1"
}
ops() { # op -> count since the last reset (source + destination proxies)
	local n=0 v
	for p in "$S3B_PROXY" ${S3B_PROXY2:-}; do
		v=$(curl -sS "$p/__proxy/stats" | python3 -c "import json,sys;print(json.load(sys.stdin)['by_op'].get('$1',0))")
		n=$((n + v))
	done
	echo $n
}
reset_stats() { for p in "$S3B_PROXY" ${S3B_PROXY2:-}; do curl -sS -X POST "$p/__proxy/reset" >/dev/null; done; }
dst_get() { # key file: read the destination object straight from its server
	if [ "$MODE" = cross ]; then
		S3_DIRECT_ENDPOINT=$S3_DIRECT_ENDPOINT2 AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID2 \
			AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY2 s3get dst "$1" "$2"
	else
		s3get dst "$1" "$2"
	fi
}

# ---- the source tree, seeded directly ----
T=$WORK/tree
mkdir -p "$T/a/b" "$T/odd dir"
: > "$T/empty"
randfile "$T/small" 100000 1
randfile "$T/a/5m-1" $((5 * 1024 * 1024 - 1)) 2
randfile "$T/a/5m" $((5 * 1024 * 1024)) 3
randfile "$T/a/b/5m+1" $((5 * 1024 * 1024 + 1)) 4
randfile "$T/a/b/20m" $((20 * 1024 * 1024 + 77)) 5
randfile "$T/odd dir/caf$(printf '\xc3\xa9') + & %.bin" 54321 6
for f in $(cd "$T" && find . -type f | sed 's|^\./||'); do :; done
(cd "$T" && find . -type f -print0) | while IFS= read -r -d '' f; do
	s3put src "${f#./}" "$T/$f"
done
SRC_SPEC="s3://src"
DST_SPEC="s3://dst"
if [ "$MODE" = cross ]; then
	# two servers, two credential sets: AWS profiles, as a user would
	cat > "$WORK/credentials" <<EOT
[old]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
[new]
aws_access_key_id = $AWS_ACCESS_KEY_ID2
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY2
EOT
	cat > "$WORK/config" <<EOT
[profile old]
endpoint_url = $SRC_EP
region = us-east-1
[profile new]
endpoint_url = $DST_EP
region = us-east-1
EOT
	chmod 600 "$WORK/credentials"
	export AWS_SHARED_CREDENTIALS_FILE=$WORK/credentials AWS_CONFIG_FILE=$WORK/config
	SRC_SPEC="s3://src?profile=old"
	DST_SPEC="s3://dst?profile=new"
fi

if [ "$MODE" != cross ]; then
	# parts of 9 MiB: a layout the bridge guesses wrong (8 MiB fits too)
	randfile "$WORK/mp9" $((20 * 1024 * 1024 + 3)) 8
	check "mount with 9M parts" s3b_mount "$WORK/mnt9" -o part_size=9M "$SRC_SPEC"
	check "write a 9M-part source" cp "$WORK/mp9" "$WORK/mnt9/src/a/mp9"
	check "unmount the 9M-part mount" s3b_unmount "$WORK/mnt9"
	s3b_wait_exit "$WORK/mnt9"
	cp "$WORK/mp9" "$T/a/mp9"
fi

# a multipart source written through the mount (composite ETag on RGW)
if [ "$MODE" = cross ]; then
	check "mount" "$S3BRIDGE" mount --journal "$WORK/mnt.journal" --log-file "$WORK/s3bridge.log" \
		--log-level info "$SRC_SPEC" "$DST_SPEC" "$MP"
	MOUNTS+=("$MP")
else
	check "mount" s3b_mount "$MP" "$SRC_SPEC" "$DST_SPEC"
fi
randfile "$WORK/mp" $((17 * 1024 * 1024 + 5)) 7
check "write a multipart source" cp "$WORK/mp" "$MP/src/a/mp17"
cp "$WORK/mp" "$T/a/mp17"

# ---- cp -r (copy_file_range: bridge copies inside the daemon) ----
reset_stats
strace -f -e trace=copy_file_range -o "$WORK/strace" cp -r "$MP/src/." "$MP/dst/cp/"
check "cp -r exits 0" test $? -eq 0
check "cp used copy_file_range" grep -q 'copy_file_range(.*) = [1-9]' "$WORK/strace"
n_src=$(cd "$T" && find . -type f | wc -l)
echo "# cp -r of $n_src files: $(ops CopyObject) CopyObject, $(ops GetObject) GET, $(ops PutObject) PUT, $(ops UploadPart) UploadPart, $(ops HeadObject) HEAD, $(ops ListObjectsV2) LIST"
(cd "$T" && find . -type f -print0) | while IFS= read -r -d '' f; do
	dst_get "cp/${f#./}" "$WORK/got" || { fail "cp: dst/cp/${f#./} missing"; continue; }
	check_eq "cp: ${f#./} byte for byte" "$(sha "$WORK/got")" "$(sha "$T/$f")"
done 2>&1 | tee "$WORK/cmp.out" | grep -v '^$' >&2
grep -q FAIL "$WORK/cmp.out" && fail "cp -r content" || ok
if [ "$MODE" != cross ]; then
	# large objects whose ETag is an MD5 are copied by the server; small ones
	# cross the bridge in one GET and one PUT, with every digest
	check "same endpoint: large object copied server-side" \
		grep -q 'cp/a/b/20m: verified.*server-side copy of src/a/b/20m' "$WORK/s3bridge.log"
	check_eq "same endpoint: only large objects copied server-side" "$(ops CopyObject)" \
		"$([ "$MODE" = s3rver ] && echo 3 || echo 1)" # s3rver: mp17 and mp9 too
fi
check "small object: one GET, verified against its source's ETag" \
	grep -q 'cp/small: verified.*source small (stream matches its ETag)' "$WORK/s3bridge.log"
small_reqs=$(grep -c '/dst/cp/small\b\|/src/small\b' "$S3B_WORKDIR"/proxy*.log 2>/dev/null | awk -F: '{s+=$NF} END{print s+0}')
echo "# requests for one small object (source and destination): $small_reqs"
if [ "$MODE" = s3rver ]; then
	# s3rver's multipart ETag is a plain MD5: even mp17 is copied server-side
	check "multipart source copied server-side (s3rver ETag is an MD5)" \
		grep -q 'cp/a/mp17: verified.*server-side copy' "$WORK/s3bridge.log"
elif [ "$MODE" = rgw ]; then
	# a composite ETag: UploadPartCopy in the source's layout reproduces it
	check "multipart source copied server-side in its own layout" \
		grep -q 'cp/a/mp17: verified.*server-side multipart copy of src/a/mp17' "$WORK/s3bridge.log"
	check "... journalled as such" bash -c "python3 -c 'import json,sys;r=json.load(open(sys.argv[1]));assert r[\"parts\"]==3 and \"3 parts of the source\" in r[\"error\"], r' '$MP/.integrity/objects/dst/cp/a/mp17'"
	check "a wrongly guessed layout: the copy is deleted, the bytes go through the bridge" \
		grep -q 'cp/a/mp9: the server-side copy of src/a/mp9 has ETag .*the copy is deleted' "$WORK/s3bridge.log"
	check_eq "UploadPartCopy: 3 for mp17, 3 for mp9" "$(ops UploadPartCopy)" 6
	check "no multipart upload left open" bash -c "! s3curl GET dst '' -G --data-urlencode uploads= | grep -q '<UploadId>'"
else
	check "composite source stream matched its ETag" \
		grep -q 'cp/a/mp17: verified.*stream matches its ETag' "$WORK/s3bridge.log"
fi

# ---- rsync -a, then a second rsync moving nothing ----
reset_stats
check "rsync -a" rsync -a "$MP/src/" "$MP/dst/rs/"
(cd "$T" && find . -type f -print0) | while IFS= read -r -d '' f; do
	dst_get "rs/${f#./}" "$WORK/got" || { echo "FAIL: rsync: rs/${f#./} missing"; continue; }
	[ "$(sha "$WORK/got")" = "$(sha "$T/$f")" ] || echo "FAIL: rsync: ${f#./} differs"
done > "$WORK/cmp2.out"
check "rsync: every object byte for byte" test ! -s "$WORK/cmp2.out"
cat "$WORK/cmp2.out" >&2
check "rsync: no leftover temporary objects" bash -c "! grep -q '/\.[^/]*\.[A-Za-z0-9]\{6\}$' <(cd '$MP/dst/rs' && find . -type f)"
check_eq "rsync keeps mtimes" "$(stat -c %Y "$MP/dst/rs/a/b/20m")" "$(stat -c %Y "$MP/src/a/b/20m")"
check_eq "rsync keeps modes" "$(stat -c %a "$MP/dst/rs/a/b/20m")" "$(stat -c %a "$MP/src/a/b/20m")"
echo "# rsync -a: $(ops CopyObject) CopyObject, $(ops GetObject) GET, $(ops PutObject) PUT, $(ops UploadPart) UploadPart, $(ops HeadObject) HEAD"
check_eq "rsync: objects land once (no copy per temporary file)" "$(ops CopyObject)" 0
reset_stats
out=$(rsync -a --stats "$MP/src/" "$MP/dst/rs/")
check "second rsync -a succeeds" test $? -eq 0
check_eq "second rsync transfers nothing" "$(echo "$out" | awk -F': ' '/Number of regular files transferred/{print $2}')" 0
check_eq "second rsync: no data requests (GET)" "$(ops GetObject)" 0
check_eq "second rsync: no data requests (PUT)" "$(( $(ops PutObject) + $(ops UploadPart) + $(ops CopyObject) ))" 0

# a fresh mount (same journal), then rsync -a --delete: the receiver lists
# the destination first, and a listing carries LastModified, not the stored
# mtime; the journal knows what this tool stored, so nothing moves and no
# object needs a HEAD
if [ "$MODE" != cross ]; then
	check "unmount before --delete" s3b_unmount "$MP"
	s3b_wait_exit "$MP"
	check "remount" s3b_mount "$MP" "$SRC_SPEC" "$DST_SPEC"
	# mp17 and mp9 in src were written by a mount (they carry a stored
	# mtime, which this mount's journal does not know): shown as their
	# LastModified by a listing until looked up by name (README, known
	# limits); the first rsync saw their stored mtime (cp -r had read it)
	stat "$MP/src/a/mp17" "$MP/src/a/mp9" >/dev/null
	reset_stats
	plog=$(wc -l < "$S3B_WORKDIR"/proxy1.log)
	out=$(rsync -a --delete -i --stats "$MP/src/" "$MP/dst/rs/")
	check "rsync -a --delete on a fresh mount succeeds" test $? -eq 0
	echo "$out" | grep -E '^[<>ch*.][fdL]' | grep -v '^\.d' | sed 's/^/# rsync: /'
	check_eq "... transfers nothing" "$(echo "$out" | awk -F': ' '/Number of regular files transferred/{print $2}')" 0
	check_eq "... deletes nothing" "$(echo "$out" | awk -F': ' '/Number of deleted files/{print $2}' | awk '{print $1}')" 0
	check_eq "... no data requests" "$(( $(ops GetObject) + $(ops PutObject) + $(ops UploadPart) + $(ops CopyObject) ))" 0
	echo "# rsync -a --delete on a fresh mount: $(ops HeadObject) HEAD, $(ops ListObjectsV2) LIST"
	check_eq "... the destination's attributes come from the journal (no HEAD there)" \
		"$(tail -n +$((plog + 1)) "$S3B_WORKDIR"/proxy1.log | grep -c 'HeadObject /dst/')" 0
	check_eq "... the mtime shown after a listing is the stored one" \
		"$(ls -l --time-style=+%s "$MP/dst/rs/a/b" >/dev/null; stat -c %Y "$MP/dst/rs/a/b/20m")" "$(stat -c %Y "$MP/src/a/b/20m")"
fi

# ---- cp -p keeps times and modes ----
check "cp -p" cp -p "$MP/src/a/b/20m" "$MP/dst/p20m"
check_eq "cp -p mtime" "$(stat -c %Y "$MP/dst/p20m")" "$(stat -c %Y "$MP/src/a/b/20m")"

# ---- .integrity/: the proof, as files ----
I=$MP/.integrity
sj=$(cat "$I/summary.json")
echo "# summary.json: $sj"
for k in failed mismatch pending interrupted; do
	check_eq "summary.json $k" "$(echo "$sj" | python3 -c "import json,sys;print(json.load(sys.stdin)['$k'])")" 0
done
check "summary names verified objects" grep -q ' verified, 0 failed' "$I/summary"
check "sha256sum -c .integrity/SHA256SUMS re-reads every object through the mount" \
	bash -c "cd '$MP' && sha256sum -c --quiet --strict .integrity/SHA256SUMS"
check "md5sum -c .integrity/MD5SUMS" bash -c "cd '$MP' && md5sum -c --quiet --strict .integrity/MD5SUMS"
# the verified records name exactly the destination's objects (server's own listing)
python3 - "$I/journal.csv" > "$WORK/journal.keys" <<'PY'
import csv, sys
latest = {}
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        latest[row["path"]] = row
for path, row in latest.items():
    if row["status"] == "verified" and path.startswith("dst/"):
        print(path[len("dst/"):])
PY
sort -o "$WORK/journal.keys" "$WORK/journal.keys"
if [ "$MODE" = cross ]; then
	S3_DIRECT_ENDPOINT=$S3_DIRECT_ENDPOINT2 AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID2 \
		AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY2 s3list dst "" | grep -v '/$' | sort > "$WORK/server.keys"
else
	s3list dst "" | grep -v '/$' | sort > "$WORK/server.keys"
fi
check "journal's verified objects == the destination server's listing" \
	diff "$WORK/journal.keys" "$WORK/server.keys"
check "objects/ record as JSON" bash -c "python3 -c 'import json,sys;r=json.load(open(sys.argv[1]));assert r[\"status\"]==\"verified\" and r[\"src_key\"]==\"small\"' '$I/objects/dst/cp/small'"
check "metrics in Prometheus format" grep -q '^s3bridge_objects{status="verified"} [1-9]' "$I/metrics"
check ".integrity refuses writes" bash -c "! touch '$I/x' 2>/dev/null && ! rm -f '$I/summary' 2>/dev/null"
check "s3bridge report JOURNAL (exit 0: nothing failed or pending)" \
	"$S3BRIDGE" report "$WORK/mnt.journal"
check_eq "s3bridge report --format MD5SUMS equals the mount's" \
	"$("$S3BRIDGE" report --format MD5SUMS "$WORK/mnt.journal" | sha256sum)" "$(sha256sum < "$I/MD5SUMS")"

# ---- completeness: s3bridge check ----
check "check: src -> dst/cp complete" "$S3BRIDGE" check "$MP/src" "$MP/dst/cp"
check "check result in .integrity/check" grep -q '0 missing' "$I/check"
if [ "$MODE" = cross ]; then
	S3_DIRECT_ENDPOINT=$S3_DIRECT_ENDPOINT2 AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID2 \
		AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY2 s3curl DELETE dst cp/small -o /dev/null
else
	s3curl DELETE dst cp/small -o /dev/null
fi
"$S3BRIDGE" check "$MP/src" "$MP/dst/cp" > "$WORK/check.out"
check_eq "check: exits 1 when an object was deleted behind the mount's back" $? 1
check "check: names the missing object" grep -q $'^missing\tsmall$' "$WORK/check.out"
check "check: .integrity/check has the last result" grep -q '1 missing' "$I/check"
check "status prints progress" bash -c "'$S3BRIDGE' status '$MP' | grep -q ' verified, 0 failed'"

"$S3BRIDGE" unmount "$MP" > "$WORK/unmount.out"
check_eq "s3bridge unmount" $? 0
check "unmount prints the final summary" grep -q ' verified, 0 failed' "$WORK/unmount.out"
s3b_wait_exit "$MP"

# ---- --async-close: cp's closes return before the copies are done ----
if [ "$MODE" != cross ]; then
	check "mount --async-close 4" s3b_mount "$MP" --async-close 4 "$SRC_SPEC" "$DST_SPEC"
	# the uploads of the files in async/a/b/ (5m+1 and 20m; not the directory
	# marker) are refused: cp cannot see it, the journal must
	ops='["PutObject", "CopyObject", "UploadPart", "CreateMultipartUpload", "UploadPartCopy"]'
	curl -sS --fail -X POST "$S3B_PROXY/__proxy/config" -o /dev/null --data '{"replace": true, "deny": [{"ops": '"$ops"', "path_prefix": "/dst/async/a/b/5", "status": 403, "code": "AccessDenied", "count": -1}, {"ops": '"$ops"', "path_prefix": "/dst/async/a/b/2", "status": 403, "code": "AccessDenied", "count": -1}]}'
	check "cp -r with --async-close exits 0" cp -r "$MP/src/." "$MP/dst/async/"
	"$S3BRIDGE" unmount "$MP" > "$WORK/async.out" 2>"$WORK/async.err"
	check_eq "s3bridge unmount waits for the deferred copies" $? 0
	curl -sS --fail -X POST "$S3B_PROXY/__proxy/config" -o /dev/null --data '{"replace": true}'
	s3b_wait_exit "$MP"
	n_ab=$(cd "$T/a/b" && find . -type f | wc -l)
	check "the refused copies are in the final summary, none pending" \
		grep -q " $n_ab failed, 0 mismatch, 0 pending" "$WORK/async.out"
	(cd "$T" && find . -type f -print0) | while IFS= read -r -d '' f; do
		case $f in ./a/b/*) s3exists dst "async/${f#./}" && echo "FAIL: async: ${f#./} is visible";
				continue ;; esac
		dst_get "async/${f#./}" "$WORK/got" || { echo "FAIL: async: ${f#./} missing"; continue; }
		[ "$(sha "$WORK/got")" = "$(sha "$T/$f")" ] || echo "FAIL: async: ${f#./} differs"
	done > "$WORK/cmp3.out"
	check "async: every other object byte for byte, no refused one visible" test ! -s "$WORK/cmp3.out"
	cat "$WORK/cmp3.out" >&2
	check "async: the failures are journalled" bash -c "'$S3BRIDGE' report --format failed '$WORK/mnt.journal' | grep -c 'dst/async/a/b/' | grep -qx '$n_ab'"

	# a plain fusermount3 -u right after cp: the daemon still finishes every copy
	check "mount --async-close 8" s3b_mount "$MP" --async-close 8 "$SRC_SPEC" "$DST_SPEC"
	check "cp -r with --async-close (2)" cp -r "$MP/src/." "$MP/dst/async2/"
	check "fusermount3 -u at once" s3b_unmount "$MP"
	check "the daemon finishes and exits" s3b_wait_exit "$MP"
	"$S3BRIDGE" report "$WORK/mnt.journal" > "$WORK/async2.out"
	check "... nothing left pending" grep -q ' 0 pending, 0 interrupted' "$WORK/async2.out"
	(cd "$T" && find . -type f -print0) | while IFS= read -r -d '' f; do
		dst_get "async2/${f#./}" "$WORK/got" || { echo "FAIL: async2: ${f#./} missing"; continue; }
		[ "$(sha "$WORK/got")" = "$(sha "$T/$f")" ] || echo "FAIL: async2: ${f#./} differs"
	done > "$WORK/cmp4.out"
	check "... every object byte for byte" test ! -s "$WORK/cmp4.out"
	cat "$WORK/cmp4.out" >&2
fi
report
