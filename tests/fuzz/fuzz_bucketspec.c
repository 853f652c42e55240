/*
 * tests/fuzz/fuzz_bucketspec.c — s3b_bucketspec_parse on the input as a
 * NUL-terminated string.
 *
 * On success the result must satisfy the header's promises: NAME a valid
 * single path component, the bucket an S3 name, the prefix "" or
 * "seg/.../" without "//", "." or "..", a known style; and the canonical
 * spelling built back from the fields must parse to the same fields.  On
 * failure *out is zeroed and the reason is one non-empty line.  A failure
 * aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || strchr(s, '/') || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0 || strcmp(s, ".integrity") == 0)
		abort();
}

static void check_bucket(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n ||
	    b[0] == '.' || b[0] == '-' || b[n - 1] == '.' || b[n - 1] == '-' || strstr(b, ".."))
		abort();
}

static void check_prefix(const char *p)
{
	size_t n = strlen(p);

	if (n == 0)
		return;
	if (p[n - 1] != '/' || p[0] == '/' || strstr(p, "//") || strchr(p, '?'))
		abort();
	for (const char *seg = p; *seg; seg = strchr(seg, '/') + 1) {
		size_t len = (size_t)(strchr(seg, '/') - seg);

		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			abort();
	}
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_roundtrip(const struct s3b_bucketspec *s)
{
	size_t cap = strlen(s->name) + strlen(s->bucket) + strlen(s->prefix) +
		     (s->profile ? strlen(s->profile) : 0) +
		     (s->endpoint ? strlen(s->endpoint) : 0) + (s->region ? strlen(s->region) : 0) +
		     128;
	char *arg = malloc(cap), why[256];
	struct s3b_bucketspec t;
	int n;

	if (!arg)
		return;
	n = snprintf(arg, cap, "%s=s3://%s/%s?ro=%d%s%s%s%s%s%s%s", s->name, s->bucket, s->prefix,
		     s->ro ? 1 : 0, s->profile ? "&profile=" : "", s->profile ? s->profile : "",
		     s->endpoint ? "&endpoint=" : "", s->endpoint ? s->endpoint : "",
		     s->region ? "&region=" : "", s->region ? s->region : "",
		     s->style == S3B_STYLE_PATH      ? "&style=path"
		     : s->style == S3B_STYLE_VIRTUAL ? "&style=virtual"
						     : "");
	if (n < 0 || (size_t)n >= cap)
		abort();
	if (s3b_bucketspec_parse(arg, &t, why, sizeof(why)) != 0)
		abort();
	if (!same(t.name, s->name) || !same(t.bucket, s->bucket) || !same(t.prefix, s->prefix) ||
	    !same(t.profile, s->profile) || !same(t.endpoint, s->endpoint) ||
	    !same(t.region, s->region) || t.style != s->style || t.ro != s->ro)
		abort();
	s3b_bucketspec_free(&t);
	free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3b_bucketspec s;
	char why[256];
	char *arg = malloc(size + 1);
	int rc;

	if (!arg)
		return 0;
	if (size)
		memcpy(arg, data, size);
	arg[size] = '\0';
	memset(why, 'x', sizeof(why));
	rc = s3b_bucketspec_parse(arg, &s, why, sizeof(why));
	if (!memchr(why, '\0', sizeof(why)))
		abort();
	if (rc == 0) {
		if (why[0])
			abort();
		check_name(s.name);
		check_bucket(s.bucket);
		check_prefix(s.prefix);
		if (s.style != S3B_STYLE_UNSET && s.style != S3B_STYLE_PATH &&
		    s.style != S3B_STYLE_VIRTUAL)
			abort();
		if ((s.profile && !*s.profile) || (s.endpoint && !*s.endpoint) ||
		    (s.region && !*s.region))
			abort();
		check_roundtrip(&s);
		s3b_bucketspec_free(&s);
	} else {
		if (rc != EINVAL && rc != ENOMEM)
			abort();
		if (!why[0] || strchr(why, '\n'))
			abort();
		if (s.name || s.bucket || s.prefix || s.profile || s.endpoint || s.region ||
		    s.style != S3B_STYLE_UNSET || s.ro)
			abort();
	}
	free(arg);
	return 0;
}
