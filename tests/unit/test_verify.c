/*
 * tests/unit/test_verify.c — unit tests of verify/ (hash.h, etag.h).
 *
 * What it covers: every vector of testdata/checksums.json as it is (CRC32,
 * CRC32C, CRC64/NVME with their S3 base64 forms, MD5, SHA-256, multipart
 * ETags), through both the dispatching (ISA-L) and the portable CRCs and
 * through the multi-hasher; published answers from the RFCs (MD5, SHA-256,
 * HMAC-SHA256, base64) written here; CRC chaining at every split point;
 * ISA-L against the portable tables on random data; the multi-hasher
 * against the one-shot functions on 10 MiB fed in odd-sized chunks; strict
 * decoding; ETag parsing and every verdict rule.
 *
 * Usage: test_verify TESTDATA_DIR [--bench]
 * With --bench it also prints single-core throughput on a 256 MiB buffer
 * (thread CPU time, best of three; not a pass/fail check: timings do not
 * belong in ctest).
 */
#include "check.h"
#include "json_mini.h"

#include "etag.h"
#include "hash.h"
#include "hash_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers -------------------------------------------------------------- */

/* Pinned pseudo-random source (xorshift64*): same bytes on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void rng_fill(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rng_next();
		size_t n = len - i < 8 ? len - i : 8;

		memcpy(buf + i, &v, n);
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void hex32(uint32_t v, char out[9])
{
	snprintf(out, 9, "%08" PRIx32, v);
}

static void hex64(uint64_t v, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, v);
}

/* Parse a whole unsigned number in [0, max] from s; *end after it. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out,
		      const char **end)
{
	char *e;

	if (*s < '0' || *s > '9')
		return EINVAL;
	errno = 0;
	*out = strtoull(s, &e, 0);
	if (errno != 0 || *out > max)
		return EINVAL;
	*end = e;
	return 0;
}

/*
 * Decode a vector's "input" description into bytes (caller frees *buf).
 * The forms found in checksums.json:
 *   "empty"
 *   "ascii:TEXT"
 *   "N x 0xHH", optionally followed by " (comment)"
 *   "bytes 0xAA..0xBB ascending" / "bytes 0xAA..0xBB descending"
 * plus "hex:HEX" for vectors given as hex.  Anything else is EINVAL so that
 * a new form in the file fails the test instead of being skipped.
 */
static int decode_input(const char *desc, uint8_t **buf, size_t *len)
{
	unsigned long long n, a, b;
	const char *p;

	*buf = NULL;
	*len = 0;
	if (strcmp(desc, "empty") == 0) {
		*buf = xmalloc(0);
		return 0;
	}
	if (strncmp(desc, "ascii:", 6) == 0) {
		*len = strlen(desc + 6);
		*buf = xmalloc(*len);
		memcpy(*buf, desc + 6, *len);
		return 0;
	}
	if (strncmp(desc, "hex:", 4) == 0) {
		size_t hl = strlen(desc + 4);

		if (hl % 2 != 0)
			return EINVAL;
		*len = hl / 2;
		*buf = xmalloc(*len);
		if (s3b_unhex(desc + 4, *buf, *len) != 0)
			goto bad;
		return 0;
	}
	if (strncmp(desc, "bytes ", 6) == 0) {
		if (parse_uint(desc + 6, 255, &a, &p) != 0 || strncmp(p, "..", 2) != 0 ||
		    parse_uint(p + 2, 255, &b, &p) != 0)
			return EINVAL;
		if (strcmp(p, " ascending") == 0 && a <= b) {
			*len = (size_t)(b - a + 1);
			*buf = xmalloc(*len);
			for (size_t i = 0; i < *len; i++)
				(*buf)[i] = (uint8_t)(a + i);
			return 0;
		}
		if (strcmp(p, " descending") == 0 && a >= b) {
			*len = (size_t)(a - b + 1);
			*buf = xmalloc(*len);
			for (size_t i = 0; i < *len; i++)
				(*buf)[i] = (uint8_t)(a - i);
			return 0;
		}
		return EINVAL;
	}
	if (parse_uint(desc, 1ull << 32, &n, &p) == 0 && strncmp(p, " x ", 3) == 0 &&
	    parse_uint(p + 3, 255, &b, &p) == 0 && (*p == '\0' || strncmp(p, " (", 2) == 0)) {
		if (*p != '\0' && p[strlen(p) - 1] != ')')
			return EINVAL;
		*len = (size_t)n;
		*buf = xmalloc(*len);
		memset(*buf, (int)b, *len);
		return 0;
	}
	return EINVAL;
bad:
	free(*buf);
	*buf = NULL;
	*len = 0;
	return EINVAL;
}

/* CRCs in three uneven pieces, to exercise chaining on every vector. */
static uint32_t crc32_in3(uint32_t (*fn)(uint32_t, const void *, size_t), const uint8_t *p,
			  size_t len)
{
	size_t a = len / 3, b = len - len / 7;
	uint32_t c = fn(0, p, a);

	c = fn(c, p + a, b - a);
	return fn(c, p + b, len - b);
}

static uint64_t crc64_in3(uint64_t (*fn)(uint64_t, const void *, size_t), const uint8_t *p,
			  size_t len)
{
	size_t a = len / 3, b = len - len / 7;
	uint64_t c = fn(0, p, a);

	c = fn(c, p + a, b - a);
	return fn(c, p + b, len - b);
}

/* ---- checksums.json -------------------------------------------------------- */

struct vec_counts {
	unsigned vectors, crc32, crc32c, crc64nvme, md5, sha256, b64, etags;
};

/* Check one 32-bit CRC entry ({"hex", "s3_base64"}) of a vector. */
static void check_crc32_entry(const struct jm_value *e,
			      uint32_t (*fast)(uint32_t, const void *, size_t),
			      uint32_t (*portable)(uint32_t, const void *, size_t),
			      const uint8_t *buf, size_t len)
{
	const char *want_hex = jm_get_str(e, "hex"), *want_b64 = jm_get_str(e, "s3_base64");
	char got[17], b64[13];
	uint32_t c = fast(0, buf, len);

	CHECK(want_hex != NULL && want_b64 != NULL);
	hex32(c, got);
	CHECK_STR(got, want_hex);
	hex32(portable(0, buf, len), got);
	CHECK_STR(got, want_hex);
	hex32(crc32_in3(fast, buf, len), got);
	CHECK_STR(got, want_hex);
	hex32(crc32_in3(portable, buf, len), got);
	CHECK_STR(got, want_hex);
	s3b_crc32_b64(c, b64);
	CHECK_STR(b64, want_b64);
}

static void check_crc64_entry(const struct jm_value *e, const uint8_t *buf, size_t len)
{
	const char *want_hex = jm_get_str(e, "hex"), *want_b64 = jm_get_str(e, "s3_base64");
	char got[17], b64[13];
	uint64_t c = s3b_crc64nvme_update(0, buf, len);

	CHECK(want_hex != NULL && want_b64 != NULL);
	hex64(c, got);
	CHECK_STR(got, want_hex);
	hex64(s3b_crc64nvme_update_portable(0, buf, len), got);
	CHECK_STR(got, want_hex);
	hex64(crc64_in3(s3b_crc64nvme_update, buf, len), got);
	CHECK_STR(got, want_hex);
	s3b_crc64_b64(c, b64);
	CHECK_STR(b64, want_b64);
}

/* Every "*_base64" member of a vector decodes strictly and re-encodes to
 * the same text (this covers forms we have no hash for, like sha1). */
static void check_b64_members(const struct jm_value *v, struct vec_counts *cnt)
{
	for (size_t i = 0; i < v->len; i++) {
		size_t kl = strlen(v->keys[i]), n = 0;
		const char *text = v->items[i].str;
		uint8_t bin[64];
		char back[89];

		if (kl < 7 || strcmp(v->keys[i] + kl - 7, "_base64") != 0 ||
		    v->items[i].type != JM_STR)
			continue;
		CHECK_INT(s3b_unbase64(text, bin, sizeof(bin), &n), 0);
		CHECK_INT(n, strlen(text) / 4 * 3 - (text[strlen(text) - 1] == '=') -
				     (text[strlen(text) - 2] == '='));
		s3b_base64(bin, n, back);
		CHECK_STR(back, text);
		cnt->b64++;
	}
}

static void check_vector(const struct jm_value *v, struct vec_counts *cnt)
{
	const char *desc = jm_get_str(v, "input"), *ascii = jm_get_str(v, "input_ascii");
	const char *md5_hex = jm_get_str(v, "md5_hex"), *sha_hex = jm_get_str(v, "sha256_hex");
	const char *sha_b64 = jm_get_str(v, "sha256_base64");
	const struct jm_value *e, *length = jm_get(v, "length");
	unsigned failed_before = check_failed;
	uint8_t *buf = NULL, md5[S3B_MD5_LEN], sha[S3B_SHA256_LEN];
	char text[2 * S3B_SHA256_LEN + 1];
	size_t len = 0;

	CHECK(desc != NULL);
	if (desc == NULL)
		return;
	CHECK_INT(decode_input(desc, &buf, &len), 0);
	if (buf == NULL)
		goto out;
	cnt->vectors++;
	CHECK(length != NULL && length->type == JM_NUM);
	if (length)
		CHECK_INT(len, (long long)length->num);
	if (ascii) {
		CHECK_INT(strlen(ascii), len);
		CHECK(memcmp(ascii, buf, len) == 0);
	}

	if ((e = jm_get(v, "crc32")) != NULL) {
		check_crc32_entry(e, s3b_crc32_update, s3b_crc32_update_portable, buf, len);
		cnt->crc32++;
	}
	if ((e = jm_get(v, "crc32c")) != NULL) {
		check_crc32_entry(e, s3b_crc32c_update, s3b_crc32c_update_portable, buf, len);
		cnt->crc32c++;
	}
	if ((e = jm_get(v, "crc64nvme")) != NULL) {
		check_crc64_entry(e, buf, len);
		cnt->crc64nvme++;
	}
	if (md5_hex) {
		s3b_md5(buf, len, md5);
		s3b_hex(md5, sizeof(md5), text);
		CHECK_STR(text, md5_hex);
		cnt->md5++;
	}
	if (sha_hex) {
		s3b_sha256(buf, len, sha);
		s3b_hex(sha, sizeof(sha), text);
		CHECK_STR(text, sha_hex);
		cnt->sha256++;
	}
	if (sha_b64) {
		char b64[45];

		s3b_sha256(buf, len, sha);
		s3b_base64(sha, sizeof(sha), b64);
		CHECK_STR(b64, sha_b64);
	}
	check_b64_members(v, cnt);

	/* The multi-hasher, fed in 7-byte steps then the rest, agrees. */
	{
		struct s3b_hasher *h = NULL;
		struct s3b_digests d;
		size_t off = 0;

		CHECK_INT(s3b_hasher_new(S3B_HASH_ALL, &h), 0);
		if (h == NULL)
			goto out;
		for (; off + 7 <= len && off < 70; off += 7)
			s3b_hasher_update(h, buf + off, 7);
		s3b_hasher_update(h, buf + off, len - off);
		s3b_hasher_final(h, &d);
		CHECK_INT(d.bytes, len);
		if (md5_hex) {
			s3b_hex(d.md5, sizeof(d.md5), text);
			CHECK_STR(text, md5_hex);
		}
		if (sha_hex) {
			s3b_hex(d.sha256, sizeof(d.sha256), text);
			CHECK_STR(text, sha_hex);
		}
		if ((e = jm_get(v, "crc32c")) != NULL) {
			hex32(d.crc32c, text);
			CHECK_STR(text, jm_get_str(e, "hex"));
		}
		s3b_hasher_free(h);
	}
out:
	if (check_failed != failed_before)
		fprintf(stderr, "  ... in vector \"%s\"\n", desc);
	free(buf);
}

static void check_multipart_vectors(const struct jm_value *sec, struct vec_counts *cnt)
{
	const struct jm_value *vecs = jm_get(sec, "vectors");

	CHECK(vecs != NULL && vecs->type == JM_ARR);
	if (vecs == NULL || vecs->type != JM_ARR)
		return;
	for (size_t i = 0; i < vecs->len; i++) {
		const struct jm_value *parts = jm_get(&vecs->items[i], "part_etags");
		const char *want = jm_get_str(&vecs->items[i], "expected_etag");
		struct s3b_etag_builder b;
		char got[S3B_ETAG_MAX], quoted[S3B_ETAG_MAX + 2];
		uint8_t whole[S3B_MD5_LEN] = { 0 };

		CHECK(parts != NULL && parts->type == JM_ARR && want != NULL);
		if (parts == NULL || parts->type != JM_ARR || want == NULL)
			continue;
		CHECK_INT(s3b_etag_builder_init(&b), 0);
		for (size_t j = 0; j < parts->len; j++) {
			uint8_t md5[S3B_MD5_LEN];

			CHECK(parts->items[j].type == JM_STR &&
			      strlen(parts->items[j].str) == 2 * S3B_MD5_LEN);
			CHECK_INT(s3b_unhex(parts->items[j].str, md5, sizeof(md5)), 0);
			s3b_etag_builder_add(&b, md5);
		}
		CHECK_INT(b.parts, parts->len);
		s3b_etag_builder_final(&b, got);
		CHECK(b.ctx == NULL);
		CHECK_STR(got, want);
		snprintf(quoted, sizeof(quoted), "\"%s\"", want);
		CHECK_INT(s3b_etag_check(quoted, (unsigned)parts->len, S3B_METAG_COMPOSITE, whole, got),
			  S3B_ETAG_MATCH);
		cnt->etags++;
	}
}

static void test_checksums_json(const char *dir)
{
	char path[4096];
	char *text = NULL;
	size_t n = 0, errpos = 0;
	struct jm_value root = { .type = JM_NULL };
	const struct jm_value *vecs, *algs;
	struct vec_counts cnt = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/checksums.json", dir);
	rc = jm_read_file(path, &text, &n);
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(rc));
		return;
	}
	rc = jm_parse(text, n, &root, &errpos);
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "%s: JSON error at byte %zu\n", path, errpos);
		goto cleanup;
	}

	/* The catalogue check values, as the file states them. */
	algs = jm_get(&root, "algorithms");
	{
		static const struct {
			const char *name, *check;
		} cat[] = {
			{ .name = "crc32", .check = "0xcbf43926" },
			{ .name = "crc32c", .check = "0xe3069283" },
			{ .name = "crc64nvme", .check = "0xae8b14860a799888" },
		};

		for (size_t i = 0; i < sizeof(cat) / sizeof(cat[0]); i++)
			CHECK_STR(jm_get_str(jm_get(algs, cat[i].name), "check_123456789"),
				  cat[i].check);
	}

	vecs = jm_get(&root, "vectors");
	CHECK(vecs != NULL && vecs->type == JM_ARR);
	if (vecs && vecs->type == JM_ARR)
		for (size_t i = 0; i < vecs->len; i++)
			check_vector(&vecs->items[i], &cnt);
	check_multipart_vectors(jm_get(&root, "s3_multipart_etag"), &cnt);

	/* Every kind of vector was found and checked: a file that lost a
	 * section, or a reader that lost it, fails here. */
	CHECK(vecs != NULL && cnt.vectors == vecs->len);
	CHECK(cnt.crc32 > 0 && cnt.crc32c > 0 && cnt.crc64nvme > 0);
	CHECK(cnt.md5 > 0 && cnt.sha256 > 0 && cnt.b64 > 0 && cnt.etags > 0);
	printf("checksums.json: %u vectors (crc32 %u, crc32c %u, crc64nvme %u, md5 %u, "
	       "sha256 %u, base64 %u), %u multipart etags\n",
	       cnt.vectors, cnt.crc32, cnt.crc32c, cnt.crc64nvme, cnt.md5, cnt.sha256, cnt.b64,
	       cnt.etags);
cleanup:
	jm_free(&root);
	free(text);
}

/* ---- the JSON reader itself ----------------------------------------------- */

static void test_json_mini(void)
{
	static const char ok[] =
		" {\"a\": [1, -2.5e1, true, false, null, \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"],"
		" \"b\": {}, \"c\": [], \"a\": 0}";
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"abc", "\"\t\"", "tru", "[1] 2", "{1:2}", "\"\\",
	};
	struct jm_value v;
	const struct jm_value *a;

	CHECK_INT(jm_parse(ok, strlen(ok), &v, NULL), 0);
	a = jm_get(&v, "a");
	CHECK(a != NULL && a->type == JM_ARR && a->len == 6);
	if (a && a->type == JM_ARR && a->len == 6) {
		CHECK(a->items[0].type == JM_NUM && a->items[0].num == 1.0);
		CHECK(a->items[1].type == JM_NUM && a->items[1].num == -25.0);
		CHECK(a->items[2].type == JM_BOOL && a->items[2].b);
		CHECK(a->items[3].type == JM_BOOL && !a->items[3].b);
		CHECK(a->items[4].type == JM_NULL);
		CHECK_STR(a->items[5].str, "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	}
	CHECK(jm_get(&v, "b") && jm_get(&v, "b")->type == JM_OBJ && jm_get(&v, "b")->len == 0);
	CHECK(jm_get(&v, "c") && jm_get(&v, "c")->type == JM_ARR && jm_get(&v, "c")->len == 0);
	CHECK(jm_get(&v, "zz") == NULL);
	jm_free(&v);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jm_parse(bad[i], strlen(bad[i]), &v, NULL);

		CHECK_INT(rc, EINVAL);
		if (rc != EINVAL)
			fprintf(stderr, "  ... accepted bad JSON [%s]\n", bad[i]);
		jm_free(&v);
	}
}

/* ---- CRCs ----------------------------------------------------------------- */

typedef uint32_t (*crc32_fn)(uint32_t, const void *, size_t);
typedef uint64_t (*crc64_fn)(uint64_t, const void *, size_t);

static const struct {
	const char *name;
	crc32_fn fn;
	uint32_t check;
} crc32_impls[] = {
	{ .name = "crc32c", .fn = s3b_crc32c_update, .check = 0xe3069283u },
	{ .name = "crc32c_portable", .fn = s3b_crc32c_update_portable, .check = 0xe3069283u },
	{ .name = "crc32", .fn = s3b_crc32_update, .check = 0xcbf43926u },
	{ .name = "crc32_portable", .fn = s3b_crc32_update_portable, .check = 0xcbf43926u },
};

static const struct {
	const char *name;
	crc64_fn fn;
	uint64_t check;
} crc64_impls[] = {
	{ .name = "crc64nvme", .fn = s3b_crc64nvme_update, .check = 0xae8b14860a799888ull },
	{ .name = "crc64nvme_portable", .fn = s3b_crc64nvme_update_portable,
	  .check = 0xae8b14860a799888ull },
};

/* Catalogue check values (independent of the JSON file), and chaining:
 * crc(a||b||c) == update(update(update(0,a),b),c) for every split of a
 * short input, including empty pieces. */
static void test_crc_chaining(void)
{
	uint8_t buf[80];
	size_t len = sizeof(buf);

	memcpy(buf, "123456789", 9);
	for (size_t i = 9; i < len; i++)
		buf[i] = (uint8_t)(i * 37 + 11);

	for (size_t k = 0; k < sizeof(crc32_impls) / sizeof(crc32_impls[0]); k++) {
		crc32_fn fn = crc32_impls[k].fn;
		uint32_t whole = fn(0, buf, len);
		unsigned bad = 0;

		CHECK_INT(fn(0, "123456789", 9), crc32_impls[k].check);
		CHECK_INT(fn(0, NULL, 0), 0);
		CHECK_INT(fn(0x12345678u, buf, 0), 0x12345678u);
		for (size_t i = 0; i <= len; i++)
			for (size_t j = i; j <= len; j++)
				if (fn(fn(fn(0, buf, i), buf + i, j - i), buf + j, len - j) != whole)
					bad++;
		CHECK_INT(bad, 0);
		if (bad)
			fprintf(stderr, "  ... %s chaining\n", crc32_impls[k].name);
	}
	for (size_t k = 0; k < sizeof(crc64_impls) / sizeof(crc64_impls[0]); k++) {
		crc64_fn fn = crc64_impls[k].fn;
		uint64_t whole = fn(0, buf, len);
		unsigned bad = 0;

		CHECK(fn(0, "123456789", 9) == crc64_impls[k].check);
		CHECK(fn(0, NULL, 0) == 0);
		for (size_t i = 0; i <= len; i++)
			for (size_t j = i; j <= len; j++)
				if (fn(fn(fn(0, buf, i), buf + i, j - i), buf + j, len - j) != whole)
					bad++;
		CHECK_INT(bad, 0);
		if (bad)
			fprintf(stderr, "  ... %s chaining\n", crc64_impls[k].name);
	}
}

/* The accelerated and portable CRCs agree on random data, every length up
 * to 1100 at every alignment mod 16, a few large odd lengths, and from
 * random running values. */
static void test_crc_paths_agree(void)
{
	size_t cap = (4u << 20) + 64;
	uint8_t *buf = xmalloc(cap);
	static const size_t big[] = { 4095, 65537, 1048573, 4u << 20 };
	unsigned bad32c = 0, bad32 = 0, bad64 = 0;

	rng_fill(buf, cap);
	for (size_t off = 0; off < 16; off++) {
		for (size_t len = 0; len <= 1100; len++) {
			uint32_t seed = (uint32_t)rng_next();
			uint64_t seed64 = rng_next();

			bad32c += s3b_crc32c_update(seed, buf + off, len) !=
				  s3b_crc32c_update_portable(seed, buf + off, len);
			bad32 += s3b_crc32_update(seed, buf + off, len) !=
				 s3b_crc32_update_portable(seed, buf + off, len);
			bad64 += s3b_crc64nvme_update(seed64, buf + off, len) !=
				 s3b_crc64nvme_update_portable(seed64, buf + off, len);
		}
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		bad32c += s3b_crc32c_update(0, buf + 3, big[i]) !=
			  s3b_crc32c_update_portable(0, buf + 3, big[i]);
		bad32 += s3b_crc32_update(0, buf + 5, big[i]) !=
			 s3b_crc32_update_portable(0, buf + 5, big[i]);
		bad64 += s3b_crc64nvme_update(0, buf + 7, big[i]) !=
			 s3b_crc64nvme_update_portable(0, buf + 7, big[i]);
	}
	CHECK_INT(bad32c, 0);
	CHECK_INT(bad32, 0);
	CHECK_INT(bad64, 0);
	printf("crc paths: %s\n", s3b_crc_have_isal() ? "ISA-L vs portable" : "portable only");
	free(buf);
}

/* ---- digests -------------------------------------------------------------- */

static void hex_of(const uint8_t *bin, size_t n, char *out)
{
	s3b_hex(bin, n, out);
}

/* RFC 1321 appendix A.5, FIPS 180-2 appendix B, RFC 4231 section 4. */
static void test_digest_kats(void)
{
	static const struct {
		const char *in, *md5;
	} md5v[] = {
		{ .in = "", .md5 = "d41d8cd98f00b204e9800998ecf8427e" },
		{ .in = "a", .md5 = "0cc175b9c0f1b6a831c399e269772661" },
		{ .in = "message digest", .md5 = "f96b697d7cb7938d525a2f31aaf161d0" },
		{ .in = "abcdefghijklmnopqrstuvwxyz", .md5 = "c3fcd3d76192e4007dfb496cca67e13b" },
		{ .in = "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  .md5 = "57edf4a22be3c955ac49da2e2107b67a" },
	};
	static const struct {
		const char *in, *sha;
	} shav[] = {
		{ .in = "abc",
		  .sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ .in = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  .sha = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t md5[S3B_MD5_LEN], sha[S3B_SHA256_LEN], key[131], data[50];
	char text[2 * S3B_SHA256_LEN + 1];
	struct s3b_hasher *h = NULL;
	struct s3b_digests d;
	uint8_t *mil;

	for (size_t i = 0; i < sizeof(md5v) / sizeof(md5v[0]); i++) {
		s3b_md5(md5v[i].in, strlen(md5v[i].in), md5);
		hex_of(md5, sizeof(md5), text);
		CHECK_STR(text, md5v[i].md5);
	}
	for (size_t i = 0; i < sizeof(shav) / sizeof(shav[0]); i++) {
		s3b_sha256(shav[i].in, strlen(shav[i].in), sha);
		hex_of(sha, sizeof(sha), text);
		CHECK_STR(text, shav[i].sha);
	}

	/* One million 'a', through the hasher in 1000 updates. */
	mil = xmalloc(1000000);
	memset(mil, 'a', 1000000);
	CHECK_INT(s3b_hasher_new(S3B_HASH_MD5 | S3B_HASH_SHA256, &h), 0);
	if (h) {
		for (int i = 0; i < 1000; i++)
			s3b_hasher_update(h, mil + 1000 * i, 1000);
		s3b_hasher_final(h, &d);
		hex_of(d.md5, sizeof(d.md5), text);
		CHECK_STR(text, "7707d6ae4e027c70eea2a935c2296f21");
		hex_of(d.sha256, sizeof(d.sha256), text);
		CHECK_STR(text, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
		CHECK_INT(d.crc32c, 0);
		CHECK_INT(d.bytes, 1000000);
		s3b_hasher_free(h);
	}
	free(mil);

	/* HMAC-SHA256: RFC 4231 test cases 1, 2, 3, 6, and the empty key. */
	memset(key, 0x0b, 20);
	s3b_hmac_sha256(key, 20, "Hi There", 8, sha);
	hex_of(sha, sizeof(sha), text);
	CHECK_STR(text, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	s3b_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, sha);
	hex_of(sha, sizeof(sha), text);
	CHECK_STR(text, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, sizeof(key));
	memset(data, 0xdd, sizeof(data));
	s3b_hmac_sha256(key, 20, data, 50, sha);
	hex_of(sha, sizeof(sha), text);
	CHECK_STR(text, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	s3b_hmac_sha256(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, sha);
	hex_of(sha, sizeof(sha), text);
	CHECK_STR(text, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	s3b_hmac_sha256(NULL, 0, "", 0, sha);
	hex_of(sha, sizeof(sha), text);
	CHECK_STR(text, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* The multi-hasher equals the one-shot functions on 10 MiB fed in odd
 * chunks, after a reset, and with every subset of algorithms. */
static void test_multi_hasher(void)
{
	static const size_t chunks[] = { 1, 3, 7, 63, 4093, 65535, 65537, 131071, 1000003 };
	size_t len = 10u << 20;
	uint8_t *buf = xmalloc(len), md5[S3B_MD5_LEN], sha[S3B_SHA256_LEN];
	uint32_t crc;
	struct s3b_hasher *h = NULL;
	struct s3b_digests d;
	static const uint8_t zero[S3B_SHA256_LEN];

	rng_fill(buf, len);
	s3b_md5(buf, len, md5);
	s3b_sha256(buf, len, sha);
	crc = s3b_crc32c_update(0, buf, len);

	for (unsigned algs = 0; algs <= S3B_HASH_ALL; algs++) {
		CHECK_INT(s3b_hasher_new(algs, &h), 0);
		if (h == NULL)
			continue;
		for (int round = 0; round < 2; round++) {
			size_t off = 0, k = (size_t)round;

			s3b_hasher_update(h, NULL, 0);
			while (off < len) {
				size_t n = chunks[k++ % (sizeof(chunks) / sizeof(chunks[0]))];

				if (n > len - off)
					n = len - off;
				s3b_hasher_update(h, buf + off, n);
				off += n;
			}
			s3b_hasher_final(h, &d);
			CHECK_INT(d.bytes, len);
			CHECK(memcmp(d.md5, (algs & S3B_HASH_MD5) ? md5 : zero, sizeof(md5)) == 0);
			CHECK(memcmp(d.sha256, (algs & S3B_HASH_SHA256) ? sha : zero, sizeof(sha)) == 0);
			CHECK(d.crc32c == ((algs & S3B_HASH_CRC32C) ? crc : 0));
			s3b_hasher_reset(h);
		}
		/* Reset with nothing fed gives the empty stream's digests. */
		s3b_hasher_final(h, &d);
		CHECK_INT(d.bytes, 0);
		if (algs & S3B_HASH_MD5) {
			char text[2 * S3B_MD5_LEN + 1];

			hex_of(d.md5, sizeof(d.md5), text);
			CHECK_STR(text, "d41d8cd98f00b204e9800998ecf8427e");
		}
		s3b_hasher_free(h);
		h = NULL;
	}
	s3b_hasher_free(NULL);
	free(buf);
}

/* ---- encodings ------------------------------------------------------------ */

static void test_hex(void)
{
	static const uint8_t bin[] = { 0x00, 0x01, 0xab, 0xff, 0x7e };
	uint8_t out[5], canary[5];
	char text[11];

	s3b_hex(bin, sizeof(bin), text);
	CHECK_STR(text, "0001abff7e");
	s3b_hex(bin, 0, text);
	CHECK_STR(text, "");
	CHECK_INT(s3b_unhex("0001ABfF7e", out, 5), 0);
	CHECK(memcmp(out, bin, 5) == 0);
	CHECK_INT(s3b_unhex("", out, 0), 0);
	memset(canary, 0x5a, sizeof(canary));
	memcpy(out, canary, sizeof(out));
	CHECK_INT(s3b_unhex("0001abff7g", out, 5), EINVAL);
	CHECK_INT(s3b_unhex("0001abff7", out, 5), EINVAL);
	CHECK_INT(s3b_unhex(" 001abff7e", out, 5), EINVAL);
	CHECK_INT(s3b_unhex("0x01abff7e", out, 5), EINVAL);
	CHECK(memcmp(out, canary, sizeof(out)) == 0);
}

static void test_base64(void)
{
	/* RFC 4648 section 10. */
	static const struct {
		const char *in, *out;
	} v[] = {
		{ .in = "", .out = "" },           { .in = "f", .out = "Zg==" },
		{ .in = "fo", .out = "Zm8=" },     { .in = "foo", .out = "Zm9v" },
		{ .in = "foob", .out = "Zm9vYg==" }, { .in = "fooba", .out = "Zm9vYmE=" },
		{ .in = "foobar", .out = "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg", "Zg=", "Zg===", "Z===", "====", "=Zg=", "Zm9v=", "Zg==Zg==", "Zm=v", "Zh==",
		"Zm9=", "Zm 9v", "Zm9v\n", "Zm-v", "Zm_v", "Zm9\xc3\xa9", "Zm9v Zm9v",
	};
	uint8_t out[16], rnd[100];
	char text[140];
	size_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].in);

		s3b_base64((const uint8_t *)v[i].in, len, text);
		CHECK_STR(text, v[i].out);
		n = 99;
		CHECK_INT(s3b_unbase64(v[i].out, out, sizeof(out), &n), 0);
		CHECK_INT(n, len);
		CHECK(memcmp(out, v[i].in, len) == 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		CHECK_INT(s3b_unbase64(bad[i], out, sizeof(out), &n), EINVAL);
		CHECK_INT(n, 99);
	}
	/* outcap: exact fits; one short writes nothing. */
	CHECK_INT(s3b_unbase64("Zm9vYmFy", out, 6, &n), 0);
	CHECK_INT(n, 6);
	memset(out, 0x5a, sizeof(out));
	CHECK_INT(s3b_unbase64("Zm9vYmFy", out, 5, &n), EINVAL);
	CHECK_INT(s3b_unbase64("Zm9vYmE=", out, 4, &n), EINVAL);
	for (size_t i = 0; i < sizeof(out); i++)
		CHECK_INT(out[i], 0x5a);
	/* Round trips of random bytes at every length 0..100. */
	{
		unsigned bad_rt = 0;

		for (size_t len = 0; len <= sizeof(rnd); len++) {
			uint8_t back[sizeof(rnd)];

			rng_fill(rnd, len);
			s3b_base64(rnd, len, text);
			if (strlen(text) != 4 * ((len + 2) / 3) ||
			    s3b_unbase64(text, back, sizeof(back), &n) != 0 || n != len ||
			    memcmp(back, rnd, len) != 0)
				bad_rt++;
		}
		CHECK_INT(bad_rt, 0);
	}
	/* CRC header forms: big-endian bytes (values from the CRC catalogue). */
	s3b_crc32_b64(0xe3069283u, text);
	CHECK_STR(text, "4waSgw==");
	s3b_crc32_b64(0xcbf43926u, text);
	CHECK_STR(text, "y/Q5Jg==");
	s3b_crc32_b64(0, text);
	CHECK_STR(text, "AAAAAA==");
	s3b_crc64_b64(0xae8b14860a799888ull, text);
	CHECK_STR(text, "rosUhgp5mIg=");
	s3b_crc64_b64(0, text);
	CHECK_STR(text, "AAAAAAAAAAA=");
}

/* ---- ETags ---------------------------------------------------------------- */

#define EMPTY_MD5 "d41d8cd98f00b204e9800998ecf8427e"

static void test_etag_parse(void)
{
	static const struct {
		const char *text;
		int kind;
		unsigned parts;
	} v[] = {
		{ .text = EMPTY_MD5, .kind = S3B_ETAG_MD5 },
		{ .text = "\"" EMPTY_MD5 "\"", .kind = S3B_ETAG_MD5 },
		{ .text = "D41D8CD98F00B204E9800998ECF8427E", .kind = S3B_ETAG_MD5 },
		{ .text = "\"D41d8cd98f00b204e9800998ecf8427E\"", .kind = S3B_ETAG_MD5 },
		{ .text = EMPTY_MD5 "-1", .kind = S3B_ETAG_MULTIPART, .parts = 1 },
		{ .text = "\"" EMPTY_MD5 "-2\"", .kind = S3B_ETAG_MULTIPART, .parts = 2 },
		{ .text = EMPTY_MD5 "-9999", .kind = S3B_ETAG_MULTIPART, .parts = 9999 },
		{ .text = EMPTY_MD5 "-10000", .kind = S3B_ETAG_MULTIPART, .parts = 10000 },
		{ .text = EMPTY_MD5 "-10001", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-99999", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-100000", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-0", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-01", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-1a", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "-+1", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "--1", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "_1", .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "0", .kind = S3B_ETAG_OPAQUE },
		{ .text = "d41d8cd98f00b204e9800998ecf8427", .kind = S3B_ETAG_OPAQUE },
		{ .text = "g41d8cd98f00b204e9800998ecf8427e", .kind = S3B_ETAG_OPAQUE },
		{ .text = "\"" EMPTY_MD5, .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 "\"", .kind = S3B_ETAG_OPAQUE },
		{ .text = "\"\"" EMPTY_MD5 "\"\"", .kind = S3B_ETAG_OPAQUE },
		{ .text = "W/\"" EMPTY_MD5 "\"", .kind = S3B_ETAG_OPAQUE },
		{ .text = " " EMPTY_MD5, .kind = S3B_ETAG_OPAQUE },
		{ .text = EMPTY_MD5 " ", .kind = S3B_ETAG_OPAQUE },
		{ .text = "", .kind = S3B_ETAG_OPAQUE },
		{ .text = "\"", .kind = S3B_ETAG_OPAQUE },
		{ .text = "\"\"", .kind = S3B_ETAG_OPAQUE },
		{ .text = "abc", .kind = S3B_ETAG_OPAQUE },
		{ .text = NULL, .kind = S3B_ETAG_OPAQUE },
	};
	static const uint8_t empty_md5[S3B_MD5_LEN] = {
		0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
		0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e,
	};
	static const uint8_t zero[S3B_MD5_LEN];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct s3b_etag e;
		unsigned failed_before = check_failed;

		memset(&e, 0xa5, sizeof(e));
		s3b_etag_parse(v[i].text, &e);
		CHECK_INT(e.kind, v[i].kind);
		if (v[i].kind == S3B_ETAG_OPAQUE) {
			CHECK(memcmp(e.md5, zero, sizeof(zero)) == 0);
			CHECK_INT(e.parts, 0);
		} else {
			CHECK(memcmp(e.md5, empty_md5, sizeof(empty_md5)) == 0);
			CHECK_INT(e.parts, v[i].parts);
		}
		if (check_failed != failed_before)
			fprintf(stderr, "  ... parsing [%s]\n", v[i].text ? v[i].text : "(null)");
	}
}

static void test_etag_build_and_check(void)
{
	uint8_t whole[S3B_MD5_LEN], other[S3B_MD5_LEN], p1[S3B_MD5_LEN], p2[S3B_MD5_LEN];
	char whole_txt[S3B_ETAG_MAX], comp[S3B_ETAG_MAX], comp3[S3B_ETAG_MAX], text[S3B_ETAG_MAX + 8];
	struct s3b_etag_builder b;
	size_t i;

	s3b_md5("hello world", 11, whole);
	s3b_md5("hello worle", 11, other);
	s3b_md5("hello ", 6, p1);
	s3b_md5("world", 5, p2);
	s3b_etag_from_md5(whole, whole_txt);
	CHECK_STR(whole_txt, "5eb63bbbe01eeed093cb22bb8f5acdc3");

	/* md5(md5("hello ") || md5("world")), worked out independently. */
	CHECK_INT(s3b_etag_builder_init(&b), 0);
	s3b_etag_builder_add(&b, p1);
	s3b_etag_builder_add(&b, p2);
	s3b_etag_builder_final(&b, comp);
	CHECK_STR(comp, "e09e4fd6265b36115fe3db32df945d84-2");
	s3b_etag_builder_dispose(&b);   /* after final: harmless */
	CHECK_INT(s3b_etag_builder_init(&b), 0);
	for (i = 0; i < 3; i++)
		s3b_etag_builder_add(&b, p1);
	s3b_etag_builder_final(&b, comp3);
	CHECK_INT(strlen(comp3), 34);
	CHECK(strcmp(comp3 + 32, "-3") == 0);
	/* No parts: empty text, which matches nothing. */
	CHECK_INT(s3b_etag_builder_init(&b), 0);
	s3b_etag_builder_final(&b, text);
	CHECK_STR(text, "");
	/* Dispose without final frees the context (ASan checks the leak). */
	CHECK_INT(s3b_etag_builder_init(&b), 0);
	s3b_etag_builder_add(&b, p1);
	s3b_etag_builder_dispose(&b);
	CHECK(b.ctx == NULL);
	/* 10000 parts: the largest N, five digits. */
	CHECK_INT(s3b_etag_builder_init(&b), 0);
	for (i = 0; i < 10000; i++)
		s3b_etag_builder_add(&b, p2);
	s3b_etag_builder_final(&b, text);
	CHECK(strlen(text) == 38 && strcmp(text + 32, "-10000") == 0);

	/* Single PUT: the plain MD5, quotes and case aside. */
	CHECK_INT(s3b_etag_check(whole_txt, 0, S3B_METAG_COMPOSITE, whole, NULL), S3B_ETAG_MATCH);
	CHECK_INT(s3b_etag_check("\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"", 0, S3B_METAG_COMPOSITE,
				 whole, NULL), S3B_ETAG_MATCH);
	CHECK_INT(s3b_etag_check(whole_txt, 0, S3B_METAG_WHOLE_MD5, whole, NULL), S3B_ETAG_MATCH);
	CHECK_INT(s3b_etag_check(whole_txt, 0, S3B_METAG_COMPOSITE, other, NULL),
		  S3B_ETAG_MISMATCH);
	CHECK_INT(s3b_etag_check(comp, 0, S3B_METAG_COMPOSITE, whole, comp), S3B_ETAG_MISMATCH);
	CHECK_INT(s3b_etag_check("\"opaque-kms-etag\"", 0, S3B_METAG_COMPOSITE, whole, NULL),
		  S3B_ETAG_UNCOMPARABLE);
	CHECK_INT(s3b_etag_check(NULL, 0, S3B_METAG_COMPOSITE, whole, NULL),
		  S3B_ETAG_UNCOMPARABLE);
	CHECK_INT(s3b_etag_check(whole_txt, 0, S3B_METAG_COMPOSITE, NULL, NULL),
		  S3B_ETAG_UNCOMPARABLE);

	/* Multipart, composite style (AWS, RGW, MinIO). */
	CHECK_INT(s3b_etag_check(comp, 2, S3B_METAG_COMPOSITE, whole, comp), S3B_ETAG_MATCH);
	snprintf(text, sizeof(text), "\"%s\"", comp);
	for (i = 1; i < 33; i++)
		if (text[i] >= 'a' && text[i] <= 'f')
			text[i] = (char)(text[i] - 'a' + 'A');
	CHECK_INT(s3b_etag_check(text, 2, S3B_METAG_COMPOSITE, whole, comp), S3B_ETAG_MATCH);
	/* Same digest, other N; other digest, same N; the plain MD5 of the
	 * whole (a WHOLE_MD5 server when we expected COMPOSITE): all proven
	 * different, never re-guessed. */
	snprintf(text, sizeof(text), "%.32s-3", comp);
	CHECK_INT(s3b_etag_check(text, 2, S3B_METAG_COMPOSITE, whole, comp), S3B_ETAG_MISMATCH);
	snprintf(text, sizeof(text), "%.32s-2", comp3);
	CHECK_INT(s3b_etag_check(text, 2, S3B_METAG_COMPOSITE, whole, comp), S3B_ETAG_MISMATCH);
	CHECK_INT(s3b_etag_check(whole_txt, 2, S3B_METAG_COMPOSITE, whole, comp),
		  S3B_ETAG_MISMATCH);
	CHECK_INT(s3b_etag_check("x-2", 2, S3B_METAG_COMPOSITE, whole, comp),
		  S3B_ETAG_UNCOMPARABLE);
	/* Our side incomplete or inconsistent: nothing proven. */
	CHECK_INT(s3b_etag_check(comp, 2, S3B_METAG_COMPOSITE, whole, NULL),
		  S3B_ETAG_UNCOMPARABLE);
	CHECK_INT(s3b_etag_check(comp, 2, S3B_METAG_COMPOSITE, whole, "garbage"),
		  S3B_ETAG_UNCOMPARABLE);
	CHECK_INT(s3b_etag_check(comp, 2, S3B_METAG_COMPOSITE, whole, whole_txt),
		  S3B_ETAG_UNCOMPARABLE);
	CHECK_INT(s3b_etag_check(comp, 3, S3B_METAG_COMPOSITE, whole, comp),
		  S3B_ETAG_UNCOMPARABLE);

	/* Multipart, whole-MD5 style (s3rver). */
	CHECK_INT(s3b_etag_check(whole_txt, 2, S3B_METAG_WHOLE_MD5, whole, comp), S3B_ETAG_MATCH);
	CHECK_INT(s3b_etag_check(whole_txt, 2, S3B_METAG_WHOLE_MD5, whole, NULL), S3B_ETAG_MATCH);
	CHECK_INT(s3b_etag_check(comp, 2, S3B_METAG_WHOLE_MD5, whole, comp), S3B_ETAG_MISMATCH);
	CHECK_INT(s3b_etag_check(whole_txt, 2, S3B_METAG_WHOLE_MD5, other, comp),
		  S3B_ETAG_MISMATCH);
	CHECK_INT(s3b_etag_check("opaque", 2, S3B_METAG_WHOLE_MD5, whole, comp),
		  S3B_ETAG_UNCOMPARABLE);
}

/* ---- throughput (only with --bench) --------------------------------------- */

/* CPU time of this thread: on a shared machine, time spent preempted by
 * other processes does not count against the code under test. */
static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum bench_op { B_MD5, B_SHA256, B_CRC32C, B_CRC32C_PORT, B_CRC32, B_CRC64, B_MULTI };

/* Best of three runs of one operation over the buffer; seconds. */
static double bench_one(enum bench_op op, const uint8_t *buf, size_t len, struct s3b_hasher *h)
{
	double best = 1e9;
	volatile uint64_t sink = 0;

	for (int r = 0; r < 3; r++) {
		uint8_t out[S3B_SHA256_LEN];
		struct s3b_digests d;
		double t0 = now_sec(), t;

		switch (op) {
		case B_MD5: s3b_md5(buf, len, out); sink += out[0]; break;
		case B_SHA256: s3b_sha256(buf, len, out); sink += out[0]; break;
		case B_CRC32C: sink += s3b_crc32c_update(0, buf, len); break;
		case B_CRC32C_PORT: sink += s3b_crc32c_update_portable(0, buf, len); break;
		case B_CRC32: sink += s3b_crc32_update(0, buf, len); break;
		case B_CRC64: sink += s3b_crc64nvme_update(0, buf, len); break;
		case B_MULTI:
			/* As the bridge feeds it: 1 MiB writes. */
			s3b_hasher_reset(h);
			for (size_t off = 0; off < len; off += 1u << 20)
				s3b_hasher_update(h, buf + off, len - off < (1u << 20) ? len - off : 1u << 20);
			s3b_hasher_final(h, &d);
			sink += d.crc32c;
			break;
		}
		t = now_sec() - t0;
		if (t < best)
			best = t;
	}
	(void)sink;
	return best;
}

static void run_bench(void)
{
	static const struct {
		enum bench_op op;
		const char *name;
	} ops[] = {
		{ .op = B_MD5, .name = "MD5" },
		{ .op = B_SHA256, .name = "SHA-256" },
		{ .op = B_CRC32C, .name = "CRC32C" },
		{ .op = B_CRC32C_PORT, .name = "CRC32C (portable)" },
		{ .op = B_CRC32, .name = "CRC32" },
		{ .op = B_CRC64, .name = "CRC64/NVME (portable)" },
		{ .op = B_MULTI, .name = "multi-hasher MD5+SHA-256+CRC32C" },
	};
	size_t len = 256u << 20;
	uint8_t *buf = xmalloc(len);
	struct s3b_hasher *h = NULL;
	double t[sizeof(ops) / sizeof(ops[0])];

	rng_fill(buf, len);
	if (s3b_hasher_new(S3B_HASH_ALL, &h) != 0)
		goto done;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		t[i] = bench_one(ops[i].op, buf, len, h);
		printf("bench: %-32s %9.1f MB/s\n", ops[i].name, (double)len / t[i] / 1e6);
	}
	printf("bench: multi-hasher %.3f s, sum of MD5+SHA-256+CRC32C alone %.3f s (%.1f%%)\n",
	       t[B_MULTI], t[B_MD5] + t[B_SHA256] + t[B_CRC32C],
	       100.0 * t[B_MULTI] / (t[B_MD5] + t[B_SHA256] + t[B_CRC32C]));
done:
	s3b_hasher_free(h);
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TESTDATA_DIR [--bench]\n", argv[0]);
		return 2;
	}
	test_json_mini();
	test_checksums_json(argv[1]);
	test_crc_chaining();
	test_crc_paths_agree();
	test_digest_kats();
	test_multi_hasher();
	test_hex();
	test_base64();
	test_etag_parse();
	test_etag_build_and_check();
	if (argc > 2 && strcmp(argv[2], "--bench") == 0)
		run_bench();
	return check_report();
}
