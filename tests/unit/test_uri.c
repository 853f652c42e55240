/*
 * tests/unit/test_uri.c — s3/uri.c: SigV4 percent-encoding and the strict
 * decoder.  Table-driven; expected values are written out by hand (or, for
 * the all-bytes sweep, derived from the RFC 3986 unreserved list spelled
 * out here, not from the code under test).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "uri.h"

struct enc_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	bool keep_slash;
	const char *want;
};

static const struct enc_case enc_cases[] = {
	{.in = "", .want = ""},
	{.in = "plain", .want = "plain"},
	{.in = "-._~", .want = "-._~"},
	{.in = "a b", .want = "a%20b"},
	{.in = "key with  spaces ", .want = "key%20with%20%20spaces%20"},
	{.in = "a+b", .want = "a%2Bb"},
	{.in = "100%", .want = "100%25"},
	{.in = "%20", .want = "%2520"},
	{.in = "a#b?c&d;e=f", .want = "a%23b%3Fc%26d%3Be%3Df"},
	{.in = "~user's", .want = "~user%27s"},
	{.in = "back\\slash", .want = "back%5Cslash"},
	{.in = "test$file.text", .want = "test%24file.text"},
	{.in = "!*'();:@&=+$,/?#[]", .want = "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D"},
	{.in = "!*'();:@&=+$,/?#[]", .keep_slash = true,
	 .want = "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C/%3F%23%5B%5D"},
	{.in = "\"<>^`{|}", .want = "%22%3C%3E%5E%60%7B%7C%7D"},
	{.in = "tab\there\nnl", .want = "tab%09here%0Anl"},
	{.in = "dir/sub dir/file.txt", .keep_slash = true, .want = "dir/sub%20dir/file.txt"},
	{.in = "dir/sub dir/file.txt", .want = "dir%2Fsub%20dir%2Ffile.txt"},
	{.in = "//a/./b/../c//", .keep_slash = true, .want = "//a/./b/../c//"},
	{.in = "//a/./b/../c//", .want = "%2F%2Fa%2F.%2Fb%2F..%2Fc%2F%2F"},
	{.in = "\xe1\x88\xb4", .want = "%E1%88%B4"},                  /* U+1234 */
	{.in = "caf\xc3\xa9.txt", .want = "caf%C3%A9.txt"},            /* é */
	{.in = "\xf0\x9f\x98\x80 smile", .want = "%F0%9F%98%80%20smile"}, /* emoji */
	{.in = "\xe6\x97\xa5\xe6\x9c\xac/\xe8\xaa\x9e", .keep_slash = true,
	 .want = "%E6%97%A5%E6%9C%AC/%E8%AA%9E"},
	{.in = "\xff\xfe\x80", .want = "%FF%FE%80"},                   /* not UTF-8: bytes */
	{.in = "a\0b", .len = 3, .want = "a%00b"},                     /* length, not NUL */
};

struct dec_case {
	const char *in;
	bool plus_is_space;
	int rc;
	const char *want; /* when rc == 0 */
	size_t want_len;
};

static const struct dec_case dec_cases[] = {
	{.in = "", .want = "", .want_len = 0},
	{.in = "plain", .want = "plain", .want_len = 5},
	{.in = "a%20b", .want = "a b", .want_len = 3},
	{.in = "%E1%88%B4", .want = "\xe1\x88\xb4", .want_len = 3},
	{.in = "%e1%88%b4", .want = "\xe1\x88\xb4", .want_len = 3},
	{.in = "%F0%9F%98%80", .want = "\xf0\x9f\x98\x80", .want_len = 4},
	{.in = "a+b", .want = "a+b", .want_len = 3},
	{.in = "a+b", .plus_is_space = true, .want = "a b", .want_len = 3},
	{.in = "%2B+", .plus_is_space = true, .want = "+ ", .want_len = 2},
	{.in = "%2525", .want = "%25", .want_len = 3},
	{.in = "100%25", .want = "100%", .want_len = 4},
	{.in = "~user's/x", .want = "~user's/x", .want_len = 9},
	{.in = "%", .rc = EINVAL},
	{.in = "%2", .rc = EINVAL},
	{.in = "abc%", .rc = EINVAL},
	{.in = "abc%4", .rc = EINVAL},
	{.in = "%G0", .rc = EINVAL},
	{.in = "%0G", .rc = EINVAL},
	{.in = "%%20", .rc = EINVAL},
	{.in = "% 20", .rc = EINVAL},
	{.in = "%-1", .rc = EINVAL},
	{.in = "%00", .rc = EINVAL},
	{.in = "a%00b", .rc = EINVAL},
};

/* The expected encoding of one byte, from RFC 3986 spelled out here. */
static void expect_byte(unsigned c, bool keep_slash, char out[4])
{
	static const char unreserved[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
	static const char hex[] = "0123456789ABCDEF";

	if ((c != 0 && strchr(unreserved, (int)c)) || (keep_slash && c == '/')) {
		out[0] = (char)c;
		out[1] = '\0';
	} else {
		out[0] = '%';
		out[1] = hex[c >> 4];
		out[2] = hex[c & 15];
		out[3] = '\0';
	}
}

static void test_encode_table(void)
{
	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const struct enc_case *t = &enc_cases[i];
		struct s3b_buf b = S3B_BUF_INIT;
		size_t len = t->len ? t->len : strlen(t->in);

		CHECK_INT(s3b_uri_encode(&b, t->in, len, t->keep_slash), 0);
		CHECK_STR(b.data ? b.data : "", t->want);
		CHECK_INT(b.len, strlen(t->want));
		s3b_buf_free(&b);
	}
}

static void test_every_byte(void)
{
	unsigned bad = 0;

	for (unsigned c = 0; c < 256; c++) {
		for (int ks = 0; ks < 2; ks++) {
			struct s3b_buf b = S3B_BUF_INIT;
			char in = (char)c, want[4];

			expect_byte(c, ks, want);
			if (s3b_uri_encode(&b, &in, 1, ks) != 0 || !b.data ||
			    strcmp(b.data, want) != 0) {
				fprintf(stderr, "byte 0x%02x keep_slash=%d: got [%s] want [%s]\n", c,
					ks, b.data ? b.data : "(null)", want);
				bad++;
			}
			s3b_buf_free(&b);
		}
	}
	CHECK_INT(bad, 0);

	/* All 256 bytes in one string, appended after existing content. */
	char all[256];
	struct s3b_buf b = S3B_BUF_INIT, want = S3B_BUF_INIT;

	for (unsigned c = 0; c < 256; c++) {
		char w[4];

		all[c] = (char)c;
		expect_byte(c, false, w);
		s3b_buf_puts(&want, w);
	}
	s3b_buf_puts(&b, "prefix:");
	CHECK_INT(s3b_uri_encode(&b, all, sizeof(all), false), 0);
	CHECK(b.len == 7 + want.len && memcmp(b.data, "prefix:", 7) == 0 &&
	      strcmp(b.data + 7, want.data) == 0);
	s3b_buf_free(&b);
	s3b_buf_free(&want);
}

static void test_decode_table(void)
{
	for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *t = &dec_cases[i];
		char *out = (char *)"untouched";
		size_t outlen = 99;
		int rc = s3b_uri_decode(t->in, strlen(t->in), t->plus_is_space, &out, &outlen);

		CHECK_INT(rc, t->rc);
		if (rc) {
			if (rc != t->rc)
				fprintf(stderr, "  decode case [%s]\n", t->in);
			CHECK(out == NULL);
			continue;
		}
		CHECK_INT(outlen, t->want_len);
		CHECK(out && memcmp(out, t->want, t->want_len + 1) == 0);
		free(out);
	}
	/* A raw NUL inside the input is refused too. */
	char *out = NULL;

	CHECK_INT(s3b_uri_decode("a\0b", 3, false, &out, NULL), EINVAL);
	CHECK(out == NULL);
	/* Length, not NUL, bounds the input: "%41" cut after two bytes. */
	CHECK_INT(s3b_uri_decode("%41", 2, false, &out, NULL), EINVAL);
	CHECK_INT(s3b_uri_decode("%41zz", 3, false, &out, NULL), 0);
	CHECK_STR(out, "A");
	free(out);
}

static void round_trip(const char *in, size_t len, const char *label)
{
	for (int ks = 0; ks < 2; ks++) {
		struct s3b_buf b = S3B_BUF_INIT;
		char *dec = NULL;
		size_t declen = 0;
		bool ok = s3b_uri_encode(&b, in, len, ks) == 0 &&
			  s3b_uri_decode(b.data ? b.data : "", b.len, false, &dec, &declen) == 0 &&
			  declen == len && memcmp(dec, in, len) == 0;

		if (!ok)
			fprintf(stderr, "round trip failed: %s keep_slash=%d\n", label, ks);
		CHECK(ok);
		/* With plus_is_space too: an encoder never emits a bare '+'. */
		free(dec);
		dec = NULL;
		ok = s3b_uri_decode(b.data ? b.data : "", b.len, true, &dec, &declen) == 0 &&
		     declen == len && memcmp(dec, in, len) == 0;
		CHECK(ok);
		free(dec);
		s3b_buf_free(&b);
	}
}

static void test_round_trip(void)
{
	char all[255];

	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		if (enc_cases[i].len) /* has a NUL: cannot decode back, by design */
			continue;
		round_trip(enc_cases[i].in, strlen(enc_cases[i].in), enc_cases[i].in);
	}
	for (unsigned c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	round_trip(all, sizeof(all), "bytes 1..255");
}

static void test_errors(void)
{
	struct s3b_buf b = {.max = 8};
	char *out = NULL;
	size_t n = 5;

	CHECK_INT(s3b_uri_encode(NULL, "a", 1, false), EINVAL);
	CHECK_INT(s3b_uri_encode(&b, NULL, 1, false), EINVAL);
	CHECK_INT(s3b_uri_encode(&b, NULL, 0, false), 0);
	/* Over the buffer's maximum: refused, buffer unchanged. */
	CHECK_INT(s3b_uri_encode(&b, "abc", 3, false), 0);
	CHECK_INT(s3b_uri_encode(&b, "  ", 2, false), EFBIG);
	CHECK_STR(b.data, "abc");
	CHECK_INT(b.len, 3);
	CHECK_INT(s3b_uri_encode(&b, " ", 1, false), 0);
	CHECK_STR(b.data, "abc%20");
	s3b_buf_free(&b);

	CHECK_INT(s3b_uri_decode(NULL, 1, false, &out, &n), EINVAL);
	CHECK_INT(s3b_uri_decode("a", 1, false, NULL, &n), EINVAL);
	CHECK_INT(s3b_uri_decode(NULL, 0, false, &out, &n), 0);
	CHECK_STR(out, "");
	CHECK_INT(n, 0);
	free(out);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_encode_table();
	test_every_byte();
	test_decode_table();
	test_round_trip();
	test_errors();
	return check_report();
}
