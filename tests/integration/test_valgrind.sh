#!/usr/bin/env bash
# tests/integration/test_valgrind.sh rgw|s3rver — a short mount session with
# the daemon under valgrind (memcheck): files copied in, out, and across
# buckets (small, multipart, empty), ls, find, stat, xattrs, mkdir, mv,
# chmod, truncate, rm, .integrity/ read, unmount.  Valgrind must report no
# invalid access, no use of uninitialised values and no definite leak.
# Suppressions (tests/valgrind.supp) cover known library noise only.
# Run under tests/servers/with-server.sh SERVER.
. "$(dirname "$0")/lib.sh"
SERVER=${1:?rgw|s3rver}
command -v valgrind >/dev/null || { echo "test_valgrind.sh: valgrind is not installed" >&2; exit 77; }
if [[ $(ldd "$S3BRIDGE" 2>/dev/null) =~ lib(a|ub|t)san ]]; then
	echo "test_valgrind.sh: $S3BRIDGE is built with a sanitizer; valgrind cannot run it (skipped)" >&2
	exit 77
fi
SUPP=$ROOT/tests/valgrind.supp
MP=$WORK/mnt
VGLOG=$WORK/valgrind.log
mkdir -p "$MP"

randfile "$WORK/big" $((11 * 1024 * 1024 + 3)) 1
randfile "$WORK/small" 70000 2
: > "$WORK/empty"
s3put src big "$WORK/big"
s3put src dir/small "$WORK/small"
s3put src empty "$WORK/empty"

# -f: valgrind follows the daemon itself (no fork to chase)
valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --error-exitcode=99 --track-origins=yes --num-callers=30 \
	--suppressions="$SUPP" --log-file="$VGLOG" \
	"$S3BRIDGE" mount -f --endpoint "$S3_ENDPOINT" --log-file "$WORK/s3bridge.log" --log-level info \
	--journal "$WORK/journal.db" s3://src s3://dst "$MP" 2>"$WORK/daemon.err" &
VG=$!
MOUNTS+=("$MP")
for _ in $(seq 1 600); do
	mountpoint -q "$MP" && break
	kill -0 "$VG" 2>/dev/null || break
	sleep 0.1
done
check "mounted under valgrind" mountpoint -q "$MP"
t0=$(date +%s)

# in: local -> mount (one PUT, multipart, empty)
check "cp small in" cp "$WORK/small" "$MP/dst/in-small"
check "cp big in (multipart)" cp "$WORK/big" "$MP/dst/in-big"
check "cp empty in" cp "$WORK/empty" "$MP/dst/in-empty"
# out: mount -> local
check "cp big out" cp "$MP/src/big" "$WORK/out-big"
check_eq "big out byte for byte" "$(sha "$WORK/out-big")" "$(sha "$WORK/big")"
# across: the bridge (copy_file_range; small: GET+PUT, multipart source: piped)
check "cp -r across buckets" cp -r "$MP/src/." "$MP/dst/across/"
check "rsync -a across buckets" rsync -a "$MP/src/dir/" "$MP/dst/rs/"
# namespace and metadata
check "ls -la" bash -c "ls -la '$MP' '$MP/src' '$MP/dst' > /dev/null"
check "find" bash -c "find '$MP/dst' -type f > /dev/null"
check "stat" bash -c "stat '$MP/dst/in-big' > /dev/null"
check "mkdir" mkdir "$MP/dst/newdir"
check "mv" mv "$MP/dst/in-small" "$MP/dst/newdir/moved"
check "chmod" chmod 600 "$MP/dst/newdir/moved"
check "touch -d" touch -d '2020-01-02 03:04:05' "$MP/dst/in-empty"
check "truncate" truncate -s 1000 "$MP/dst/newdir/moved"
check "xattrs" python3 - "$MP/dst/in-big" <<'PY'
import os, sys
p = sys.argv[1]
for a in os.listxattr(p):
    os.getxattr(p, a)
os.setxattr(p, "user.s3.meta.k", b"v")
assert os.getxattr(p, "user.s3.meta.k") == b"v"
PY
check "overwrite in place (spool)" bash -c "printf abc | dd of='$MP/dst/in-big' bs=1 seek=5 conv=notrunc status=none"
check "read .integrity/" bash -c "cat '$MP/.integrity/summary' '$MP/.integrity/summary.json' '$MP/.integrity/metrics' > /dev/null"
check "rm" rm "$MP/dst/in-empty" "$MP/dst/newdir/moved"
check "rmdir" rmdir "$MP/dst/newdir"
check "rm -r" rm -r "$MP/dst/across"
check "read back" cmp "$MP/dst/rs/small" "$WORK/small"
echo "# session under valgrind: $(($(date +%s) - t0)) s"

check "unmount" fusermount3 -u "$MP"
for _ in $(seq 1 1200); do kill -0 "$VG" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$VG" 2>/dev/null; then
	fail "the daemon did not exit within 120 s of the unmount"
	kill -9 "$VG"
fi
wait "$VG"
rc=$?
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|in use at exit|All heap blocks' "$VGLOG" |
	sed 's/^==[0-9]*== */# valgrind: /'
check "valgrind ran its leak check at exit" grep -Eq 'LEAK SUMMARY|All heap blocks were freed' "$VGLOG"
check_eq "valgrind exit status (99: errors found)" "$rc" 0
check "valgrind: 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$VGLOG"
check "valgrind: no invalid access" bash -c "! grep -q 'Invalid \(read\|write\|free\)\|Mismatched free\|uninitialised' '$VGLOG'"
check "valgrind: no definite leak" bash -c "! grep -q 'definitely lost: [1-9]' '$VGLOG'"
if [ "$FAILED" != 0 ]; then
	echo "----- $VGLOG (first 200 lines)" >&2
	head -n 200 "$VGLOG" >&2
fi
report
