# tests/integration/lib.sh — shared by the mount tests (sourced).  They run
# under tests/servers/with-server.sh, which exports S3_ENDPOINT and the keys.
#
# Ground truth is read independently of s3bridge: curl's own SigV4
# (--aws-sigv4) talks to the server directly (S3_DIRECT_ENDPOINT).
# Every mount made with s3b_mount is unmounted on exit, even on failure.

set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S3BRIDGE=${S3BRIDGE:-$ROOT/build/s3bridge}
WORK=${S3B_WORKDIR:?run under tests/servers/with-server.sh}/t.$$
mkdir -p "$WORK"
# default journals of mounts made without --journal stay in the work dir
export XDG_STATE_HOME=$WORK/state
PASSED=0
FAILED=0
MOUNTS=()

cleanup_mounts() {
	local mp
	for mp in "${MOUNTS[@]}"; do
		if mountpoint -q "$mp" 2>/dev/null; then
			fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null
		fi
	done
	# a daemon that did not exit after the unmount is a bug: say so, then kill it
	local pids
	pids=$(pgrep -f "s3bridge mount .*$WORK" || true)
	if [ -n "$pids" ]; then
		sleep 1
		pids=$(pgrep -f "s3bridge mount .*$WORK" || true)
		[ -n "$pids" ] && { echo "# s3bridge still running after unmount: $pids" >&2; kill -9 $pids 2>/dev/null; }
	fi
}
trap 'cleanup_mounts' EXIT

ok() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
check() { # description command...
	local d=$1; shift
	if "$@"; then ok; else fail "$d"; fi
}
check_eq() { # description got want
	if [ "$2" == "$3" ]; then ok; else fail "$1: got [$2], want [$3]"; fi
}
report() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}

# s3curl METHOD BUCKET KEY [curl args...] — a request straight to the server
s3curl() {
	local method=$1 bucket=$2 key=$3; shift 3
	local enc
	enc=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe="/~"))' "$key")
	curl -sS --fail-with-body -X "$method" \
		--aws-sigv4 "aws:amz:${AWS_DEFAULT_REGION:-us-east-1}:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$@" "${S3_DIRECT_ENDPOINT}/$bucket/$enc"
}
s3put() { s3curl PUT "$1" "$2" --data-binary "@$3" -o /dev/null; }          # bucket key file
s3putstr() { printf '%s' "$3" | s3curl PUT "$1" "$2" --data-binary @- -o /dev/null; }
s3get() { s3curl GET "$1" "$2" -o "$3"; }                                    # bucket key file
s3head() { s3curl HEAD "$1" "$2" -I; }
s3exists() { s3curl HEAD "$1" "$2" -I -o /dev/null 2>/dev/null; }
s3list() { # bucket prefix -> keys, one a line (ListObjectsV2, all pages)
	python3 - "$1" "$2" <<'PY'
import os, subprocess, sys, urllib.parse, xml.etree.ElementTree as ET
bucket, prefix = sys.argv[1], sys.argv[2]
after = None
while True:
    # start-after, not the continuation token: curl 7.88's --aws-sigv4
    # mis-signs query values that need escaping (tokens do)
    q = {"list-type": "2", "prefix": prefix}
    if after: q["start-after"] = after
    url = os.environ["S3_DIRECT_ENDPOINT"] + "/" + bucket + "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)
    out = subprocess.run(["curl", "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3",
        "--user", os.environ["AWS_ACCESS_KEY_ID"] + ":" + os.environ["AWS_SECRET_ACCESS_KEY"],
        "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", url], check=True, capture_output=True).stdout
    root = ET.fromstring(out)
    ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    for c in root.findall(ns + "Contents"):
        after = c.find(ns + "Key").text
        print(after)
    if root.findtext(ns + "IsTruncated") != "true":
        break
PY
}

# s3b_mount MOUNTPOINT ARGS... — mount (daemonized; returns once mounted)
s3b_mount() {
	local mp=$1; shift
	mkdir -p "$mp"
	MOUNTS+=("$mp")
	"$S3BRIDGE" mount --endpoint "$S3_ENDPOINT" --journal "$WORK/$(basename "$mp").journal" --log-file "$WORK/s3bridge.log" --log-level info "$@" "$mp"
}
s3b_unmount() {
	fusermount3 -u "$1"
}
# wait until no s3bridge daemon for this test remains (unmount finishes uploads)
s3b_wait_exit() {
	local i
	for i in $(seq 1 100); do
		pgrep -f "s3bridge mount .*$1" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}
randfile() { # path bytes [seed]
	python3 - "$1" "$2" "${3:-1}" <<'PY'
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "wb") as f:
    left = n
    while left:
        k = min(left, 1 << 20)
        f.write(r.randbytes(k))
        left -= k
PY
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# curl_many get|put BUCKET PREFIX TREE [OUT]: one curl --parallel run over
# every file of TREE: put uploads TREE/path as PREFIXpath (files over 5 MiB
# as multipart uploads of 5 MiB parts, so their ETags are composite); get
# downloads PREFIXpath into OUT/path (a missing object leaves no file).
curl_many() {
	python3 - "$@" <<'PY'
import os, re, subprocess, sys, urllib.parse
mode, bucket, prefix, root = sys.argv[1:5]
out = sys.argv[5] if len(sys.argv) > 5 else None
ep = os.environ["S3_DIRECT_ENDPOINT"]
base = ["curl", "-sS", "--no-progress-meter", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
        os.environ["AWS_ACCESS_KEY_ID"] + ":" + os.environ["AWS_SECRET_ACCESS_KEY"],
        "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]
PSZ = 5 << 20
def url(key):
    return "%s/%s/%s" % (ep, bucket, urllib.parse.quote(key, safe="/~"))
def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
def run(args, data=None):
    return subprocess.run(base + ["--fail-with-body"] + args, input=data, check=True,
                          capture_output=True).stdout
def multipart(key, path):
    u = url(key)
    uid = re.search(rb"<UploadId>([^<]+)</UploadId>", run(["-X", "POST", u + "?uploads="])).group(1).decode()
    etags = []
    with open(path, "rb") as f:
        while True:
            b = f.read(PSZ)
            h = run(["-X", "PUT", "--data-binary", "@-", "-D", "-", "-o", "/dev/null",
                     "%s?partNumber=%d&uploadId=%s" % (u, len(etags) + 1, uid)], b)
            etags.append(re.search(rb"(?i)etag:\s*(\S+)", h).group(1).decode())
            if len(b) < PSZ:
                break
    body = "<CompleteMultipartUpload>" + "".join(
        "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (i + 1, e)
        for i, e in enumerate(etags)) + "</CompleteMultipartUpload>"
    run(["-X", "POST", "--data-binary", "@-", "-o", "/dev/null", u + "?uploadId=" + uid], body.encode())
cfg = []
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        rel = os.path.relpath(p, root)
        if mode == "put" and os.path.getsize(p) > PSZ and not f.startswith("single"):
            multipart(prefix + rel, p)
        elif mode == "put":
            cfg += ["upload-file = " + q(p), "url = " + q(url(prefix + rel)), 'output = "/dev/null"']
        else:
            cfg += ["url = " + q(url(prefix + rel)), "output = " + q(os.path.join(out, rel))]
if cfg:
    r = subprocess.run(base + ["--fail", "--create-dirs", "--parallel", "--parallel-max", "8", "-K", "-"],
                       input=("\n".join(cfg) + "\n").encode(), stderr=subprocess.PIPE)
    if mode == "put" and r.returncode:
        sys.stderr.write(r.stderr.decode())
        sys.exit(r.returncode)
PY
}

# for checks written as bash -c "..."
export -f s3curl s3put s3putstr s3get s3head s3exists
export S3_DIRECT_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
