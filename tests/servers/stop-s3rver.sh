#!/usr/bin/env bash
# stop-s3rver.sh DIR -- stop the s3rver that start-s3rver.sh DIR started
# (only the pid in DIR/s3rver.pid, and only if its command line names
# DIR/data), then remove its files from DIR (and DIR itself if then empty).
# S3RVER_KEEP=1 keeps the files (log, data) for inspection.
set -uo pipefail
DIR=${1:?usage: stop-s3rver.sh DIR}
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd)

gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
if [ -s "$DIR/s3rver.pid" ]; then
  pid=$(cat "$DIR/s3rver.pid")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/data"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 40); do gone "$pid" && break; sleep 0.05; done
    gone "$pid" || kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 1 40); do gone "$pid" && break; sleep 0.05; done
  fi
fi
if [ "${S3RVER_KEEP:-0}" != 1 ]; then
  rm -rf "$DIR"/{data,s3rver.log,s3rver.pid,s3.env}
  rmdir "$DIR" 2>/dev/null || true
fi
exit 0
