#!/usr/bin/env python3
"""s3proxy.py -- a fault-injecting, request-counting HTTP/1.1 proxy for S3 tests.

  s3proxy.py --upstream http://127.0.0.1:PORT [--port-file F] [--port N]
             [--log FILE] [--config JSON|@FILE]

Listens on 127.0.0.1 (a free port unless --port; the port is written to
--port-file once listening) and forwards every request to the upstream S3
server, one upstream connection per client connection, with HTTP/1.1
keep-alive, Content-Length and chunked bodies, and `Expect: 100-continue`
(answered here at once with "100 Continue"; the header is not sent on).
Bodies stream through in 256 KiB pieces; nothing is buffered whole unless a
fault needs the length of a chunked response.  The Host header is forwarded
unchanged, so SigV4 signatures made for the proxy's address stay valid.

Requests are classified into S3 operations (path-style addressing,
/bucket/key) and counted.  Faults are injected per a JSON configuration:
probabilities per request from a seeded RNG (slowdown, error500, reset,
truncate, stall, flip_get, flip_put) and deterministic rules with counts
(fail_next, deny, stall_next, reset_next, truncate_next).  See README.md in
this folder for the configuration format.

Control API on the same port, under the reserved prefix /__proxy/ (never
forwarded):
  GET  /__proxy/stats   -> {"requests", "by_op", "by_status", "faults",
                            "bytes_up", "bytes_down", "connections", "events"}
  POST /__proxy/reset   -> zero the statistics (the fault configuration stays)
  POST /__proxy/config  <- JSON; the keys given replace the current ones
                           ({"replace": true} starts from no faults)
  GET  /__proxy/config  -> the current configuration, with remaining counts

It does not: speak TLS, support virtual-host addressing for classification
(requests still forward), pipeline requests upstream, or fake any S3 logic
beyond the injected errors.  Python 3 standard library only.
"""
import argparse
import asyncio
import email.utils
import http
import json
import os
import random
import socket
import struct
import sys
import time
import traceback
import urllib.parse

CHUNK = 256 * 1024
HEAD_LIMIT = 1 << 20          # largest request/response head accepted
BUFFER_CAP = 64 << 20         # largest chunked body buffered for truncate/stall
EVENTS_KEPT = 200

OPS = [
    "ListObjectsV2", "ListObjects", "HeadObject", "GetObject", "PutObject",
    "CopyObject", "UploadPart", "UploadPartCopy", "CreateMultipartUpload",
    "CompleteMultipartUpload", "AbortMultipartUpload", "ListMultipartUploads",
    "ListParts", "DeleteObject", "DeleteObjects", "HeadBucket", "CreateBucket",
    "DeleteBucket", "ListBuckets", "Other",
]

# per-request probabilities, tried in this order (at most one fault a request)
RATE_FAULTS = ["slowdown", "error500", "reset", "truncate", "stall", "flip_get", "flip_put"]
DEFAULT_RATE_OPS = {"flip_get": ["GetObject"], "flip_put": ["PutObject", "UploadPart"]}
# what a deterministic rule can do instead of answering a status
RULE_FAULTS = ["reset_before", "reset_after", "truncate", "stall", "flip_get", "flip_put"]
RULE_LISTS = {"fail_next": None, "deny": None, "stall_next": "stall",
              "reset_next": "reset_before", "truncate_next": "truncate"}

BUCKET_SUBRESOURCES = {
    "accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering",
    "inventory", "lifecycle", "location", "logging", "metrics", "notification",
    "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
    "replication", "requestPayment", "tagging", "versioning", "versions", "website",
}
OBJECT_SUBRESOURCES = {"acl", "attributes", "legal-hold", "restore", "retention",
                       "select", "tagging", "torrent"}

DEFAULT_CODES = {400: "InvalidRequest", 403: "AccessDenied", 404: "NoSuchKey",
                 409: "Conflict", 429: "SlowDown", 500: "InternalError",
                 501: "NotImplemented", 503: "SlowDown"}
MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "AccessDenied": "Access Denied",
    "QuotaExceeded": "The quota has been exceeded.",
}


class ClientGone(Exception):
    """The client closed or broke its connection."""


class UpstreamGone(Exception):
    """The upstream server closed or broke its connection."""


class BadMessage(Exception):
    """A malformed HTTP message."""


class ConfigError(Exception):
    """An invalid fault configuration."""


# ---------------------------------------------------------------------------
# HTTP message heads

class Head:
    """A request or response head: first line and an ordered header list."""

    def __init__(self, first, headers):
        self.first = first
        self.headers = headers          # list of [name, value]

    @classmethod
    def parse(cls, raw):
        text = raw.decode("latin-1")
        lines = text.split("\r\n")
        while lines and lines[0] == "":   # stray CRLFs before a request
            lines.pop(0)
        if not lines:
            raise BadMessage("empty head")
        headers = []
        for line in lines[1:]:
            if line == "":
                continue
            if line[0] in " \t" and headers:   # obsolete line folding
                headers[-1][1] += " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BadMessage("bad header line %r" % line[:80])
            headers.append([name, value.strip()])
        return cls(lines[0], headers)

    def get(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def has_token(self, name, token):
        token = token.lower()
        for k, v in self.headers:
            if k.lower() == name.lower():
                if token in (t.strip().lower() for t in v.split(",")):
                    return True
        return False

    def remove(self, name):
        name = name.lower()
        self.headers = [h for h in self.headers if h[0].lower() != name]

    def set(self, name, value):
        self.remove(name)
        self.headers.append([name, value])

    def encode(self):
        out = [self.first]
        out.extend("%s: %s" % (k, v) for k, v in self.headers)
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")

    def framing(self):
        """("chunked"|"length", n) from the headers, or None if neither."""
        te = self.get("transfer-encoding")
        if te is not None and "chunked" in te.lower():
            return ("chunked", None)
        cl = self.get("content-length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                raise BadMessage("bad Content-Length %r" % cl) from None
            if n < 0:
                raise BadMessage("negative Content-Length")
            return ("length", n)
        return None


async def read_head(reader, eof_ok):
    """Reads one message head; None on a clean EOF before any byte (eof_ok)."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if eof_ok and not e.partial.strip():
            return None
        raise BadMessage("connection closed inside a message head") from None
    except asyncio.LimitOverrunError:
        raise BadMessage("message head too large") from None
    return Head.parse(raw)


# ---------------------------------------------------------------------------
# bodies: decoded payload pieces in, framed bytes out

async def iter_body(reader, framing, trailers=None):
    """Yields the payload of a body, decoded from its framing, in pieces.

    framing: ("length", n), ("chunked", None), ("close", None) (until EOF).
    Chunk trailers, if any, are appended to `trailers` (list of bytes lines).
    Raises asyncio.IncompleteReadError / ConnectionError on a broken stream.
    """
    kind, n = framing
    if kind == "length":
        left = n
        while left > 0:
            piece = await reader.read(min(CHUNK, left))
            if not piece:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(piece)
            yield piece
    elif kind == "close":
        while True:
            piece = await reader.read(CHUNK)
            if not piece:
                return
            yield piece
    else:
        while True:
            line = await reader.readuntil(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadMessage("bad chunk size %r" % line[:40]) from None
            if size == 0:
                while True:   # trailer section, ends with an empty line
                    tline = await reader.readuntil(b"\r\n")
                    if tline == b"\r\n":
                        return
                    if trailers is not None:
                        trailers.append(tline)
            left = size
            while left > 0:
                piece = await reader.read(min(CHUNK, left))
                if not piece:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(piece)
                yield piece
            if await reader.readexactly(2) != b"\r\n":
                raise BadMessage("chunk not followed by CRLF")


def frame_piece(kind, piece):
    if kind == "chunked":
        return b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n"
    return piece


def frame_end(kind, trailers):
    if kind == "chunked":
        return b"0\r\n" + b"".join(trailers) + b"\r\n"
    return b""


def flip_in_piece(piece, offset, pos, bit):
    """Flips bit `bit` of stream byte `pos` if this piece (at `offset`) holds it."""
    if offset <= pos < offset + len(piece):
        b = bytearray(piece)
        b[pos - offset] ^= 1 << bit
        return bytes(b)
    return piece


# ---------------------------------------------------------------------------
# classification

def parse_target(target):
    """(path, query dict with the first value of each key) of a request target."""
    if target.startswith("http://") or target.startswith("https://"):
        parts = urllib.parse.urlsplit(target)
        path, query = parts.path or "/", parts.query
    else:
        path, _, query = target.partition("?")
    q = {}
    for item in query.split("&") if query else []:
        k, _, v = item.partition("=")
        k = urllib.parse.unquote_plus(k)
        if k not in q:
            q[k] = urllib.parse.unquote_plus(v)
    return path, q


def classify(method, path, q, head):
    """The S3 operation name of a path-style request."""
    bucket, _, key = path.lstrip("/").partition("/")
    copy = head.get("x-amz-copy-source") is not None
    keys = set(q)
    if not bucket:
        return "ListBuckets" if method == "GET" else "Other"
    if not key:
        if method == "GET":
            if "uploads" in keys:
                return "ListMultipartUploads"
            if keys & BUCKET_SUBRESOURCES:
                return "Other"
            return "ListObjectsV2" if q.get("list-type") == "2" else "ListObjects"
        if method == "HEAD":
            return "HeadBucket"
        if method == "PUT":
            return "Other" if keys & BUCKET_SUBRESOURCES else "CreateBucket"
        if method == "DELETE":
            return "Other" if keys & BUCKET_SUBRESOURCES else "DeleteBucket"
        if method == "POST" and "delete" in keys:
            return "DeleteObjects"
        return "Other"
    if method == "HEAD":
        return "HeadObject"
    if method == "GET":
        if "uploadId" in keys:
            return "ListParts"
        return "Other" if keys & OBJECT_SUBRESOURCES else "GetObject"
    if method == "PUT":
        if "partNumber" in keys and "uploadId" in keys:
            return "UploadPartCopy" if copy else "UploadPart"
        if keys & OBJECT_SUBRESOURCES:
            return "Other"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in keys:
            return "CreateMultipartUpload"
        if "uploadId" in keys:
            return "CompleteMultipartUpload"
        return "Other"
    if method == "DELETE":
        if "uploadId" in keys:
            return "AbortMultipartUpload"
        return "Other" if keys & OBJECT_SUBRESOURCES else "DeleteObject"
    return "Other"


# ---------------------------------------------------------------------------
# configuration and state

def _ops_list(value, where):
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("%s: ops must be a list of operation names" % where)
    bad = [v for v in value if v not in OPS]
    if bad:
        raise ConfigError("%s: unknown operation(s) %s (known: %s)" % (where, bad, ", ".join(OPS)))
    return value


def _number(value, where, lo=None, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError("%s must be a number" % where)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError("%s out of range" % where)
    return value


class Config:
    """The fault configuration; update() merges a JSON object into it."""

    def __init__(self):
        self.seed = None
        self.ops = None                    # default ops for plain-number rates
        self.stall_seconds = 600.0
        self.reset_when = "before"         # before | after | either
        self.rates = {}                    # name -> {"rate", "ops", extras}
        self.rules = {name: [] for name in RULE_LISTS}

    def update(self, doc):
        if not isinstance(doc, dict):
            raise ConfigError("the configuration must be a JSON object")
        known = {"replace", "seed", "ops", "stall_seconds", "reset_when"} | set(RATE_FAULTS) | set(RULE_LISTS)
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ConfigError("unknown key(s) %s" % unknown)
        new = Config() if doc.get("replace") else self._copy()
        if "seed" in doc:
            new.seed = doc["seed"]
        if "ops" in doc:
            new.ops = _ops_list(doc["ops"], "ops")
        if "stall_seconds" in doc:
            new.stall_seconds = float(_number(doc["stall_seconds"], "stall_seconds", 0))
        if "reset_when" in doc:
            if doc["reset_when"] not in ("before", "after", "either"):
                raise ConfigError("reset_when must be before, after or either")
            new.reset_when = doc["reset_when"]
        for name in RATE_FAULTS:
            if name in doc:
                new.rates[name] = new._parse_rate(name, doc[name])
        for name, implied in RULE_LISTS.items():
            if name in doc:
                value = doc[name]
                if not isinstance(value, list):
                    raise ConfigError("%s must be a list of rules" % name)
                new.rules[name] = [self._parse_rule(name, implied, i, r) for i, r in enumerate(value)]
        return new

    def _copy(self):
        c = Config()
        c.seed, c.ops, c.stall_seconds, c.reset_when = self.seed, self.ops, self.stall_seconds, self.reset_when
        c.rates = {k: dict(v) for k, v in self.rates.items()}
        c.rules = {k: [dict(r) for r in v] for k, v in self.rules.items()}
        return c

    def _parse_rate(self, name, value):
        if isinstance(value, dict):
            allowed = {"rate", "ops", "path_prefix"}
            if name == "reset":
                allowed.add("when")
            if name == "stall":
                allowed |= {"stall_seconds", "seconds"}
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise ConfigError("%s: unknown key(s) %s" % (name, unknown))
            spec = {"rate": float(_number(value.get("rate", 0), name + ".rate", 0, 1)),
                    "ops": _ops_list(value.get("ops"), name),
                    "path_prefix": value.get("path_prefix")}
            if "when" in value:
                if value["when"] not in ("before", "after", "either"):
                    raise ConfigError("reset.when must be before, after or either")
                spec["when"] = value["when"]
            for k in ("stall_seconds", "seconds"):
                if k in value:
                    spec["stall_seconds"] = float(_number(value[k], name + "." + k, 0))
            return spec
        return {"rate": float(_number(value, name, 0, 1)), "ops": None, "path_prefix": None}

    @staticmethod
    def _parse_rule(listname, implied, i, r):
        where = "%s[%d]" % (listname, i)
        if not isinstance(r, dict):
            raise ConfigError("%s must be an object" % where)
        allowed = {"op", "ops", "path_prefix", "count", "status", "code", "message",
                   "fault", "seconds", "stall_seconds"}
        unknown = sorted(set(r) - allowed)
        if unknown:
            raise ConfigError("%s: unknown key(s) %s" % (where, unknown))
        ops = _ops_list(r.get("ops", r.get("op")), where)
        count = r.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < -1:
            raise ConfigError("%s: count must be an integer >= -1" % where)
        fault = r.get("fault", implied)
        rule = {"ops": ops, "path_prefix": r.get("path_prefix"), "count": count}
        if fault is not None:
            if fault not in RULE_FAULTS:
                raise ConfigError("%s: fault must be one of %s" % (where, RULE_FAULTS))
            if "status" in r:
                raise ConfigError("%s: give either fault or status" % where)
            rule["fault"] = fault
            for k in ("seconds", "stall_seconds"):
                if k in r:
                    rule["stall_seconds"] = float(_number(r[k], where + "." + k, 0))
        else:
            status = r.get("status", 503)
            if isinstance(status, bool) or not isinstance(status, int) or not 300 <= status <= 599:
                raise ConfigError("%s: status must be an HTTP error status" % where)
            rule["status"] = status
            rule["code"] = str(r.get("code") or DEFAULT_CODES.get(status, "InternalError"))
            if "message" in r:
                rule["message"] = str(r["message"])
        return rule

    def to_json(self):
        return {"seed": self.seed, "ops": self.ops, "stall_seconds": self.stall_seconds,
                "reset_when": self.reset_when, **{k: v for k, v in self.rates.items()},
                **self.rules}


class Fault:
    """The fault chosen for one request."""

    def __init__(self, kind, source, status=None, code=None, message=None, stall_seconds=None):
        self.kind = kind          # status | reset_before | reset_after | truncate | stall | flip_get | flip_put
        self.source = source      # the name counted in stats["faults"]
        self.status = status
        self.code = code
        self.message = message
        self.stall_seconds = stall_seconds


class State:
    def __init__(self, upstream, log, config):
        self.upstream = upstream
        self.log = log
        self.config = Config()
        self.rng = random.Random(0)
        self.conn_seq = 0
        self.req_seq = 0
        self.set_config(config or {})
        self.zero()

    def set_config(self, doc):
        new = self.config.update(doc)
        if "seed" in doc or doc.get("replace"):
            self.rng = random.Random(new.seed if new.seed is not None else 0)
        self.config = new

    def zero(self):
        self.stats = {"requests": 0, "by_op": {}, "by_status": {}, "faults": {},
                      "bytes_up": 0, "bytes_down": 0, "connections": 0, "events": []}

    def count(self, key, name, n=1):
        d = self.stats[key]
        d[name] = d.get(name, 0) + n

    def fault_applied(self, fault, reqno, op, path, detail=None):
        self.count("faults", fault.source)
        ev = {"request": reqno, "op": op, "path": path, "fault": fault.source}
        if detail:
            ev.update(detail)
        self.stats["events"].append(ev)
        del self.stats["events"][:-EVENTS_KEPT]

    @staticmethod
    def _matches(spec_ops, prefix, op, path):
        if spec_ops is not None and op not in spec_ops:
            return False
        return prefix is None or path.startswith(prefix)

    def choose_fault(self, op, path):
        c = self.config
        for listname in RULE_LISTS:
            for rule in c.rules[listname]:
                if rule["count"] == 0 or not self._matches(rule["ops"], rule["path_prefix"], op, path):
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                if "fault" in rule:
                    return Fault(rule["fault"], rule["fault"],
                                 stall_seconds=rule.get("stall_seconds", c.stall_seconds))
                return Fault("status", listname, rule["status"], rule["code"], rule.get("message"))
        for name in RATE_FAULTS:
            spec = c.rates.get(name)
            if not spec or spec["rate"] <= 0:
                continue
            ops = spec["ops"] if spec["ops"] is not None else (c.ops or DEFAULT_RATE_OPS.get(name))
            if not self._matches(ops, spec["path_prefix"], op, path):
                continue
            if self.rng.random() >= spec["rate"]:
                continue
            if name == "slowdown":
                return Fault("status", name, 503, "SlowDown")
            if name == "error500":
                return Fault("status", name, 500, "InternalError")
            if name == "reset":
                when = spec.get("when", c.reset_when)
                if when == "either":
                    when = self.rng.choice(["before", "after"])
                return Fault("reset_" + when, "reset_" + when)
            if name == "stall":
                return Fault("stall", name, stall_seconds=spec.get("stall_seconds", c.stall_seconds))
            return Fault(name, name)
        return None


# ---------------------------------------------------------------------------
# one client connection

def error_xml(code, message, resource, request_id):
    esc = lambda s: (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>%s</RequestId></Error>'
            % (esc(code), esc(message), esc(resource), request_id)).encode()


def set_rst(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


class Connection:
    def __init__(self, state, reader, writer):
        self.st = state
        self.cr = reader
        self.cw = writer
        self.ur = None
        self.uw = None
        self.up_used = 0
        state.conn_seq += 1
        self.id = state.conn_seq

    # -- plumbing --
    async def cwrite(self, data):
        try:
            self.cw.write(data)
            await self.cw.drain()
        except (ConnectionError, OSError) as e:
            raise ClientGone(str(e)) from None

    async def uwrite(self, data):
        try:
            self.uw.write(data)
            await self.uw.drain()
        except (ConnectionError, OSError) as e:
            raise UpstreamGone(str(e)) from None

    async def connect_upstream(self):
        self.close_upstream()
        host, port = self.st.upstream
        try:
            self.ur, self.uw = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
        except OSError as e:
            raise UpstreamGone("connect to %s:%d: %s" % (host, port, e)) from None
        self.up_used = 0

    def close_upstream(self):
        if self.uw is not None:
            self.uw.transport.abort()
        self.ur = self.uw = None

    def abort_client(self, rst):
        if rst:
            set_rst(self.cw)
        self.cw.transport.abort()

    def note(self, text):
        if self.st.log:
            self.st.log.write(text)
            self.st.log.flush()

    def logline(self, reqno, method, op, target, status, up, down, fault, t0, note=""):
        if not self.st.log:
            return
        ms = (time.monotonic() - t0) * 1000
        self.st.log.write("%s c%d r%d %s %s %s -> %s up=%d down=%d fault=%s %.1fms%s\n" % (
            time.strftime("%H:%M:%S"), self.id, reqno, method, op, target[:300], status,
            up, down, fault or "-", ms, (" " + note) if note else ""))
        self.st.log.flush()

    # -- main loop --
    async def run(self):
        self.st.stats["connections"] += 1
        try:
            while True:
                try:
                    head = await read_head(self.cr, eof_ok=True)
                except (ConnectionError, OSError):
                    return
                if head is None:
                    return
                keep = await self.handle(head)
                if not keep:
                    return
        except ClientGone:
            pass
        except BadMessage as e:
            self.note("c%d: bad message, connection closed: %s\n" % (self.id, e))
        except Exception as e:   # a bug here must not take the proxy down
            self.note("c%d: internal error: %r\n%s" % (self.id, e, traceback.format_exc()))
        finally:
            self.close_upstream()
            if not self.cw.transport.is_closing():
                self.cw.close()

    async def handle(self, req):
        parts = req.first.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadMessage("bad request line %r" % req.first[:100])
        method, target, version = parts
        path, q = parse_target(target)
        framing = req.framing() or ("length", 0)
        client_close = req.has_token("connection", "close") or (
            version == "HTTP/1.0" and not req.has_token("connection", "keep-alive"))
        if path.startswith("/__proxy/"):
            if req.has_token("expect", "100-continue"):
                await self.cwrite(b"HTTP/1.1 100 Continue\r\n\r\n")
            return await self.control(method, path, framing, client_close)

        t0 = time.monotonic()
        st = self.st
        st.req_seq += 1
        reqno = st.req_seq
        op = classify(method, path, q, req)
        st.stats["requests"] += 1
        st.count("by_op", op)
        expect = req.has_token("expect", "100-continue")
        has_body = framing != ("length", 0)
        fault = st.choose_fault(op, path)
        self.cur = {"reqno": reqno, "method": method, "op": op, "target": target,
                    "path": path, "t0": t0, "fault": fault, "up": 0, "down": 0}

        if fault and fault.kind == "reset_before":
            st.fault_applied(fault, reqno, op, path)
            st.count("by_status", "reset")
            self.logline(reqno, method, op, target, "RST", 0, 0, fault.source, t0)
            self.abort_client(rst=True)
            return False

        if fault and fault.kind == "status":
            keep = not client_close
            if has_body:
                if expect:
                    keep = False    # the client will not send the body: close after
                else:
                    try:
                        async for piece in iter_body(self.cr, framing):
                            pass
                    except (asyncio.IncompleteReadError, ConnectionError, OSError):
                        raise ClientGone("while draining a body") from None
            await self.send_error(method, fault.status, fault.code,
                                  fault.message or MESSAGES.get(fault.code, "Injected by s3proxy."),
                                  path, keep)
            st.fault_applied(fault, reqno, op, path, {"status": fault.status, "code": fault.code})
            st.count("by_status", str(fault.status))
            self.logline(reqno, method, op, target, fault.status, 0, 0, fault.source, t0)
            return keep

        return await self.forward(req, method, target, framing, expect, has_body, client_close)

    async def send_error(self, method, status, code, message, resource, keep):
        reqid = "S3PROXY%08d" % self.st.req_seq
        body = error_xml(code, message, resource, reqid)
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        h = Head("HTTP/1.1 %d %s" % (status, phrase), [
            ["Date", email.utils.formatdate(usegmt=True)],
            ["Server", "s3proxy"],
            ["x-amz-request-id", reqid],
            ["Content-Type", "application/xml"],
            ["Content-Length", "0" if method == "HEAD" else str(len(body))],
        ])
        if not keep:
            h.set("Connection", "close")
        await self.cwrite(h.encode() + (b"" if method == "HEAD" else body))
        self.st.stats["bytes_down"] += 0 if method == "HEAD" else len(body)

    # -- forwarding --
    async def send_request_body(self, framing, flip):
        """Copies the client's request body upstream; returns payload bytes."""
        kind = framing[0]
        trailers = []
        off = 0
        it = iter_body(self.cr, framing, trailers)
        while True:
            try:
                piece = await it.__anext__()
            except StopAsyncIteration:
                break
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                raise ClientGone("inside the request body") from None
            if flip is not None:
                if flip[0] is None:              # chunked: pick within the first piece
                    flip[0] = off + self.st.rng.randrange(len(piece))
                piece = flip_in_piece(piece, off, flip[0], flip[1])
            off += len(piece)
            await self.uwrite(frame_piece(kind, piece))
            self.cur["up"] = off
            self.st.stats["bytes_up"] += len(piece)
        await self.uwrite(frame_end(kind, trailers))
        return off

    async def read_response_head(self):
        while True:
            try:
                h = await read_head(self.ur, eof_ok=True)
            except (ConnectionError, OSError) as e:
                raise UpstreamGone(str(e)) from None
            except BadMessage as e:
                raise UpstreamGone("bad response: %s" % e) from None
            if h is None:
                raise UpstreamGone("closed before a response")
            parts = h.first.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise UpstreamGone("bad status line %r" % h.first[:100])
            status = int(parts[1])
            if 100 <= status < 200 and status != 101:
                continue          # interim (we answer 100 Continue ourselves)
            return h, status, parts[0]

    async def forward(self, req, method, target, framing, expect, has_body, client_close):
        st, cur, fault = self.st, self.cur, self.cur["fault"]
        reqno, op, path, t0 = cur["reqno"], cur["op"], cur["path"], cur["t0"]
        # a reused upstream connection the server has closed meanwhile
        if self.uw is not None and (self.ur.at_eof() or self.uw.transport.is_closing()):
            self.close_upstream()
        fresh = self.uw is None
        try:
            if fresh:
                await self.connect_upstream()
        except UpstreamGone as e:
            return await self.bad_gateway(method, path, str(e))

        flip = None
        if fault and fault.kind == "flip_put":
            if has_body:
                n = framing[1] if framing[0] == "length" else None
                flip = [st.rng.randrange(n) if n else None, st.rng.randrange(8)]
            else:
                fault = cur["fault"] = None

        up_head = Head(req.first, [list(h) for h in req.headers])
        up_head.remove("expect")
        if expect and has_body:
            await self.cwrite(b"HTTP/1.1 100 Continue\r\n\r\n")

        for attempt in (1, 2):
            body_task = None
            try:
                await self.uwrite(up_head.encode())
                self.up_used += 1
                body_task = asyncio.ensure_future(self.send_request_body(framing, flip))
                head_task = asyncio.ensure_future(self.read_response_head())
                done, _ = await asyncio.wait({body_task, head_task}, return_when=asyncio.FIRST_COMPLETED)
                early = False
                if body_task in done:
                    exc = body_task.exception()
                    if isinstance(exc, ClientGone):
                        head_task.cancel()
                        raise exc
                    early = exc is not None          # upstream stopped reading: its answer counts
                    resp, status, rversion = await head_task
                else:
                    resp, status, rversion = head_task.result()
                    # usually the body task is a loop turn behind; a server that
                    # answered before reading the whole body makes it wait
                    await asyncio.wait({body_task}, timeout=0.2)
                    early = not body_task.done() or body_task.exception() is not None
                break
            except UpstreamGone as e:
                if body_task is not None and not body_task.done():
                    body_task.cancel()
                # a kept-alive upstream connection that died before answering a
                # request without a body: try once on a fresh connection
                if attempt == 1 and not fresh and not has_body:
                    await self.connect_upstream_or_none()
                    if self.uw is not None:
                        fresh = True
                        continue
                return await self.bad_gateway(method, path, str(e), fault)

        if early and not body_task.done():
            body_task.cancel()
        if flip is not None and flip[0] is not None and body_task.done() and not body_task.cancelled() \
                and body_task.exception() is None:
            st.fault_applied(fault, reqno, op, path, {"offset": flip[0], "bit": flip[1]})

        # response framing
        no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
        rframing = ("length", 0) if no_body else (resp.framing() or ("close", None))
        rkind = rframing[0]
        close_after = (client_close or early or rkind == "close"
                       or resp.has_token("connection", "close")
                       or (rversion == "HTTP/1.0" and not resp.has_token("connection", "keep-alive")))
        if close_after and not resp.has_token("connection", "close"):
            resp.set("Connection", "close")
        body_len = rframing[1] if rkind == "length" else None
        st.count("by_status", str(status))

        kind = fault.kind if fault else None
        if kind == "reset_after":
            try:
                async for _ in iter_body(self.ur, rframing):
                    pass
            except (asyncio.IncompleteReadError, ConnectionError, OSError, BadMessage):
                pass
            st.fault_applied(fault, reqno, op, path, {"status": status})
            self.logline(reqno, method, op, target, "%d+RST" % status, cur["up"], 0, fault.source, t0)
            self.abort_client(rst=True)
            return False

        if kind in ("truncate", "stall") and not (body_len == 0 or no_body):
            return await self.cut_response(resp, rframing, status, fault, target)
        if kind == "stall":   # nothing to cut: stall before the head
            st.fault_applied(fault, reqno, op, path, {"where": "head"})
            await self.stall(fault.stall_seconds)
            self.logline(reqno, method, op, target, "stalled", cur["up"], 0, fault.source, t0)
            self.abort_client(rst=False)
            return False

        gflip = None
        if kind == "flip_get" and status in (200, 206) and not no_body and body_len != 0:
            gflip = [st.rng.randrange(body_len) if body_len else None, st.rng.randrange(8)]

        await self.cwrite(resp.encode())
        trailers = []
        off = 0
        it = iter_body(self.ur, rframing, trailers)
        while True:
            try:
                piece = await it.__anext__()
            except StopAsyncIteration:
                break
            except (asyncio.IncompleteReadError, ConnectionError, OSError, BadMessage) as e:
                # upstream broke mid-body: break the client's connection too
                self.logline(reqno, method, op, target, status, cur["up"], off, cur["fault"] and cur["fault"].source,
                             t0, "upstream broke mid-body: %r" % e)
                self.abort_client(rst=False)
                return False
            if gflip is not None:
                if gflip[0] is None:
                    gflip[0] = off + st.rng.randrange(len(piece))
                piece = flip_in_piece(piece, off, gflip[0], gflip[1])
            off += len(piece)
            await self.cwrite(frame_piece(rkind, piece))
            st.stats["bytes_down"] += len(piece)
        await self.cwrite(frame_end(rkind, trailers))
        if gflip is not None and gflip[0] is not None:
            st.fault_applied(fault, reqno, op, path, {"offset": gflip[0], "bit": gflip[1]})
        applied = (kind == "flip_put" and flip is not None and flip[0] is not None) or gflip is not None
        self.logline(reqno, method, op, target, status, cur["up"], off,
                     fault.source if fault and applied else None, t0)
        if close_after:
            self.close_upstream()
            return False
        return True

    async def connect_upstream_or_none(self):
        try:
            await self.connect_upstream()
        except UpstreamGone:
            self.close_upstream()

    async def bad_gateway(self, method, path, why, fault=None):
        cur = self.cur
        self.close_upstream()
        self.st.count("by_status", "502")
        self.logline(cur["reqno"], method, cur["op"], cur["target"], 502, cur["up"], 0,
                     None, cur["t0"], "upstream: " + why)
        try:
            await self.send_error(method, 502, "BadGateway", "s3proxy: upstream: " + why, path, False)
        except ClientGone:
            pass
        return False

    async def cut_response(self, resp, rframing, status, fault, target):
        """truncate / stall: the full head, about half the body, then close
        (truncate) or nothing more for stall_seconds or until the client
        goes (stall)."""
        st, cur = self.st, self.cur
        rkind, n = rframing
        if rkind == "length":
            total, buffered = n, None
        else:                          # chunked / until close: learn the length
            buffered = bytearray()
            try:
                async for piece in iter_body(self.ur, rframing):
                    buffered += piece
                    if len(buffered) >= BUFFER_CAP:
                        break
            except (asyncio.IncompleteReadError, ConnectionError, OSError, BadMessage):
                pass
            total = len(buffered)
        half = total // 2
        await self.cwrite(resp.encode())
        sent = 0
        if buffered is not None:
            if half:
                await self.cwrite(frame_piece(rkind, buffered[:half]))
            sent = half
        else:
            it = iter_body(self.ur, rframing)
            while sent < half:
                try:
                    piece = await it.__anext__()
                except (StopAsyncIteration, asyncio.IncompleteReadError, ConnectionError, OSError):
                    break
                piece = piece[:half - sent]
                await self.cwrite(piece)
                sent += len(piece)
        st.stats["bytes_down"] += sent
        st.fault_applied(fault, cur["reqno"], cur["op"], cur["path"],
                         {"status": status, "sent": sent, "length": total})
        self.close_upstream()
        if fault.kind == "stall":
            await self.stall(fault.stall_seconds)
        self.logline(cur["reqno"], cur["method"], cur["op"], target, status, cur["up"], sent,
                     fault.source, cur["t0"], "cut after %d of %d bytes" % (sent, total))
        self.cw.close()        # FIN after what was sent
        return False

    async def stall(self, seconds):
        """Sends nothing for `seconds`, or until the client closes."""
        async def client_eof():
            try:
                while await self.cr.read(CHUNK):
                    pass
            except (ConnectionError, OSError):
                pass
        try:
            await asyncio.wait_for(client_eof(), seconds)
        except asyncio.TimeoutError:
            pass

    # -- control API --
    async def control(self, method, path, framing, client_close):
        body = bytearray()
        try:
            async for piece in iter_body(self.cr, framing):
                body += piece
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            raise ClientGone("inside a control request") from None
        st = self.st
        status, doc = 200, None
        if path == "/__proxy/stats" and method == "GET":
            doc = st.stats
        elif path == "/__proxy/reset" and method == "POST":
            st.zero()
            doc = {"ok": True}
        elif path == "/__proxy/config" and method == "GET":
            doc = st.config.to_json()
        elif path == "/__proxy/config" and method in ("POST", "PUT"):
            try:
                st.set_config(json.loads(body.decode() or "{}"))
                doc = st.config.to_json()
            except (ValueError, ConfigError) as e:
                status, doc = 400, {"error": str(e)}
        else:
            status, doc = 404, {"error": "unknown control request %s %s" % (method, path)}
        out = json.dumps(doc, sort_keys=True).encode() + b"\n"
        head = Head("HTTP/1.1 %d %s" % (status, http.HTTPStatus(status).phrase), [
            ["Content-Type", "application/json"], ["Content-Length", str(len(out))]])
        if client_close:
            head.set("Connection", "close")
        await self.cwrite(head.encode() + out)
        return not client_close


# ---------------------------------------------------------------------------

def parse_upstream(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise SystemExit("s3proxy: --upstream must be http://HOST:PORT")
    return u.hostname, u.port or 80


def load_config_arg(text):
    if text is None:
        return {}
    if text.startswith("@"):
        with open(text[1:]) as f:
            text = f.read()
    return json.loads(text)


async def main_async(args):
    log = None
    if args.log == "-":
        log = sys.stderr
    elif args.log:
        log = open(args.log, "a", buffering=1)
    try:
        state = State(parse_upstream(args.upstream), log, load_config_arg(args.config))
    except (ValueError, ConfigError) as e:
        raise SystemExit("s3proxy: bad --config: %s" % e)

    async def on_client(reader, writer):
        await Connection(state, reader, writer).run()

    server = await asyncio.start_server(on_client, args.host, args.port, limit=HEAD_LIMIT,
                                        reuse_address=True, backlog=128)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    if log:
        log.write("s3proxy listening on %s:%d, upstream %s\n" % (args.host, port, args.upstream))
        log.flush()
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the S3 server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: a free port (default)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="one line per request to this file ('-': stderr)")
    ap.add_argument("--config", help="initial fault configuration: JSON text or @FILE")
    args = ap.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
