#!/usr/bin/env bash
# probe-s3rver.sh -- check, with curl, where s3rver 3.7.1 deviates from S3
# (the list in README.md).  Run it under the harness:
#   tests/servers/with-server.sh s3rver -- tests/servers/probe-s3rver.sh
# Prints one line per deviation, "CONFIRMED ..." or "NOT SEEN ...", and
# exits 1 if any listed deviation was not seen (s3rver changed).
# It needs S3_DIRECT_ENDPOINT and S3B_WORKDIR (srv1/data: a second s3rver is
# started on the same data without --openssl-legacy-provider and without
# FORCE_COLOR, to show those two points); it writes objects under probe/ in
# bucket src.  It does not: test RGW, or clean up the objects it wrote.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EP=${S3_DIRECT_ENDPOINT:?run under with-server.sh s3rver}
WORK=${S3B_WORKDIR:?run under with-server.sh s3rver}
T=$(mktemp -d "$WORK/probe.XXXXXX")
SHA='x-amz-content-sha256: UNSIGNED-PAYLOAD'
missing=0
report() { # 0|1 text
  if [ "$1" = 0 ]; then echo "CONFIRMED  $2"; else echo "NOT SEEN   $2"; missing=1; fi
}
sig() { curl -s -H "$SHA" --aws-sigv4 aws:amz:us-east-1:s3 --user "$1" "${@:2}"; }

# 1. signatures: a wrong secret passes, an unknown access key id does not
echo hello >"$T/h"
c1=$(sig S3RVER:wrong-secret -o /dev/null -w '%{http_code}' -T "$T/h" "$EP/src/probe/sig")
c2=$(sig NOSUCHKEY:S3RVER -o "$T/ak" -w '%{http_code}' -T "$T/h" "$EP/src/probe/sig")
[ "$c1" = 200 ] && [ "$c2" = 403 ] && grep -q InvalidAccessKeyId "$T/ak"
report $? "no signature check: wrong secret -> $c1; unknown access key id -> $c2 $(grep -o 'InvalidAccessKeyId' "$T/ak")"

# 2. Content-MD5 not checked
c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-MD5: AAAAAAAAAAAAAAAAAAAAAA==' -T "$T/h" "$EP/src/probe/md5")
[ "$c" = 200 ]
report $? "no Content-MD5 check: a wrong Content-MD5 -> $c (S3: 400 BadDigest)"

# 3+4. multipart: two 1 KiB parts complete (no 5 MiB minimum), ETag = MD5 of the whole
head -c 1024 /dev/urandom >"$T/p1"; head -c 1024 /dev/urandom >"$T/p2"
up=$(curl -s -X POST "$EP/src/probe/mpu?uploads" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
e1=$(curl -s -D - -o /dev/null -T "$T/p1" "$EP/src/probe/mpu?partNumber=1&uploadId=$up" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
e2=$(curl -s -D - -o /dev/null -T "$T/p2" "$EP/src/probe/mpu?partNumber=2&uploadId=$up" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
body="<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$e1</ETag></Part><Part><PartNumber>2</PartNumber><ETag>$e2</ETag></Part></CompleteMultipartUpload>"
c=$(curl -s -o "$T/cmu" -w '%{http_code}' -X POST --data-binary "$body" "$EP/src/probe/mpu?uploadId=$up")
etag=$(curl -s -I "$EP/src/probe/mpu" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: "\(.*\)"$/\1/p')
whole=$(cat "$T/p1" "$T/p2" | md5sum | cut -d' ' -f1)
[ "$c" = 200 ]
report $? "no minimum part size: complete with two 1 KiB parts -> $c (S3: 400 EntityTooSmall)"
[ "$etag" = "$whole" ]
report $? "multipart ETag is the plain MD5 of the object: $etag (whole-object MD5 $whole; S3: md5(part md5s)-2)"

# 5. UploadPartCopy 501, 6. AbortMultipartUpload 405
up=$(curl -s -X POST "$EP/src/probe/mpu2?uploads" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
c=$(curl -s -o "$T/upc" -w '%{http_code}' -X PUT -H 'x-amz-copy-source: /src/probe/mpu' "$EP/src/probe/mpu2?partNumber=1&uploadId=$up")
[ "$c" = 501 ]
report $? "UploadPartCopy -> $c $(grep -o '<Code>[^<]*</Code>' "$T/upc")"
c=$(curl -s -o "$T/abort" -w '%{http_code}' -X DELETE "$EP/src/probe/mpu2?uploadId=$up")
[ "$c" = 405 ]
report $? "AbortMultipartUpload -> $c $(grep -o '<Code>[^<]*</Code>' "$T/abort")"

# 7. delimiter listing: a "directory" holding only deeper objects loses its prefix
curl -s -o /dev/null -T "$T/h" "$EP/src/probe/deep/only/below/x"
curl -s -o /dev/null -T "$T/h" "$EP/src/probe/flat/x"
curl -s "$EP/src?list-type=2&prefix=probe/&delimiter=/" >"$T/list"
grep -q '<Prefix>probe/flat/</Prefix>' "$T/list" && ! grep -q '<Prefix>probe/deep/</Prefix>' "$T/list"
report $? "delimiter listing of probe/ shows probe/flat/ but not probe/deep/ (objects only at probe/deep/only/below/)"

# 8+9. a second s3rver on the same data, plain node, no FORCE_COLOR
curl -s -o /dev/null -T "$T/h" "$EP/src/probe/many/k[0000-1000]"
node "$HERE/node_modules/s3rver/bin/s3rver.js" -d "$WORK/srv1/data" -a 127.0.0.1 -p 0 \
  </dev/null >"$T/plain.log" 2>&1 &
plain=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$T/plain.log" && break; sleep 0.1; done
pport=$(sed -n 's/^S3rver listening on [0-9.]*:\([0-9]*\)$/\1/p' "$T/plain.log")
c_plain=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pport/src?list-type=2&prefix=probe/many/")
c_legacy=$(curl -s -o "$T/page1" -w '%{http_code}' "$EP/src?list-type=2&prefix=probe/many/")
tok=$(sed -n 's:.*<NextContinuationToken>\(.*\)</NextContinuationToken>.*:\1:p' "$T/page1")
c_legacy2=$(curl -s -o "$T/page2" -w '%{http_code}' -G --data-urlencode "continuation-token=$tok" \
  "$EP/src?list-type=2&prefix=probe/many/")
n2=$(grep -o '<Key>' "$T/page2" | wc -l)
[ "$c_plain" = 500 ] && [ "$c_legacy" = 200 ] && [ "$c_legacy2" = 200 ] && [ "$n2" = 1 ]
report $? "ListObjectsV2 over 1,001 keys: plain node $(node --version) -> $c_plain; with --openssl-legacy-provider -> $c_legacy, page 2 -> $c_legacy2 with $n2 key"
sleep 0.2
kill "$plain" 2>/dev/null; wait "$plain" 2>/dev/null
line_plain=$(sed 's/\x1b\[[0-9;]*m//g' "$T/plain.log" | grep -a '^info: .* 500 ' | head -n 1)
line_color=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/srv1/s3rver.log" | grep -a 'info: GET /src?list-type=2' | head -n 1)
[ -n "$line_color" ] && ! grep -aq 'GET /src' "$T/plain.log"
report $? "request log without FORCE_COLOR: \"$line_plain\"; with it: \"$line_color\""
exit "$missing"
