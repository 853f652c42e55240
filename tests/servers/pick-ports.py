#!/usr/bin/env python3
"""pick-ports.py COUNT [BLOCK] -- print free TCP ports on 127.0.0.1.

Prints COUNT distinct free ports, one per line, then (when BLOCK > 0) the
first port of a run of BLOCK consecutive free ports that overlaps none of
them.  Candidates are random, taken below the kernel's ephemeral range
(ip_local_port_range) so that outgoing connections do not grab them later;
"free" means a bind() without SO_REUSEADDR succeeds right now.  There is an
unavoidable race between this check and the real bind: callers retry.

It does not reserve anything and does not look at other addresses than
127.0.0.1 (0.0.0.0 listeners make the 127.0.0.1 bind fail, so they count).
"""
import random
import socket
import sys


def port_range():
    lo, hi = 20000, 59000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            elo, ehi = (int(x) for x in f.read().split())
        if elo - 1 - lo >= 4000:   # enough room below the ephemeral range
            hi = elo - 1
        elif ehi + 1 < 65000:
            lo, hi = ehi + 1, 65000
    except (OSError, ValueError):
        pass
    return lo, hi


def is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: pick-ports.py COUNT [BLOCK]")
    count = int(sys.argv[1])
    block = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    lo, hi = port_range()
    rng = random.SystemRandom()
    taken = set()
    out = []
    for _ in range(count):
        for _try in range(1000):
            p = rng.randint(lo, hi)
            if p not in taken and is_free(p):
                taken.add(p)
                out.append(p)
                break
        else:
            sys.exit("pick-ports: no free port found")
    if block > 0:
        for _try in range(1000):
            base = rng.randint(lo, hi - block + 1)
            ports = range(base, base + block)
            if not taken.intersection(ports) and all(is_free(p) for p in ports):
                out.append(base)
                break
        else:
            sys.exit("pick-ports: no free block of %d ports found" % block)
    print("\n".join(str(p) for p in out))


if __name__ == "__main__":
    main()
