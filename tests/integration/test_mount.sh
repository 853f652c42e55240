#!/usr/bin/env bash
# tests/integration/test_mount.sh rgw|s3rver — the mount against a real
# server: namespace and listings compared with the server's own listing,
# reads compared byte for byte with what curl reads directly, every
# namespace and metadata operation, read-only buckets, metadata across a
# remount.  Run under tests/servers/with-server.sh.
. "$(dirname "$0")/lib.sh"
SERVER=${1:?rgw|s3rver}
MP=$WORK/mnt

# ---- seed the source bucket directly (not through s3bridge) ----
randfile "$WORK/big" $((20 * 1024 * 1024 + 12345)) 3
randfile "$WORK/small" 100000 4
: > "$WORK/empty"
s3put src big.bin "$WORK/big"
s3put src "a/b/c/d/deep.bin" "$WORK/small"
s3put src "top.txt" "$WORK/small"
s3put src "m/" "$WORK/empty"           # a directory marker
s3put src "m/inside.txt" "$WORK/small"
s3put src "empty.dat" "$WORK/empty"
s3put src "x" "$WORK/small"            # both an object and a prefix
s3put src "x/y" "$WORK/small"
s3put src "with space + plus.txt" "$WORK/small"
s3put src "caf$(printf '\xc3\xa9').txt" "$WORK/small"

check "mount succeeds" s3b_mount "$MP" s3://src s3://dst
check "mounted" mountpoint -q "$MP"

# ---- namespace ----
check_eq "top level" "$(ls -A "$MP" | tr '\n' ' ')" ".integrity dst src "
check "integrity dir" test -d "$MP/.integrity"
got=$(cd "$MP/src" && find . -mindepth 1 | sort | tr '\n' ' ')
want_rgw="./a ./a/b ./a/b/c ./a/b/c/d ./a/b/c/d/deep.bin ./big.bin ./caf$(printf '\xc3\xa9').txt ./empty.dat ./m ./m/inside.txt ./top.txt ./with space + plus.txt ./x ./x.s3bridge-object ./x/y "
if [ "$SERVER" = rgw ]; then
	check_eq "find lists everything (deep implicit directories too)" "$got" "$want_rgw"
else
	# s3rver drops the CommonPrefix of a directory whose objects all sit two
	# or more levels down (a server bug; tests/servers/README.md): its
	# listing of src/ has no a/, so neither has the mount -- as with any
	# tool that trusts delimiter listings (s3fs, rclone).  Asserted openly,
	# so that a fixed server shows up here.
	check_eq "s3rver: deep-only directory missing from the server's listing" "$got" \
		"$(echo "$want_rgw" | sed 's|./a ./a/b ./a/b/c ./a/b/c/d ./a/b/c/d/deep.bin ||')"
fi
[ "$SERVER" = rgw ] && check "deep dir is a dir" test -d "$MP/src/a/b/c"
check "marker dir is a dir" test -d "$MP/src/m"
check "x is a directory" test -d "$MP/src/x"
check "x's object shown renamed" test -f "$MP/src/x.s3bridge-object"
check_eq "size from listing" "$(stat -c %s "$MP/src/big.bin")" $((20 * 1024 * 1024 + 12345))
check_eq "empty file size" "$(stat -c %s "$MP/src/empty.dat")" 0
check "missing is missing" test ! -e "$MP/src/nope"

# ---- reads ----
check_eq "big read byte for byte" "$(sha "$MP/src/big.bin")" "$(sha "$WORK/big")"
check_eq "odd name read" "$(sha "$MP/src/with space + plus.txt")" "$(sha "$WORK/small")"
check_eq "conflict object read" "$(sha "$MP/src/x.s3bridge-object")" "$(sha "$WORK/small")"
check_eq "random read" "$(dd if="$MP/src/big.bin" bs=1 skip=12345678 count=1000 2>/dev/null | sha256sum | cut -d' ' -f1)" \
	"$(dd if="$WORK/big" bs=1 skip=12345678 count=1000 2>/dev/null | sha256sum | cut -d' ' -f1)"
# parallel readers
for i in 1 2 3 4; do sha "$MP/src/big.bin" > "$WORK/par.$i" & done; wait
for i in 1 2 3 4; do check_eq "parallel reader $i" "$(cat "$WORK/par.$i")" "$(sha "$WORK/big")"; done

# ---- writes (simple path; verified at close) ----
check "cp a file" cp "$WORK/big" "$MP/dst/copy.bin"
s3get dst copy.bin "$WORK/back"
check_eq "written object equals source (read by curl)" "$(sha "$WORK/back")" "$(sha "$WORK/big")"
check "cp small" cp "$WORK/small" "$MP/dst/small.bin"
check_eq "small read back" "$(sha "$MP/dst/small.bin")" "$(sha "$WORK/small")"
check "touch creates an empty object" touch "$MP/dst/new-empty"
check "empty object exists on the server" s3exists dst new-empty
check "mkdir" mkdir "$MP/dst/newdir"
check "marker object" s3exists dst "newdir/"
check "mkdir -p deep" mkdir -p "$MP/dst/p/q/r"
check "rmdir empty" rmdir "$MP/dst/p/q/r"
check "rmdir gone" test ! -e "$MP/dst/p/q/r"
check "rmdir non-empty fails" bash -c "! rmdir '$MP/dst/p' 2>/dev/null"
check "mv file" mv "$MP/dst/small.bin" "$MP/dst/newdir/moved.bin"
check "old name gone" test ! -e "$MP/dst/small.bin"
check "old key gone on server" bash -c "! s3exists dst small.bin"
check_eq "moved content" "$(sha "$MP/dst/newdir/moved.bin")" "$(sha "$WORK/small")"
check "mv dir" mv "$MP/dst/newdir" "$MP/dst/renamed"
check_eq "dir moved content" "$(sha "$MP/dst/renamed/moved.bin")" "$(sha "$WORK/small")"
check "rm" rm "$MP/dst/renamed/moved.bin"
check "rm gone on server" bash -c "! s3exists dst renamed/moved.bin"
check "symlink" ln -s "target/of link" "$MP/dst/link"
check_eq "readlink" "$(readlink "$MP/dst/link")" "target/of link"
check "chmod" chmod 640 "$MP/dst/copy.bin"
check_eq "mode after chmod" "$(stat -c %a "$MP/dst/copy.bin")" 640
check "touch -d" touch -d "2001-02-03 04:05:06.5 UTC" "$MP/dst/copy.bin"
check_eq "mtime after touch" "$(stat -c %Y "$MP/dst/copy.bin")" 981173106
check_eq "content kept across metadata change" "$(sha "$MP/dst/copy.bin")" "$(sha "$WORK/big")"
check "x-amz-meta-mode stored (s3fs format)" bash -c "s3head dst copy.bin | grep -qi '^x-amz-meta-mode: 33184'"
check "x-amz-meta-mtime stored" bash -c "s3head dst copy.bin | grep -qi '^x-amz-meta-mtime: 981173106.5'"
check_eq "xattr etag" "$(python3 -c 'import os,sys;print(os.getxattr(sys.argv[1],"user.s3.etag").decode())' "$MP/dst/copy.bin")" \
	"$(s3head dst copy.bin | tr -d '\r"' | awk -F': ' 'tolower($1)=="etag"{print $2}')"
check "xattr set content-type" python3 -c 'import os,sys;os.setxattr(sys.argv[1],"user.s3.content-type",b"text/x-test")' "$MP/dst/copy.bin"
check "content-type stored" bash -c "s3head dst copy.bin | grep -qi '^content-type: text/x-test'"
check "truncate" truncate -s 1000 "$MP/dst/copy.bin"
check_eq "truncated content" "$(sha "$MP/dst/copy.bin")" "$(head -c 1000 "$WORK/big" | sha256sum | cut -d' ' -f1)"
printf 'appended' >> "$MP/dst/copy.bin"
check_eq "append" "$(stat -c %s "$MP/dst/copy.bin")" 1008

# random writes: seek back, holes, rewrites (within what is not yet sent,
# and through the spool for an existing object)
python3 - "$MP/dst/random.bin" "$WORK/random.want" <<'PY'
import os, random, sys
r = random.Random(5)
size = 3 * 1024 * 1024
want = bytearray(size)
fds = [os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644) for p in sys.argv[1:]]
for _ in range(300):
    off = r.randrange(0, size - 5000)
    data = r.randbytes(r.randrange(1, 5000))
    want[off:off + len(data)] = data
    for fd in fds:
        os.pwrite(fd, data, off)
for fd in fds:
    os.ftruncate(fd, size)
    os.close(fd)
PY
check_eq "random writes: exact bytes" "$(s3curl GET dst random.bin | sha256sum | cut -d' ' -f1)" "$(sha "$WORK/random.want")"
printf 'PATCH' | dd of="$MP/dst/random.bin" bs=1 seek=1000000 conv=notrunc status=none
printf 'PATCH' | dd of="$WORK/random.want" bs=1 seek=1000000 conv=notrunc status=none
check_eq "rewrite inside an existing object (spool)" "$(s3curl GET dst random.bin | sha256sum | cut -d' ' -f1)" "$(sha "$WORK/random.want")"

# a zip-like writer: 40 MiB written in order (parts go up as they fill),
# read back, then the header at offset 0 rewritten: the local copy of the
# sent parts (--keep-sent) lets the spool take over, and the object is exact
zipwrite() { # path-in-mount want-file
	python3 - "$1" "$2" <<'PY'
import os, random, sys
r = random.Random(7)
data = bytearray(r.randbytes(40 * 1024 * 1024))
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
for off in range(0, len(data), 1 << 20):
    os.pwrite(fd, data[off:off + (1 << 20)], off)
assert os.pread(fd, 4096, 3 << 20) == data[3 << 20:(3 << 20) + 4096], "read back of sent data"
data[0:16] = b"HEADER-REWRITTEN"
os.pwrite(fd, b"HEADER-REWRITTEN", 0)
data[20 << 20:(20 << 20) + 5] = b"PATCH"
os.pwrite(fd, b"PATCH", 20 << 20)
os.close(fd)
open(sys.argv[2], "wb").write(data)
PY
}
export -f zipwrite
check "rewrite behind uploaded parts" zipwrite "$MP/dst/zipped.bin" "$WORK/zipped.want"
check_eq "... exact bytes" "$(s3curl GET dst zipped.bin | sha256sum | cut -d' ' -f1)" "$(sha "$WORK/zipped.want")"
check "... said in the log" grep -q 'zipped.bin: the file is being rewritten behind data already uploaded' "$WORK/s3bridge.log"

# ---- remount: metadata survives ----
check "unmount" s3b_unmount "$MP"
check "daemon exits after unmount" s3b_wait_exit "$MP"
check "remount" s3b_mount "$MP" s3://src "s3://dst"
check_eq "mode after remount" "$(stat -c %a "$MP/dst/copy.bin")" 640
check "symlink after remount" test -L "$MP/dst/link"
check_eq "readlink after remount" "$(readlink "$MP/dst/link")" "target/of link"
check "unmount 2" s3b_unmount "$MP"
s3b_wait_exit "$MP"

# ---- --verify=readback: each object read back and compared ----
check "mount --verify=readback" s3b_mount "$MP" --verify=readback -o keep_sent=0 s3://dst
check "-o keep_sent=0: the rewrite fails" bash -c "! zipwrite '$MP/dst/nokeep.bin' '$WORK/nokeep.want' 2>'$WORK/nokeep.err'"
check "... with EIO" grep -q 'Input/output error' "$WORK/nokeep.err"
check "... and nothing is committed" bash -c "! s3exists dst nokeep.bin"
check "cp with read-back" cp "$WORK/small" "$MP/dst/readback.bin"
check "the object was read back" grep -q 'dst/readback.bin: verified and read back' "$WORK/s3bridge.log"
check "unmount readback" s3b_unmount "$MP"
s3b_wait_exit "$MP"

# ---- read-only buckets ----
check "mount ro" s3b_mount "$MP" "s3://src?ro=1"
check "ro: write refused" bash -c "! cp '$WORK/small' '$MP/src/new' 2>/dev/null"
check_eq "ro: EROFS" "$(cp "$WORK/small" "$MP/src/new" 2>&1 | grep -c 'Read-only file system')" 1
check "ro: mkdir refused" bash -c "! mkdir '$MP/src/d' 2>/dev/null"
check "ro: rm refused" bash -c "! rm '$MP/src/top.txt' 2>/dev/null"
check "ro: object still there" s3exists src top.txt
check "unmount ro" s3b_unmount "$MP"
s3b_wait_exit "$MP"
report
