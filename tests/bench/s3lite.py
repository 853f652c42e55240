"""tests/bench/s3lite.py — the benchmark's own minimal S3 client (Python
standard library only): SigV4-signed requests over one kept-alive HTTP
connection, for the work around the measurements (ground-truth checks,
deleting what a run wrote) and for the raw ListObjectsV2 baseline.

It is independent of s3bridge on purpose: a bug there must not hide in a
check here.  It does not: retry, stream bodies, speak HTTPS or virtual-host
addressing, or sign payloads (UNSIGNED-PAYLOAD, which RGW and s3rver accept).
"""
import datetime
import hashlib
import hmac
import base64
import http.client
import urllib.parse
import xml.etree.ElementTree as ET


def _q(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


class S3Error(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status


class Client:
    """One endpoint (http://host:port), one key pair, path-style."""

    def __init__(self, endpoint, access_key, secret_key, region="us-east-1"):
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme != "http":
            raise ValueError("s3lite speaks plain http only: " + endpoint)
        self.host = u.netloc
        self.ak, self.sk, self.region = access_key, secret_key, region
        self.conn = None

    def _sign(self, method, path, query, headers):
        now = datetime.datetime.now(datetime.timezone.utc)
        amzdate = now.strftime("%Y%m%dT%H%M%SZ")
        day = amzdate[:8]
        headers["host"] = self.host
        headers["x-amz-date"] = amzdate
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        canon_q = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(query.items()))
        names = sorted(h.lower() for h in headers)
        lower = {k.lower(): str(v).strip() for k, v in headers.items()}
        canon_h = "".join(f"{n}:{lower[n]}\n" for n in names)
        signed = ";".join(names)
        creq = "\n".join([method, _q(path, safe="/-_.~"), canon_q, canon_h, signed,
                          "UNSIGNED-PAYLOAD"])
        scope = f"{day}/{self.region}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.sk).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.ak}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={sig}")
        return canon_q

    def request(self, method, bucket, key="", query=None, body=b"", headers=None):
        """-> (status, headers dict lower-case, body bytes); 3xx-5xx raise S3Error."""
        query = dict(query or {})
        headers = dict(headers or {})
        path = "/" + bucket + ("/" + key if key else "")
        qs = self._sign(method, path, query, headers)
        url = _q(path, safe="/-_.~") + ("?" + qs if qs else "")
        for attempt in (0, 1):  # one reconnect: the server may close idle connections
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, timeout=300)
            try:
                self.conn.request(method, url, body=body or None, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if r.status >= 300:
            raise S3Error(r.status, data)
        return r.status, hdrs, data

    def list(self, bucket, prefix="", pages=None):
        """Every key under prefix as (key, size), ListObjectsV2 with
        continuation tokens; pages, a list, gets one entry per page."""
        token = None
        out = []
        while True:
            q = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
            if token:
                q["continuation-token"] = token
            _, _, data = self.request("GET", bucket, query=q)
            root = ET.fromstring(data)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            n = 0
            for c in root.findall(ns + "Contents"):
                out.append((c.findtext(ns + "Key"), int(c.findtext(ns + "Size"))))
                n += 1
            if pages is not None:
                pages.append(n)
            if root.findtext(ns + "IsTruncated") != "true":
                return out
            token = root.findtext(ns + "NextContinuationToken")
            if not token:  # a server without tokens: fall back to start-after
                raise S3Error(0, b"truncated listing without NextContinuationToken")

    def head(self, bucket, key):
        """-> headers (lower-case) or None if the object is missing."""
        try:
            return self.request("HEAD", bucket, key)[1]
        except S3Error as e:
            if e.status == 404:
                return None
            raise

    def delete_keys(self, bucket, keys):
        """DeleteObjects in batches of 1000; a server that refuses the batch
        call gets one DELETE per key.  Returns how many were deleted."""
        keys = list(keys)
        done = 0
        for i in range(0, len(keys), 1000):
            batch = keys[i:i + 1000]
            body = ("<Delete><Quiet>true</Quiet>" +
                    "".join("<Object><Key>%s</Key></Object>" % _xml(k) for k in batch) +
                    "</Delete>").encode()
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            try:
                self.request("POST", bucket, query={"delete": ""}, body=body,
                             headers={"Content-MD5": md5, "Content-Type": "application/xml"})
            except S3Error:
                for k in batch:
                    self.request("DELETE", bucket, k)
            done += len(batch)
        return done

    def delete_prefix(self, bucket, prefix):
        return self.delete_keys(bucket, [k for k, _ in self.list(bucket, prefix)])


def _xml(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
