#!/usr/bin/env python3
"""tests/bench/bench.py — the measuring half of the benchmark (run.sh is the
entry point).  Runs under tests/servers/with-server.sh SERVER --proxy
--second SERVER2: server A (S3_ENDPOINT...) holds the sources and the
same-server destinations, server B (S3_ENDPOINT2...) the cross-endpoint one.

It seeds the data sets straight to the servers (s3b_seed, not counted),
then for each round runs every work item with every tool in turn (the order
rotates each round), and writes every measurement to a raw JSON file as it
goes (rewritten after each one, so that a stopped run keeps what it had):

  small    cp -r of the small-object tree between two buckets of server A
           (s3bridge: one mount with both buckets; s3fs and rclone mount:
           one mount per bucket; rclone copy: remote to remote)
  large    one large object from server A to server B (the same four), and
           "raw": parallel ranged GETs from A and parallel PUTs to B with
           curl, through the proxies and directly (the servers' limits)
  list     cold find + ls -l of a flat directory of tiny objects through each
           FUSE tool; "raw" is paginated ListObjectsV2 (s3lite.py, one
           kept-alive connection); "rclone lsf" is a second baseline
  rsync1   rsync -a of a tree into a fresh directory through each FUSE tool
  rsync2   the same rsync -a again, on a fresh mount (a finished migration)

Every tool talks to the counting proxies (S3_ENDPOINT, S3_ENDPOINT2); the
proxies' stats are zeroed before each measured command and read after it.
Each FUSE daemon runs in the foreground as a child of this process, so its
pid is known: its peak RSS is VmHWM from /proc/PID/status just before the
unmount, its CPU time utime+stime from /proc/PID/stat around the command.
rclone copy's peak RSS and CPU come from wait4()'s rusage.
What a command wrote is checked against a listing read directly from the
server, then deleted (and RGW's garbage collector run) so memory stays flat.

It does not: start servers (with-server.sh does), build anything, or render
the tables (report.py).  Every mount it makes is unmounted on exit, on
TERM/INT/HUP and on failure.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3lite  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20
LIVE = []          # Daemons started and not yet stopped (for the exit path)
LIVE_PROCS = []    # commands running right now (for the exit path)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def tool_env(extra=None):
    """The environment for the tools: no AWS_* from the harness (each tool is
    configured explicitly) and no AWS_CA_BUNDLE (rclone 1.60 fails on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(extra or {})
    return env


# ---- servers and their counting proxies ------------------------------------------

class Server:
    def __init__(self, sfx, label):
        e = os.environ
        self.label = label
        self.kind = e["S3B_SERVER" + sfx]
        self.endpoint = e["S3_ENDPOINT" + sfx]          # the proxy: tools use this
        self.direct = e["S3_DIRECT_ENDPOINT" + sfx]
        self.proxy = e.get("S3B_PROXY" + sfx)
        if not self.proxy:
            sys.exit("bench: run under with-server.sh --proxy (no S3B_PROXY%s)" % sfx)
        self.ak = e["AWS_ACCESS_KEY_ID" + sfx]
        self.sk = e["AWS_SECRET_ACCESS_KEY" + sfx]
        self.region = e.get("AWS_DEFAULT_REGION" + sfx) or "us-east-1"
        self.srvdir = os.path.join(e["S3B_WORKDIR"], "srv1" if not sfx else "srv2")
        self.s3 = s3lite.Client(self.direct, self.ak, self.sk, self.region)  # not counted
        self.profile = "bench" + label.lower()           # AWS profile / rclone remote
        self.proxylog = os.path.join(e["S3B_WORKDIR"], "proxy1.log" if not sfx else "proxy2.log")

    def log_mark(self):
        try:
            return os.path.getsize(self.proxylog)
        except OSError:
            return None

    def latency(self, mark):
        """From the proxy's log since mark: {op: {n, total_ms, max_ms}} and the
        number of client connections used (the proxy times each request from
        its head to the end of its response)."""
        ops, conns = {}, set()
        if mark is None:
            return {"by_op": ops, "connections": 0}
        with open(self.proxylog, "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        for m in PROXY_LINE.finditer(text):
            conn, op, ms = m.group(1), m.group(2), float(m.group(3))
            conns.add(conn)
            o = ops.setdefault(op, {"n": 0, "total_ms": 0.0, "max_ms": 0.0})
            o["n"] += 1
            o["total_ms"] += ms
            o["max_ms"] = max(o["max_ms"], ms)
        return {"by_op": ops, "connections": len(conns)}

    def stats(self):
        with urllib.request.urlopen(self.proxy + "/__proxy/stats", timeout=30) as r:
            d = json.load(r)
        return {"requests": d["requests"], "by_op": d["by_op"],
                "by_status": d.get("by_status", {}),
                "bytes_up": d.get("bytes_up", 0), "bytes_down": d.get("bytes_down", 0)}

    def reset(self):
        req = urllib.request.Request(self.proxy + "/__proxy/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    def gc(self):
        """RGW keeps the tails of deleted multipart objects until its garbage
        collector runs (2 h by default): run it now so memstore stays small."""
        conf = os.path.join(self.srvdir, "ceph.conf")
        if self.kind == "rgw" and os.path.exists(conf):
            subprocess.run(["radosgw-admin", "-c", conf, "-n", "client.admin", "gc", "process",
                            "--include-all"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300)

    def seed_env(self):
        env = dict(os.environ)
        env.update(S3_DIRECT_ENDPOINT=self.direct, AWS_ACCESS_KEY_ID=self.ak,
                   AWS_SECRET_ACCESS_KEY=self.sk, AWS_DEFAULT_REGION=self.region)
        return env


# ---- processes -----------------------------------------------------------------------

def proc_cpu(pid):
    """utime+stime of pid in seconds (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reap(proc, timeout):
    """Wait for a child with wait4 (to get its rusage); -> rusage or None on timeout."""
    end = time.monotonic() + timeout
    while True:
        try:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return ru
        if time.monotonic() > end:
            return None
        time.sleep(0.02)


def run(cmd, timeout=7200, env=None, cwd=None):
    """Run cmd; -> (exit code, stdout text, stderr text, rusage, seconds).
    The seconds end when wait4() returns (no polling).  The child is killed
    on timeout and if this process is interrupted."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         cwd=cwd, text=True)
    LIVE_PROCS.append(p)
    res = {}

    def drain(name, stream):
        res[name] = stream.read()
    ts = [threading.Thread(target=drain, args=(n, s))
          for n, s in (("out", p.stdout), ("err", p.stderr))]
    for t in ts:
        t.start()
    expired = threading.Event()

    def expire():
        expired.set()
        p.kill()
    timer = threading.Timer(timeout, expire)
    timer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
        if p.returncode is None:
            p.kill()
            reap(p, 10)
        for t in ts:
            t.join()
        LIVE_PROCS.remove(p)
    if expired.is_set():
        raise RuntimeError(f"timed out after {timeout} s: {' '.join(cmd)}")
    return p.returncode, res["out"], res["err"], ru, secs


def must(cmd, **kw):
    rc, out, err, ru, secs = run(cmd, **kw)
    if rc != 0:
        raise RuntimeError(f"exit {rc}: {' '.join(cmd)}\n{err[-2000:]}")
    return out, err, ru, secs


def is_mounted(mp):
    mp = os.path.realpath(mp)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == mp for line in f)


class Daemon:
    """One FUSE daemon in the foreground (a child of this process)."""

    def __init__(self, name, cmd, mp, logpath, env):
        self.name, self.cmd, self.mp = name, cmd, mp
        os.makedirs(mp, exist_ok=True)
        if os.listdir(mp):
            raise RuntimeError(f"mountpoint {mp} is not empty")
        self.logf = open(logpath, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        self.hwm_kib = None
        self.rusage = None
        LIVE.append(self)

    def wait_ready(self, timeout=30):
        end = time.monotonic() + timeout
        while not is_mounted(self.mp):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"{self.name} did not mount {self.mp} "
                                   f"(exit {self.proc.returncode}); see {self.logf.name}")
            time.sleep(0.05)

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self, grace=120):
        """Unmount (the daemon then exits); a busy mount is detached lazily,
        a daemon still there after grace seconds is terminated, then killed."""
        if self in LIVE:
            LIVE.remove(self)
        if self.proc.returncode is None:
            self.hwm_kib = proc_hwm_kib(self.proc.pid)
        for cmd in (["fusermount3", "-u", self.mp], ["fusermount", "-u", self.mp],
                    ["fusermount3", "-uz", self.mp]):
            if not is_mounted(self.mp):
                break
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.proc.returncode is None:
            self.rusage = reap(self.proc, grace)
            if self.rusage is None:
                log(f"{self.name} still running {grace} s after unmount: TERM")
                self.proc.terminate()
                self.rusage = reap(self.proc, 5)
                if self.rusage is None:
                    self.proc.kill()
                    self.rusage = reap(self.proc, 5)
        self.logf.close()


@contextlib.contextmanager
def mounted(daemons):
    try:
        for d in daemons:
            d.wait_ready()
        yield daemons
    finally:
        for d in daemons:
            d.stop()


# ---- the bench -------------------------------------------------------------------------

TOOLS_COPY = ["s3bridge", "s3fs", "rclone-mount", "rclone-copy"]
TOOLS_FUSE = ["s3bridge", "s3fs", "rclone-mount"]


class Bench:
    def __init__(self, a):
        self.a = a
        self.A = Server("", "A")
        self.B = Server("2", "B")
        self.work = os.path.abspath(a.work)
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.records = []
        self.meta = {}
        self.hashing = {}
        self.mount_seq = 0
        self._configs()

    # -- configuration of each tool --
    def _configs(self):
        w = self.work
        # s3bridge: AWS profiles, one per server (the harness keys go nowhere else)
        self.aws_creds = os.path.join(w, "aws-credentials")
        self.aws_config = os.path.join(w, "aws-config")
        with open(self.aws_creds, "w") as f:
            for s in (self.A, self.B):
                f.write(f"[{s.profile}]\naws_access_key_id = {s.ak}\n"
                        f"aws_secret_access_key = {s.sk}\n")
        with open(self.aws_config, "w") as f:
            for s in (self.A, self.B):
                f.write(f"[profile {s.profile}]\nendpoint_url = {s.endpoint}\n"
                        f"region = {s.region}\n")
        os.chmod(self.aws_creds, 0o600)
        # s3fs: one passwd file per server
        for s in (self.A, self.B):
            s.passwd = os.path.join(w, f"s3fs-passwd-{s.label}")
            with open(s.passwd, "w") as f:
                f.write(f"{s.ak}:{s.sk}\n")
            os.chmod(s.passwd, 0o600)
        # rclone: one s3 remote per server
        self.rclone_conf = os.path.join(w, "rclone.conf")
        with open(self.rclone_conf, "w") as f:
            for s in (self.A, self.B):
                f.write(f"[{s.profile}]\ntype = s3\nprovider = {'Ceph' if s.kind == 'rgw' else 'Other'}\n"
                        f"access_key_id = {s.ak}\nsecret_access_key = {s.sk}\n"
                        f"endpoint = {s.endpoint}\nregion = {s.region}\n"
                        f"force_path_style = true\n\n")
        os.chmod(self.rclone_conf, 0o600)

    S3FS_OPTS = "use_path_request_style,parallel_count=4,multipart_size=8"
    RCLONE_KNOBS = ["--s3-upload-concurrency", "4", "--s3-chunk-size", "8M"]

    def _mp(self, tool):
        self.mount_seq += 1
        return os.path.join(self.work, "mnt", f"{tool}-{self.mount_seq}")

    def s3bridge(self, buckets, journal, extra=()):
        """buckets: [(bucket, server)] -> one Daemon (mountpoint .mp)."""
        mp = self._mp("s3bridge")
        cmd = [self.a.s3bridge, "mount", "-f", "--journal", journal,
               "--log-file", os.path.join(self.logs, "s3bridge.log")] + list(extra)
        cmd += [f"s3://{b}?profile={s.profile}" for b, s in buckets] + [mp]
        env = tool_env({"AWS_SHARED_CREDENTIALS_FILE": self.aws_creds,
                        "AWS_CONFIG_FILE": self.aws_config})
        return Daemon("s3bridge", cmd, mp, os.path.join(self.logs, "s3bridge.out"), env)

    def s3fs(self, bucket, s):
        mp = self._mp("s3fs")
        opts = (f"url={s.endpoint},passwd_file={s.passwd},endpoint={s.region},"
                + self.S3FS_OPTS)
        cmd = ["s3fs", bucket, mp, "-f", "-o", opts]
        return Daemon("s3fs", cmd, mp, os.path.join(self.logs, "s3fs.log"), tool_env())

    def rclone_mount(self, bucket, s):
        mp = self._mp("rclone")
        cmd = ["rclone", "--config", self.rclone_conf, "mount", f"{s.profile}:{bucket}", mp,
               "--vfs-cache-mode", "off"] + self.RCLONE_KNOBS + [
               "--log-file", os.path.join(self.logs, "rclone-mount.log")]
        return Daemon("rclone-mount", cmd, mp, os.path.join(self.logs, "rclone-mount.out"),
                      tool_env())

    def rclone_cmd(self, *args):
        return (["rclone", "--config", self.rclone_conf, "--transfers", "4", "--checkers", "8"]
                + self.RCLONE_KNOBS + list(args))

    def journal(self, name):
        d = os.path.join(self.work, "journals")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name + ".db")

    # -- measuring --
    def measure(self, servers, cmd, daemons=(), env=None, timeout=7200):
        """Run cmd with the proxies' stats zeroed; -> dict of raw figures."""
        counted = Counted(servers)
        cpu0 = [d.cpu() for d in daemons]
        load0 = loadavg()
        rc, out, err, ru, secs = run(cmd, env=env or tool_env(), timeout=timeout)
        cpu1 = [d.cpu() for d in daemons]
        r = counted.result()
        r.update({"cmd": cmd, "exit": rc, "wall_s": secs, "load_before": load0,
                  "load_after": loadavg(), "stdout_tail": out[-1500:],
                  "stdout_lines": out.count("\n"), "stderr_tail": err[-1500:]})
        if daemons:
            r["cpu_s"] = sum((b or 0) - (a or 0) for a, b in zip(cpu0, cpu1))
            r["daemon_pids"] = [d.proc.pid for d in daemons]
        elif ru is not None:
            r["cpu_s"] = ru.ru_utime + ru.ru_stime
            r["rss_kib"] = ru.ru_maxrss
            r["rss_each_kib"] = [ru.ru_maxrss]
        if rc != 0:
            log(f"command failed (exit {rc}): {' '.join(cmd)}: {err.strip()[-500:]}")
        return r

    def finish(self, r, daemons):
        if daemons:
            r["rss_each_kib"] = [d.hwm_kib for d in daemons]
            r["rss_kib"] = sum(x or 0 for x in r["rss_each_kib"])
            r["rusage_maxrss_each_kib"] = [d.rusage.ru_maxrss if d.rusage else None
                                           for d in daemons]

    def add(self, item, tool, rnd, r):
        r.update(item=item, tool=tool, round=rnd)
        r.setdefault("ok", r.get("exit", 0) == 0)
        self.records.append(r)
        self.save()
        extra = ""
        if "objects_per_s" in r:
            extra += f", {r['objects_per_s']:.1f} obj/s"
        if "mb_per_s" in r:
            extra += f", {r['mb_per_s']:.1f} MB/s"
        if "requests" in r:
            extra += f", {r['requests']} requests"
        if r.get("rss_kib"):
            extra += f", RSS {r['rss_kib'] / 1024:.0f} MiB"
        log(f"r{rnd} {item:6} {tool:13} {r.get('wall_s', 0):8.2f} s{extra}"
            f"{'' if r['ok'] else '  FAILED: ' + str(r.get('check', ''))}")

    def save(self):
        tmp = self.a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"meta": self.meta, "hashing": self.hashing,
                       "measurements": self.records}, f, indent=1)
        os.replace(tmp, self.a.out)

    # -- data sets --
    def tree_prefixes(self, root, n):
        """n objects in groups of 50: root/f*, then root/dNN/f* and
        root/dNN/eK/f* (K 0-2).  Every directory holds files of its own, so
        s3rver's delimiter listing hides none of them."""
        out = []
        for g in range((n + 49) // 50):
            if g == 0:
                out.append((f"{root}/f", min(50, n)))
                continue
            sub = "" if (g - 1) % 4 == 0 else f"e{(g - 1) % 4 - 1}/"
            out.append((f"{root}/d{(g - 1) // 4:02d}/{sub}f", min(50, n - 50 * g)))
        return out

    def seed(self):
        a, A = self.a, self.A
        t0 = time.monotonic()
        env = A.seed_env()
        for root, n in (("small", a.small), ("rs", a.rsync)):
            for prefix, cnt in self.tree_prefixes(root, n):
                must([a.seed, "many", "src", prefix, str(cnt), str(a.small_size)], env=env)
        must([a.seed, "many", "src", "list/f", str(a.list), str(a.list_size)], env=env)
        out, _, _, _ = must([a.seed, "big", "src", "big/large.bin", str(a.large), "42"], env=env)
        self.meta["large_sha256"] = out.strip()
        for root, n, size in (("small/", a.small, a.small_size), ("rs/", a.rsync, a.small_size),
                              ("list/", a.list, a.list_size)):
            keys = A.s3.list("src", root)
            if len(keys) != n or any(sz != size for _, sz in keys):
                raise RuntimeError(f"seeding {root}: {len(keys)} objects, want {n}")
        log(f"seeded in {time.monotonic() - t0:.1f} s")

    def check_tree(self, s, prefix, n, size):
        keys = s.s3.list("dst", prefix)
        files = [(k, sz) for k, sz in keys if not k.endswith("/")]
        good = len(files) == n and all(sz == size for _, sz in files)
        return good, {"objects": len(files), "markers": len(keys) - len(files),
                      "bytes": sum(sz for _, sz in files)}

    def cleanup(self, s, prefix):
        s.s3.delete_prefix("dst", prefix)
        s.gc()

    # -- work items --
    def small(self, tool, rnd):
        a, A = self.a, self.A
        name = f"small-{tool}-r{rnd}"
        daemons = []
        if tool == "s3bridge":
            d = self.s3bridge([("src", A), ("dst", A)], self.journal(name))
            daemons = [d]
            cmd = ["cp", "-r", f"{d.mp}/src/small", f"{d.mp}/dst/{name}"]
        elif tool == "s3bridge-async":
            # closes return early: the time runs until the journal has no
            # copy pending (every object verified or failed), not until cp exits
            d = self.s3bridge([("src", A), ("dst", A)], self.journal(name),
                              ["--async-close", "8"])
            daemons = [d]
            cmd = ["sh", "-c", 'cp -r "$1/src/small" "$1/dst/$2" && while grep -q '
                   '\'"pending":[1-9]\' "$1/.integrity/summary.json"; do sleep 0.02; done',
                   "sh", d.mp, name]
        elif tool in ("s3fs", "rclone-mount"):
            mk = self.s3fs if tool == "s3fs" else self.rclone_mount
            daemons = [mk("src", A), mk("dst", A)]
            cmd = ["cp", "-r", f"{daemons[0].mp}/small", f"{daemons[1].mp}/{name}"]
        else:
            cmd = self.rclone_cmd("copy", f"{A.profile}:src/small", f"{A.profile}:dst/{name}")
        with mounted(daemons):
            r = self.measure([A], cmd, daemons)
        self.finish(r, daemons)
        good, info = self.check_tree(A, name + "/", a.small, a.small_size)
        r.update(info, objects=a.small, bytes=a.small * a.small_size, ok=good and r["exit"] == 0,
                 check=None if good else info)
        r["objects_per_s"] = a.small / r["wall_s"]
        r["mb_per_s"] = r["bytes"] / 1e6 / r["wall_s"]
        r["requests_per_object"] = r["requests"] / a.small
        self.cleanup(A, name + "/")
        self.add("small", tool, rnd, r)

    def large(self, tool, rnd):
        a, A, B = self.a, self.A, self.B
        if tool == "raw":
            return self.large_raw(rnd)
        key = f"large-{tool}-r{rnd}.bin"
        daemons = []
        if tool == "s3bridge":
            d = self.s3bridge([("src", A), ("dst", B)], self.journal(key))
            daemons = [d]
            cmd = ["cp", f"{d.mp}/src/big/large.bin", f"{d.mp}/dst/{key}"]
        elif tool in ("s3fs", "rclone-mount"):
            mk = self.s3fs if tool == "s3fs" else self.rclone_mount
            daemons = [mk("src", A), mk("dst", B)]
            cmd = ["cp", f"{daemons[0].mp}/big/large.bin", f"{daemons[1].mp}/{key}"]
        else:
            cmd = self.rclone_cmd("copyto", f"{A.profile}:src/big/large.bin",
                                  f"{B.profile}:dst/{key}")
        with mounted(daemons):
            prof = self.perf_start(daemons[0].proc.pid, f"large-r{rnd}") if tool == "s3bridge" else None
            r = self.measure([A, B], cmd, daemons)
            if prof:
                r["perf"] = self.perf_stop(prof)
        self.finish(r, daemons)
        good, why = self.check_large(key)
        r.update(objects=1, bytes=a.large, ok=good and r["exit"] == 0, check=why)
        r["mb_per_s"] = a.large / 1e6 / r["wall_s"]
        r["requests_per_object"] = r["requests"]
        if r.get("cpu_s") is not None:
            r["cpu_s_per_100mb"] = r["cpu_s"] / (a.large / 1e8)
        B.s3.delete_keys("dst", [key])
        B.gc()
        self.add("large", tool, rnd, r)

    def perf_start(self, pid, name):
        """With --perf: perf record of pid (call graphs, 999 Hz) until perf_stop."""
        if not self.a.perf:
            return None
        path = os.path.join(os.path.dirname(os.path.abspath(self.a.out)), f"perf-{name}.data")
        p = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", path, "-p", str(pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        LIVE_PROCS.append(p)
        time.sleep(0.5)  # attached before the command starts
        return p, path

    def perf_stop(self, prof):
        """-> {"data": file, "by_dso": {dso: %}, "top": [[%, dso, symbol]...]}"""
        p, path = prof
        p.send_signal(signal.SIGINT)
        try:
            p.wait(60)
        finally:
            LIVE_PROCS.remove(p)
        out = {"data": path, "by_dso": {}, "top": []}
        rep = ["perf", "report", "-i", path, "--no-children", "-g", "none", "--stdio"]
        for line in subprocess.run(rep + ["--sort", "dso"], capture_output=True,
                                   text=True).stdout.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(\S+)", line)
            if m:
                out["by_dso"][m.group(2)] = float(m.group(1))
        for line in subprocess.run(rep + ["--sort", "dso,sym"], capture_output=True,
                                   text=True).stdout.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.+?)\s*$", line)
            if m and len(out["top"]) < 25:
                out["top"].append([float(m.group(1)), m.group(2), m.group(3)])
        return out

    def check_large(self, key):
        """Size, and the first and last MiB equal to the source's."""
        h = self.B.s3.head("dst", key)
        if h is None:
            return False, "destination missing"
        if int(h["content-length"]) != self.a.large:
            return False, f"size {h['content-length']}"
        n = self.a.large
        for rng in (f"bytes=0-{min(n, MIB) - 1}", f"bytes={max(0, n - MIB)}-{n - 1}"):
            src = self.A.s3.request("GET", "src", "big/large.bin", headers={"Range": rng})[2]
            dst = self.B.s3.request("GET", "dst", key, headers={"Range": rng})[2]
            if src != dst:
                return False, f"range {rng} differs"
        return True, None

    def curl_s3(self, s, endpoint, *args):
        return ["curl", "-sS", "--fail", "-o", "/dev/null", "--aws-sigv4",
                f"aws:amz:{s.region}:s3", "--user", f"{s.ak}:{s.sk}",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"] + list(args)

    def parallel(self, cmds):
        """Run cmds at once; -> (seconds from first start to last end, all ok,
        their non-empty stderr texts)."""
        t0 = time.monotonic()
        ps = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cmds]
        LIVE_PROCS.extend(ps)
        try:
            rcs = [p.wait() for p in ps]
            errs = [p.stderr.read().decode(errors="replace").strip() for p in ps]
            errs = [e for e in errs if e]
        finally:
            for p in ps:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                LIVE_PROCS.remove(p)
        return time.monotonic() - t0, all(rc == 0 for rc in rcs), errs

    def large_raw(self, rnd):
        """The servers' limits: a.parallel ranged GETs of the source object
        from A, a.parallel PUTs (one object each, large/parallel bytes) to B;
        through the proxies (what the tools see) and directly."""
        a, A, B = self.a, self.A, self.B
        k = a.parallel
        chunk = (a.large + k - 1) // k
        part = os.path.join(self.work, "raw-part.bin")
        if not os.path.exists(part) or os.path.getsize(part) != chunk:
            with open(part, "wb") as f:
                left = chunk
                while left:
                    n = min(left, 8 * MIB)
                    f.write(os.urandom(n))
                    left -= n
        r = {"objects": 1, "bytes": a.large, "load_before": loadavg(), "raw": {}}
        ok = True
        errors = []
        for via, (ea, eb) in (("proxy", (A.endpoint, B.endpoint)),
                              ("direct", (A.direct, B.direct))):
            gets = [self.curl_s3(A, ea, "-H", f"Range: bytes={i * chunk}-{min(a.large, (i + 1) * chunk) - 1}",
                                 f"{ea}/src/big/large.bin") for i in range(k)]
            if via == "proxy":
                A.reset()
            secs, good, errs = self.parallel(gets)
            errors += errs
            if via == "proxy":
                r["stats_get"] = A.stats()
            ok &= good
            r["raw"][f"get_{via}_mb_per_s"] = a.large / 1e6 / secs
            keys = [f"raw-r{rnd}-{via}-{i}" for i in range(k)]
            puts = [self.curl_s3(B, eb, "-T", part, f"{eb}/dst/{kk}") for kk in keys]
            if via == "proxy":
                B.reset()
            secs, good, errs = self.parallel(puts)
            errors += errs
            if via == "proxy":
                r["stats_put"] = B.stats()
            ok &= good
            r["raw"][f"put_{via}_mb_per_s"] = k * chunk / 1e6 / secs
            B.s3.delete_keys("dst", keys)
            B.gc()
        raw = r["raw"]
        r["limit_mb_per_s"] = min(raw["get_proxy_mb_per_s"], raw["put_proxy_mb_per_s"])
        r["mb_per_s"] = r["limit_mb_per_s"]
        r["wall_s"] = a.large / 1e6 / r["limit_mb_per_s"]
        r["streams"] = k
        r["ok"] = ok
        if not ok:
            r["check"] = "curl failed: " + "; ".join(errors)[:500]
        r["load_after"] = loadavg()
        self.add("large", "raw", rnd, r)

    def listing(self, tool, rnd):
        a, A = self.a, self.A
        if tool == "raw":
            c = s3lite.Client(A.endpoint, A.ak, A.sk, A.region)
            load0 = loadavg()
            counted = Counted([A])
            pages = []
            t0 = time.monotonic()
            keys = c.list("src", "list/", pages)
            secs = time.monotonic() - t0
            r = counted.result()
            r.update({"wall_s": secs, "pages": len(pages), "objects": len(keys),
                      "load_before": load0, "load_after": loadavg(),
                      "ok": len(keys) == a.list, "cmd": ["s3lite ListObjectsV2 (python)"]})
            self.add("list", "raw", rnd, r)
            return
        if tool == "rclone-lsf":
            r = self.measure([A], self.rclone_cmd("lsf", f"{A.profile}:src/list"))
            r["objects"] = r.pop("stdout_lines")
            r.pop("stdout_tail")
            r["ok"] = r["exit"] == 0 and r["objects"] == a.list
            self.add("list", tool, rnd, r)
            return
        if tool == "s3bridge":
            d = self.s3bridge([("src", A)], self.journal(f"list-r{rnd}"))
            daemons, path = [d], f"{d.mp}/src/list"
        else:
            mk = self.s3fs if tool == "s3fs" else self.rclone_mount
            daemons = [mk("src", A)]
            path = f"{daemons[0].mp}/list"
        with mounted(daemons):
            counted = Counted([A])
            cpu0 = daemons[0].cpu()
            load0 = loadavg()
            _, out1, _, _, t_find = run(["find", path, "-type", "f"])
            _, out2, _, _, t_ls = run(["ls", "-l", path])
            cpu1 = daemons[0].cpu()
            r = counted.result()
        self.finish(r, daemons)
        n_find = len(out1.splitlines())
        n_ls = sum(1 for x in out2.splitlines() if x.startswith("-"))
        r.update(wall_s=t_find + t_ls, find_s=t_find, ls_s=t_ls, find_lines=n_find,
                 ls_files=n_ls, objects=a.list, cpu_s=(cpu1 or 0) - (cpu0 or 0), load_before=load0,
                 load_after=loadavg(), ok=n_find == a.list and n_ls == a.list,
                 cmd=["find", path, "-type", "f", ";", "ls", "-l", path])
        if not r["ok"]:
            r["check"] = f"find {n_find}, ls -l {n_ls}, want {a.list}"
        self.add("list", tool, rnd, r)

    def rsync(self, tool, rnd):
        a, A = self.a, self.A
        name = f"rsync-{tool}-r{rnd}"
        jr = self.journal(name)
        for npass in (1, 2):
            if tool == "s3bridge":
                d = self.s3bridge([("src", A), ("dst", A)], jr)
                daemons = [d]
                src, dst = f"{d.mp}/src/rs/", f"{d.mp}/dst/{name}/"
            else:
                mk = self.s3fs if tool == "s3fs" else self.rclone_mount
                daemons = [mk("src", A), mk("dst", A)]
                src, dst = f"{daemons[0].mp}/rs/", f"{daemons[1].mp}/{name}/"
            with mounted(daemons):
                r = self.measure([A], ["rsync", "-a", "--stats", src, dst], daemons)
            self.finish(r, daemons)
            m = re.search(r"Number of regular files transferred: ([\d,]+)", r["stdout_tail"])
            r["files_transferred"] = int(m.group(1).replace(",", "")) if m else None
            good, info = self.check_tree(A, name + "/", a.rsync, a.small_size)
            r.update(info, objects=a.rsync, ok=good and r["exit"] == 0,
                     check=None if good else info)
            r["objects_per_s"] = a.rsync / r["wall_s"]
            r["requests_per_object"] = r["requests"] / a.rsync
            ops = r["by_op"]
            r["data_requests"] = sum(ops.get(o, 0) for o in DATA_OPS)
            if npass == 2 and r["files_transferred"] not in (0, None):
                r["ok"] = False
                r["check"] = f"second pass transferred {r['files_transferred']} files"
            self.add(f"rsync{npass}", tool, rnd, r)
        self.cleanup(A, name + "/")

    def hashing_bench(self):
        out, _, _, _ = must([self.a.test_verify, self.a.testdata, "--bench"])
        for m in re.finditer(r"bench: (.+?)\s+([\d.]+) MB/s", out):
            self.hashing[m.group(1).strip()] = float(m.group(2))
        log("hashing per core: " + ", ".join(f"{k} {v:.0f} MB/s" for k, v in self.hashing.items()))

    def versions(self):
        def first(cmd):
            """the first version-looking word of cmd's output"""
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                return None
            m = re.search(r"v?(\d+\.\d+(\.\d+)?\S*)", r.stdout or r.stderr)
            return f"{os.path.basename(cmd[0])} {m.group(1)}" if m else None
        a = self.a
        self.meta.update(
            date=datetime.datetime.now().isoformat(timespec="seconds"),
            host={"nproc": os.cpu_count(), "kernel": platform.release(),
                  "loadavg_at_start": loadavg()},
            servers={"A": self.A.kind, "B": self.B.kind},
            versions={"s3bridge": first([a.s3bridge, "--version"]),
                      "s3fs": first(["s3fs", "--version"]),
                      "rclone": first(["rclone", "version"]),
                      "rsync": first(["rsync", "--version"]),
                      "cp": first(["cp", "--version"]),
                      "radosgw": first(["radosgw", "--version"]) if self.A.kind == "rgw" else None},
            build_type=a.build_type,
            params={"rounds": a.rounds, "quick": a.quick, "small": a.small,
                    "small_size": a.small_size, "large": a.large, "list": a.list,
                    "list_size": a.list_size, "rsync": a.rsync, "parallel": a.parallel},
            options={
                "s3bridge": "s3bridge mount -f --journal J --log-file L 's3://src?profile=benchA' "
                            "'s3://dst?profile=benchA|benchB' MP (defaults otherwise: --parallel 4, "
                            "part size automatic, --max-memory 256M, --read-ahead 8M, "
                            "--threads 16, --cache-ttl 60, --attr-timeout 5, --verify=stream)",
                "s3fs": "s3fs BUCKET MP -f -o url=EP,passwd_file=F,endpoint=REGION,"
                        + self.S3FS_OPTS,
                "rclone-mount": "rclone mount REMOTE:BUCKET MP --vfs-cache-mode off "
                                + " ".join(self.RCLONE_KNOBS),
                "rclone-copy": " ".join(self.rclone_cmd("copy|copyto", "SRC", "DST")[3:]),
                "rclone-remote": "type s3, provider Ceph (RGW) or Other (s3rver), "
                                 "force_path_style = true, endpoint = the proxy",
            })

    def run(self):
        a = self.a
        self.versions()
        self.save()
        self.hashing_bench()
        self.seed()
        self.save()
        items = [("small", self.small, TOOLS_COPY + ["s3bridge-async"]),
                 ("large", self.large, TOOLS_COPY + ["raw"]),
                 ("list", self.listing, TOOLS_FUSE + ["raw", "rclone-lsf"]),
                 ("rsync", self.rsync, TOOLS_FUSE)]
        only = set(a.items.split(",")) if a.items else None
        for rnd in range(1, a.rounds + 1):
            for name, fn, tools in items:
                if only and name not in only:
                    continue
                k = (rnd - 1) % len(tools)
                for tool in tools[k:] + tools[:k]:
                    if a.tools and tool not in a.tools.split(",") and tool not in ("raw",):
                        continue
                    try:
                        fn(tool, rnd)
                    except (RuntimeError, s3lite.S3Error, OSError, subprocess.SubprocessError) as e:
                        log(f"r{rnd} {name} {tool}: ERROR {e}")
                        for d in list(LIVE):  # a mount made before the error
                            d.stop(grace=10)
                        self.records.append({"item": name, "tool": tool, "round": rnd,
                                             "ok": False, "error": str(e)})
                        self.save()
        self.meta["loadavg_at_end"] = loadavg()
        self.save()
        return 0 if all(r.get("ok") for r in self.records) else 1


PROXY_LINE = re.compile(r"^\S+ c(\d+) r\d+ \S+ (\S+) .* -> \S+ up=\d+ down=\d+ "
                        r"fault=\S+ ([\d.]+)ms", re.M)
DATA_OPS = ("GetObject", "PutObject", "UploadPart", "CopyObject", "UploadPartCopy")


class Counted:
    """Zeroes the proxies' stats and marks their logs; result() gives what
    the servers saw since: counts by operation and time in requests."""

    def __init__(self, servers):
        self.servers = servers
        for srv in servers:
            srv.reset()
        self.marks = {srv.label: srv.log_mark() for srv in servers}

    def result(self):
        stats = {srv.label: srv.stats() for srv in self.servers}
        lat = {srv.label: srv.latency(self.marks[srv.label]) for srv in self.servers}
        merged = {}
        for l in lat.values():
            for op, o in l["by_op"].items():
                m = merged.setdefault(op, {"n": 0, "total_ms": 0.0, "max_ms": 0.0})
                m["n"] += o["n"]
                m["total_ms"] += o["total_ms"]
                m["max_ms"] = max(m["max_ms"], o["max_ms"])
        return {"stats": stats, "requests": sum(v["requests"] for v in stats.values()),
                "by_op": merge_ops(stats.values()), "latency_by_op": merged,
                "request_time_s": sum(o["total_ms"] for o in merged.values()) / 1000,
                "connections": sum(l["connections"] for l in lat.values())}


def merge_ops(stats):
    out = {}
    for s in stats:
        for k, v in s["by_op"].items():
            out[k] = out.get(k, 0) + v
    return out


def teardown():
    for p in list(LIVE_PROCS):
        with contextlib.suppress(OSError):
            p.kill()
    for d in list(LIVE):
        with contextlib.suppress(Exception):
            d.stop(grace=3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the raw JSON file")
    ap.add_argument("--work", required=True, help="mountpoints, configs, logs (not the servers' dir)")
    ap.add_argument("--s3bridge", required=True)
    ap.add_argument("--seed", required=True, help="the s3b_seed binary")
    ap.add_argument("--test-verify", required=True, help="the test_verify binary (--bench)")
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--build-type", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--small-size", type=int, default=100 * 1024)
    ap.add_argument("--large", type=int, default=1 << 30)
    ap.add_argument("--list", type=int, default=21000)
    ap.add_argument("--list-size", type=int, default=10)
    ap.add_argument("--rsync", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=4, help="streams of the raw GET/PUT")
    ap.add_argument("--perf", action="store_true",
                    help="perf record s3bridge during the large copy (perf-*.data beside --out)")
    ap.add_argument("--items", default="", help="comma list of small,large,list,rsync (default all)")
    ap.add_argument("--tools", default="", help="comma list of tools to run (default all)")
    a = ap.parse_args()

    def on_signal(num, _frame):
        raise SystemExit(128 + num)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        return Bench(a).run()
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
