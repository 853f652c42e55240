/*
 * s3/client.c — client lifecycle and the one request/retry loop.
 *
 * Every S3 request of the program goes through s3b_perform(): it builds the
 * URL, signs a fresh copy of the request for each attempt (the date moves),
 * sends it on a pooled connection, classifies the outcome with errmap.c and
 * either returns, or sleeps (exponential backoff, full jitter) and tries
 * again, bounded by max_attempts and max_retry_ms.  Nothing else in the
 * program retries an S3 request.
 *
 * What it does not do: no knowledge of particular operations (ops.c builds
 * the requests and reads the answers), no logging of secrets: the
 * Authorization header and the secret key never reach a log line or an
 * s3_error.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client_impl.h"
#include "errmap.h"
#include "hash.h"
#include "log.h"
#include "uri.h"
#include "xml.h"

#define DEFAULT_MAX_ATTEMPTS 16 /* with the 25 ms full-jitter start, 10 could be spent in a 3 s outage */
#define DEFAULT_MAX_RETRY_MS 120000u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_LOW_SPEED_SECS 30u
#define BACKOFF_BASE_MS 25u  /* first retry within 25 ms, doubling: a lone 503 costs little */
#define BACKOFF_CAP_MS 20000u
#define DEFAULT_MAX_BODY (1u << 20)

static const char *const op_names[S3B_OP__COUNT] = {
	[S3B_OP_HEAD_BUCKET] = "HeadBucket",
	[S3B_OP_LIST_OBJECTS] = "ListObjectsV2",
	[S3B_OP_HEAD_OBJECT] = "HeadObject",
	[S3B_OP_GET_OBJECT] = "GetObject",
	[S3B_OP_PUT_OBJECT] = "PutObject",
	[S3B_OP_COPY_OBJECT] = "CopyObject",
	[S3B_OP_DELETE_OBJECT] = "DeleteObject",
	[S3B_OP_DELETE_OBJECTS] = "DeleteObjects",
	[S3B_OP_CREATE_MULTIPART] = "CreateMultipartUpload",
	[S3B_OP_UPLOAD_PART] = "UploadPart",
	[S3B_OP_UPLOAD_PART_COPY] = "UploadPartCopy",
	[S3B_OP_COMPLETE_MULTIPART] = "CompleteMultipartUpload",
	[S3B_OP_ABORT_MULTIPART] = "AbortMultipartUpload",
	[S3B_OP_LIST_MULTIPART] = "ListMultipartUploads",
};

const char *s3_op_name(unsigned op)
{
	return op < S3B_OP__COUNT ? op_names[op] : "?";
}

/* ---- lifecycle ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Split "scheme://host[:port][/path]" into the client's fields. */
static int parse_endpoint(struct s3_client *c, const char *ep)
{
	const char *p = strstr(ep, "://");
	const char *host, *slash;
	size_t hlen;

	if (!p)
		return EINVAL;
	c->endpoint_scheme = strndup(ep, (size_t)(p - ep));
	if (!c->endpoint_scheme)
		return ENOMEM;
	for (char *s = c->endpoint_scheme; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	if (strcmp(c->endpoint_scheme, "http") && strcmp(c->endpoint_scheme, "https"))
		return EINVAL;
	host = p + 3;
	slash = strchr(host, '/');
	hlen = slash ? (size_t)(slash - host) : strlen(host);
	if (hlen == 0 || memchr(host, '@', hlen))
		return EINVAL;
	/* drop the scheme's default port: curl leaves it out of Host too */
	if (strcmp(c->endpoint_scheme, "http") == 0 && hlen > 3 &&
	    memcmp(host + hlen - 3, ":80", 3) == 0)
		hlen -= 3;
	else if (strcmp(c->endpoint_scheme, "https") == 0 && hlen > 4 &&
		 memcmp(host + hlen - 4, ":443", 4) == 0)
		hlen -= 4;
	c->endpoint_host = strndup(host, hlen);
	c->endpoint_base_path = strdup(slash ? slash : "");
	if (!c->endpoint_host || !c->endpoint_base_path)
		return ENOMEM;
	size_t bl = strlen(c->endpoint_base_path);
	while (bl && c->endpoint_base_path[bl - 1] == '/')
		c->endpoint_base_path[--bl] = '\0';
	return 0;
}

int s3_client_create(const struct s3_client_conf *conf, struct s3_client **out)
{
	struct s3_client *c;
	struct timespec now;
	int rc;

	*out = NULL;
	if (!conf->endpoint || !conf->bucket || !*conf->bucket || !conf->region) {
		LOG_E("s3 client: endpoint, region and bucket are required");
		return EINVAL;
	}
	if ((conf->access_key == NULL) != (conf->secret_key == NULL)) {
		LOG_E("s3 client: an access key needs its secret key and vice versa");
		return EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	rc = parse_endpoint(c, conf->endpoint);
	if (rc) {
		if (rc == EINVAL)
			LOG_E("s3 client: endpoint '%s' is not an http:// or https:// URL", conf->endpoint);
		goto fail;
	}
	rc = ENOMEM;
	c->region = strdup(conf->region);
	c->bucket = strdup(conf->bucket);
	c->access_key = dup_or_null(conf->access_key);
	c->secret_key = dup_or_null(conf->secret_key);
	c->session_token = dup_or_null(conf->session_token);
	c->ca_bundle = dup_or_null(conf->ca_bundle);
	c->user_agent = strdup(conf->user_agent ? conf->user_agent : "s3bridge/" S3B_VERSION);
	if (!c->region || !c->bucket || !c->user_agent ||
	    (conf->access_key && (!c->access_key || !c->secret_key)) ||
	    (conf->session_token && !c->session_token) || (conf->ca_bundle && !c->ca_bundle))
		goto fail;
	c->path_style = conf->path_style;
	c->tls_no_verify = conf->tls_no_verify;
	c->max_attempts = conf->max_attempts ? conf->max_attempts : DEFAULT_MAX_ATTEMPTS;
	c->max_retry_ms = conf->max_retry_ms ? conf->max_retry_ms : DEFAULT_MAX_RETRY_MS;
	c->connect_timeout_ms =
		conf->connect_timeout_ms ? conf->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->low_speed_secs = conf->low_speed_secs ? conf->low_speed_secs : DEFAULT_LOW_SPEED_SECS;
	clock_gettime(CLOCK_MONOTONIC, &now);
	atomic_init(&c->rng, (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^ (uintptr_t)c);
	rc = s3b_http_pool_create(conf->max_connections, &c->pool);
	if (rc)
		goto fail;
	if (c->tls_no_verify && strcmp(c->endpoint_scheme, "https") == 0)
		LOG_W("TLS certificate verification is OFF for %s (bucket %s): anyone on the path "
		      "can read and change the data",
		      c->endpoint_host, c->bucket);
	*out = c;
	return 0;
fail:
	s3_client_destroy(c);
	return rc;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void s3_client_destroy(struct s3_client *c)
{
	if (!c)
		return;
	s3b_http_pool_destroy(c->pool);
	free(c->endpoint_scheme);
	free(c->endpoint_host);
	free(c->endpoint_base_path);
	free(c->region);
	free(c->bucket);
	free(c->access_key);
	free_secret(c->secret_key);
	free_secret(c->session_token);
	free(c->ca_bundle);
	free(c->user_agent);
	free(c);
}

const char *s3_client_bucket(const struct s3_client *c)
{
	return c->bucket;
}

void s3_client_stats(struct s3_client *c, struct s3_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->requests = atomic_load(&c->n_requests);
	out->retries = atomic_load(&c->n_retries);
	for (unsigned i = 0; i < S3B_OP__COUNT; i++)
		out->by_op[i] = atomic_load(&c->by_op[i]);
}

/* ---- requests ---- */

void s3b_req_header(struct s3b_req *r, const char *name, const char *value)
{
	if (r->nheaders < S3B_REQ_MAX_HEADERS)
		r->headers[r->nheaders++] = (struct s3b_sigv4_kv){ name, value };
	else
		LOG_E("internal: too many request headers (dropped %s)", name);
}

void s3b_req_query(struct s3b_req *r, const char *name, const char *value)
{
	if (r->nquery < S3B_REQ_MAX_QUERY)
		r->query[r->nquery++] = (struct s3b_sigv4_kv){ name, value };
	else
		LOG_E("internal: too many query parameters (dropped %s)", name);
}

void s3b_resp_free(struct s3b_resp *r)
{
	s3b_buf_free(&r->body);
	s3_meta_free(&r->meta);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
}

static uint64_t rng_next(uint64_t *state)
{
	/* splitmix64 */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

unsigned s3b_backoff_ms(uint64_t *rng, unsigned attempt, unsigned base_ms, unsigned cap_ms)
{
	uint64_t ceiling = base_ms;

	for (unsigned i = 1; i < attempt && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	return (unsigned)(rng_next(rng) % (ceiling + 1));
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The decoded request path: "/bucket/key" (path style) or "/key". */
static int build_path(const struct s3_client *c, const struct s3b_req *req, struct s3b_buf *out)
{
	int rc = s3b_buf_puts(out, c->endpoint_base_path);

	if (!rc && c->path_style) {
		rc = s3b_buf_putc(out, '/');
		if (!rc)
			rc = s3b_buf_puts(out, c->bucket);
		if (!rc && req->key)
			rc = s3b_buf_putc(out, '/');
	} else if (!rc) {
		rc = s3b_buf_putc(out, '/');
	}
	if (!rc && req->key)
		rc = s3b_buf_puts(out, req->key);
	return rc;
}

static int build_url(const struct s3_client *c, const struct s3b_req *req, const char *path,
		     const char *host, struct s3b_buf *url)
{
	int rc = s3b_buf_printf(url, "%s://%s", c->endpoint_scheme, host);

	if (!rc)
		rc = s3b_uri_encode(url, path, strlen(path), true);
	for (size_t i = 0; !rc && i < req->nquery; i++) {
		rc = s3b_buf_putc(url, i ? '&' : '?');
		if (!rc)
			rc = s3b_uri_encode(url, req->query[i].name, strlen(req->query[i].name), false);
		if (!rc && req->query[i].value[0]) {
			rc = s3b_buf_putc(url, '=');
			if (!rc)
				rc = s3b_uri_encode(url, req->query[i].value,
						    strlen(req->query[i].value), false);
		}
	}
	return rc;
}

struct xfer {
	const struct s3b_req *req;
	struct s3b_resp *resp;
	size_t body_pos;     /* upload position */
	size_t max_body;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t room = size * nmemb, left = x->req->body_len - x->body_pos;
	size_t n = left < room ? left : room;

	if (n) {
		memcpy(dst, (const char *)x->req->body + x->body_pos, n);
		x->body_pos += n;
	}
	return n;
}

static int seek_cb(void *userp, curl_off_t offset, int origin)
{
	struct xfer *x = userp;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
		return CURL_SEEKFUNC_FAIL;
	x->body_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	struct s3b_resp *r = x->resp;
	size_t n = size * nmemb;

	if (x->req->sink && r->status >= 200 && r->status < 300) {
		if (n > x->req->sink_cap - r->sink_len) {
			r->sink_overflow = true;
			return 0; /* abort: more than was asked for */
		}
		memcpy((char *)x->req->sink + r->sink_len, data, n);
		r->sink_len += n;
		return n;
	}
	if (r->body.len + n > x->max_body) {
		r->sink_overflow = true;
		return 0;
	}
	return s3b_buf_append(&r->body, data, n) ? 0 : n;
}

static void copy_field(char *dst, size_t cap, const char *v, size_t vlen)
{
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	struct s3b_resp *r = x->resp;
	size_t n = size * nmemb, len = n;
	const char *colon, *v;
	size_t nlen, vlen;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue or a redirect): start over */
		const char *sp = memchr(line, ' ', len);

		s3_meta_free(&r->meta);
		r->etag[0] = r->content_range[0] = r->last_modified[0] = '\0';
		r->request_id[0] = r->storage_class[0] = '\0';
		r->checksum_crc32c[0] = r->checksum_crc32[0] = '\0';
		r->checksum_sha256[0] = r->checksum_crc64nvme[0] = '\0';
		r->content_length = -1;
		r->etag_too_long = false;
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	colon = memchr(line, ':', len);
	if (!colon)
		return n;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(line, name, nlen) == 0)
	if (IS("etag")) {
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
			v++, vlen -= 2;
		if (vlen >= S3B_ETAG_MAX)
			r->etag_too_long = true;
		else
			copy_field(r->etag, sizeof(r->etag), v, vlen);
	} else if (IS("content-length")) {
		char tmp[32], *end;
		unsigned long long cl;

		copy_field(tmp, sizeof(tmp), v, vlen);
		errno = 0;
		cl = strtoull(tmp, &end, 10);
		r->content_length = (errno || *end || end == tmp || cl > INT64_MAX) ? -2 : (int64_t)cl;
	} else if (IS("content-range")) {
		copy_field(r->content_range, sizeof(r->content_range), v, vlen);
	} else if (IS("last-modified")) {
		copy_field(r->last_modified, sizeof(r->last_modified), v, vlen);
	} else if (IS("x-amz-request-id")) {
		copy_field(r->request_id, sizeof(r->request_id), v, vlen);
	} else if (IS("x-amz-storage-class")) {
		copy_field(r->storage_class, sizeof(r->storage_class), v, vlen);
	} else if (IS("x-amz-checksum-crc32c")) {
		copy_field(r->checksum_crc32c, sizeof(r->checksum_crc32c), v, vlen);
	} else if (IS("x-amz-checksum-crc32")) {
		copy_field(r->checksum_crc32, sizeof(r->checksum_crc32), v, vlen);
	} else if (IS("x-amz-checksum-sha256")) {
		copy_field(r->checksum_sha256, sizeof(r->checksum_sha256), v, vlen);
	} else if (IS("x-amz-checksum-crc64nvme")) {
		copy_field(r->checksum_crc64nvme, sizeof(r->checksum_crc64nvme), v, vlen);
	} else if (IS("content-type")) {
		char *ct = strndup(v, vlen);

		if (!ct)
			return 0;
		free(r->meta.content_type);
		r->meta.content_type = ct;
	} else if (nlen > 11 && strncasecmp(line, "x-amz-meta-", 11) == 0) {
		char name[256], *val;

		if (nlen - 11 >= sizeof(name))
			return n; /* absurd name: not ours to keep */
		for (size_t i = 0; i < nlen - 11; i++)
			name[i] = (char)tolower((unsigned char)line[11 + i]);
		name[nlen - 11] = '\0';
		val = strndup(v, vlen);
		if (!val || s3_meta_set(&r->meta, name, val)) {
			free(val);
			return 0;
		}
		free(val);
	}
#undef IS
	return n;
}

static void fill_error_from_xml(struct s3_error *err, const struct s3b_resp *r)
{
	struct s3_error x = { 0 };

	if (r->body.len && s3b_xml_parse_error(r->body.data, r->body.len, &x) == 0) {
		memcpy(err->code, x.code, sizeof(err->code));
		memcpy(err->message, x.message, sizeof(err->message));
		if (x.request_id[0])
			memcpy(err->request_id, x.request_id, sizeof(err->request_id));
	}
}

/* One attempt.  Returns 0, or an errno with *retry telling whether another
 * attempt may succeed; err filled on failure. */
static int attempt_once(struct s3_client *c, const struct s3b_req *req, struct s3b_resp *resp,
			struct s3_error *err, bool *retry)
{
	struct s3b_buf path = S3B_BUF_INIT, url = S3B_BUF_INIT, hdr = S3B_BUF_INIT;
	struct s3b_sigv4_kv hv[S3B_REQ_MAX_HEADERS + 4];
	struct curl_slist *slist = NULL, *tmp;
	char amz_date[17], payload_hex[65], *authz = NULL, *host_alloc = NULL;
	const char *host = c->endpoint_host;
	char curl_err[CURL_ERROR_SIZE] = "";
	struct xfer x = { .req = req, .resp = resp,
			  .max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY };
	size_t nh = 0;
	CURL *h = NULL;
	CURLcode cc;
	time_t now;
	struct tm tm;
	int rc;

	*retry = false;
	s3b_resp_free(resp);
	if (!c->path_style) {
		host_alloc = malloc(strlen(c->bucket) + strlen(c->endpoint_host) + 2);
		if (!host_alloc)
			return ENOMEM;
		memcpy(host_alloc, c->bucket, strlen(c->bucket));
		host_alloc[strlen(c->bucket)] = '.';
		memcpy(host_alloc + strlen(c->bucket) + 1, c->endpoint_host,
		       strlen(c->endpoint_host) + 1);
		host = host_alloc;
	}
	rc = build_path(c, req, &path);
	if (!rc)
		rc = build_url(c, req, path.data, host, &url);
	if (rc)
		goto out;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	if (req->body && req->body_sha256) {
		uint8_t d[S3B_SHA256_LEN];

		s3b_sha256(req->body, req->body_len, d);
		s3b_hex(d, sizeof(d), payload_hex);
	} else if (!req->body || req->body_len == 0) {
		/* SHA-256 of the empty string */
		snprintf(payload_hex, sizeof(payload_hex), "%s",
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	} else {
		snprintf(payload_hex, sizeof(payload_hex), "%s", "UNSIGNED-PAYLOAD");
	}
	hv[nh++] = (struct s3b_sigv4_kv){ "host", host };
	hv[nh++] = (struct s3b_sigv4_kv){ "x-amz-date", amz_date };
	hv[nh++] = (struct s3b_sigv4_kv){ "x-amz-content-sha256", payload_hex };
	if (c->session_token)
		hv[nh++] = (struct s3b_sigv4_kv){ "x-amz-security-token", c->session_token };
	for (size_t i = 0; i < req->nheaders; i++)
		hv[nh++] = req->headers[i];

	for (size_t i = 0; i < nh; i++) {
		s3b_buf_reset(&hdr);
		rc = s3b_buf_printf(&hdr, "%s: %s", hv[i].name, hv[i].value);
		if (rc)
			goto out;
		tmp = curl_slist_append(slist, hdr.data);
		if (!tmp) {
			rc = ENOMEM;
			goto out;
		}
		slist = tmp;
	}
	if (c->access_key) {
		struct s3b_sigv4_req sr = {
			.method = req->method, .path = path.data,
			.query = req->query, .nquery = req->nquery,
			.headers = hv, .nheaders = nh, .payload_hash = payload_hex,
		};
		struct s3b_sigv4_scope scope = { .amz_date = amz_date, .region = c->region,
						 .service = "s3" };
		uint8_t key[32];

		s3b_sigv4_signing_key(c->secret_key, &scope, key);
		rc = s3b_sigv4_authorization(&sr, c->access_key, key, &scope, &authz);
		explicit_bzero(key, sizeof(key));
		if (rc)
			goto out;
		s3b_buf_reset(&hdr);
		rc = s3b_buf_printf(&hdr, "Authorization: %s", authz);
		if (rc)
			goto out;
		tmp = curl_slist_append(slist, hdr.data);
		explicit_bzero(hdr.data, hdr.len);
		if (!tmp) {
			rc = ENOMEM;
			goto out;
		}
		slist = tmp;
	}
	/* no 100-continue round trip; no default Accept/Content-Type noise */
	tmp = curl_slist_append(slist, "Expect:");
	if (tmp)
		slist = tmp;

	h = s3b_http_acquire(c->pool);
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, slist);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->low_speed_secs);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_no_verify ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_no_verify ? 0L : 2L);
	if (c->ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}

	atomic_fetch_add(&c->n_requests, 1);
	atomic_fetch_add(&c->by_op[req->op], 1);
	cc = curl_easy_perform(h);

	err->http_status = 0;
	err->code[0] = err->message[0] = err->request_id[0] = '\0';
	if (cc != CURLE_OK) {
		struct s3b_errclass ec = s3b_classify_curl(cc);

		if (resp->sink_overflow) {
			ec = (struct s3b_errclass){ EPROTO, true };
			snprintf(err->message, sizeof(err->message),
				 "the server sent more data than was asked for");
		} else {
			snprintf(err->message, sizeof(err->message), "%s",
				 curl_err[0] ? curl_err : curl_easy_strerror(cc));
		}
		rc = ec.err;
		*retry = ec.retry;
		s3b_http_release(c->pool, h, true);
		h = NULL;
		goto out;
	}
	s3b_http_release(c->pool, h, false);
	h = NULL;
	err->http_status = (int)resp->status;
	snprintf(err->request_id, sizeof(err->request_id), "%s", resp->request_id);
	if (resp->status < 200 || resp->status >= 300) {
		struct s3b_errclass ec;

		fill_error_from_xml(err, resp);
		ec = s3b_classify_http((int)resp->status, err->code);
		rc = ec.err;
		*retry = ec.retry;
		goto out;
	}
	if (resp->etag_too_long) {
		snprintf(err->message, sizeof(err->message), "the server sent an absurd ETag");
		rc = EPROTO;
		goto out;
	}
	if (req->check) {
		rc = req->check(req, resp, err);
		if (rc == EAGAIN) {
			*retry = true;
			rc = EIO;
		}
	}
out:
	curl_slist_free_all(slist);
	if (authz) {
		explicit_bzero(authz, strlen(authz));
		free(authz);
	}
	s3b_buf_free(&path);
	s3b_buf_free(&url);
	s3b_buf_free(&hdr);
	free(host_alloc);
	return rc;
}

int s3b_perform(struct s3_client *c, const struct s3b_req *req, struct s3b_resp *resp,
		struct s3_error *err)
{
	struct s3_error local;
	uint64_t start = mono_ms(), rng;
	unsigned attempt = 0;
	bool retry;
	int rc;

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	rng = atomic_fetch_add(&c->rng, 0x9e3779b97f4a7c15ull);
	for (;;) {
		attempt++;
		rc = attempt_once(c, req, resp, err, &retry);
		err->attempts = attempt;
		if (rc == 0)
			return 0;
		if (!retry || attempt >= c->max_attempts)
			break;
		unsigned wait = s3b_backoff_ms(&rng, attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
		if (mono_ms() - start + wait > c->max_retry_ms)
			break;
		atomic_fetch_add(&c->n_retries, 1);
		LOG_I("retrying %s %s%s%s (attempt %u of %u) in %u ms after %s%s%d %s", op_names[req->op],
		      c->bucket, req->key ? "/" : "", req->key ? req->key : "", attempt + 1,
		      c->max_attempts, wait, err->code[0] ? err->code : "",
		      err->code[0] ? " HTTP " : "HTTP ", err->http_status, err->message);
		sleep_ms(wait);
	}
	LOG_D("%s %s%s%s failed: %s (HTTP %d) %s after %u attempt(s)", op_names[req->op], c->bucket,
	      req->key ? "/" : "", req->key ? req->key : "", err->code, err->http_status,
	      err->message, attempt);
	s3b_resp_free(resp);
	return rc;
}
