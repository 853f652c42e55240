/*
 * verify/etag.c — building the ETag we expect and judging the one we got.
 *
 * What it is for: after an upload, turning "the server said this ETag" into
 * one of three verdicts (etag.h): proven equal, proven different, or not
 * comparable.  The expected value depends on how the object was uploaded
 * (single PUT or multipart with N parts) and on the server's multipart
 * style, both of which the caller knows before the upload; nothing here
 * guesses the style from the answer.
 *
 * What it does not do: no I/O, no hashing of object bytes (hash.c does
 * that), no knowledge of servers by name.
 */
#include "etag.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

/* S3 allows at most this many parts. */
#define S3B_ETAG_MAX_PARTS 10000u

/*
 * The parse rules: one pair of surrounding double quotes is dropped if
 * present; then 32 hex digits of either case are an MD5, and 32 hex digits,
 * '-' and a decimal N in 1..10000 without leading zeros are MULTIPART.
 * Everything else (weak "W/" tags, whitespace, other lengths) is OPAQUE.
 */
void s3b_etag_parse(const char *text, struct s3b_etag *out)
{
	size_t len, hexlen = 2 * S3B_MD5_LEN;
	unsigned n = 0;

	*out = (struct s3b_etag){ .kind = S3B_ETAG_OPAQUE };
	if (text == NULL)
		return;
	len = strlen(text);
	if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
		text++;
		len -= 2;
	}
	if (len < hexlen || s3b_unhex(text, out->md5, S3B_MD5_LEN) != 0)
		goto opaque;
	if (len == hexlen) {
		out->kind = S3B_ETAG_MD5;
		return;
	}
	/* "-N": at most 5 digits, first one not '0'. */
	if (text[hexlen] != '-' || len < hexlen + 2 || len > hexlen + 6 || text[hexlen + 1] == '0')
		goto opaque;
	for (size_t i = hexlen + 1; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			goto opaque;
		n = n * 10 + (unsigned)(text[i] - '0');
	}
	if (n > S3B_ETAG_MAX_PARTS)
		goto opaque;
	out->kind = S3B_ETAG_MULTIPART;
	out->parts = n;
	return;

opaque:
	*out = (struct s3b_etag){ .kind = S3B_ETAG_OPAQUE };
}

int s3b_etag_builder_init(struct s3b_etag_builder *b)
{
	*b = (struct s3b_etag_builder){ .ctx = EVP_MD_CTX_new() };
	if (b->ctx == NULL)
		return ENOMEM;
	if (EVP_DigestInit_ex2(b->ctx, EVP_md5(), NULL) != 1) {
		s3b_etag_builder_dispose(b);
		return ENOMEM;
	}
	return 0;
}

/* Without a context (init failed, or after final) this does nothing, and
 * final will then produce the empty text, which matches no ETag. */
void s3b_etag_builder_add(struct s3b_etag_builder *b, const uint8_t part_md5[S3B_MD5_LEN])
{
	if (b->ctx == NULL)
		return;
	if (EVP_DigestUpdate(b->ctx, part_md5, S3B_MD5_LEN) != 1) {
		s3b_etag_builder_dispose(b);
		return;
	}
	b->parts++;
}

/* With no parts added the result is the empty text: a multipart upload has
 * at least one part, and "" matches no ETag. */
void s3b_etag_builder_final(struct s3b_etag_builder *b, char out[S3B_ETAG_MAX])
{
	uint8_t md5[S3B_MD5_LEN];
	char num[12];
	size_t i;
	unsigned n = b->parts;

	out[0] = '\0';
	if (b->ctx == NULL || n == 0 || EVP_DigestFinal_ex(b->ctx, md5, NULL) != 1)
		goto done;
	s3b_hex(md5, sizeof(md5), out);
	/* Append '-' and n in decimal (at most 10 digits for an unsigned). */
	i = sizeof(num);
	num[--i] = '\0';
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	num[--i] = '-';
	memcpy(out + 2 * S3B_MD5_LEN, num + i, sizeof(num) - i);

done:
	s3b_etag_builder_dispose(b);
}

void s3b_etag_builder_dispose(struct s3b_etag_builder *b)
{
	EVP_MD_CTX_free(b->ctx);
	b->ctx = NULL;
}

void s3b_etag_from_md5(const uint8_t md5[S3B_MD5_LEN], char out[S3B_ETAG_MAX])
{
	s3b_hex(md5, S3B_MD5_LEN, out);
}

/* The expected MD5 form against a parsed server ETag. */
static enum s3b_etag_verdict expect_md5(const struct s3b_etag *got, const uint8_t *md5)
{
	if (md5 == NULL)
		return S3B_ETAG_UNCOMPARABLE;
	if (got->kind == S3B_ETAG_MD5 && memcmp(got->md5, md5, S3B_MD5_LEN) == 0)
		return S3B_ETAG_MATCH;
	return S3B_ETAG_MISMATCH;
}

/*
 * The rules, after parsing the server's text:
 *   1. OPAQUE: UNCOMPARABLE, whatever we expected.
 *   2. parts == 0 (single PUT): MATCH iff it is the plain MD5 of the body.
 *   3. parts >= 1, WHOLE_MD5 style: MATCH iff it is the plain MD5 of the
 *      whole stream.
 *   4. parts >= 1, COMPOSITE style: MATCH iff it is "md5-N" equal to our
 *      composite (digest and N; hex case and quotes do not matter).
 *   In 2-4 any other well-formed ETag, including the form of the other
 *   style, is MISMATCH: the style is known before the upload and is never
 *   guessed from the answer.  When the value a rule needs was not supplied
 *   (NULL whole_md5, or a composite that is NULL or not "md5-N"), the
 *   verdict is UNCOMPARABLE: nothing was proven.  So is a composite whose
 *   N is not parts (the caller's two values disagree).
 */
enum s3b_etag_verdict s3b_etag_check(const char *server_etag, unsigned parts,
				     enum s3b_multipart_etag style,
				     const uint8_t whole_md5[S3B_MD5_LEN],
				     const char *composite)
{
	struct s3b_etag got, want;

	s3b_etag_parse(server_etag, &got);
	if (got.kind == S3B_ETAG_OPAQUE)
		return S3B_ETAG_UNCOMPARABLE;
	if (parts == 0 || style == S3B_METAG_WHOLE_MD5)
		return expect_md5(&got, whole_md5);

	s3b_etag_parse(composite, &want);
	if (want.kind != S3B_ETAG_MULTIPART || want.parts != parts)
		return S3B_ETAG_UNCOMPARABLE;
	if (got.kind == S3B_ETAG_MULTIPART && got.parts == want.parts &&
	    memcmp(got.md5, want.md5, S3B_MD5_LEN) == 0)
		return S3B_ETAG_MATCH;
	return S3B_ETAG_MISMATCH;
}
