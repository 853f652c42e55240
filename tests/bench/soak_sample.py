#!/usr/bin/env python3
"""tests/bench/soak_sample.py — the Python half of the soak (soak.sh is the
entry point).  Four subcommands, each run by soak.sh under
tests/servers/with-server.sh rgw --proxy:

  seed BUCKET N          N objects of 1-16 KiB of seeded pseudo-random bytes
                         (each object's content differs), keys
                         dDDD/eE/fNNNNNN (100 objects a leaf directory, 1,000
                         a top one), PUT straight to the server
                         (S3_DIRECT_ENDPOINT) by 16 threads over kept-alive
                         connections; prints objects, bytes, seconds
  sample PID MP CSV      every INTERVAL s, one CSV row: the daemon's VmRSS
                         (anonymous and file-backed), VmHWM, open fds (and
                         the sockets and .integrity renders among them),
                         threads and CPU seconds (from /proc/PID), the counts
                         of MP/.integrity/summary.json, the proxy's request
                         count and the kernel's fuse_inode slab count; with
                         --fds, the whole fd table at the start, 10%, 50%
                         and the end; until the file STOP exists (then one
                         last row) or PID is gone
  compare SRC DST N      the two buckets listed straight from the server:
                         the same keys, sizes and ETags, exactly N of them
  report CSV ...         the summary for the README (objects, wall time,
                         objects/s, requests by status, RSS and fd figures)
                         and the flatness verdict; exit 1 if not flat

It is independent of s3bridge on purpose (s3lite.py is the bench's own
SigV4 client): a bug there must not hide in a check here.  It does not
start servers, mount, or clean up (soak.sh does).
"""
import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3lite  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
# An O_TMPFILE file: one of the renders of .integrity/ files the daemon
# keeps (fs/integrity.c, at most RENDER_SLOTS); reads of summary.json fill them
RENDER_FD = re.compile(r"/#\d+ \(deleted\)$")
RENDER_SLOTS = 8
KIB = 1024
MIB = 1 << 20
CSV_FIELDS = ["t_s", "verified", "failed", "mismatch", "pending", "rss_kib", "rss_anon_kib",
              "rss_file_kib", "hwm_kib", "fds", "fd_sockets", "fd_renders", "threads", "cpu_s",
              "proxy_requests", "fuse_inodes"]


def key_of(i):
    """Object i's key: 100 a leaf directory, 10 leaves a top directory."""
    return f"d{i // 1000:03d}/e{(i // 100) % 10}/f{i:06d}"


def body_of(i, seed):
    r = random.Random(seed * 1_000_003 + i)
    return r.randbytes(r.randint(1 * KIB, 16 * KIB))


def direct_client():
    return s3lite.Client(os.environ["S3_DIRECT_ENDPOINT"], os.environ["AWS_ACCESS_KEY_ID"],
                         os.environ["AWS_SECRET_ACCESS_KEY"],
                         os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def cmd_seed(a):
    lock = threading.Lock()
    state = {"next": 0, "bytes": 0, "error": None}

    def worker():
        c = direct_client()
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
                if i >= a.count or state["error"]:
                    return
            body = body_of(i, a.seed)
            for attempt in range(5):  # the direct server is not faulted; still, be patient
                try:
                    c.request("PUT", a.bucket, key_of(i), body=body)
                    break
                except (s3lite.S3Error, OSError) as e:
                    if attempt == 4:
                        with lock:
                            state["error"] = f"{key_of(i)}: {e}"
                        return
                    time.sleep(0.2 * (attempt + 1))
            with lock:
                state["bytes"] += len(body)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["error"]:
        print(f"seed: {state['error']}", file=sys.stderr)
        return 1
    print(f"{a.count} {state['bytes']} {time.monotonic() - t0:.1f}")
    return 0


def proc_sample(pid):
    """-> dict of the daemon's figures, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        fds = fd_targets(pid)
    except (FileNotFoundError, ProcessLookupError):
        return None

    def kib(name):
        return int(st[name].split()[0])
    return {"rss_kib": kib("VmRSS"), "rss_anon_kib": kib("RssAnon"),
            "rss_file_kib": kib("RssFile") + kib("RssShmem"), "hwm_kib": kib("VmHWM"),
            "threads": int(st["Threads"]), "fds": len(fds),
            "fd_sockets": sum(1 for t in fds.values() if t.startswith("socket:")),
            "fd_renders": sum(1 for t in fds.values() if RENDER_FD.search(t)),
            "fd_list": fds,
            # utime, stime: fields 14 and 15, the 12th and 13th after comm
            "cpu_s": round((int(fields[11]) + int(fields[12])) / CLK_TCK, 2)}


def fd_targets(pid):
    """{fd: what it points at} of a process (an fd closed meanwhile is left out)."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return out


def socket_states(pid, fds):
    """fd -> "local remote state" of the TCP sockets among fds (from
    /proc/PID/net/tcp, which is the process's network namespace)."""
    states = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN",
              "04": "FIN_WAIT1", "05": "FIN_WAIT2", "07": "CLOSE", "09": "LAST_ACK"}
    by_inode = {}
    try:
        with open(f"/proc/{pid}/net/tcp") as f:
            next(f)
            for line in f:
                c = line.split()
                lport = int(c[1].split(":")[1], 16)
                rport = int(c[2].split(":")[1], 16)
                by_inode[c[9]] = f":{lport} -> :{rport} {states.get(c[3], c[3])}"
    except OSError:
        pass
    out = {}
    for fd, t in fds.items():
        if t.startswith("socket:["):
            out[fd] = by_inode.get(t[8:-1], "(not TCP/IPv4)")
    return out


def write_fds(path, label, t, pid, fds):
    socks = socket_states(pid, fds)
    with open(path, "a") as f:
        f.write(f"# {label}, t={t:.1f} s: {len(fds)} fds\n")
        for fd in sorted(fds):
            f.write(f"{fd}\t{fds[fd]}\t{socks.get(fd, '')}\n")


def fuse_inodes():
    """Active objects of the kernel's fuse_inode slab: every FUSE inode the
    kernel holds, system-wide (other mounts too), each one a node that the
    daemon's libfuse keeps until the kernel forgets it.  "" if unreadable
    (/proc/slabinfo is root's)."""
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith("fuse_inode "):
                    return int(line.split()[1])
    except OSError:
        pass
    return ""


def read_summary(mp):
    try:
        with open(os.path.join(mp, ".integrity", "summary.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def proxy_requests(proxy):
    if not proxy:
        return ""
    try:
        with urllib.request.urlopen(proxy + "/__proxy/stats", timeout=5) as r:
            return json.load(r)["requests"]
    except (OSError, ValueError):
        return ""


def cmd_sample(a):
    t0 = time.monotonic()
    marks = [0.1, 0.5]  # progress at which the fd table is written to FDS
    with open(a.csv, "w", buffering=1) as out:
        out.write(",".join(CSV_FIELDS) + "\n")
        last = False
        first = True
        while True:
            if os.path.exists(a.stop):
                last = True
            t = time.monotonic() - t0
            p = proc_sample(a.pid)  # /proc first: the FUSE read below may be slow
            if p is None:
                print("sample: the daemon is gone", file=sys.stderr)
                return 1
            s = read_summary(a.mp)
            row = {"t_s": f"{t:.1f}", **p, "proxy_requests": proxy_requests(a.proxy),
                   "fuse_inodes": fuse_inodes()}
            for k in ("verified", "failed", "mismatch", "pending"):
                row[k] = s.get(k, "")
            out.write(",".join(str(row[k]) for k in CSV_FIELDS) + "\n")
            if a.fds:
                done = int(s.get("verified", 0) or 0)
                if first:
                    write_fds(a.fds, "start", t, a.pid, p["fd_list"])
                while marks and a.objects and done >= marks[0] * a.objects:
                    write_fds(a.fds, f"{marks.pop(0):.0%} verified", t, a.pid, p["fd_list"])
                if last:
                    write_fds(a.fds, "end", t, a.pid, p["fd_list"])
            first = False
            if last:
                return 0
            # sleep in small steps so that the last row follows STOP promptly
            deadline = time.monotonic() + a.interval
            while time.monotonic() < deadline and not os.path.exists(a.stop):
                time.sleep(0.2)


def cmd_compare(a):
    c = direct_client()
    src = {}
    dst = {}
    for bucket, into in ((a.src, src), (a.dst, dst)):
        token = None
        while True:  # s3lite.list keeps sizes only; ETags are needed here
            q = {"list-type": "2", "max-keys": "1000"}
            if token:
                q["continuation-token"] = token
            _, _, data = c.request("GET", bucket, query=q)
            root = ET.fromstring(data)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for e in root.findall(ns + "Contents"):
                into[e.findtext(ns + "Key")] = (int(e.findtext(ns + "Size")),
                                                e.findtext(ns + "ETag").strip('"'))
            if root.findtext(ns + "IsTruncated") != "true":
                break
            token = root.findtext(ns + "NextContinuationToken")
    # mkdir makes directory marker objects ("d000/", 0 bytes; s3fs-compatible)
    markers = [k for k in dst if k.endswith("/") and dst[k][0] == 0 and k not in src]
    for k in markers:
        del dst[k]
    missing = sorted(set(src) - set(dst))
    extra = sorted(set(dst) - set(src))
    differ = sorted(k for k in set(src) & set(dst) if src[k] != dst[k])
    print(f"compare: {a.src} {len(src)} keys, {a.dst} {len(dst)} keys and {len(markers)} directory markers; "
          f"missing {len(missing)}, extra {len(extra)}, size or ETag differs {len(differ)}")
    for name, keys in (("missing", missing), ("extra", extra), ("differs", differ)):
        for k in keys[:10]:
            print(f"compare: {name}: {k} {src.get(k)} {dst.get(k)}")
    ok = not missing and not extra and not differ and len(src) == a.count
    return 0 if ok else 1


def at_progress(rows, n, frac):
    """The first row with verified >= frac * n (the last row for 1.0)."""
    if frac >= 1:
        return rows[-1]
    for r in rows:
        if r["verified"] != "" and int(r["verified"]) >= frac * n:
            return r
    return None


def cmd_report(a):
    with open(a.csv) as f:
        lines = f.read().splitlines()
    head = lines[0].split(",")
    rows = [dict(zip(head, line.split(","))) for line in lines[1:] if line]
    with open(a.stats) as f:
        stats = json.load(f)
    n, wall = a.objects, a.wall
    rss = [int(r["rss_kib"]) / KIB for r in rows]
    fds = [int(r["fds"]) for r in rows]
    p10, p50, p100 = (at_progress(rows, n, x) for x in (0.1, 0.5, 1.0))
    by_status = " ".join(f"{k} {v:,}" for k, v in
                         sorted(stats.get("by_status", {}).items(), key=lambda kv: -kv[1]))
    by_op = " ".join(f"{k} {v:,}" for k, v in
                     sorted(stats.get("by_op", {}).items(), key=lambda kv: -kv[1]))
    faults = " ".join(f"{k} {v:,}" for k, v in sorted(stats.get("faults", {}).items()))
    req = stats.get("requests", 0)

    def mib(r, col="rss_kib"):
        return f"{int(r[col]) / KIB:.1f}" if r else "n/a"

    # RSS growth per 1,000 objects after 10%: least squares over those rows
    tail = [r for r in rows if r["verified"] != "" and p10 and int(r["verified"]) >= 0.1 * n]
    slope = "n/a"
    if len(tail) >= 3:
        xs = [int(r["verified"]) for r in tail]
        ys = [int(r["rss_kib"]) for r in tail]
        mx, my = statistics.mean(xs), statistics.mean(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx:
            slope = f"{sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx * 1000:.0f} KiB"

    out = [
        f"soak: {n:,} objects, {a.bytes / 1e6:.1f} MB, {a.tool} through the fault proxy "
        f"({a.faults})",
        f"  wall {wall:.1f} s, {n / wall:.1f} objects/s, {a.bytes / 1e6 / wall:.2f} MB/s, "
        f"exit {a.exit}",
        f"  requests {req:,} ({req / n:.2f} per object); by status: {by_status}",
        f"  by operation: {by_op}",
        f"  faults injected: {faults or 'none'}",
        f"  journal: {a.journal}",
        f"  checks: {a.checks}",
        f"  daemon RSS MiB: min {min(rss):.1f}, median {statistics.median(rss):.1f}, "
        f"max {max(rss):.1f}; peak (VmHWM) {int(rows[-1]['hwm_kib']) / KIB:.1f}",
        f"  daemon RSS MiB at 10% / 50% / 100%: {mib(p10)} / {mib(p50)} / {mib(p100)} "
        f"(anonymous {mib(p10, 'rss_anon_kib')} / {mib(p50, 'rss_anon_kib')} / "
        f"{mib(p100, 'rss_anon_kib')}; file and shared {mib(p10, 'rss_file_kib')} / "
        f"{mib(p50, 'rss_file_kib')} / {mib(p100, 'rss_file_kib')}); "
        f"growth after 10%: {slope} per 1,000 objects",
        f"  daemon fds: min {min(fds)}, max {max(fds)}; at 10% / 50% / 100%: "
        f"{p10['fds'] if p10 else 'n/a'} / {p50['fds'] if p50 else 'n/a'} / {p100['fds']} "
        f"(sockets {p10['fd_sockets'] if p10 else 'n/a'} / "
        f"{p50['fd_sockets'] if p50 else 'n/a'} / {p100['fd_sockets']}; .integrity renders "
        f"{p10['fd_renders'] if p10 else 'n/a'} / {p50['fd_renders'] if p50 else 'n/a'} / "
        f"{p100['fd_renders']})",
        f"  daemon threads: min {min(int(r['threads']) for r in rows)}, "
        f"max {max(int(r['threads']) for r in rows)}; CPU {float(rows[-1]['cpu_s']):.1f} s "
        f"({float(rows[-1]['cpu_s']) / n * 1000:.2f} ms per object)",
        f"  kernel FUSE inodes (system-wide fuse_inode slab) at 10% / 100%: "
        f"{p10.get('fuse_inodes') or 'n/a' if p10 else 'n/a'} / {p100.get('fuse_inodes') or 'n/a'}",
        f"  samples: {len(rows)} every {a.interval:g} s in {a.csv_name}",
    ]
    flat = True
    if p10 is None:
        out.append("  flatness: no sample reached 10% progress; no verdict")
        flat = False
    else:
        grow = (int(p100["rss_kib"]) - int(p10["rss_kib"])) / KIB

        def fds_net(r):  # the bounded render slots are checked apart
            return int(r["fds"]) - int(r["fd_renders"])
        dfd = fds_net(p100) - fds_net(p10)
        renders = max(int(r["fd_renders"]) for r in rows)
        rss_ok = grow <= a.rss_slack
        fd_ok = abs(dfd) <= a.fd_slack and renders <= RENDER_SLOTS
        flat = rss_ok and fd_ok
        out.append(f"  flatness: RSS {mib(p10)} -> {mib(p100)} MiB from 10% to the end "
                   f"({grow:+.1f} MiB, limit {a.rss_slack:g}): {'flat' if rss_ok else 'GROWS'}; "
                   f"fds other than .integrity renders {fds_net(p10)} -> {fds_net(p100)} "
                   f"({dfd:+d}, limit +-{a.fd_slack}), renders at most {renders} "
                   f"(limit {RENDER_SLOTS}): {'flat' if fd_ok else 'NOT FLAT'}")
    print("\n".join(out))
    return 0 if flat else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("seed")
    p.add_argument("bucket")
    p.add_argument("count", type=int)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("sample")
    p.add_argument("pid", type=int)
    p.add_argument("mp")
    p.add_argument("csv")
    p.add_argument("--interval", type=float, default=5)
    p.add_argument("--stop", required=True)
    p.add_argument("--proxy", default=os.environ.get("S3B_PROXY", ""))
    p.add_argument("--fds", default="", help="write the fd table here at the start, "
                   "10%% and 50%% of OBJECTS verified, and the end")
    p.add_argument("--objects", type=int, default=0)
    p = sub.add_parser("compare")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("count", type=int)
    p = sub.add_parser("report")
    p.add_argument("csv")
    p.add_argument("--stats", required=True)
    p.add_argument("--objects", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--wall", type=float, required=True)
    p.add_argument("--exit", default="0")
    p.add_argument("--tool", default="cp -r")
    p.add_argument("--faults", default="")
    p.add_argument("--journal", default="")
    p.add_argument("--checks", default="")
    p.add_argument("--interval", type=float, default=5)
    p.add_argument("--csv-name", default="")
    p.add_argument("--rss-slack", type=float, default=16)
    p.add_argument("--fd-slack", type=int, default=4)
    a = ap.parse_args()
    return {"seed": cmd_seed, "sample": cmd_sample, "compare": cmd_compare,
            "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
