#!/usr/bin/env bash
# start-rgw.sh DIR -- bring up a throw-away single-node Ceph cluster
# (1 mon, 1 OSD on memstore or file-backed bluestore, no mgr, pool size 1)
# plus a RADOS Gateway (S3, beast frontend) on 127.0.0.1, all from scratch,
# on FREE loopback ports it picks itself, so that several clusters can run
# at once (parallel ctest, cross-server tests).
#
# Adapted from shared/rgw/start-rgw.sh (the measured reference); what changed:
# the ports are random free ones (pick-ports.py) unless given, and a start
# that fails (typically a port taken between the check and the bind) is
# wiped and retried with new ports, RGW_ATTEMPTS times.
# Needs the Debian packages radosgw ceph-mon ceph-osd ceph-common curl
# uuid-runtime; stop-rgw.sh and pick-ports.py must sit beside this script.
#
# Everything lives under DIR (config, keyring, mon store, OSD data, logs,
# pid files, admin sockets); nothing goes to /etc/ceph or /var/lib/ceph and
# no systemd is involved.  Stop (and wipe) with stop-rgw.sh DIR.
# On success it prints (and writes to DIR/s3.env, sourceable):
#   S3_ENDPOINT=http://127.0.0.1:PORT
#   AWS_ACCESS_KEY_ID=...
#   AWS_SECRET_ACCESS_KEY=...
#   AWS_DEFAULT_REGION=us-east-1
# and the buckets named in RGW_BUCKETS (default "src dst") exist.  Progress
# and, on failure, log tails go to stderr; exit status non-zero on failure
# (daemons already started are stopped then, files of the last attempt are
# kept for inspection; stop-rgw.sh DIR wipes them).
#
# It does not: survive its DIR being deleted under it, run as non-root
# (untested), or pick ports outside 127.0.0.1.
#
# Tunables (environment):
#   RGW_PORT      S3 port                                  (default: random free)
#   RGW_MON_PORT  monitor port (msgr v2 only)              (default: random free)
#   RGW_PORT_MIN/RGW_PORT_MAX  range the OSD binds its 4 ports in
#                 (default: a random free run of 9 ports)
#   RGW_ATTEMPTS  starts to try when ports are picked here (default 3)
#   RGW_STORE     memstore (RAM) | bluestore (sparse file) (default memstore)
#   RGW_STORE_GB  capacity of the store in GiB             (default 4)
#   RGW_BUCKETS   buckets to create                        (default "src dst")
#   RGW_ACCESS_KEY / RGW_SECRET_KEY  the S3 user's keys    (fixed test keys)
#   RGW_TIMEOUT   seconds to wait for each step            (default 120)
set -euo pipefail

DIR=${1:?usage: start-rgw.sh DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl uuidgen python3; do
  command -v "$b" >/dev/null || { echo "start-rgw: missing $b (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common curl uuid-runtime)" >&2; exit 1; }
done

case ${RGW_STORE:-memstore} in memstore|bluestore) ;; *) echo "start-rgw: RGW_STORE must be memstore or bluestore" >&2; exit 1;; esac

# --- driver: pick free ports, run one attempt (this script again, with
# _START_RGW_ATTEMPT=1), on failure wipe DIR and retry with other ports -------
if [ -z "${_START_RGW_ATTEMPT:-}" ]; then
  if [ -e "$DIR/ceph.conf" ]; then
    echo "start-rgw: $DIR already holds a cluster; run stop-rgw.sh $DIR (it also wipes it) first" >&2
    exit 1
  fi
  attempts=${RGW_ATTEMPTS:-3}
  # ports given by the caller are used as they are, and not retried
  if [ -n "${RGW_PORT:-}" ] && [ -n "${RGW_MON_PORT:-}" ] && [ -n "${RGW_PORT_MIN:-}" ]; then
    attempts=1
  fi
  for attempt in $(seq 1 "$attempts"); do
    mapfile -t picked < <("$HERE/pick-ports.py" 2 9) || true
    [ "${#picked[@]}" = 3 ] || { echo "start-rgw: could not pick free ports" >&2; exit 1; }
    rc=0
    _START_RGW_ATTEMPT=$attempt \
      RGW_PORT=${RGW_PORT:-${picked[0]}} RGW_MON_PORT=${RGW_MON_PORT:-${picked[1]}} \
      RGW_PORT_MIN=${RGW_PORT_MIN:-${picked[2]}} RGW_PORT_MAX=${RGW_PORT_MAX:-$((picked[2] + 8))} \
      "$HERE/start-rgw.sh" "$DIR" || rc=$?
    [ "$rc" = 0 ] && exit 0
    [ "$attempt" -lt "$attempts" ] || break
    echo "start-rgw: attempt $attempt failed (exit $rc); wiping $DIR and retrying with other ports" >&2
    "$HERE/stop-rgw.sh" "$DIR" || true
    mkdir -p "$DIR"
  done
  exit "$rc"
fi

RGW_PORT=${RGW_PORT:?}
MON_PORT=${RGW_MON_PORT:?}
PORT_MIN=${RGW_PORT_MIN:?}
PORT_MAX=${RGW_PORT_MAX:-$((PORT_MIN + 8))}
STORE=${RGW_STORE:-memstore}
STORE_GB=${RGW_STORE_GB:-4}
BUCKETS=${RGW_BUCKETS:-src dst}
TIMEOUT=${RGW_TIMEOUT:-120}
ACCESS_KEY=${RGW_ACCESS_KEY:-TESTACCESSKEY0000000}
SECRET_KEY=${RGW_SECRET_KEY:-testsecretkey0000000000000000000000000000}


for port in "$RGW_PORT" "$MON_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "start-rgw: 127.0.0.1:$port is already in use" >&2
    exit 1
  fi
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -e "$DIR/ceph.conf" ]; then
  echo "start-rgw: $DIR already holds a cluster; run stop-rgw.sh $DIR (it also wipes it) first" >&2
  exit 1
fi
mkdir -p "$DIR"/{mon/ceph-a,osd/ceph-0,rgw,run,log}
T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[start-rgw#%s %d.%03ds] %s\n' "$_START_RGW_ATTEMPT" $((ms/1000)) $((ms%1000)) "$*" >&2; }
fail() { echo "start-rgw: FAILED: $*" >&2; exit 1; }
STARTED=0
on_exit() {
  local rc=$?
  [ "$STARTED" = 1 ] && return 0
  echo "start-rgw: failed (exit $rc); daemons stopped, files kept in $DIR; stop-rgw.sh $DIR wipes them" >&2
  for f in "$DIR"/log/*.log "$DIR"/log/*.out; do
    [ -s "$f" ] && { echo "----- tail $f" >&2; tail -n 20 "$f" >&2; }
  done
  # stop whatever did start (pids from DIR/run), keep the files for inspection
  RGW_KEEP=1 "$HERE/stop-rgw.sh" "$DIR" || true
}
trap on_exit EXIT
wait_for() { # desc cmd...
  local desc=$1; shift
  local end=$(( $(date +%s) + TIMEOUT ))
  local f
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for $desc"
    for f in "$DIR"/run/*.pid; do  # a daemon that died will not come back
      [ -s "$f" ] && ! kill -0 "$(cat "$f")" 2>/dev/null && fail "$(basename "$f" .pid) exited"
    done
    # radosgw exits before writing its pid file when beast cannot bind
    grep -qs 'failed initializing frontend' "$DIR/log/client.rgw.a.log" &&
      fail "radosgw could not start its frontend (port $RGW_PORT taken?)"
    sleep 0.2
  done
}

FSID=$(uuidgen)
CONF=$DIR/ceph.conf
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
ms bind ipv6 = false
ms bind port min = $PORT_MIN
ms bind port max = $PORT_MAX
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
log to stderr = false
err to stderr = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
# ms async op threads is per messenger; keep the footprint small
ms async op threads = 2
# a port taken between the free-port check and the bind: fail fast, the
# driver retries with other ports (default: 3 tries 5 s apart)
ms bind retry count = 1
ms bind retry delay = 1

[mon]
mon data = $DIR/mon/ceph-\$id
# a throw-away cluster: commit map changes quickly (each pool RGW creates is
# a map change; the 1 s default makes RGW's first start take ~10 s longer)
paxos propose interval = 0.05
paxos min wait = 0.01
mon warn on insecure global id reclaim allowed = false

[osd]
osd data = $DIR/osd/ceph-\$id
osd objectstore = $STORE
memstore device bytes = $(( STORE_GB * 1024 * 1024 * 1024 ))
bluestore block create = true
bluestore block size = $(( STORE_GB * 1024 * 1024 * 1024 ))
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
# bluestore only: cache autotuning aims at this RSS (default 4 GiB)
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 2
osd crush update on start = true
osd class load list = *
osd class default list = *

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 32
rgw data = $DIR/rgw
rgw enable usage log = false
rgw enable ops log = false
rgw dns name = 127.0.0.1
rgw crypt require ssl = false
EOF

# --- keys: one keyring holding every entity, imported into the mon at mkfs --
KR=$DIR/keyring
ceph-authtool --create-keyring "$KR" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$KR" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
ceph-authtool "$KR" --gen-key -n osd.0 \
  --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
ceph-authtool "$KR" --gen-key -n client.rgw.a \
  --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null

C=(-c "$CONF")
CEPH=(ceph "${C[@]}" --connect-timeout 10)

# --- monitor -----------------------------------------------------------------
log "creating monitor"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KR"
ceph-mon "${C[@]}" -i a || fail "ceph-mon did not start"
wait_for "monitor quorum" "${CEPH[@]}" quorum_status
log "monitor up on 127.0.0.1:$MON_PORT"

# --- OSD ---------------------------------------------------------------------
OSD_UUID=$(uuidgen)
OSD_ID=$("${CEPH[@]}" osd new "$OSD_UUID")
[ "$OSD_ID" = 0 ] || fail "unexpected osd id '$OSD_ID'"
ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.out" 2>&1 || fail "ceph-osd --mkfs"
ceph-osd "${C[@]}" -i 0 || fail "ceph-osd did not start"
osd_up() { "${CEPH[@]}" osd dump --format json | grep -q '"up":1'; }
wait_for "osd.0 up" osd_up
log "osd.0 up ($STORE)"

# --- RADOS gateway -------------------------------------------------------------
radosgw "${C[@]}" -n client.rgw.a || fail "radosgw did not start"
rgw_up() { curl -fsS -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }
wait_for "radosgw on 127.0.0.1:$RGW_PORT" rgw_up
log "radosgw answering on 127.0.0.1:$RGW_PORT"

radosgw-admin "${C[@]}" -n client.admin user create --uid=test --display-name="test user" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/user.json" 2>"$DIR/log/radosgw-admin.out" \
  || fail "radosgw-admin user create"

for b in $BUCKETS; do
  # curl 7.88 does not add x-amz-content-sha256 itself; RGW needs it (sha256 of "")
  code=$(curl -sS -o "$DIR/log/mkbucket-$b.out" -w '%{http_code}' -X PUT \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    "http://127.0.0.1:$RGW_PORT/$b")
  [ "$code" = 200 ] || fail "create bucket $b: HTTP $code: $(cat "$DIR/log/mkbucket-$b.out")"
done
log "buckets created: $BUCKETS"

cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_DEFAULT_REGION=us-east-1
EOF
STARTED=1
cat "$DIR/s3.env"
