/*
 * verify/base.c — hex and base64, the two text forms S3 gives digests.
 *
 * What it is for: Content-MD5 and x-amz-checksum-* headers (base64), ETags
 * and SigV4 (lower-case hex).  Decoders are strict: they accept exactly one
 * spelling of each value (any hex case aside) so that two texts compare
 * equal exactly when their bytes do.
 *
 * What it does not do: no URL-safe base64, no line breaks or whitespace, no
 * allocation: callers size the output (see hash.h).
 */
#include "hash.h"

#include <errno.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";
static const char b64dig[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a hex digit, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Value of a base64 digit, or -1 (including for '='). */
static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void s3b_hex(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* Reads exactly 2*len characters (stopping early only at a non-digit, which
 * includes the terminating NUL) and does not look at what follows them.  On
 * EINVAL, out is untouched. */
int s3b_unhex(const char *in, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < 2 * len; i++)
		if (hexval(in[i]) < 0)
			return EINVAL;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(hexval(in[2 * i]) << 4 | hexval(in[2 * i + 1]));
	return 0;
}

void s3b_base64(const uint8_t *in, size_t len, char *out)
{
	size_t i = 0;
	char *o = out;

	for (; len - i >= 3; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = b64dig[v >> 18];
		*o++ = b64dig[(v >> 12) & 63];
		*o++ = b64dig[(v >> 6) & 63];
		*o++ = b64dig[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*o++ = b64dig[v >> 18];
		*o++ = b64dig[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*o++ = b64dig[v >> 18];
		*o++ = b64dig[(v >> 12) & 63];
		*o++ = b64dig[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
}

/*
 * Strict: the length is a multiple of 4; '=' appears only as the last one
 * or two characters of the text; the bits that padding discards are zero
 * (so "QQ==" is accepted and "QR==" is not).  The whole text is validated
 * before anything is written, and nothing is written when the decoded size
 * exceeds outcap.  *outlen is set only on success.
 */
int s3b_unbase64(const char *in, uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t n = strlen(in), pad = 0, need, o = 0;

	if (n % 4 != 0)
		return EINVAL;
	if (n > 0 && in[n - 1] == '=')
		pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (b64val(in[i]) < 0)
			return EINVAL;
	if (pad == 2 && (b64val(in[n - 3]) & 0x0f) != 0)
		return EINVAL;
	if (pad == 1 && (b64val(in[n - 2]) & 0x03) != 0)
		return EINVAL;
	need = n / 4 * 3 - pad;
	if (need > outcap)
		return EINVAL;

	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = (uint32_t)b64val(in[i]) << 18 | (uint32_t)b64val(in[i + 1]) << 12;

		if (i + 4 == n && pad == 2) {
			out[o++] = (uint8_t)(v >> 16);
			break;
		}
		v |= (uint32_t)b64val(in[i + 2]) << 6;
		if (i + 4 == n && pad == 1) {
			out[o++] = (uint8_t)(v >> 16);
			out[o++] = (uint8_t)(v >> 8);
			break;
		}
		v |= (uint32_t)b64val(in[i + 3]);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return 0;
}

void s3b_crc32_b64(uint32_t crc, char out[9])
{
	uint8_t be[4];

	for (int i = 0; i < 4; i++)
		be[i] = (uint8_t)(crc >> (24 - 8 * i));
	s3b_base64(be, sizeof(be), out);
}

void s3b_crc64_b64(uint64_t crc, char out[13])
{
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(crc >> (56 - 8 * i));
	s3b_base64(be, sizeof(be), out);
}
