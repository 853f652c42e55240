#!/usr/bin/env bash
# tests/integration/test_security.sh rgw — secrets stay secret, TLS is
# verified by default, .integrity/ is read-only, permissions are enforced.
#   1. A full session (mount with a credentials file holding a distinctive
#      secret and session token, cp -r, rsync -a, ls, xattrs, .integrity/,
#      unmount), a failed mount with a wrong secret, a -d session: neither
#      secret nor token appears in the log files, stderr/stdout, `ps -ef`,
#      /proc/PID/cmdline and /proc/PID/environ (the mounts get no AWS_*
#      variables), the journal (and its -wal), or the .integrity/ files.
#   2. A credentials file readable by others draws one warning naming it.
#   3. TLS: https:// to a plain-HTTP server fails fast with a clear TLS
#      error; a self-signed certificate is refused by default, accepted with
#      --ca-bundle (no warning) and with --tls-no-verify (a warning).
#   4. .integrity/ refuses writes (touch, mkdir, rm, >, mv) with EROFS/EACCES.
#   5. default_permissions: without --allow-other another user cannot enter
#      the mount at all; with it, the mode bits are enforced.
# Run as root under tests/servers/with-server.sh rgw (it adds an RGW user).
. "$(dirname "$0")/lib.sh"
SERVER=${1:?rgw}
[ "$SERVER" = rgw ] || { echo "test_security.sh: rgw only (radosgw-admin adds a user)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "test_security.sh: needs root (setpriv to another user)" >&2; exit 77; }
CEPH_CONF=$S3B_WORKDIR/srv1/ceph.conf

# the canaries: distinctive strings that must never show up anywhere
AK=CANARYACCESSKEY00001
SECRET=S3bCanarySecretZq8Wx3Lm5Pv7Rt9Yb2Nc4Hd6
TOKEN=S3bCanaryTokenQw7Er5Ty3Ui1Op9As8Df6Gh4Jk2Lz
WRONG=S3bWrongSecretMn3Bv5Cx7Zl9Kj2Hg4Fd6Sa8
OUT=$WORK/out          # everything the mounts print or leave goes here
mkdir -p "$OUT" "$WORK/aws" "$WORK/state"
CRED=$WORK/aws/credentials
CFG=$WORK/aws/config
# a mountpoint other users can reach (the work dir is 0700)
MPX=$(mktemp -d /tmp/s3b-sec.XXXXXX)
chmod 755 "$MPX"
MP=$WORK/mnt
TLS_PID=
trap 'cleanup_mounts; [ -n "$TLS_PID" ] && kill "$TLS_PID" 2>/dev/null; rmdir "$MPX/m" "$MPX" 2>/dev/null' EXIT

# ---- an RGW user whose secret is the canary, and its buckets ----
radosgw-admin -c "$CEPH_CONF" -n client.admin user create --uid=canary --display-name=canary \
	--access-key="$AK" --secret-key="$SECRET" >/dev/null 2>&1
check "radosgw-admin user create" test $? = 0
ccurl() { # the canary user's curl (AWS_* of with-server.sh replaced)
	curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SECRET" "$@"
}
for b in csrc cdst; do
	check "create bucket $b" ccurl -X PUT -o /dev/null \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		"$S3_DIRECT_ENDPOINT/$b"
done
T=$WORK/tree
mkdir -p "$T/d/e"
randfile "$T/big" $((12 * 1024 * 1024 + 5)) 1
randfile "$T/d/small" 3000 2
randfile "$T/d/e/tiny" 10 3
: > "$T/empty"
for f in big d/small d/e/tiny empty; do
	check "seed $f" ccurl -X PUT -o /dev/null -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-H "x-amz-meta-color: blue" -H "Content-Type: text/x-canary" \
		--data-binary "@$T/$f" "$S3_DIRECT_ENDPOINT/csrc/$f"
done

cat > "$CRED" <<EOT
[canary]
aws_access_key_id = $AK
aws_secret_access_key = $SECRET
aws_session_token = $TOKEN
[wrong]
aws_access_key_id = $AK
aws_secret_access_key = $WRONG
EOT
cat > "$CFG" <<EOT
[profile canary]
region = us-east-1
[profile wrong]
region = us-east-1
EOT
chmod 600 "$CRED" "$CFG"

# s3b ARGS...: s3bridge with only the credentials file (no AWS_* keys in
# its environment) and its state (default journal) under the work dir
s3b() {
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
		AWS_SHARED_CREDENTIALS_FILE="$CRED" AWS_CONFIG_FILE="$CFG" XDG_STATE_HOME="$WORK/state" \
		"$S3BRIDGE" "$@"
}
# smount NAME MOUNTPOINT ARGS...: mount (daemonized), log and stderr in $OUT/NAME.*
smount() {
	local name=$1 mp=$2; shift 2
	mkdir -p "$mp"
	MOUNTS+=("$mp")
	s3b mount --endpoint "${EP:-$S3_ENDPOINT}" --log-file "$OUT/$name.log" --log-level debug "$@" "$mp" \
		>"$OUT/$name.out" 2>"$OUT/$name.err"
}
capture_proc() { # name mountpoint: ps -ef and the daemon's /proc files
	local pid
	ps -efww > "$OUT/$1.ps"
	pid=$(pgrep -f "s3bridge mount .*$2\$" | head -n1)
	[ -n "$pid" ] || { fail "$1: no daemon for $2"; return; }
	tr '\0' ' ' < "/proc/$pid/cmdline" > "$OUT/$1.cmdline"
	tr '\0' '\n' < "/proc/$pid/environ" > "$OUT/$1.environ"
	cat "/proc/$pid/status" > "$OUT/$1.status"
}

# ---- 1. a full session ----
check "mount with the credentials file (profile with a session token)" \
	smount main "$MP" --profile canary s3://csrc s3://cdst
cat "$OUT/main.err" >&2
capture_proc main "$MP"
check "cp -r" cp -r "$MP/csrc/." "$MP/cdst/cp/"
check "rsync -a" rsync -a "$MP/csrc/" "$MP/cdst/rs/"
check_eq "cp -r byte for byte" "$(sha "$MP/cdst/cp/big")" "$(sha "$T/big")"
check_eq "rsync -a byte for byte" "$(sha "$MP/cdst/rs/d/small")" "$(sha "$T/d/small")"
capture_proc main2 "$MP"
ls -lRa "$MP" > "$OUT/ls.txt" 2>&1
check "ls -lR" test -s "$OUT/ls.txt"
python3 - "$MP/cdst/cp/d/small" "$MP" > "$OUT/xattr.txt" 2>&1 <<'PY'
import os, sys
f, root = sys.argv[1], sys.argv[2]
for p in (f, root):
    for a in os.listxattr(p):
        print(p, a, os.getxattr(p, a))
os.setxattr(f, "user.s3.meta.note", b"hello")
print("set", os.getxattr(f, "user.s3.meta.note"))
PY
check "xattrs: user metadata copied" grep -q "user.s3.meta.color b'blue'" "$OUT/xattr.txt"
check "xattrs: set one" grep -q "set b'hello'" "$OUT/xattr.txt"
JOURNAL=$(python3 -c 'import os,sys;print(os.getxattr(sys.argv[1],"user.s3bridge.journal").decode())' "$MP" 2>/dev/null)
echo "# journal: ${JOURNAL:-none named by the mount}"

# .integrity/: every file, recursively, into one dump
find "$MP/.integrity" -type f -print0 | xargs -0 -r cat > "$OUT/integrity.dump" 2>&1
echo "# .integrity/ dump: $(wc -c < "$OUT/integrity.dump") bytes"
# TODO(lead, journal): .integrity/summary should count the cp and rsync objects as verified

# ---- 4. .integrity/ refuses writes ----
refused() { # description command...: fails with EROFS or EACCES
	local d=$1 err; shift
	if err=$("$@" 2>&1); then
		fail ".integrity: $d succeeded"
	elif echo "$err" | grep -Eq 'Read-only file system|Permission denied|Operation not permitted' ||
		{ [[ $d == setxattr* ]] && echo "$err" | grep -q 'Operation not supported'; }; then
		ok
	else
		fail ".integrity: $d failed, but not with EROFS/EACCES: $err"
	fi
}
I=$MP/.integrity
refused "touch a new file" touch "$I/new"
refused "mkdir" mkdir "$I/dir"
refused "rm summary" rm -f "$I/summary"
refused "overwrite summary" bash -c "echo x > '$I/summary'"
refused "append to failed" bash -c "echo x >> '$I/failed'"
refused "truncate summary" truncate -s 0 "$I/summary"
refused "mv a file in" mv "$MP/cdst/cp/d/e/tiny" "$I/tiny"
refused "mv summary out" mv "$I/summary" "$MP/cdst/summary"
refused "chmod summary" chmod 666 "$I/summary"
refused "rmdir objects" rmdir "$I/objects"
refused "setxattr (EROFS, EACCES or ENOTSUP)" python3 -c 'import os,sys;os.setxattr(sys.argv[1],"user.x",b"1")' "$I/summary"
check "summary still there" test -e "$I/summary"

# files for the permission checks (mode 0600 and 0644, owned by root)
check "make a private file" bash -c "echo private > '$MP/cdst/private' && chmod 600 '$MP/cdst/private'"
check "make a public file" bash -c "echo public > '$MP/cdst/public' && chmod 644 '$MP/cdst/public'"

s3b unmount "$MP" > "$OUT/unmount.out" 2>&1
check "s3bridge unmount" test $? = 0
check "daemon exits after unmount" s3b_wait_exit "$MP"
check "no credentials-file warning for mode 0600" bash -c "! grep -hF '$CRED' '$OUT/main.err' '$OUT/main.log'"

# ---- a failed mount with a wrong secret ----
t0=$(date +%s%N)
smount wrong "$MP" --profile wrong s3://csrc
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# wrong secret: exit $rc after $ms ms: $(head -n 2 "$OUT/wrong.err")"
check "wrong secret: the mount fails" test "$rc" != 0
check "wrong secret: fails fast (under 15 s)" test "$ms" -lt 15000
check "wrong secret: says so" grep -qi 'secret\|signature' "$OUT/wrong.err"
check "wrong secret: not mounted" bash -c "! mountpoint -q '$MP'"

# ---- a -d (debug, foreground) session ----
mkdir -p "$MP"
s3b mount -d --endpoint "$S3_ENDPOINT" --profile canary s3://csrc "$MP" >"$OUT/debug.out" 2>"$OUT/debug.err" &
DPID=$!
MOUNTS+=("$MP")
for _ in $(seq 1 100); do mountpoint -q "$MP" && break; sleep 0.1; done
check "-d session mounted" mountpoint -q "$MP"
cat "$MP/csrc/d/small" > /dev/null
ls -l "$MP/csrc" > /dev/null
fusermount3 -u "$MP"
wait "$DPID"
check "-d session ends with the unmount" test $? = 0

# ---- 2. a credentials file readable by others ----
chmod 644 "$CRED"
check "mount with a 0644 credentials file" smount mode "$MP" --profile canary s3://csrc
n=$(cat "$OUT/mode.err" "$OUT/mode.log" | grep -cF "$CRED")
grep -hF "$CRED" "$OUT/mode.err" "$OUT/mode.log" | sed 's/^/# /'
check_eq "0644 credentials file: one warning line naming the file" "$n" 1
check "0644: the line is a warning" bash -c "cat '$OUT/mode.err' '$OUT/mode.log' | grep -F '$CRED' | grep -qi 'warn\\|accessible\\|readable\\|mode'"
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
chmod 600 "$CRED"

# ---- 3. TLS ----
PORT=${S3_ENDPOINT##*:}
t0=$(date +%s%N)
EP="https://127.0.0.1:$PORT" smount tls-plain "$MP" --profile canary s3://csrc
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# https to a plain-HTTP server: exit $rc after $ms ms: $(head -n 2 "$OUT/tls-plain.err")"
check "https to plain HTTP: the mount fails" test "$rc" != 0
check "https to plain HTTP: fails fast (under 15 s)" test "$ms" -lt 15000
check "https to plain HTTP: a clear TLS/connect error" grep -Eqi 'tls|ssl|handshake|certificate|https' "$OUT/tls-plain.err"
check_eq "https to plain HTTP: one line" "$(grep -c . "$OUT/tls-plain.err")" 1

# a TLS terminator with a self-signed certificate in front of RGW
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
check "self-signed certificate" test -s "$WORK/tls.crt"
python3 - "$WORK/tls.crt" "$WORK/tls.key" "$PORT" "$WORK/tls.port" <<'PY' &
import asyncio, ssl, sys
crt, key, up, portfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
async def pipe(r, w):
    try:
        while True:
            b = await r.read(1 << 16)
            if not b:
                break
            w.write(b)
            await w.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        w.close()
async def handle(cr, cw):
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", up)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, uw), pipe(ur, cw))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    import os
    os.replace(portfile + ".tmp", portfile)
    await srv.serve_forever()
asyncio.run(main())
PY
TLS_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/tls.port" ] && break; sleep 0.1; done
TLS_EP=https://127.0.0.1:$(cat "$WORK/tls.port" 2>/dev/null)
check "TLS terminator answers" curl -sS -o /dev/null --cacert "$WORK/tls.crt" "$TLS_EP/"

t0=$(date +%s%N)
EP=$TLS_EP smount tls-self "$MP" --profile canary s3://csrc
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# self-signed, verification on: exit $rc after $ms ms: $(head -n 2 "$OUT/tls-self.err")"
check "self-signed: refused by default" test "$rc" != 0
check "self-signed: fails fast (under 15 s)" test "$ms" -lt 15000
check "self-signed: says it is the certificate" grep -Eqi 'certificate|verif' "$OUT/tls-self.err"

EP=$TLS_EP check "self-signed with --ca-bundle: mounts" smount tls-ca "$MP" --profile canary --ca-bundle "$WORK/tls.crt" s3://csrc
check_eq "--ca-bundle: reads over TLS" "$(sha "$MP/csrc/big")" "$(sha "$T/big")"
check "--ca-bundle: no verification warning" bash -c "! grep -qi 'verification is off\\|insecure' '$OUT/tls-ca.err' '$OUT/tls-ca.log'"
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"

EP=$TLS_EP check "--tls-no-verify: mounts" smount tls-nv "$MP" --profile canary --tls-no-verify s3://csrc
check_eq "--tls-no-verify: reads" "$(sha "$MP/csrc/d/small")" "$(sha "$T/d/small")"
grep -hi 'verif' "$OUT/tls-nv.err" "$OUT/tls-nv.log" | head -n 2 | sed 's/^/# /'
check "--tls-no-verify: a warning is logged" bash -c "cat '$OUT/tls-nv.err' '$OUT/tls-nv.log' | grep -i 'warn' | grep -qi 'verif'"
check "unmount" s3b_unmount "$MP"
s3b_wait_exit "$MP"
kill "$TLS_PID" 2>/dev/null
wait "$TLS_PID" 2>/dev/null
TLS_PID=

# ---- 5. default_permissions, with and without --allow-other ----
has_text() { grep -q -- "$2" <<< "$1"; } # text pattern
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
check "nobody reaches the mountpoint's directory" nobody test -x "$MPX"
check "mount without --allow-other" smount perm "$MPX/m" --profile canary s3://cdst
chmod 755 "$MPX/m" 2>/dev/null
check_eq "root sees the private file" "$(cat "$MPX/m/cdst/private")" private
check "without --allow-other: nobody cannot list the mount" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups ls '$MPX/m' >/dev/null 2>&1"
err=$(nobody stat "$MPX/m/cdst/public" 2>&1)
check "without --allow-other: nobody gets EACCES (even for a 0644 file)" has_text "$err" 'Permission denied'
check "unmount" s3b_unmount "$MPX/m"
s3b_wait_exit "$MPX/m"

check "mount with --allow-other" smount perm-ao "$MPX/m" --profile canary --allow-other s3://cdst
# the usual order: a listing first (ListObjectsV2 carries no metadata), then
# the files; the modes stored in x-amz-meta-mode must still be enforced
check "with --allow-other: nobody lists a directory" bash -c "setpriv --reuid=65534 --regid=65534 --clear-groups ls -l '$MPX/m/cdst' > '$OUT/nobody-ls.txt'"
check_eq "after a listing: the 0600 file shows 0600" "$(stat -c %a "$MPX/m/cdst/private")" 600
err=$(nobody cat "$MPX/m/cdst/private" 2>&1)
check "with --allow-other: nobody cannot read a 0600 root file (EACCES)" has_text "$err" 'Permission denied'
check_eq "with --allow-other: nobody reads a 0644 file" "$(nobody cat "$MPX/m/cdst/public" 2>&1)" public
check "with --allow-other: nobody cannot create in a root 0755 directory" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups touch '$MPX/m/cdst/by-nobody' 2>/dev/null"
check "with --allow-other: nobody cannot chmod a root file" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups chmod 666 '$MPX/m/cdst/private' 2>/dev/null"
check "with --allow-other: nobody cannot remove a root file" bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups rm -f '$MPX/m/cdst/public' 2>/dev/null"
check "unmount" s3b_unmount "$MPX/m"
s3b_wait_exit "$MPX/m"
check_eq "the private object still has mode 0600 on the server" \
	"$(ccurl -I -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_DIRECT_ENDPOINT/cdst/private" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-amz-meta-mode"{printf "%o", $2 % 4096}')" 600
check "nothing created by nobody" bash -c "! curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user '$AK:$SECRET' -I '$S3_DIRECT_ENDPOINT/cdst/by-nobody'"

# ---- 1 (end). no secret anywhere ----
STATE_FILES=()
while IFS= read -r -d '' f; do STATE_FILES+=("$f"); done < <(find "$WORK/state" -type f -print0)
[ -n "$JOURNAL" ] && for f in "$JOURNAL" "$JOURNAL-wal" "$JOURNAL-shm"; do [ -f "$f" ] && STATE_FILES+=("$f"); done
echo "# searched: $(find "$OUT" -type f | wc -l) captured outputs, ${#STATE_FILES[@]} journal/state files"
check "the journal was among them" test "${#STATE_FILES[@]}" -gt 0
for canary in "$SECRET" "${SECRET:0:16}" "${SECRET: -16}" "$TOKEN" "${TOKEN:0:16}" "${TOKEN: -16}" \
	"$WRONG" "${WRONG:0:16}"; do
	hits=$(grep -rlaF -- "$canary" "$OUT" "${STATE_FILES[@]}" 2>/dev/null)
	check_eq "no trace of a secret ($canary)" "$hits" ""
done
# (the access key id is not a secret; it may be logged)
# the check can fail: the canary is where it should be
check "the canary is findable (the search works)" grep -qaF "$SECRET" "$CRED"
report
