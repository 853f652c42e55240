#!/usr/bin/env bash
# restart-rgw.sh DIR [--signal KILL|TERM] [--down SECONDS] — restart the
# RADOS Gateway of a cluster that start-rgw.sh DIR started (under
# with-server.sh: DIR is $S3B_WORKDIR/srv1), for tests of a server that
# goes away mid-migration.  The monitor and the OSD keep running, so the
# data (and open multipart uploads) survive; only the S3 endpoint is gone
# for a while.
#
# It stops the radosgw whose pid is in DIR/run/client.rgw.a.pid (only if its
# command line names DIR/ceph.conf) with the signal (default KILL: a crash),
# waits until it has exited, waits --down seconds (default 0), starts it
# again with the same configuration (same port), and returns once it
# answers on its S3 port.  stop-rgw.sh and with-server.sh's teardown find
# the new daemon through the same pid file.
#
# Exit status: 0 when the gateway answers again; 1 on failure (log tail on
# stderr); 2 on usage errors.  Prints the seconds the endpoint was down.
# It does not: restart the monitor or the OSD, or change ports.
set -uo pipefail
DIR=${1:?usage: restart-rgw.sh DIR [--signal KILL|TERM] [--down SECONDS]}
shift
SIG=KILL
DOWN=0
while [ $# -gt 0 ]; do
	case $1 in
	--signal) SIG=${2:?}; shift 2 ;;
	--down) DOWN=${2:?}; shift 2 ;;
	*) echo "restart-rgw: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $SIG in KILL|TERM) ;; *) echo "restart-rgw: --signal KILL or TERM" >&2; exit 2 ;; esac
DIR=$(cd "$DIR" 2>/dev/null && pwd) || { echo "restart-rgw: no directory $1" >&2; exit 2; }
CONF=$DIR/ceph.conf
PIDF=$DIR/run/client.rgw.a.pid
LOGF=$DIR/log/client.rgw.a.log
[ -e "$CONF" ] || { echo "restart-rgw: $DIR holds no cluster (no ceph.conf)" >&2; exit 1; }
PORT=$(sed -n 's|^rgw frontends = beast endpoint=127\.0\.0\.1:\([0-9]*\).*$|\1|p' "$CONF")
[ -n "$PORT" ] || { echo "restart-rgw: no beast endpoint in $CONF" >&2; exit 1; }

ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$CONF"; }
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
up() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

t0=$(date +%s.%N)
pid=$(cat "$PIDF" 2>/dev/null || true)
if [ -n "$pid" ] && ours "$pid"; then
	kill "-$SIG" "$pid"
	for _ in $(seq 1 200); do gone "$pid" && break; sleep 0.05; done
	if ! gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		for _ in $(seq 1 40); do gone "$pid" && break; sleep 0.05; done
	fi
	gone "$pid" || { echo "restart-rgw: radosgw $pid does not exit" >&2; exit 1; }
else
	echo "restart-rgw: no running radosgw of $DIR; starting one" >&2
fi
rm -f "$PIDF"
sleep "$DOWN"
log_at=$(wc -l <"$LOGF" 2>/dev/null || echo 0)
radosgw -c "$CONF" -n client.rgw.a || { echo "restart-rgw: radosgw did not start" >&2; exit 1; }
for _ in $(seq 1 600); do
	up && break
	if tail -n +"$((log_at + 1))" "$LOGF" 2>/dev/null | grep -q 'failed initializing frontend'; then
		echo "restart-rgw: radosgw could not bind 127.0.0.1:$PORT" >&2
		break
	fi
	sleep 0.1
done
if ! up; then
	echo "restart-rgw: radosgw does not answer on 127.0.0.1:$PORT" >&2
	tail -n 20 "$LOGF" >&2
	exit 1
fi
echo "radosgw restarted: endpoint down $(echo "$(date +%s.%N) - $t0" | bc) s"
