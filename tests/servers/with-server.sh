#!/usr/bin/env bash
# with-server.sh SERVER [--proxy] [--second SERVER2] [--proxy-config JSON] -- CMD [ARGS...]
#
# Runs CMD against a fresh S3 server on free 127.0.0.1 ports and ALWAYS
# tears everything down afterwards.  SERVER (and SERVER2) is rgw (Ceph RGW,
# start-rgw.sh) or s3rver (start-s3rver.sh).  What it does:
#   - makes a work dir under ${TMPDIR:-/tmp} (exported as S3B_WORKDIR; the
#     servers' files and logs live there),
#   - starts SERVER there, with --proxy a fault-injecting, request-counting
#     proxy (s3proxy.py) in front of it, with --second a second server
#     (and, with --proxy, a second proxy in front of that one),
#   - exports for CMD:
#       S3_ENDPOINT          the proxy's address with --proxy, else the server's
#       S3_DIRECT_ENDPOINT   the server itself, always
#       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_REGION
#       S3B_SERVER           rgw | s3rver
#       S3B_PROXY            the proxy's base URL (control API under /__proxy/),
#                            only with --proxy
#       S3B_WORKDIR          the work dir
#     and, with --second, the same names with the suffix 2 (S3_ENDPOINT2,
#     S3_DIRECT_ENDPOINT2, AWS_ACCESS_KEY_ID2, ..., S3B_SERVER2, S3B_PROXY2),
#   - runs CMD (in its own process group) and exits with its status,
#   - on exit, INT, TERM, HUP and failure: terminates CMD's process group
#     (TERM, then KILL after S3B_KILL_GRACE seconds, default 10), stops the
#     proxies and servers, removes the work dir.  If CMD fails, the tails of
#     the server and proxy logs go to stderr first.  A detached watchdog does
#     the same teardown if this script itself is SIGKILLed (ctest timeout).
#
# Exit status: CMD's; 128+N if stopped by signal N; 77 if the server
# software is missing (for ctest SKIP_RETURN_CODE); 1 if a server or proxy
# did not start.
# Environment: S3B_KEEP=1 keeps the work dir (servers still stopped) and
# prints its path; S3B_VERBOSE=1 shows the servers' start progress;
# RGW_* / S3RVER_* tunables pass through to the start scripts.
# It does not: reuse servers between runs, clean up after another run, or
# isolate CMD from the network beyond loopback.
#
# Internal: with-server.sh --watchdog PID STARTTIME WORKDIR, and
# with-server.sh --teardown WORKDIR (stop everything recorded in WORKDIR).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${S3B_PYTHON:-python3}
ME="with-server"

usage() {
  echo "usage: with-server.sh rgw|s3rver [--proxy] [--second rgw|s3rver] [--proxy-config JSON] -- CMD [ARGS...]" >&2
  exit 2
}

# ---- teardown: stop whatever WORK records; shared by the watchdog --------------
proc_names() { # pid text -> true if pid is alive (not a zombie) and its cmdline has text
  [ -r "/proc/$1/cmdline" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}
teardown() { # WORK
  local work=$1 f pid srv
  [ -d "$work" ] || return 0
  # CMD's process group, if anything of it is left (only matters when this
  # script was killed outright; otherwise stop_cmd has ended it already)
  [ -s "$work/cmd.pgid" ] && kill_group "$(cat "$work/cmd.pgid")"
  for f in "$work"/proxy*.pid; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    if proc_names "$pid" "$work"; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 40); do proc_names "$pid" "$work" || break; sleep 0.05; done
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  for srv in "$work"/srv1 "$work"/srv2; do
    [ -d "$srv" ] || continue
    if [ -e "$srv/ceph.conf" ]; then
      RGW_KEEP=${S3B_KEEP:-0} "$HERE/stop-rgw.sh" "$srv" >/dev/null 2>&1
    fi
    if [ -e "$srv/s3rver.pid" ]; then
      S3RVER_KEEP=${S3B_KEEP:-0} "$HERE/stop-s3rver.sh" "$srv" >/dev/null 2>&1
    fi
  done
  if [ "${S3B_KEEP:-0}" = 1 ]; then
    echo "$ME: kept $work" >&2
  else
    rm -rf "$work"
  fi
}

group_alive() { # pgid -> true if a process that is not a zombie is in that group
  local pg=$1 f st
  for f in /proc/[0-9]*/stat; do
    { read -r st <"$f"; } 2>/dev/null || continue
    st=${st##*) }           # "state ppid pgrp ..."
    set -- $st
    [ "$3" = "$pg" ] && [ "$1" != Z ] && [ "$1" != X ] && return 0
  done
  return 1
}
kill_group() { # pgid -> TERM it, wait up to S3B_KILL_GRACE s, then KILL
  local pg=$1 n=$(( ${S3B_KILL_GRACE:-10} * 10 ))
  group_alive "$pg" || return 0
  kill -TERM -- "-$pg" 2>/dev/null
  while [ "$n" -gt 0 ] && group_alive "$pg"; do sleep 0.1; n=$((n - 1)); done
  group_alive "$pg" && kill -KILL -- "-$pg" 2>/dev/null
  return 0
}

starttime() { # pid -> field 22 of /proc/pid/stat (start time); empty if gone or a zombie
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }               # drop "pid (comm) ", comm may hold spaces
  set -- $s
  case $1 in Z|X) return 0;; esac
  echo "${20}"              # field 22 overall = 20th after pid and comm
}

case ${1:-} in
  --teardown)
    teardown "${2:?}"
    exit 0;;
  --watchdog)
    wpid=${2:?} wstart=${3:?} wwork=${4:?}
    while [ -d "$wwork" ] && [ "$(starttime "$wpid")" = "$wstart" ]; do sleep 1; done
    [ -d "$wwork" ] && teardown "$wwork"
    exit 0;;
esac

# ---- arguments -------------------------------------------------------------------
SERVER1=${1:-}; shift || usage
SERVER2='' PROXY=0 PROXY_CONFIG=''
while [ $# -gt 0 ]; do
  case $1 in
    --proxy) PROXY=1; shift;;
    --second) SERVER2=${2:-}; shift 2 || usage;;
    --proxy-config) PROXY_CONFIG=${2:-}; shift 2 || usage;;
    --) shift; break;;
    *) usage;;
  esac
done
[ $# -gt 0 ] || usage
for s in "$SERVER1" $SERVER2; do
  case $s in rgw|s3rver) ;; *) usage;; esac
done

# server software present?  (77: ctest can report a skip)
need() {
  local b
  for b in "$@"; do
    command -v "$b" >/dev/null || { echo "$ME: $b is not installed; cannot run this test" >&2; exit 77; }
  done
}
need curl "$PY"
for s in "$SERVER1" $SERVER2; do
  case $s in
    rgw) need ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen;;
    s3rver) need node npm;;
  esac
done

# ---- work dir, teardown traps, watchdog --------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3b-ws.XXXXXXXX") || { echo "$ME: mktemp failed" >&2; exit 1; }
CMD_PID=
START_JOBS=
STOPPING=0

stop_cmd() { # terminate CMD's process group (what is left of it)
  [ -n "$CMD_PID" ] || return 0
  kill_group "$CMD_PID"
  wait "$CMD_PID" 2>/dev/null
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_cmd
  # a start script still running (signal during start-up) is let finish, so
  # that everything it starts is recorded in WORK and then stopped
  local j
  for j in $START_JOBS; do wait "$j" 2>/dev/null; done
  if [ -s "$WORK/watchdog.pid" ]; then
    kill -TERM -- "-$(cat "$WORK/watchdog.pid")" 2>/dev/null
  fi
  teardown "$WORK"
  exit "$rc"
}
on_signal() { # signal number
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  echo "$ME: caught signal $1, stopping" >&2
  exit $((128 + $1))     # runs on_exit
}
trap on_exit EXIT
trap 'on_signal 2' INT
trap 'on_signal 15' TERM
trap 'on_signal 1' HUP

# the watchdog: detached (own session, parent gone) so that a kill of this
# script's process tree does not reach it; it tears WORK down if we vanish
(
  setsid "$HERE/with-server.sh" --watchdog "$$" "$(starttime $$)" "$WORK" \
    </dev/null >/dev/null 2>&1 &
  echo $! >"$WORK/watchdog.pid"
)

# ---- servers and proxies ---------------------------------------------------------------
log_tails() {
  local srv f
  for srv in "$WORK"/srv1 "$WORK"/srv2; do
    [ -d "$srv" ] || continue
    for f in "$srv"/start.log "$srv"/log/client.rgw.a.log "$srv"/s3rver.log; do
      [ -s "$f" ] || continue
      echo "----- tail $f" >&2
      tail -n "${S3B_LOG_LINES:-30}" "$f" | sed 's/\x1b\[[0-9;]*m//g' >&2
    done
  done
  for f in "$WORK"/proxy*.log; do
    [ -s "$f" ] || continue
    echo "----- tail $f" >&2
    tail -n "${S3B_LOG_LINES:-30}" "$f" >&2
  done
}

start_server() { # kind dir -> prints the KEY=VALUE lines
  local kind=$1 dir=$2 script
  mkdir -p "$dir"
  case $kind in rgw) script=start-rgw.sh;; s3rver) script=start-s3rver.sh;; esac
  local try
  for try in 1 2 3; do
    if [ "${S3B_VERBOSE:-0}" = 1 ]; then
      "$HERE/$script" "$dir" 2> >(tee -a "$dir/start.log" >&2) && return 0
    else
      "$HERE/$script" "$dir" 2>>"$dir/start.log" && return 0
    fi
    # a start that failed (a port taken meanwhile, a slow node) gets another
    # chance in a clean directory; start-rgw.sh retries its own ports too
    [ "$kind" = s3rver ] || return 1
    echo "$ME: s3rver did not start (try $try); retrying" >>"$dir/start.log"
    "$HERE/stop-s3rver.sh" "$dir" >/dev/null 2>&1 || true
    mkdir -p "$dir"
  done
  return 1
}

env_value() { # file key
  sed -n "s/^$2=//p" "$1" | head -n 1
}

start_proxy() { # n upstream
  local n=$1 upstream=$2
  local pf=$WORK/proxy$n.port
  local args=(--upstream "$upstream" --port-file "$pf" --log "$WORK/proxy$n.log")
  [ -n "$PROXY_CONFIG" ] && args+=(--config "$PROXY_CONFIG")
  # the work dir in argv lets teardown recognise the process
  "$PY" "$HERE/s3proxy.py" "${args[@]}" </dev/null >>"$WORK/proxy$n.log" 2>&1 &
  echo $! >"$WORK/proxy$n.pid"
  for _ in $(seq 1 200); do
    [ -s "$pf" ] && break
    kill -0 "$(cat "$WORK/proxy$n.pid")" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$pf" ] || { echo "$ME: proxy $n did not start" >&2; tail -n 20 "$WORK/proxy$n.log" >&2; return 1; }
  echo "http://127.0.0.1:$(cat "$pf")"
}

setup() { # n kind suffix; the server has been started
  local n=$1 kind=$2 sfx=$3 env=$WORK/srv$1.env direct proxy
  direct=$(env_value "$env" S3_ENDPOINT)
  [ -n "$direct" ] || { echo "$ME: $kind printed no S3_ENDPOINT" >&2; log_tails; exit 1; }
  export "S3_DIRECT_ENDPOINT$sfx=$direct"
  export "S3_ENDPOINT$sfx=$direct"
  export "AWS_ACCESS_KEY_ID$sfx=$(env_value "$env" AWS_ACCESS_KEY_ID)"
  export "AWS_SECRET_ACCESS_KEY$sfx=$(env_value "$env" AWS_SECRET_ACCESS_KEY)"
  export "AWS_DEFAULT_REGION$sfx=$(env_value "$env" AWS_DEFAULT_REGION)"
  export "AWS_REGION$sfx=$(env_value "$env" AWS_DEFAULT_REGION)"
  export "S3B_SERVER$sfx=$kind"
  if [ "$PROXY" = 1 ]; then
    proxy=$(start_proxy "$n" "$direct") || exit 1
    export "S3_ENDPOINT$sfx=$proxy"
    export "S3B_PROXY$sfx=$proxy"
  fi
}

# both servers start at once (two RGWs take ~3 s each)
start_server "$SERVER1" "$WORK/srv1" >"$WORK/srv1.env" &
START_JOBS=$!
if [ -n "$SERVER2" ]; then
  start_server "$SERVER2" "$WORK/srv2" >"$WORK/srv2.env" &
  START_JOBS="$START_JOBS $!"
fi
failed=0
for j in $START_JOBS; do
  wait "$j" || failed=1
done
START_JOBS=
if [ "$failed" = 1 ]; then
  echo "$ME: server start failed" >&2
  log_tails
  exit 1
fi
setup 1 "$SERVER1" ""
[ -n "$SERVER2" ] && setup 2 "$SERVER2" 2
export S3B_WORKDIR=$WORK
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

# ---- CMD ---------------------------------------------------------------------------
# own process group (set -m), so that teardown can end it with its children
set -m
"$@" &
CMD_PID=$!
set +m
echo "$CMD_PID" >"$WORK/cmd.pgid"
rc=0
while :; do
  wait "$CMD_PID"
  rc=$?
  # wait returns early (>128) when a trapped signal arrived; the trap exits,
  # so getting here means CMD itself finished
  kill -0 "$CMD_PID" 2>/dev/null || break
done
if [ "$rc" != 0 ]; then
  echo "$ME: command exited with status $rc: $*" >&2
  log_tails
fi
exit "$rc"
