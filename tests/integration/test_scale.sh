#!/usr/bin/env bash
# tests/integration/test_scale.sh rgw — listings cost pages, not HEADs, and
# a directory just listed is not listed again; a second rsync -a over a
# finished migration costs a HEAD per file and a listing per directory, no
# probe per name; cached listings follow the mount's own changes at once and
# another client's within the attribute timeout; a 1 GiB object reads with
# bounded memory.  Under with-server.sh rgw --proxy.
. "$(dirname "$0")/lib.sh"
SEED=${S3B_SEED:?the seeding tool}
# an ASan/UBSan build (-DS3B_SANITIZE=ON): RSS is not asserted
if [ -z "${S3B_SANITIZED:-}" ] && ldd "$S3BRIDGE" 2>/dev/null | grep -q 'libasan'; then
	S3B_SANITIZED=1
fi
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
ops() { echo "$stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["by_op"].get(sys.argv[1],0))' "$1"; }
total() { echo "$stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["requests"])'; }
lists=$(ops ListObjectsV2) heads=$(ops HeadObject) total=$(total)
echo "# find + ls -l of $N objects: $total requests ($lists ListObjectsV2, $heads HeadObject) in $(echo "$t1 - $t0" | bc) s"
# find lists the directory (21 pages) after one listing of src/ for the
# lookup of big; ls -l right after reads the same listing from the cache
check "find + ls -l: the directory listed once ($N/1000 pages + 1), not twice" \
	test "$lists" -le $((N / 1000 + 2))
check "find + ls -l: nothing but listings" test "$total" -eq "$lists"
check "no HEAD per object" test "$heads" -eq 0
# ls -l asks for security.selinux and system.posix_acl_access: ENOTSUP
# (not ENODATA) lets it stop asking after the first file, and says nothing
check_eq "ls -l: nothing on stderr" "$(ls -l "$MP/src/big" 2>&1 >/dev/null | head -3)" ""
check "getxattr outside user.*: ENOTSUP" python3 -c '
import errno, os, sys
try:
    os.getxattr(sys.argv[1], "security.selinux")
except OSError as e:
    sys.exit(0 if e.errno == errno.ENOTSUP else 1)
sys.exit(1)' "$MP/src/big/f000001"
check "user.s3.etag still readable" python3 -c 'import os,sys;os.getxattr(sys.argv[1],"user.s3.etag")' \
	"$MP/src/big/f000001"

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

# ---- cached listings follow the mount's own changes at once ----
C=$MP/dst/c
check "mkdir" mkdir "$C"
check_eq "a new directory is empty" "$(ls -A "$C" | tr '\n' ' ')" ""
for i in 1 2 3 4; do printf '%s' "$i" > "$C/f$i"; done
check_eq "ls after four creates" "$(ls "$C" | tr '\n' ' ')" "f1 f2 f3 f4 "
check "rm" rm "$C/f2"
check_eq "ls after rm" "$(ls "$C" | tr '\n' ' ')" "f1 f3 f4 "
check "mv" mv "$C/f3" "$C/g3"
check_eq "ls after mv" "$(ls "$C" | tr '\n' ' ')" "f1 f4 g3 "
check_eq "ls -l sizes" "$(ls -l "$C" | awk '/^-/{printf "%s:%s ", $9, $5}')" "f1:1 f4:1 g3:1 "
check_eq "the server agrees" "$(s3list dst c/ | tr '\n' ' ')" "c/ c/f1 c/f4 c/g3 "
# ... and another client's within the attribute timeout (5 s)
s3putstr dst c/ext "external"
s3putstr dst c/ext2 "external"
s3curl DELETE dst c/f4 -o /dev/null
sleep 6
check "a lookup finds another client's new object" test -f "$C/ext2"
check_eq "ls after another client's changes" "$(ls "$C" | tr '\n' ' ')" "ext ext2 f1 g3 "
check_eq "a name the server no longer has" "$(stat -c %s "$C/f4" 2>&1 | grep -c 'No such file')" 1
check_eq "another client's object reads" "$(cat "$C/ext")" "external"

# ---- a second rsync -a over a finished migration, on a fresh mount ----
R=300
check "seed $R objects" "$SEED" many src "rs/f" $R 1000
check "rsync -a, first pass" rsync -a "$MP/src/rs/" "$MP/dst/rs/"
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
check "mount again (fresh caches, same journal)" s3b_mount "$MP" "s3://src?ro=1" s3://dst
curl -sS -X POST "$S3B_PROXY/__proxy/reset" >/dev/null
t0=$(date +%s.%N)
out=$(rsync -a --stats "$MP/src/rs/" "$MP/dst/rs/")
t1=$(date +%s.%N)
stats=$(curl -sS "$S3B_PROXY/__proxy/stats")
lists=$(ops ListObjectsV2) heads=$(ops HeadObject) total=$(total)
echo "# second rsync -a of $R files: $total requests ($lists ListObjectsV2, $heads HeadObject) in $(echo "$t1 - $t0" | bc) s"
check_eq "second rsync transfers nothing" \
	"$(echo "$out" | awk -F': ' '/Number of regular files transferred/{print $2}')" 0
check_eq "second rsync: no data requests" \
	"$(( $(ops GetObject) + $(ops PutObject) + $(ops UploadPart) + $(ops CopyObject) ))" 0
# each side's directories are listed once (src/, src/rs/, dst/, dst/rs/):
# no probe per name; each destination file's stored mtime costs its HEAD
check "second rsync: a listing per directory, no probe per name" test "$lists" -le 6
check "second rsync: at most a HEAD per file" test "$heads" -le $R
check "second rsync: nothing else" test "$total" -le $((R + 6))
check_eq "destination mtime is the source's" "$(stat -c %Y "$MP/dst/rs/f000007")" \
	"$(stat -c %Y "$MP/src/rs/f000007")"

check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
report
