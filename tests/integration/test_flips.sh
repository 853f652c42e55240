#!/usr/bin/env bash
# tests/integration/test_flips.sh rgw|s3rver — bit flips in GET and PUT
# bodies (injected by the tests' proxy) never give an object that close()
# reported as fine: every copy that succeeded is byte for byte right, and
# every object present in the destination is right.
# Run under with-server.sh SERVER --proxy.
. "$(dirname "$0")/lib.sh"
SERVER=${1:?rgw|s3rver}
MP=$WORK/mnt

T=$WORK/tree
mkdir -p "$T"
n=0
# GET damage is caught for every object fetched whole (up to 8 MiB) before
# a byte is served, and for larger ones when read in one pass (which the
# kernel does not promise under load): the flips here hit objects up to
# 6 MiB on GET, and every size on PUT (see the large phase below)
for size in 1 1000 65536 100000 200000 $((6 << 20)); do
	for k in 1 2 3 4; do
		n=$((n + 1))
		randfile "$T/f$n" $((size + k)) $n
		s3put src "f$n" "$T/f$n"
	done
done

check "mount" s3b_mount "$MP" s3://src s3://dst
curl -sS -X POST --data '{"replace":true,"seed":'"${S3B_FLIP_SEED:-11}"',"flip_get":0.25,"flip_put":0.25,"ops":["GetObject","PutObject","UploadPart"]}' \
	"$S3B_PROXY/__proxy/config" >/dev/null

# read and write through the kernel (no copy_file_range, so no
# server-side copy: every byte crosses the proxy twice)
copy() {
	python3 - "$1" "$2" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
try:
    with open(src, "rb", buffering=0) as i, open(dst, "wb", buffering=0) as o:
        while True:
            b = i.read(1 << 20)
            if not b:
                break
            o.write(b)
except OSError as e:
    print(f"copy {src}: {e}", file=sys.stderr)
    sys.exit(1)
PY
}
okc=0
badc=0
for i in $(seq 1 $n); do
	if copy "$MP/src/f$i" "$MP/dst/f$i" 2>>"$WORK/copy.err"; then
		okc=$((okc + 1))
		s3get dst "f$i" "$WORK/got" 2>/dev/null || { fail "f$i: close said fine, but the object is missing"; continue; }
		check_eq "f$i: close said fine, so the object is right" "$(sha "$WORK/got")" "$(sha "$T/f$i")"
	else
		badc=$((badc + 1))
		# a failed copy leaves no wrong object behind
		if s3get dst "f$i" "$WORK/got" 2>/dev/null; then
			check_eq "f$i: failed copy left no wrong object" "$(sha "$WORK/got")" "$(sha "$T/f$i")"
		fi
	fi
done
# large objects (multi-part uploads, multi-chunk reads): PUT damage
curl -sS -X POST --data '{"replace":true,"seed":'"${S3B_FLIP_SEED:-11}"',"flip_put":0.3,"ops":["PutObject","UploadPart"]}' \
	"$S3B_PROXY/__proxy/config" >/dev/null
for k in 1 2 3; do
	n=$((n + 1))
	randfile "$T/f$n" $(((9 << 20) + k)) $n
	if copy "$T/f$n" "$MP/dst/f$n" 2>>"$WORK/copy.err"; then
		okc=$((okc + 1))
		s3get dst "f$n" "$WORK/got" 2>/dev/null || { fail "f$n: close said fine, but the object is missing"; continue; }
		check_eq "f$n (large): close said fine, so the object is right" "$(sha "$WORK/got")" "$(sha "$T/f$n")"
	else
		badc=$((badc + 1))
		if s3get dst "f$n" "$WORK/got" 2>/dev/null; then
			check_eq "f$n (large): failed copy left no wrong object" "$(sha "$WORK/got")" "$(sha "$T/f$n")"
		fi
	fi
done
faults=$(curl -sS "$S3B_PROXY/__proxy/stats" | python3 -c 'import json,sys;f=json.load(sys.stdin)["faults"];print(sum(v for v in f.values() if isinstance(v,int)))')
echo "# $n copies: $okc succeeded, $badc refused; $faults bit flips injected"
check "faults were injected" test "$faults" -gt 5
check "some copies succeeded" test "$okc" -gt 0
if [ "$SERVER" = rgw ]; then
	# RGW checks Content-MD5: a flipped PUT body is refused and sent again
	check "BadDigest seen and re-sent" grep -q 'BadDigest' "$WORK/s3bridge.log"
fi
curl -sS -X POST --data '{"replace":true}' "$S3B_PROXY/__proxy/config" >/dev/null
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
report
