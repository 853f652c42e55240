#!/usr/bin/env bash
# start-s3rver.sh DIR -- start s3rver 3.7.1 (node, tests/servers/node_modules;
# installed by install-s3rver.sh, which this calls if needed) on a free
# 127.0.0.1 port, data under DIR/data, the buckets in S3RVER_BUCKETS (default
# "src dst") created at start.  The port is chosen by the kernel (-p 0) and
# read back from s3rver's "listening on" line, so there is no port race.
#
# Runs node as `FORCE_COLOR=1 node --openssl-legacy-provider s3rver.js`:
# without the legacy provider (Node 17+) a ListObjectsV2 past 1,000 keys
# fails with 500 (its continuation token uses a cipher OpenSSL 3 retired);
# without FORCE_COLOR its request log lines lose method and URL.
#
# On success prints (and writes to DIR/s3.env, sourceable):
#   S3_ENDPOINT=http://127.0.0.1:PORT
#   AWS_ACCESS_KEY_ID=S3RVER  AWS_SECRET_ACCESS_KEY=S3RVER  AWS_DEFAULT_REGION=us-east-1
# (s3rver's defaults: it accepts any SigV4 signature made with that access key
# id, whatever the secret).  Files: DIR/s3rver.pid, DIR/s3rver.log, DIR/data.
# Progress and failures go to stderr; on failure node is stopped and DIR
# kept.  Stop and wipe with stop-s3rver.sh DIR.
# It does not: enable TLS, vhost buckets, or survive its DIR being deleted.
#
# Tunables: S3RVER_BUCKETS, S3RVER_TIMEOUT (seconds to wait, default 30).
set -euo pipefail
DIR=${1:?usage: start-s3rver.sh DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUCKETS=${S3RVER_BUCKETS:-src dst}
TIMEOUT=${S3RVER_TIMEOUT:-30}

"$HERE/install-s3rver.sh"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -e "$DIR/s3rver.pid" ]; then
  echo "start-s3rver: $DIR already holds an s3rver; run stop-s3rver.sh $DIR first" >&2
  exit 1
fi
mkdir -p "$DIR/data"
args=(-d "$DIR/data" -a 127.0.0.1 -p 0)
for b in $BUCKETS; do args+=(--configure-bucket "$b"); done

: >"$DIR/s3rver.log"   # exists before the loop below reads it (no race with node's start)
FORCE_COLOR=1 nohup node --openssl-legacy-provider "$HERE/node_modules/s3rver/bin/s3rver.js" \
  "${args[@]}" </dev/null >"$DIR/s3rver.log" 2>&1 &
PID=$!
echo "$PID" >"$DIR/s3rver.pid"

fail() {
  echo "start-s3rver: FAILED: $*" >&2
  echo "----- tail $DIR/s3rver.log" >&2
  tail -n 20 "$DIR/s3rver.log" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
  kill -KILL "$PID" 2>/dev/null || true
  exit 1
}
end=$(( $(date +%s) + TIMEOUT ))
PORT=
while :; do
  kill -0 "$PID" 2>/dev/null || fail "node exited"
  PORT=$(sed -n 's/^S3rver listening on [0-9.]*:\([0-9][0-9]*\).*$/\1/p' "$DIR/s3rver.log" | head -n 1 || true)
  if [ -n "$PORT" ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)
    [ "$code" = 200 ] && break
  fi
  [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${TIMEOUT}s"
  sleep 0.1
done
for b in $BUCKETS; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$PORT/$b" || true)
  [ "$code" = 200 ] || fail "bucket $b: HEAD answered $code"
done

cat >"$DIR/s3.env" <<EOT
S3_ENDPOINT=http://127.0.0.1:$PORT
AWS_ACCESS_KEY_ID=S3RVER
AWS_SECRET_ACCESS_KEY=S3RVER
AWS_DEFAULT_REGION=us-east-1
EOT
echo "start-s3rver: s3rver (pid $PID) on 127.0.0.1:$PORT, buckets: $BUCKETS" >&2
cat "$DIR/s3.env"
