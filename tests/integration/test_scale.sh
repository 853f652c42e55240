#!/usr/bin/env bash
# tests/integration/test_scale.sh rgw — listings cost pages, not HEADs; a
# 1 GiB object reads with bounded memory.  Under with-server.sh rgw --proxy.
. "$(dirname "$0")/lib.sh"
SEED=${S3B_SEED:?the seeding tool}
MP=$WORK/mnt
N=21000

check "seed $N objects" "$SEED" many src "big/f" $N 10
check "seed 1 GiB" bash -c "'$SEED' big src huge.bin $((1 << 30)) 42 > '$WORK/huge.sha'"
s3list src big/ | sort > "$WORK/server.list"
check_eq "server lists $N" "$(wc -l < "$WORK/server.list")" $N

check "mount" s3b_mount "$MP" "s3://src?ro=1" s3://dst
curl -sS -X POST "$S3B_PROXY/__proxy/reset" >/dev/null
t0=$(date +%s.%N)
find "$MP/src/big" -type f | sed "s|^$MP/src/||" | sort > "$WORK/mount.list"
ls -l "$MP/src/big" > "$WORK/ls.out"
t1=$(date +%s.%N)
check "find lists exactly the server's keys" cmp -s "$WORK/mount.list" "$WORK/server.list"
check_eq "ls -l lines" "$(grep -c '^-' "$WORK/ls.out")" $N
stats=$(curl -sS "$S3B_PROXY/__proxy/stats")
lists=$(echo "$stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["by_op"].get("ListObjectsV2",0))')
heads=$(echo "$stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["by_op"].get("HeadObject",0))')
total=$(echo "$stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["requests"])')
echo "# find + ls -l of $N objects: $total requests ($lists ListObjectsV2, $heads HeadObject) in $(echo "$t1 - $t0" | bc) s"
check "a few dozen requests, not one per object" test "$total" -le 60
check "no HEAD per object" test "$heads" -le 5

pid=$(pgrep -f "s3bridge mount .*$MP" | head -n1)
check_eq "1 GiB read byte for byte" "$(sha "$MP/src/huge.bin")" "$(cat "$WORK/huge.sha")"
hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
echo "# daemon peak RSS after reading 1 GiB: $((hwm / 1024)) MiB"
if [ -n "${S3B_SANITIZED:-}" ]; then
	echo "# (sanitizer build: its shadow memory and quarantine make RSS meaningless; not asserted)"
else
	check "daemon peak RSS under 160 MiB" test "$hwm" -lt $((160 * 1024))
fi
# the 1 GiB object through the bridge (a multipart source: streamed, not
# copied server-side), memory bounded while it crosses
check "cp 1 GiB between buckets" cp "$MP/src/huge.bin" "$MP/dst/huge.bin"
hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
echo "# daemon peak RSS after copying 1 GiB: $((hwm / 1024)) MiB"
if [ -z "${S3B_SANITIZED:-}" ]; then
	check "daemon peak RSS under 160 MiB during the copy" test "$hwm" -lt $((160 * 1024))
fi
check_eq "1 GiB copy byte for byte (read by curl)" "$(s3curl GET dst huge.bin | sha256sum | cut -d' ' -f1)" \
	"$(cat "$WORK/huge.sha")"
check "1 GiB copy verified in the journal" grep -q '"status":"verified"' "$MP/.integrity/objects/dst/huge.bin"
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
report
