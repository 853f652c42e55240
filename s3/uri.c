/*
 * s3/uri.c — percent-encoding for SigV4 and S3 (see uri.h).
 *
 * What it is for: the one URI encoder the signer and the request builder
 * share (so that what is signed is what is sent), and a strict decoder for
 * keys that come back URL-encoded (ListObjects with encoding-type=url).
 * What it does not do: no URL parsing, no path normalisation, no UTF-8
 * validation (S3 keys are bytes; every byte outside the unreserved set is
 * escaped as it is).
 */
#include "uri.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~ (locale-independent on purpose). */
static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int s3b_uri_encode(struct s3b_buf *out, const char *in, size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = 0;
	char *p;
	int rc;

	if (!out || (!in && len))
		return EINVAL;
	if (len > SIZE_MAX / 3)
		return EFBIG;
	/* Measure first so that the buffer is grown once and a failure leaves
	 * it untouched. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		need += (is_unreserved(c) || (keep_slash && c == '/')) ? 1 : 3;
	}
	rc = s3b_buf_reserve(out, need);
	if (rc)
		return rc;
	p = out->data + out->len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0x0f];
		}
	}
	out->len += need;
	out->data[out->len] = '\0';
	return 0;
}

int s3b_uri_decode(const char *in, size_t len, bool plus_is_space, char **out, size_t *outlen)
{
	char *res, *p;

	if (!out || (!in && len))
		return EINVAL;
	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (len == SIZE_MAX)
		return EINVAL;
	res = malloc(len + 1);
	if (!res)
		return ENOMEM;
	p = res;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				goto bad;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			*p++ = ' ';
		} else if (c == '\0') {
			goto bad;
		} else {
			*p++ = (char)c;
		}
	}
	*p = '\0';
	*out = res;
	if (outlen)
		*outlen = (size_t)(p - res);
	return 0;
bad:
	free(res);
	return EINVAL;
}
