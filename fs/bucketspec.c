/*
 * fs/bucketspec.c — the BUCKET argument of `s3bridge mount` (see
 * bucketspec.h).
 *
 * What it is for: turning "[NAME=]s3://bucket[/prefix][?key=value&...]"
 * into plain data, or refusing it with a one-line reason that names the
 * part that is wrong.  Pure: no I/O, no globals, no environment.
 *
 * What it does not do: no percent-decoding (values are taken as typed), no
 * validation of endpoint URLs or region names (s3/config.c does that when
 * it resolves the bucket's configuration, for every source alike), no check
 * that two buckets have different NAMEs (the caller sees all of them).
 *
 * Decisions:
 *  1. NAME is everything before the first "=s3://"; without one the
 *     argument must start with "s3://" (lower case).  So a NAME may itself
 *     contain '=' ("a=b=s3://x" mounts s3://x as "a=b").
 *  2. The query starts at the first '?' and is split at every '&'; a value
 *     runs to the next '&'.  An endpoint URL that itself needs '&' (or a
 *     query of its own) cannot be given here; use --endpoint or
 *     AWS_ENDPOINT_URL.  Empty pairs ("?&ro=1", a trailing '&', a bare
 *     '?') are refused rather than skipped, as they are usually typos.
 *  3. Bucket names follow today's S3 rules strictly: 3-63 characters of
 *     a-z 0-9 '.' '-', starting and ending with a letter or digit, no "..",
 *     not shaped like an IPv4 address.  Legacy us-east-1 names with upper
 *     case or '_' are refused: AWS stopped creating them in 2018, they only
 *     work path-style, and the header fixes the character set.  AWS's
 *     reserved prefixes/suffixes ("xn--", "-s3alias", ...) are not checked:
 *     they are creation rules that other S3 servers do not share.
 *  4. The prefix is stored with exactly one trailing '/': "s3://b/p" and
 *     "s3://b/p/" both give "p/"; "s3://b/" gives "".  Empty, "." and ".."
 *     segments are refused (they would not map onto a path), as is a prefix
 *     longer than an S3 key (1024 bytes).
 */
#include "bucketspec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 255
#define PREFIX_MAX_BYTES 1024
/* How much of an offending piece a reason quotes. */
#define QUOTE_MAX 80

/* Format a reason into why (which may be NULL or 0-sized). */
static void set_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	/* one line, whatever the user typed: control characters become '?' */
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static bool is_lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* NULL when b[0..n) is a valid bucket name, else the reason. */
static const char *bucket_problem(const char *b, size_t n)
{
	size_t dots = 0;
	bool digits_and_dots = true;

	if (n < 3 || n > 63)
		return "must be 3 to 63 characters long";
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_or_digit(b[i]) && b[i] != '.' && b[i] != '-')
			return "may contain only lowercase letters, digits, '.' and '-'";
		if (b[i] == '.') {
			dots++;
			if (i + 1 < n && b[i + 1] == '.')
				return "must not contain '..'";
		} else if (b[i] < '0' || b[i] > '9') {
			digits_and_dots = false;
		}
	}
	if (!is_lower_or_digit(b[0]) || !is_lower_or_digit(b[n - 1]))
		return "must start and end with a lowercase letter or digit";
	if (digits_and_dots && dots == 3)
		return "must not be formatted as an IP address";
	return NULL;
}

/* NULL when s[0..n) is a valid single path component for NAME. */
static const char *name_problem(const char *s, size_t n)
{
	if (n == 0)
		return "is empty";
	if (n > NAME_MAX_BYTES)
		return "is longer than 255 bytes";
	if (memchr(s, '/', n))
		return "must not contain '/'";
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return "is not a usable directory name";
	if (n == 10 && memcmp(s, ".integrity", 10) == 0)
		return "is reserved for the journal directory";
	return NULL;
}

/* p[0..n) is the text after "s3://bucket/" (up to '?').  Sets *out to ""
 * or "seg/seg/".  0, EINVAL with a reason, ENOMEM. */
static int parse_prefix(const char *p, size_t n, char **out, char *why, size_t whylen)
{
	size_t body = n, start = 0;

	if (n > 0 && p[n - 1] == '/')
		body = n - 1; /* one trailing '/' is the usual spelling */
	if (body > PREFIX_MAX_BYTES) {
		set_why(why, whylen, "prefix is longer than %d bytes", PREFIX_MAX_BYTES);
		return EINVAL;
	}
	if (n > 0) {
		for (size_t i = 0; i <= body; i++) {
			size_t seg;

			if (i < body && p[i] != '/')
				continue;
			seg = i - start;
			if (seg == 0) {
				set_why(why, whylen, "prefix '%.*s' contains an empty segment ('//')",
					QUOTE_MAX, p);
				return EINVAL;
			}
			if ((seg == 1 && p[start] == '.') ||
			    (seg == 2 && p[start] == '.' && p[start + 1] == '.')) {
				set_why(why, whylen,
					"prefix '%.*s' contains a '.' or '..' segment", QUOTE_MAX,
					p);
				return EINVAL;
			}
			start = i + 1;
		}
	}
	*out = malloc(body + 2);
	if (!*out)
		return ENOMEM;
	memcpy(*out, p, body);
	if (body > 0)
		(*out)[body++] = '/';
	(*out)[body] = '\0';
	return 0;
}

enum opt { OPT_PROFILE, OPT_ENDPOINT, OPT_REGION, OPT_STYLE, OPT_RO, OPT_COUNT };

static const char *const opt_names[OPT_COUNT] = {
	[OPT_PROFILE] = "profile", [OPT_ENDPOINT] = "endpoint", [OPT_REGION] = "region",
	[OPT_STYLE] = "style",     [OPT_RO] = "ro",
};

static bool value_is(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(v, word, n) == 0;
}

/* One "key=value" pair, item[0..n).  0, EINVAL with a reason, ENOMEM. */
static int parse_option(const char *item, size_t n, struct s3b_bucketspec *out, bool seen[],
			char *why, size_t whylen)
{
	const char *eq = memchr(item, '=', n), *v;
	size_t klen, vlen;
	int o;
	char **slot = NULL;

	if (n == 0) {
		set_why(why, whylen, "empty option in the query (stray '?' or '&')");
		return EINVAL;
	}
	if (!eq) {
		set_why(why, whylen, "option '%.*s' has no value (expected key=value)",
			(int)(n < QUOTE_MAX ? n : QUOTE_MAX), item);
		return EINVAL;
	}
	klen = (size_t)(eq - item);
	v = eq + 1;
	vlen = n - klen - 1;
	for (o = 0; o < OPT_COUNT; o++)
		if (value_is(item, klen, opt_names[o]))
			break;
	if (o == OPT_COUNT) {
		set_why(why, whylen,
			"unknown option '%.*s' (known: profile, endpoint, region, style, ro)",
			(int)(klen < QUOTE_MAX ? klen : QUOTE_MAX), item);
		return EINVAL;
	}
	if (seen[o]) {
		set_why(why, whylen, "option '%s' is given twice", opt_names[o]);
		return EINVAL;
	}
	seen[o] = true;
	switch (o) {
	case OPT_PROFILE:
		slot = &out->profile;
		break;
	case OPT_ENDPOINT:
		slot = &out->endpoint;
		break;
	case OPT_REGION:
		slot = &out->region;
		break;
	case OPT_STYLE:
		if (value_is(v, vlen, "path")) {
			out->style = S3B_STYLE_PATH;
		} else if (value_is(v, vlen, "virtual")) {
			out->style = S3B_STYLE_VIRTUAL;
		} else {
			set_why(why, whylen, "style must be path or virtual, not '%.*s'",
				(int)(vlen < QUOTE_MAX ? vlen : QUOTE_MAX), v);
			return EINVAL;
		}
		return 0;
	case OPT_RO:
		if (value_is(v, vlen, "1") || value_is(v, vlen, "true")) {
			out->ro = true;
		} else if (value_is(v, vlen, "0") || value_is(v, vlen, "false")) {
			out->ro = false;
		} else {
			set_why(why, whylen, "ro must be 1, 0, true or false, not '%.*s'",
				(int)(vlen < QUOTE_MAX ? vlen : QUOTE_MAX), v);
			return EINVAL;
		}
		return 0;
	}
	if (vlen == 0) {
		set_why(why, whylen, "option '%s' has an empty value", opt_names[o]);
		return EINVAL;
	}
	*slot = strndup(v, vlen);
	return *slot ? 0 : ENOMEM;
}

int s3b_bucketspec_parse(const char *arg, struct s3b_bucketspec *out, char *why, size_t whylen)
{
	static const char scheme[] = "s3://";
	const char *s, *bucket, *p, *q, *problem;
	size_t namelen = 0, blen;
	bool seen[OPT_COUNT] = { false };
	int rc = EINVAL;

	*out = (struct s3b_bucketspec){ .style = S3B_STYLE_UNSET };
	set_why(why, whylen, "%s", "");

	if (strncmp(arg, scheme, 5) == 0) {
		s = arg;
	} else {
		const char *m = strstr(arg, "=s3://");

		if (!m) {
			set_why(why, whylen,
				"'%.*s' is not [NAME=]s3://bucket[/prefix][?key=value&...] "
				"(missing s3://)",
				QUOTE_MAX, arg);
			goto fail;
		}
		namelen = (size_t)(m - arg);
		problem = name_problem(arg, namelen);
		if (problem) {
			set_why(why, whylen, "NAME '%.*s' %s",
				(int)(namelen < QUOTE_MAX ? namelen : QUOTE_MAX), arg, problem);
			goto fail;
		}
		s = m + 1;
	}

	bucket = s + 5;
	blen = strcspn(bucket, "/?");
	if (blen == 0) {
		set_why(why, whylen, "empty bucket name after s3://");
		goto fail;
	}
	problem = bucket_problem(bucket, blen);
	if (problem) {
		set_why(why, whylen, "bucket name '%.*s' %s",
			(int)(blen < QUOTE_MAX ? blen : QUOTE_MAX), bucket, problem);
		goto fail;
	}

	p = bucket + blen;
	q = strchr(p, '?');
	if (!q)
		q = p + strlen(p);
	rc = parse_prefix(*p == '/' ? p + 1 : p, *p == '/' ? (size_t)(q - p - 1) : 0,
			  &out->prefix, why, whylen);
	if (rc)
		goto fail;

	if (*q == '?') {
		const char *item = q + 1;

		for (;;) {
			size_t n = strcspn(item, "&");

			rc = parse_option(item, n, out, seen, why, whylen);
			if (rc)
				goto fail;
			if (item[n] != '&')
				break;
			item += n + 1;
		}
	}

	rc = ENOMEM;
	out->bucket = strndup(bucket, blen);
	out->name = namelen ? strndup(arg, namelen) : strndup(bucket, blen);
	if (!out->bucket || !out->name)
		goto fail;
	return 0;

fail:
	if (rc == ENOMEM)
		set_why(why, whylen, "out of memory");
	s3b_bucketspec_free(out);
	return rc;
}

void s3b_bucketspec_free(struct s3b_bucketspec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->bucket);
	free(s->prefix);
	free(s->profile);
	free(s->endpoint);
	free(s->region);
	*s = (struct s3b_bucketspec){ .style = S3B_STYLE_UNSET };
}
