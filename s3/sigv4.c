/*
 * s3/sigv4.c — AWS Signature Version 4 header signing (see sigv4.h).
 *
 * What it is for: turning a request description into the canonical
 * request, the string to sign, the signing key and the Authorization
 * header value, exactly as S3 computes them on its side.
 * What it does not do: no I/O, no clock, no path normalisation (S3 signs
 * the path as sent), no presigned URLs, no chunked (streaming) payload
 * signatures, no SigV4a.  Hashing and HMAC come from verify/hash.h so that
 * there is one implementation of each.
 *
 * Rules applied, in the order the canonical request is written:
 *   1. method as given (an HTTP token);
 *   2. path: must start with '/'; URI-encoded once with '/' kept;
 *   3. query: names and values encoded ('/' encoded too), sorted by encoded
 *      name then encoded value, "name=value" joined with '&';
 *   4. headers: names lower-cased (ASCII), values trimmed and every inner
 *      run of SP, HTAB, CR, LF folded to one SP (this also folds obsolete
 *      multi-line values); repeated names joined with ',' in the order
 *      given; sorted by name; each "name:value\n", then an empty line;
 *   5. signed headers: the names, ';'-joined;
 *   6. the payload hash as given.
 *
 * Inputs are checked (EINVAL) rather than trusted: NULL pointers, an empty
 * method, a path without a leading '/', header names that are not HTTP
 * tokens, a missing host or x-amz-date header, an X-Amz-Date that is not
 * "YYYYMMDDTHHMMSSZ", and region, service, access key or payload hash with
 * spaces, control characters or '/' (where a '/' would break the scope).
 * Every text produced is bounded by SIGV4_MAX (EFBIG beyond it).
 *
 * s3b_sigv4_signing_key() cannot report errors: on a NULL secret or an
 * invalid scope it yields an all-zero key (a signature that never
 * verifies), and s3b_sigv4_authorization() rejects the same scope with
 * EINVAL anyway.  Key material is wiped from the stack after use.
 */
#include "sigv4.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "uri.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
/* Largest canonical request (or any other text) this signer builds. */
#define SIGV4_MAX ((size_t)4 << 20)

struct canon_header {
	char *name;   /* lower-cased, owned */
	char *value;  /* trimmed and folded, owned */
	size_t order; /* position in the request: keeps repeated names in order */
};

struct canon_query {
	char *name;  /* encoded, owned */
	char *value; /* encoded, owned */
};

/* RFC 7230 tchar: what a method or a header name may contain. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* Non-empty, visible ASCII only, none of the bytes in `forbid`. */
static bool is_visible(const char *s, const char *forbid)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr(forbid, c))
			return false;
	}
	return true;
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "YYYYMMDDTHHMMSSZ" (only the shape is checked; the date is the caller's). */
static bool amz_date_ok(const char *d)
{
	return d && strlen(d) == 16 && is_digits(d, 8) && d[8] == 'T' && is_digits(d + 9, 6) &&
	       d[15] == 'Z';
}

static bool scope_ok(const struct s3b_sigv4_scope *scope)
{
	return scope && amz_date_ok(scope->amz_date) && is_visible(scope->region, "/") &&
	       is_visible(scope->service, "/");
}

static void free_headers(struct canon_header *h, size_t n)
{
	if (!h)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static void free_query(struct canon_query *q, size_t n)
{
	if (!q)
		return;
	for (size_t i = 0; i < n; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(q);
}

static int cmp_header(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_query(const void *a, const void *b)
{
	const struct canon_query *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Append value trimmed, with every run of linear white space folded to one
 * space. */
static int put_folded(struct s3b_buf *b, const char *v)
{
	size_t start = b->len;
	bool space = false;
	int rc;

	for (; *v; v++) {
		if (is_lws(*v)) {
			space = true;
			continue;
		}
		if (space && b->len > start) {
			rc = s3b_buf_putc(b, ' ');
			if (rc)
				return rc;
		}
		space = false;
		rc = s3b_buf_putc(b, *v);
		if (rc)
			return rc;
	}
	return 0;
}

/* Lower-case names and folded values, sorted.  *out caller frees with
 * free_headers(*out, n). */
static int build_headers(const struct s3b_sigv4_req *r, struct canon_header **out)
{
	struct canon_header *h;
	struct s3b_buf b = {.max = SIGV4_MAX};
	bool have_host = false, have_date = false;
	int rc;

	*out = NULL;
	h = calloc(r->nheaders, sizeof(*h));
	if (!h)
		return ENOMEM;
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct s3b_sigv4_kv *kv = &r->headers[i];

		if (!is_token(kv->name) || !kv->value) {
			rc = EINVAL;
			goto fail;
		}
		h[i].order = i;
		h[i].name = strdup(kv->name);
		if (!h[i].name) {
			rc = ENOMEM;
			goto fail;
		}
		for (char *p = h[i].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		have_host |= strcmp(h[i].name, "host") == 0;
		have_date |= strcmp(h[i].name, "x-amz-date") == 0;
		rc = put_folded(&b, kv->value);
		if (rc)
			goto fail;
		h[i].value = s3b_buf_detach(&b);
		if (!h[i].value) {
			rc = ENOMEM;
			goto fail;
		}
	}
	if (!have_host || !have_date) {
		rc = EINVAL;
		goto fail;
	}
	qsort(h, r->nheaders, sizeof(*h), cmp_header);
	*out = h;
	return 0;
fail:
	s3b_buf_free(&b);
	free_headers(h, r->nheaders);
	return rc;
}

/* Encoded and sorted query pairs.  *out caller frees with free_query. */
static int build_query(const struct s3b_sigv4_req *r, struct canon_query **out)
{
	struct canon_query *q;
	struct s3b_buf b = {.max = SIGV4_MAX};
	int rc;

	*out = NULL;
	if (r->nquery == 0)
		return 0;
	q = calloc(r->nquery, sizeof(*q));
	if (!q)
		return ENOMEM;
	for (size_t i = 0; i < r->nquery; i++) {
		const struct s3b_sigv4_kv *kv = &r->query[i];

		if (!kv->name || !kv->value) {
			rc = EINVAL;
			goto fail;
		}
		rc = s3b_uri_encode(&b, kv->name, strlen(kv->name), false);
		if (rc)
			goto fail;
		q[i].name = s3b_buf_detach(&b);
		if (!q[i].name) {
			rc = ENOMEM;
			goto fail;
		}
		rc = s3b_uri_encode(&b, kv->value, strlen(kv->value), false);
		if (rc)
			goto fail;
		q[i].value = s3b_buf_detach(&b);
		if (!q[i].value) {
			rc = ENOMEM;
			goto fail;
		}
	}
	qsort(q, r->nquery, sizeof(*q), cmp_query);
	*out = q;
	return 0;
fail:
	s3b_buf_free(&b);
	free_query(q, r->nquery);
	return rc;
}

static bool req_ok(const struct s3b_sigv4_req *r)
{
	return r && is_token(r->method) && r->path && r->path[0] == '/' &&
	       (r->query || r->nquery == 0) && r->headers && r->nheaders > 0 &&
	       is_visible(r->payload_hash, "");
}

int s3b_sigv4_canonical_request(const struct s3b_sigv4_req *r, char **out,
				char **signed_headers)
{
	struct s3b_buf cr = {.max = SIGV4_MAX}, sh = {.max = SIGV4_MAX};
	struct canon_header *h = NULL;
	struct canon_query *q = NULL;
	char *sh_str = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (signed_headers)
		*signed_headers = NULL;
	if (!out || !req_ok(r))
		return EINVAL;
	rc = build_headers(r, &h);
	if (rc)
		goto out;
	rc = build_query(r, &q);
	if (rc)
		goto out;

	/* 1-2: method and path. */
	rc = s3b_buf_puts(&cr, r->method);
	if (!rc)
		rc = s3b_buf_putc(&cr, '\n');
	if (!rc)
		rc = s3b_uri_encode(&cr, r->path, strlen(r->path), true);
	if (!rc)
		rc = s3b_buf_putc(&cr, '\n');
	/* 3: query. */
	for (size_t i = 0; !rc && i < r->nquery; i++) {
		if (i)
			rc = s3b_buf_putc(&cr, '&');
		if (!rc)
			rc = s3b_buf_printf(&cr, "%s=%s", q[i].name, q[i].value);
	}
	if (!rc)
		rc = s3b_buf_putc(&cr, '\n');
	/* 4-5: headers, one line per distinct name, and the signed list. */
	for (size_t i = 0; !rc && i < r->nheaders;) {
		size_t j = i;

		rc = s3b_buf_printf(&cr, "%s:%s", h[i].name, h[i].value);
		while (!rc && ++j < r->nheaders && strcmp(h[j].name, h[i].name) == 0)
			rc = s3b_buf_printf(&cr, ",%s", h[j].value);
		if (!rc)
			rc = s3b_buf_putc(&cr, '\n');
		if (!rc && i)
			rc = s3b_buf_putc(&sh, ';');
		if (!rc)
			rc = s3b_buf_puts(&sh, h[i].name);
		i = j;
	}
	/* 6: payload hash. */
	if (!rc)
		rc = s3b_buf_printf(&cr, "\n%s\n%s", sh.data, r->payload_hash);
	if (rc)
		goto out;

	if (signed_headers) {
		sh_str = s3b_buf_detach(&sh);
		if (!sh_str) {
			rc = ENOMEM;
			goto out;
		}
	}
	*out = s3b_buf_detach(&cr);
	if (!*out) {
		free(sh_str);
		rc = ENOMEM;
		goto out;
	}
	if (signed_headers)
		*signed_headers = sh_str;
out:
	s3b_buf_free(&sh);
	s3b_buf_free(&cr);
	free_query(q, r->nquery);
	free_headers(h, r->nheaders);
	return rc;
}

int s3b_sigv4_string_to_sign(const char *canonical_request,
			     const struct s3b_sigv4_scope *scope, char **out)
{
	struct s3b_buf b = {.max = SIGV4_MAX};
	uint8_t digest[S3B_SHA256_LEN];
	char hex[2 * S3B_SHA256_LEN + 1];
	int rc;

	if (out)
		*out = NULL;
	if (!out || !canonical_request || !scope_ok(scope))
		return EINVAL;
	s3b_sha256(canonical_request, strlen(canonical_request), digest);
	s3b_hex(digest, sizeof(digest), hex);
	rc = s3b_buf_printf(&b, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/" SIGV4_TERMINATOR "\n%s",
			    scope->amz_date, scope->amz_date, scope->region, scope->service, hex);
	if (rc)
		goto fail;
	*out = s3b_buf_detach(&b);
	if (!*out) {
		rc = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	s3b_buf_free(&b);
	return rc;
}

void s3b_sigv4_signing_key(const char *secret_key, const struct s3b_sigv4_scope *scope,
			   uint8_t key[32])
{
	/* "AWS4" + secret.  Longer secrets than this do not exist in practice;
	 * they are still handled, through the heap. */
	char stack_k[4 + 128];
	char *k = stack_k;
	uint8_t k1[S3B_SHA256_LEN], k2[S3B_SHA256_LEN];
	size_t slen;

	memset(key, 0, 32);
	if (!secret_key || !scope_ok(scope))
		return;
	slen = strlen(secret_key);
	if (slen > sizeof(stack_k) - 4) {
		if (slen > SIGV4_MAX)
			return;
		k = malloc(4 + slen);
		if (!k)
			return;
	}
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret_key, slen);

	s3b_hmac_sha256(k, 4 + slen, scope->amz_date, 8, k1);                  /* kDate */
	s3b_hmac_sha256(k1, sizeof(k1), scope->region, strlen(scope->region), k2); /* kRegion */
	s3b_hmac_sha256(k2, sizeof(k2), scope->service, strlen(scope->service), k1); /* kService */
	s3b_hmac_sha256(k1, sizeof(k1), SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), key);

	explicit_bzero(k, 4 + slen);
	if (k != stack_k)
		free(k);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
}

int s3b_sigv4_authorization(const struct s3b_sigv4_req *r, const char *access_key,
			    const uint8_t signing_key[32],
			    const struct s3b_sigv4_scope *scope, char **out)
{
	struct s3b_buf b = {.max = SIGV4_MAX};
	char *creq = NULL, *signed_headers = NULL, *sts = NULL;
	uint8_t mac[S3B_SHA256_LEN];
	char sig[2 * S3B_SHA256_LEN + 1];
	int rc;

	if (out)
		*out = NULL;
	if (!out || !signing_key || !scope_ok(scope) || !is_visible(access_key, "/,"))
		return EINVAL;
	rc = s3b_sigv4_canonical_request(r, &creq, &signed_headers);
	if (rc)
		goto out;
	rc = s3b_sigv4_string_to_sign(creq, scope, &sts);
	if (rc)
		goto out;
	s3b_hmac_sha256(signing_key, 32, sts, strlen(sts), mac);
	s3b_hex(mac, sizeof(mac), sig);
	rc = s3b_buf_printf(&b,
			    SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/" SIGV4_TERMINATOR
					    ", SignedHeaders=%s, Signature=%s",
			    access_key, scope->amz_date, scope->region, scope->service,
			    signed_headers, sig);
	if (rc)
		goto out;
	*out = s3b_buf_detach(&b);
	if (!*out)
		rc = ENOMEM;
out:
	s3b_buf_free(&b);
	free(sts);
	free(signed_headers);
	free(creq);
	return rc;
}
