#!/usr/bin/env bash
# selftest.sh -- self-test of the test-server harness (with-server.sh, the
# start/stop scripts) and of the fault-injecting proxy (s3proxy.py).
#
#   tests/servers/selftest.sh        (ctest runs it; needs curl, python3,
#                                     node/npm with s3rver installed or
#                                     installable, and the Ceph packages)
#
# Part 1 runs under `with-server.sh s3rver --proxy` and drives the proxy with
# curl: forwarding byte for byte (incl. 20 MiB, chunked, Expect), keep-alive,
# operation counting, fail_next/deny counts, reset, truncate, stall, bit
# flips up and down, seeded reproducibility, config errors.  Part 2 checks
# with-server.sh itself: rgw comes up and leaves no process behind, CMD's
# failing status is returned, TERM and a SIGKILL of with-server.sh clean up.
# Prints "ok"/"FAIL" lines and finally "N passed, N failed"; exit 1 on any
# failure.  It does not test S3 semantics of the servers (probe-s3rver.sh and
# the integration tests do).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${S3B_PYTHON:-python3}

# ---------------------------------------------------------------------------
# results: one line per check in $RESULTS (shared by both parts)
pass() { echo "pass" >>"$RESULTS"; echo "ok   $*"; }
fail() { echo "fail" >>"$RESULTS"; echo "FAIL $*"; }
check() { # description command... -> pass if the command succeeds
  local d=$1; shift
  if "$@"; then pass "$d"; else fail "$d"; fi
}
eq() { # description got want
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# ---------------------------------------------------------------------------
inner() {
  local T=$S3B_WORKDIR/selftest P=$S3B_PROXY EP=$S3_ENDPOINT D=$S3_DIRECT_ENDPOINT
  mkdir -p "$T"
  conf() { curl -s -o "$T/conf.out" -w '%{http_code}' -X POST --data-binary "$1" "$P/__proxy/config"; }
  pstat() { curl -s "$P/__proxy/stats" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))" "$1"; }
  bitdiff() { "$PY" - "$1" "$2" <<'EOF'
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
print(-1 if len(a) != len(b) else sum(bin(x ^ y).count("1") for x, y in zip(a, b)))
EOF
  }

  eq "S3_ENDPOINT is the proxy" "$EP" "$P"
  check "S3_DIRECT_ENDPOINT differs from the proxy" [ "$D" != "$P" ]

  # classification table, straight from the module
  local out
  out=$("$PY" - "$HERE" <<'EOF'
import sys
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
import s3proxy as p
H = lambda **kw: p.Head("X / HTTP/1.1", [[k.replace("_", "-"), v] for k, v in kw.items()])
cases = [
    ("GET", "/", H(), "ListBuckets"),
    ("GET", "/b?list-type=2&prefix=a%2F&delimiter=%2F", H(), "ListObjectsV2"),
    ("GET", "/b?prefix=x", H(), "ListObjects"),
    ("GET", "/b/", H(), "ListObjects"),
    ("GET", "/b?uploads", H(), "ListMultipartUploads"),
    ("GET", "/b?location", H(), "Other"),
    ("HEAD", "/b", H(), "HeadBucket"),
    ("PUT", "/b", H(), "CreateBucket"),
    ("DELETE", "/b", H(), "DeleteBucket"),
    ("POST", "/b?delete", H(), "DeleteObjects"),
    ("HEAD", "/b/k", H(), "HeadObject"),
    ("GET", "/b/dir/k?versionId=1", H(), "GetObject"),
    ("GET", "/b/k?uploadId=u", H(), "ListParts"),
    ("GET", "/b/k?tagging", H(), "Other"),
    ("PUT", "/b/k", H(), "PutObject"),
    ("PUT", "/b/dir/", H(), "PutObject"),
    ("PUT", "/b/k", H(x_amz_copy_source="/a/b"), "CopyObject"),
    ("PUT", "/b/k?partNumber=3&uploadId=u", H(), "UploadPart"),
    ("PUT", "/b/k?partNumber=3&uploadId=u", H(X_Amz_Copy_Source="/a/b"), "UploadPartCopy"),
    ("POST", "/b/k?uploads", H(), "CreateMultipartUpload"),
    ("POST", "/b/k?uploads=", H(), "CreateMultipartUpload"),
    ("POST", "/b/k?uploadId=u", H(), "CompleteMultipartUpload"),
    ("DELETE", "/b/k?uploadId=u", H(), "AbortMultipartUpload"),
    ("DELETE", "/b/k", H(), "DeleteObject"),
    ("OPTIONS", "/b/k", H(), "Other"),
]
bad = []
for m, t, h, want in cases:
    path, q = p.parse_target(t)
    got = p.classify(m, path, q, h)
    if got != want:
        bad.append("%s %s: %s != %s" % (m, t, got, want))
print("%d/%d %s" % (len(cases) - len(bad), len(cases), "; ".join(bad)))
EOF
)
  eq "classification table" "$out" "25/25 "

  # --- forwarding -----------------------------------------------------------
  head -c $((20 << 20)) /dev/urandom >"$T/big"
  head -c $((2 << 20)) /dev/urandom >"$T/mid"
  printf 'small object\n' >"$T/small"
  curl -s -X POST "$P/__proxy/reset" >/dev/null
  eq "PUT 20 MiB through the proxy" "$(curl -s -o /dev/null -w '%{http_code}' -T "$T/big" "$EP/src/big")" 200
  curl -s -o "$T/big.back" "$EP/src/big"
  check "GET 20 MiB back through the proxy, byte for byte" cmp -s "$T/big" "$T/big.back"
  curl -s -o "$T/big.direct" "$D/src/big"
  check "the server itself holds the same 20 MiB" cmp -s "$T/big" "$T/big.direct"
  local t
  t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -T "$T/mid" "$EP/src/mid")
  eq "PUT 2 MiB (curl sends Expect: 100-continue)" "${t% *}" 200
  check "Expect answered at once (took ${t#* } s, curl waits 1 s otherwise)" \
    "$PY" -c "import sys; sys.exit(float(sys.argv[1]) >= 0.9)" "${t#* }"
  eq "chunked PUT through the proxy" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -T "$T/mid" "$EP/src/chunked")" 200
  curl -s -o "$T/chunked.back" "$D/src/chunked"
  check "chunked PUT arrived byte for byte" cmp -s "$T/mid" "$T/chunked.back"
  # keep-alive: three requests, one connection (curl reuses it)
  out=$(curl -s -o /dev/null -w '%{num_connects}' "$EP/src/mid" \
    --next -s -o /dev/null -w '%{num_connects}' -I "$EP/src/mid" \
    --next -s -o /dev/null -w '%{num_connects}' "$EP/src?list-type=2")
  eq "keep-alive: 3 requests over 1 connection (num_connects per request)" "$out" "100"
  curl -s -o /dev/null -X DELETE "$EP/src/chunked"
  eq "counts by operation" "$(pstat 'sorted(by_op.items())')" \
    "[('DeleteObject', 1), ('GetObject', 2), ('HeadObject', 1), ('ListObjectsV2', 1), ('PutObject', 3)]"
  eq "request count" "$(pstat requests)" 8
  check "bytes_up counts the request bodies" [ "$(pstat bytes_up)" = $(( (20 << 20) + 2 * (2 << 20) )) ]
  check "bytes_down counts the response bodies" [ "$(pstat bytes_down)" -gt $(( (20 << 20) + (2 << 20) )) ]
  eq "the proxy log has one line per request" "$(grep -c ' r[0-9]* ' "$S3B_WORKDIR/proxy1.log")" 8

  # --- deterministic failures --------------------------------------------------
  curl -s -X POST "$P/__proxy/reset" >/dev/null
  eq "config fail_next accepted" \
    "$(conf '{"fail_next":[{"op":"GetObject","status":503,"code":"SlowDown","count":3}]}')" 200
  out=""
  for _ in 1 2 3 4 5; do out+="$(curl -s -o "$T/err" -w '%{http_code}' "$EP/src/small-missing") "; done
  eq "fail_next 503 exactly 3 times, then the server's answer" "$out" "503 503 503 404 404 "
  out=""
  for _ in 1 2 3 4 5; do out+="$(curl -s -o /dev/null -w '%{http_code}' "$EP/src/mid") "; done
  eq "the rule is used up" "$out" "200 200 200 200 200 "
  conf '{"fail_next":[{"op":"PutObject","status":503,"count":1}]}' >/dev/null
  curl -s -o "$T/err" -T "$T/small" "$EP/src/small"
  check "the 503 has an S3 XML error body with Code SlowDown" grep -q '<Code>SlowDown</Code>' "$T/err"
  eq "faults counted" "$(pstat 'faults.get("fail_next")')" 4
  conf '{"deny":[{"op":"PutObject","status":403,"code":"QuotaExceeded","count":-1}]}' >/dev/null
  out=""
  for _ in 1 2 3; do out+="$(curl -s -o "$T/err" -w '%{http_code}' -T "$T/small" "$EP/src/small") "; done
  eq "deny count -1: always" "$out" "403 403 403 "
  check "deny answers its code" grep -q '<Code>QuotaExceeded</Code>' "$T/err"
  eq "other operations pass a deny rule" "$(curl -s -o /dev/null -w '%{http_code}' "$EP/src/mid")" 200
  conf '{"deny":[]}' >/dev/null
  eq "deny cleared" "$(curl -s -o /dev/null -w '%{http_code}' -T "$T/small" "$EP/src/small")" 200
  conf '{"error500":1.0,"ops":["HeadObject"]}' >/dev/null
  eq "error500 rate 1 on HeadObject" "$(curl -s -o /dev/null -w '%{http_code}' -I "$EP/src/small")" 500
  eq "... GetObject unaffected" "$(curl -s -o /dev/null -w '%{http_code}' "$EP/src/small")" 200
  conf '{"replace":true,"slowdown":{"rate":1,"ops":["GetObject"]}}' >/dev/null
  eq "slowdown rate 1 on GetObject" "$(curl -s -o /dev/null -w '%{http_code}' "$EP/src/small")" 503
  conf '{"replace":true}' >/dev/null
  eq "replace:true clears all faults" "$(curl -s -o /dev/null -w '%{http_code}' "$EP/src/small")" 200

  # --- connection faults ---------------------------------------------------------
  local rc
  conf '{"reset_next":[{"op":"GetObject"}]}' >/dev/null
  curl -s -o /dev/null "$EP/src/mid"; rc=$?
  eq "reset before forwarding: curl sees a connection reset (exit 56)" "$rc" 56
  conf '{"fail_next":[{"op":"PutObject","fault":"reset_after"}]}' >/dev/null
  curl -s -o /dev/null -T "$T/small" "$EP/src/after-reset"; rc=$?
  eq "reset after forwarding: curl fails (exit 56)" "$rc" 56
  eq "... but the PUT reached the server" "$(curl -s -o /dev/null -w '%{http_code}' "$D/src/after-reset")" 200
  conf '{"truncate_next":[{"op":"GetObject"}]}' >/dev/null
  curl -s -o "$T/trunc" "$EP/src/mid"; rc=$?
  eq "truncate: curl exit 18 (partial file)" "$rc" 18
  eq "truncate: about half the body arrived" "$(wc -c <"$T/trunc")" $((1 << 20))
  conf '{"seed":3,"truncate":1.0,"ops":["ListObjectsV2"]}' >/dev/null
  curl -s -o /dev/null "$EP/src?list-type=2"; rc=$?
  eq "truncate of a listing: curl exit 18" "$rc" 18
  conf '{"replace":true,"stall_next":[{"op":"GetObject","seconds":30}]}' >/dev/null
  t=$(date +%s%N)
  curl -s -o "$T/stall" --max-time 1 "$EP/src/mid"; rc=$?
  t=$(( ($(date +%s%N) - t) / 1000000 ))
  eq "stall: curl gives up (exit 28)" "$rc" 28
  check "stall: after part of the body ($(wc -c <"$T/stall") bytes)" [ "$(wc -c <"$T/stall")" -gt 0 ]
  check "stall: curl's own 1 s limit ended it (${t} ms)" [ "$t" -lt 5000 ]
  eq "the proxy serves others meanwhile" "$(curl -s -o /dev/null -w '%{http_code}' "$EP/src/small")" 200

  # --- bit flips -----------------------------------------------------------------
  conf '{"seed":11,"flip_get":1.0}' >/dev/null
  curl -s -o "$T/flip" "$EP/src/big"
  eq "flip_get: exactly one bit differs in 20 MiB" "$(bitdiff "$T/big" "$T/flip")" 1
  conf '{"flip_get":0,"flip_put":1.0}' >/dev/null
  curl -s -o /dev/null -T "$T/mid" "$EP/src/flipped"
  curl -s -o "$T/flipped" "$D/src/flipped"
  eq "flip_put: the stored object differs in exactly one bit" "$(bitdiff "$T/mid" "$T/flipped")" 1
  eq "flips counted" "$(pstat '(faults.get("flip_get"), faults.get("flip_put"))')" "(1, 1)"
  conf '{"flip_put":0}' >/dev/null

  # --- seeded reproducibility -----------------------------------------------------
  local a b
  conf '{"replace":true,"seed":42,"slowdown":0.5}' >/dev/null
  a=""; for _ in $(seq 1 16); do a+=$(curl -s -o /dev/null -w '%{http_code},' -I "$EP/src/small"); done
  conf '{"seed":42}' >/dev/null
  b=""; for _ in $(seq 1 16); do b+=$(curl -s -o /dev/null -w '%{http_code},' -I "$EP/src/small"); done
  eq "same seed, same fault sequence" "$a" "$b"
  check "rate 0.5 gives both outcomes ($a)" bash -c '[[ $1 == *503* && $1 == *200* ]]' _ "$a"

  # --- control API ----------------------------------------------------------------
  eq "unknown config key: 400" "$(conf '{"slowdwn":1}')" 400
  eq "unknown op: 400" "$(conf '{"deny":[{"op":"PutObjekt"}]}')" 400
  eq "bad JSON: 400" "$(conf '{')" 400
  eq "GET config" "$(curl -s "$P/__proxy/config" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seed"])')" 42
  curl -s -X POST "$P/__proxy/reset" >/dev/null
  eq "reset zeroes the stats" "$(pstat '(requests, by_op, faults, bytes_up)')" "(0, {}, {}, 0)"
  eq "/__proxy/ is never forwarded" "$(curl -s -o /dev/null -w '%{http_code}' "$P/__proxy/nothing")" 404
}

# ---------------------------------------------------------------------------
# (CMD and its children put the work dir into their argv[0] with exec -a, so
# that they are found here too)
leftovers() { # workdir -> lines of live processes whose command line names it
  local f st
  for f in /proc/[0-9]*/cmdline; do
    st=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case $st in *"$1"*) echo "${f%/cmdline}: $st";; esac
  done | grep -v "^/proc/$$:" || true
}
clean_after() { # description workdir
  local left
  sleep 0.3
  left=$(leftovers "$2")
  if [ -n "$left" ]; then fail "$1: processes left: $left"; else pass "$1: no process left"; fi
  check "$1: work dir removed" [ ! -e "$2" ]
}

outer() {
  local T rc wd
  T=$(mktemp -d "${TMPDIR:-/tmp}/s3b-selftest.XXXXXX")
  RESULTS=$T/results
  : >"$RESULTS"
  export RESULTS

  echo "# part 1: the proxy, in front of s3rver"
  "$HERE/with-server.sh" s3rver --proxy -- "$HERE/selftest.sh" --inner
  rc=$?
  eq "with-server.sh s3rver --proxy -- selftest --inner: status" "$rc" 0

  echo "# part 2: with-server.sh"
  "$HERE/with-server.sh" rgw -- bash -c 'echo "$S3B_WORKDIR" >"$1"; curl -s -o /dev/null -w "%{http_code}" -I "$S3_ENDPOINT/"' _ "$T/wd" >"$T/out"
  rc=$?
  wd=$(cat "$T/wd" 2>/dev/null)
  eq "with-server.sh rgw -- true: status" "$rc" 0
  check "rgw answered" grep -q '^[0-9][0-9][0-9]$' "$T/out"
  check "rgw work dir was under TMPDIR" [ -n "$wd" ]
  [ -n "$wd" ] && clean_after "rgw" "$wd"

  "$HERE/with-server.sh" s3rver --proxy -- bash -c 'echo "$S3B_WORKDIR" >"$1"; (exec -a "child-of $S3B_WORKDIR" sleep 300) & exit 7' _ "$T/wd" 2>"$T/err"
  rc=$?
  wd=$(cat "$T/wd" 2>/dev/null)
  eq "a failing CMD's status is returned" "$rc" 7
  check "on failure the log tails go to stderr" grep -q -- '----- tail .*s3rver.log' "$T/err"
  [ -n "$wd" ] && clean_after "failing CMD (with a background child)" "$wd"

  "$HERE/with-server.sh" s3rver --proxy -- bash -c 'echo "$S3B_WORKDIR" >"$1"; exec -a "cmd-in $S3B_WORKDIR" sleep 300' _ "$T/wd" 2>/dev/null &
  local w=$!
  for _ in $(seq 1 100); do [ -s "$T/wd" ] && break; sleep 0.1; done
  wd=$(cat "$T/wd" 2>/dev/null)
  kill -TERM "$w"
  wait "$w"; rc=$?
  eq "TERM: status 143" "$rc" 143
  [ -n "$wd" ] && clean_after "TERM" "$wd"

  : >"$T/wd"
  "$HERE/with-server.sh" s3rver --proxy -- bash -c 'echo "$S3B_WORKDIR" >"$1"; exec -a "cmd-in $S3B_WORKDIR" sleep 300' _ "$T/wd" 2>/dev/null &
  w=$!
  for _ in $(seq 1 100); do [ -s "$T/wd" ] && break; sleep 0.1; done
  wd=$(cat "$T/wd" 2>/dev/null)
  kill -KILL "$w"
  wait "$w" 2>/dev/null
  # the watchdog polls once a second, then stops CMD (10 s grace) and the rest
  for _ in $(seq 1 50); do [ -e "$wd" ] || break; sleep 0.1; done
  [ -n "$wd" ] && clean_after "SIGKILL of with-server.sh (watchdog)" "$wd"

  local np nf
  np=$(grep -c '^pass$' "$RESULTS"); nf=$(grep -c '^fail$' "$RESULTS")
  rm -rf "$T"
  echo "$np passed, $nf failed"
  [ "$nf" = 0 ] && [ "$np" -gt 0 ]
}

if [ "${1:-}" = --inner ]; then
  inner
  exit 0
fi
outer
