#!/usr/bin/env python3
"""tests/bench/report.py RAW.json — renders the benchmark's raw measurements
(bench.py) as markdown: the medians over the rounds per work item and tool,
s3bridge's ratio to each other tool, requests per object by operation, and
the hashing figures.  Prints to stdout; the first table is meant to be
pasted into the README as it is.

It does not measure anything, and it leaves failed measurements out of the
medians (it lists them at the end instead).
"""
import json
import statistics
import sys

TOOLS = ["s3bridge", "s3bridge-async", "s3fs", "rclone-mount", "rclone-copy", "raw"]
HEAD = {"s3bridge": "s3bridge", "s3bridge-async": "s3bridge --async-close 8",
        "s3fs": "s3fs", "rclone-mount": "rclone mount",
        "rclone-copy": "rclone copy", "raw": "raw / limit"}
OPS = [("GetObject", "GET"), ("PutObject", "PUT"), ("HeadObject", "HEAD"),
       ("ListObjectsV2", "LIST2"), ("ListObjects", "LIST1"), ("CopyObject", "COPY"),
       ("CreateMultipartUpload", "MPU"), ("UploadPart", "PART"), ("UploadPartCopy", "PARTCOPY"),
       ("CompleteMultipartUpload", "DONE"), ("DeleteObject", "DEL"), ("DeleteObjects", "DELS")]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, nd=1):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if abs(v) >= 100 or nd == 0:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def main():
    raw = json.load(open(sys.argv[1]))
    meta, ms = raw["meta"], raw["measurements"]
    p = meta["params"]
    ok = [m for m in ms if m.get("ok")]

    def group(item, tool):
        return [m for m in ok if m["item"] == item and m["tool"] == tool]

    def M(item, tool, key, scale=1.0):
        v = med([m.get(key) for m in group(item, tool)])
        return None if v is None else v * scale

    def rounds(item, tool):
        return len(group(item, tool))

    kib = p["small_size"] // 1024
    large_mib = p["large"] // (1 << 20)
    large_s = f"{large_mib // 1024} GiB" if large_mib % 1024 == 0 else f"{large_mib} MiB"
    srv = meta["servers"]
    limit = M("large", "raw", "limit_mb_per_s")
    rows = []  # (work, metric, {tool: value}, nd, lower_is_better)

    def row(work, metric, key, tools, nd=1, lower=True, scale=1.0, item=None, fn=None,
            ratio=True):
        vals = {}
        for t in tools:
            if fn:
                vals[t] = fn(t)
            else:
                vals[t] = M(item, t, key, scale)
        rows.append((work, metric, vals, nd, lower, ratio))

    copy4 = ["s3bridge", "s3fs", "rclone-mount", "rclone-copy"]
    fuse3 = ["s3bridge", "s3fs", "rclone-mount"]
    w = f"cp -r, {p['small']:,} x {kib} KiB, bucket to bucket on one {srv['A']}"
    small5 = ["s3bridge", "s3bridge-async", "s3fs", "rclone-mount", "rclone-copy"]
    row(w, "wall s", "wall_s", small5, item="small")
    row(w, "objects/s", "objects_per_s", small5, item="small", lower=False, ratio=False)
    row(w, "requests/object", "requests_per_object", small5, item="small", nd=2)
    row(w, "peak RSS MiB", "rss_kib", small5, item="small", scale=1 / 1024, nd=0)
    w = f"{large_s} object, {srv['A']} A -> {srv['B']} B"
    row(w, "wall s", "wall_s", copy4 + ["raw"], item="large")
    row(w, "MB/s", "mb_per_s", copy4 + ["raw"], item="large", lower=False, ratio=False)
    row(w, "% of raw limit", None, copy4, lower=False, nd=0, ratio=False,
        fn=lambda t: None if not limit or M("large", t, "mb_per_s") is None
        else 100 * M("large", t, "mb_per_s") / limit)
    row(w, "requests", "requests", copy4, item="large", nd=0)
    row(w, "peak RSS MiB", "rss_kib", copy4, item="large", scale=1 / 1024, nd=0)
    row(w, "CPU s per 100 MB", "cpu_s_per_100mb", copy4, item="large", nd=2)
    w = f"cold find + ls -l, {p['list']:,} objects in one directory"
    row(w, "wall s", "wall_s", fuse3 + ["raw"], item="list", nd=2)
    row(w, "requests", "requests", fuse3 + ["raw"], item="list", nd=0)
    row(w, "peak RSS MiB", "rss_kib", fuse3, item="list", scale=1 / 1024, nd=0)
    w = f"rsync -a, {p['rsync']:,} x {kib} KiB, first pass"
    row(w, "wall s", "wall_s", fuse3, item="rsync1")
    row(w, "objects/s", "objects_per_s", fuse3, item="rsync1", lower=False, ratio=False)
    row(w, "requests/object", "requests_per_object", fuse3, item="rsync1", nd=2)
    w = f"rsync -a again over the finished copy ({p['rsync']:,} objects)"
    row(w, "wall s", "wall_s", fuse3, item="rsync2", nd=2)
    row(w, "data requests", "data_requests", fuse3, item="rsync2", nd=0)
    row(w, "all requests", "requests", fuse3, item="rsync2", nd=0)

    n_rounds = p["rounds"]
    out = []
    out.append(f"### Benchmark: s3bridge, s3fs, rclone ({srv['A']}, medians of {n_rounds} "
               f"round{'s' if n_rounds != 1 else ''})\n")
    hdr = "| work | metric | " + " | ".join(HEAD[t] for t in TOOLS) + " |"
    out.append(hdr)
    out.append("|---|---|" + "---:|" * len(TOOLS))
    last = None
    for work, metric, vals, nd, _, _ in rows:
        cells = [fmt(vals.get(t), nd) if t in vals else "" for t in TOOLS]
        out.append(f"| {work if work != last else ''} | {metric} | " + " | ".join(cells) + " |")
        last = work
    out.append("")
    out.append(f"raw / limit: large = parallel ranged GETs from A and parallel PUTs to B "
               f"({meta['params']['parallel']} curl streams each, through the proxies), the "
               f"limit is the slower of the two; list = paginated ListObjectsV2 over one "
               f"kept-alive connection (Python). s3fs and rclone mount use two mounts (one per "
               f"bucket): RSS and CPU are their sum. Every tool goes through the counting proxy.")
    hs = raw.get("hashing", {})
    if hs:
        cpu = M("large", "s3bridge", "cpu_s_per_100mb")
        out.append("")
        out.append("Hashing, one core: " + ", ".join(
            f"{k} {v:,.0f} MB/s" for k, v in hs.items()
            if k in ("MD5", "SHA-256", "CRC32C", "multi-hasher MD5+SHA-256+CRC32C")) +
            (f". s3bridge spent {cpu:.2f} CPU s per 100 MB in the {large_s} copy "
             f"(MD5+SHA-256+CRC32C alone: {100 / hs['multi-hasher MD5+SHA-256+CRC32C']:.2f} s)."
             if cpu is not None and hs.get("multi-hasher MD5+SHA-256+CRC32C") else ""))

    # ratios
    out.append("")
    out.append("### s3bridge compared (how many times better s3bridge is; below 1 = worse)\n")
    others = ["s3fs", "rclone-mount", "rclone-copy"]
    out.append("| work | metric | vs " + " | vs ".join(HEAD[t] for t in others) + " |")
    out.append("|---|---|" + "---:|" * len(others))
    last = None
    for work, metric, vals, nd, lower, ratio in rows:
        if not ratio:
            continue
        b = vals.get("s3bridge")
        cells = []
        for t in others:
            v = vals.get(t)
            if b is None or v is None or t not in vals:
                cells.append("")
            elif (b == 0 and lower) or (v == 0 and not lower):
                cells.append("inf" if (lower and v) or (not lower and b) else "=")
            else:
                r = v / b if lower else b / v
                cells.append(f"{r:.2f}x")
        if any(cells):
            out.append(f"| {work if work != last else ''} | {metric} | " + " | ".join(cells) + " |")
            last = work

    # requests by operation
    out.append("")
    out.append("### Requests by operation (medians; per object for copies, totals for the rest)\n")
    used = [(op, ab) for op, ab in OPS if any(m.get("by_op", {}).get(op) for m in ok)]
    extra = sorted({op for m in ok for op in m.get("by_op", {})} - {op for op, _ in OPS})
    cols = used + [(op, op) for op in extra]
    out.append("| work | tool | " + " | ".join(ab for _, ab in cols) + " |")
    out.append("|---|---|" + "---:|" * len(cols))
    for item, label, per in (("small", "cp -r small (per object)", p["small"]),
                             ("large", f"{large_s} A->B (requests)", 1),
                             ("list", "find + ls -l (requests)", 1),
                             ("rsync1", "rsync -a 1st (per object)", p["rsync"]),
                             ("rsync2", "rsync -a 2nd (requests)", 1)):
        for t in TOOLS:
            g = group(item, t)
            if not g or t == "raw" and item == "large":
                continue
            cells = []
            for op, _ in cols:
                v = med([m.get("by_op", {}).get(op, 0) for m in g])
                cells.append("" if not v else (f"{v / per:.2f}" if per != 1 else fmt(v, 0)))
            out.append(f"| {label} | {HEAD[t]} | " + " | ".join(cells) + " |")

    # time spent in requests
    out.append("")
    out.append("### Time in requests (medians; from the proxies' logs: each request from its "
               "head to the end of its response)\n")
    lops = [("GetObject", "GET"), ("PutObject", "PUT"), ("HeadObject", "HEAD"),
            ("ListObjectsV2", "LIST2"), ("ListObjects", "LIST1"), ("CopyObject", "COPY"),
            ("UploadPart", "PART")]
    lused = [(op, ab) for op, ab in lops
             if any(m.get("latency_by_op", {}).get(op) for m in ok)]
    out.append("| work | tool | wall s | requests s | requests/wall | connections | "
               + " | ".join(f"{ab} ms" for _, ab in lused) + " |")
    out.append("|---|---|---:|---:|---:|---:|" + "---:|" * len(lused))
    for item, label in (("small", "cp -r small"), ("large", f"{large_s} A->B"),
                        ("list", "find + ls -l"), ("rsync1", "rsync -a 1st"),
                        ("rsync2", "rsync -a 2nd")):
        for t in TOOLS:
            g = [m for m in group(item, t) if "latency_by_op" in m]
            if not g:
                continue
            wall = med([m.get("wall_s") for m in g])
            rq = med([m.get("request_time_s") for m in g])
            cells = [fmt(wall, 2), fmt(rq, 2), fmt(rq / wall if rq is not None and wall else None, 2),
                     fmt(med([m.get("connections") for m in g]), 0)]
            for op, _ in lused:
                v = med([m["latency_by_op"][op]["total_ms"] / m["latency_by_op"][op]["n"]
                         for m in g if m["latency_by_op"].get(op, {}).get("n")])
                cells.append(fmt(v, 1))
            out.append(f"| {label} | {HEAD[t]} | " + " | ".join(cells) + " |")

    # the raw limits
    rl = [m for m in group("large", "raw")]
    if rl:
        out.append("")
        keys = ["get_proxy_mb_per_s", "put_proxy_mb_per_s", "get_direct_mb_per_s",
                "put_direct_mb_per_s"]
        vals = {k: med([m["raw"].get(k) for m in rl]) for k in keys}
        out.append(f"Raw limits, MB/s ({rl[0].get('streams')} parallel streams): GET from A "
                   f"{fmt(vals['get_proxy_mb_per_s'])} via proxy, {fmt(vals['get_direct_mb_per_s'])} "
                   f"direct; PUT to B {fmt(vals['put_proxy_mb_per_s'])} via proxy, "
                   f"{fmt(vals['put_direct_mb_per_s'])} direct.")
    lst = group("list", "s3bridge") + group("list", "s3fs") + group("list", "rclone-mount")
    if lst:
        out.append("")
        out.append("Listing split, find / ls -l seconds: " + "; ".join(
            f"{HEAD[t]} {fmt(M('list', t, 'find_s'), 2)} / {fmt(M('list', t, 'ls_s'), 2)}"
            for t in fuse3 if group("list", t)) +
            (f"; rclone lsf {fmt(M('list', 'rclone-lsf', 'wall_s'), 2)} s "
             f"({fmt(M('list', 'rclone-lsf', 'requests'), 0)} requests)" if group("list", "rclone-lsf") else ""))

    prof = [m["perf"] for m in group("large", "s3bridge") if m.get("perf")]
    if prof:
        pf = prof[0]
        out.append("")
        out.append(f"s3bridge's CPU in the {large_s} copy (perf, round 1; {pf['data']}): "
                   + ", ".join(f"{d} {v:.1f}%" for d, v in list(pf["by_dso"].items())[:6])
                   + ". Top symbols: " + ", ".join(f"{sym} ({dso}) {v:.1f}%"
                                                   for v, dso, sym in pf["top"][:8]) + ".")

    loads = [m.get("load_before") for m in ms if m.get("load_before") is not None]
    out.append("")
    v = meta.get("versions", {})
    out.append(f"Setup: {meta['host']['nproc']} cores, kernel {meta['host']['kernel']}; "
               + ", ".join(x for x in (v.get("s3bridge"), v.get("s3fs"), v.get("rclone"),
                                       v.get("rsync"), v.get("cp"), v.get("radosgw")) if x)
               + f"; s3bridge build {meta.get('build_type')}; servers {srv['A']} (A) and "
               f"{srv['B']} (B), each behind its own counting proxy. Load average (other jobs "
               f"share the machine) before the measurements: median {fmt(med(loads), 1)}, "
               f"max {fmt(max(loads) if loads else None, 1)}.")
    out.append("")
    out.append("Options: " + "; ".join(f"**{k}** `{o}`" for k, o in meta["options"].items()))
    bad = [m for m in ms if not m.get("ok")]
    if bad:
        out.append("")
        out.append("### Failed measurements (left out of the medians)\n")
        for m in bad:
            out.append(f"- round {m.get('round')} {m.get('item')} {m.get('tool')}: "
                       f"{m.get('error') or m.get('check') or 'exit ' + str(m.get('exit'))}")
    short = [(i, t, rounds(i, t)) for i in ("small", "large", "list", "rsync1", "rsync2")
             for t in TOOLS if 0 < rounds(i, t) < n_rounds]
    if short:
        out.append("")
        out.append("Fewer rounds than asked: " + ", ".join(f"{i}/{t} {n}" for i, t, n in short))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
