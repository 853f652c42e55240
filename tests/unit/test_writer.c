/*
 * tests/unit/test_writer.c — unit tests of fs/writer.c against memstore.
 *
 * What it covers: object sizes around every boundary (0, 1, 5 MiB +-1,
 * part +-1, 3 parts + 123) written in odd chunk sizes, for both multipart
 * ETag styles: stored bytes, ETags (the empty-body MD5 as a literal, the
 * others computed here from the data and the part boundaries), digests
 * against one-shot MD5/SHA-256/CRC32C, request counts and attempts; the
 * part-size plan (fixed, hinted, growth schedule, largest object, EFBIG);
 * parallel uploads with latency (concurrency reached, never above
 * `parallel`, budget peak <= (parallel+1) parts, all released); faults (a
 * failed part aborts, BadDigest is re-sent, flipped stored bits are never
 * reported verified, create/complete failures, an RGW-style empty Complete
 * ETag read by HEAD, a HEAD size mismatch, an opaque ETag); non-sequential
 * writes (in-buffer rewrites, holes, seek back before anything was sent ->
 * spool, seek back into sent data -> EIO and no object, flush then more
 * writes, truncates, spool mode from open, read back); metadata before and
 * after the upload starts; 100 concurrent writers on a small budget under
 * an alarm() watchdog.
 *
 * Usage: test_writer TESTDATA_DIR [--bench]
 * With --bench it also streams a 1 GiB object through a writer into
 * memstore and prints MB/s and CPU time (not a pass/fail check).
 */
#include "check.h"
#include "memstore.h"

#include "hash.h"
#include "log.h"
#include "membudget.h"
#include "pool.h"
#include "writer.h"
#include "writer_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024ull * 1024ull)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

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

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static uint8_t *random_data(size_t len)
{
	uint8_t *p = xmalloc(len);

	rng_fill(p, len);
	return p;
}

/* Odd write sizes, cycled: 1 byte to 1 MiB, none aligned to anything. */
static const size_t chunks[] = { 1, 4095, 131072, 1048576, 7, 65537, 333333, 1000000, 12345 };

static int write_all(struct s3b_writer *w, const uint8_t *data, size_t len)
{
	size_t off = 0, i = 0;

	while (off < len) {
		size_t n = chunks[i++ % (sizeof(chunks) / sizeof(chunks[0]))];
		int err;

		if (n > len - off)
			n = len - off;
		err = s3b_writer_write(w, off, data + off, n);
		if (err)
			return err;
		off += n;
	}
	return 0;
}

static void hex_md5(const uint8_t *data, size_t len, char out[S3B_ETAG_MAX])
{
	uint8_t md5[16];

	s3b_md5(data, len, md5);
	s3b_hex(md5, 16, out);
}

/* The AWS multipart ETag, computed here from the data and part size (all
 * parts part bytes but the last). */
static void composite_etag(const uint8_t *data, size_t len, size_t part, char out[S3B_ETAG_MAX])
{
	size_t n = (len + part - 1) / part;
	uint8_t *md5s = xmalloc(n * 16), md5[16];

	for (size_t i = 0; i < n; i++) {
		size_t plen = i + 1 < n ? part : len - i * part;

		s3b_md5(data + i * part, plen, md5s + 16 * i);
	}
	s3b_md5(md5s, n * 16, md5);
	s3b_hex(md5, 16, out);
	snprintf(out + 32, S3B_ETAG_MAX - 32, "-%zu", n);
	free(md5s);
}

/* The object under key equals data (and its ETag is etag when not NULL). */
static bool stored_equals(struct memstore *ms, const char *key, const uint8_t *data, size_t len,
			  const char *etag)
{
	char got_etag[S3B_ETAG_MAX];
	size_t got_len = 0;
	uint8_t *got = memstore_get_copy(ms, key, &got_len, got_etag);
	bool ok = got && got_len == len && (len == 0 || memcmp(got, data, len) == 0) &&
		  (!etag || strcmp(etag, got_etag) == 0);

	if (!ok)
		fprintf(stderr, "  stored %s: %s, %zu bytes (want %zu), etag %s (want %s)\n", key,
			got ? "present" : "absent", got_len, len, got ? got_etag : "-",
			etag ? etag : "-");
	free(got);
	return ok;
}

static unsigned total_calls(struct memstore *ms)
{
	unsigned n = 0;

	for (int op = 0; op < MS__COUNT; op++)
		n += memstore_calls(ms, (enum memstore_op)op);
	return n;
}

/* The writer's log goes to a file so that tests can look for its lines. */
static char log_path[] = "/tmp/test_writer-log-XXXXXX";

static bool log_contains(const char *needle)
{
	FILE *f = fopen(log_path, "r");
	char line[2048];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

struct env {
	struct memstore *ms;
	struct s3b_store st;
	struct s3b_membudget *budget;
	struct s3b_pool *pool;
	struct s3b_writer_conf conf;
};

static void env_init(struct env *e, enum s3b_multipart_etag style, size_t budget,
		     unsigned threads, size_t part_size, unsigned parallel)
{
	*e = (struct env){ .ms = memstore_new(style, 42) };
	if (!e->ms || s3b_membudget_create(budget, &e->budget) ||
	    s3b_pool_create(threads, &e->pool)) {
		fprintf(stderr, "env_init failed\n");
		exit(2);
	}
	memstore_store(e->ms, &e->st);
	e->conf = (struct s3b_writer_conf){
		.part_size = part_size,
		.parallel = parallel,
		.budget = e->budget,
		.pool = e->pool,
	};
}

static void env_free(struct env *e)
{
	s3b_pool_destroy(e->pool);
	CHECK_INT(s3b_membudget_used(e->budget), 0); /* every buffer released */
	s3b_membudget_destroy(e->budget);
	memstore_free(e->ms);
}

/* ---- sizes, ETags, digests, request counts -------------------------------- */

static void one_size(enum s3b_multipart_etag style, size_t part_conf, size_t part, size_t size)
{
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	char key[64], want_etag[S3B_ETAG_MAX];
	uint8_t *data = random_data(size);
	uint8_t md5[16], sha[32];
	size_t nparts = size <= part ? 0 : (size + part - 1) / part;
	int err;

	env_init(&e, style, 256 * MiB, 4, part_conf, 3);
	snprintf(key, sizeof(key), "dir/obj-%zu", size);
	CHECK_INT(s3b_writer_open(&e.st, key, NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	CHECK_INT(s3b_writer_size(w), size);
	CHECK(s3b_writer_started(w) == (nparts > 0));
	err = s3b_writer_commit(w, key, &res);
	CHECK_INT(err, 0);
	if (err)
		fprintf(stderr, "  size %zu: %s\n", size, res.error);
	CHECK_INT(res.verdict, S3B_ETAG_MATCH);
	CHECK_INT(res.size, size);
	CHECK_INT(res.parts, nparts);
	CHECK_INT(res.part_size, nparts ? part : 0);

	if (nparts == 0 || style == S3B_METAG_WHOLE_MD5)
		hex_md5(data, size, want_etag);
	else
		composite_etag(data, size, part, want_etag);
	CHECK_STR(res.etag, want_etag);
	CHECK_STR(res.expected_etag, want_etag);
	CHECK(stored_equals(e.ms, key, data, size, want_etag));

	s3b_md5(data, size, md5);
	s3b_sha256(data, size, sha);
	CHECK(memcmp(res.digests.md5, md5, 16) == 0);
	CHECK(memcmp(res.digests.sha256, sha, 32) == 0);
	CHECK_INT(res.digests.crc32c, s3b_crc32c_update(0, data, size));
	CHECK_INT(res.digests.bytes, size);

	if (nparts == 0) {
		CHECK_INT(memstore_calls(e.ms, MS_PUT), 1);
		CHECK_INT(memstore_calls(e.ms, MS_CREATE), 0);
		CHECK_INT(memstore_calls(e.ms, MS_PART), 0);
	} else {
		CHECK_INT(memstore_calls(e.ms, MS_PUT), 0);
		CHECK_INT(memstore_calls(e.ms, MS_CREATE), 1);
		CHECK_INT(memstore_calls(e.ms, MS_PART), nparts);
		CHECK_INT(memstore_calls(e.ms, MS_COMPLETE), 1);
	}
	CHECK_INT(memstore_calls(e.ms, MS_ABORT), 0);
	CHECK_INT(memstore_calls(e.ms, MS_HEAD), 0);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK_INT(res.attempts, total_calls(e.ms));
	s3b_writer_close(w);
	env_free(&e);
	free(data);
}

static void test_sizes(void)
{
	static const enum s3b_multipart_etag styles[] = { S3B_METAG_COMPOSITE, S3B_METAG_WHOLE_MD5 };
	const size_t five = 5 * MiB, eight = 8 * MiB;
	const size_t fixed5[] = { 0, 1, five - 1, five, five + 1, 3 * five + 123 };
	const size_t auto8[] = { eight - 1, eight, eight + 1, 3 * eight + 123 };

	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; i < sizeof(fixed5) / sizeof(fixed5[0]); i++)
			one_size(styles[s], five, five, fixed5[i]);
		for (size_t i = 0; i < sizeof(auto8) / sizeof(auto8[0]); i++)
			one_size(styles[s], 0, eight, auto8[i]);
	}
}

/* The empty object: one PUT, and the well-known MD5 of nothing. */
static void test_empty(void)
{
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;

	env_init(&e, S3B_METAG_COMPOSITE, 64 * MiB, 2, 0, 0);
	CHECK_INT(s3b_writer_open(&e.st, "empty", NULL, &e.conf, &w), 0);
	CHECK_INT(s3b_writer_commit(w, "empty", &res), 0);
	CHECK_STR(res.etag, "d41d8cd98f00b204e9800998ecf8427e");
	CHECK_INT(res.digests.crc32c, 0);
	CHECK_INT(res.digests.sha256[0], 0xe3); /* e3b0c442... */
	CHECK_INT(res.digests.sha256[31], 0x55);
	CHECK_INT(memstore_calls(e.ms, MS_PUT), 1);
	CHECK(stored_equals(e.ms, "empty", NULL, 0, "d41d8cd98f00b204e9800998ecf8427e"));
	/* a second commit is refused; flush after commit reports its result */
	CHECK_INT(s3b_writer_commit(w, "empty", &res), EINVAL);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(s3b_writer_write(w, 0, "x", 1), EIO);
	s3b_writer_close(w);
	env_free(&e);
}

/* ---- the part-size plan --------------------------------------------------- */

static void test_plan(void)
{
	struct s3b_part_plan p;

	/* fixed: raised to 5 MiB, capped at 5 GiB, hint ignored */
	s3b_part_plan_init(&p, 1 * MiB, 0);
	CHECK_INT(s3b_part_plan_size(&p, 1), 5 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 10000), 5 * MiB);
	CHECK_INT(s3b_part_plan_max(&p), 10000ull * 5 * MiB);
	s3b_part_plan_init(&p, 6 * GiB, 0);
	CHECK_INT(s3b_part_plan_size(&p, 7), 5 * GiB);
	s3b_part_plan_init(&p, 16 * MiB, 200 * GiB);
	CHECK_INT(s3b_part_plan_size(&p, 1), 16 * MiB);

	/* growth: 8 MiB for 1-1000, doubling every 1000 parts */
	s3b_part_plan_init(&p, 0, 0);
	CHECK_INT(s3b_part_plan_size(&p, 1), 8 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 1000), 8 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 1001), 16 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 2000), 16 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 2001), 32 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 9001), 4 * GiB);
	CHECK_INT(s3b_part_plan_size(&p, 10000), 4 * GiB);
	CHECK_INT(s3b_part_plan_size(&p, 0), 0);
	CHECK_INT(s3b_part_plan_size(&p, 10001), 0);
	/* 1000 * 8 MiB * (1 + 2 + ... + 512) = 8,184,000 MiB */
	CHECK_INT(s3b_part_plan_max(&p), 8184000ull * MiB);
	CHECK(s3b_part_plan_max(&p) >= 5 * TiB);

	/* hinted: max(8 MiB, ceil(hint / 10000) rounded up to a MiB) */
	s3b_part_plan_init(&p, 0, 1 * GiB);
	CHECK_INT(s3b_part_plan_size(&p, 1), 8 * MiB);
	s3b_part_plan_init(&p, 0, 200 * GiB); /* 21,474,836.48 bytes -> 21 MiB */
	CHECK_INT(s3b_part_plan_size(&p, 1), 21 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 9753), 21 * MiB); /* last part of the hint */
	CHECK(s3b_part_plan_max(&p) >= 200 * GiB);
	/* past the hint: max(21 MiB, growth(n)), so a wrong hint still leaves
	 * room: 9753 * 21 MiB + 247 * 4 GiB */
	CHECK_INT(s3b_part_plan_size(&p, 9754), 4 * GiB);
	CHECK_INT(s3b_part_plan_max(&p), 9753ull * 21 * MiB + 247ull * 4 * GiB);
	s3b_part_plan_init(&p, 0, 1 * GiB); /* small hint: as large as growth */
	CHECK_INT(s3b_part_plan_size(&p, 200), 8 * MiB);
	CHECK_INT(s3b_part_plan_max(&p), 8184000ull * MiB);
	s3b_part_plan_init(&p, 0, 10000ull * 20 * MiB); /* exactly 20 MiB each */
	CHECK_INT(s3b_part_plan_size(&p, 1), 20 * MiB);
	CHECK_INT(s3b_part_plan_size(&p, 10000), 20 * MiB);
	s3b_part_plan_init(&p, 0, 10000ull * 20 * MiB + 1);
	CHECK_INT(s3b_part_plan_size(&p, 1), 21 * MiB);
	s3b_part_plan_init(&p, 0, 5 * TiB);
	CHECK_INT(s3b_part_plan_size(&p, 1), 525 * MiB); /* 549,755,813.9 -> 525 MiB */
	s3b_part_plan_init(&p, 0, 60 * TiB); /* beyond 10,000 * 5 GiB: capped */
	CHECK_INT(s3b_part_plan_size(&p, 1), 5 * GiB);
}

/* Writes past what 10,000 parts hold are refused up front (nothing moves);
 * a hint sets the part size of a real upload. */
static void test_limits(void)
{
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *data = random_data(20 * MiB);
	char want[S3B_ETAG_MAX];

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, 5 * MiB, 2);
	CHECK_INT(s3b_writer_open(&e.st, "big", NULL, &e.conf, &w), 0);
	CHECK_INT(s3b_writer_write(w, 10000ull * 5 * MiB, "x", 1), EFBIG);
	CHECK_INT(s3b_writer_write(w, 10000ull * 5 * MiB - 1, "xy", 2), EFBIG);
	CHECK_INT(s3b_writer_truncate(w, 10000ull * 5 * MiB + 1), EFBIG);
	CHECK_INT(s3b_writer_write(w, UINT64_MAX - 1, "xy", 2), EFBIG);
	CHECK_INT(s3b_writer_size(w), 0);
	CHECK_INT(s3b_writer_write(w, 0, "abc", 3), 0); /* still usable */
	CHECK_INT(s3b_writer_commit(w, "big", &res), 0);
	CHECK(stored_equals(e.ms, "big", (const uint8_t *)"abc", 3, NULL));
	s3b_writer_close(w);

	/* hint 20 MiB -> 8 MiB parts; a 20 MiB object is 3 parts */
	e.conf.part_size = 0;
	e.conf.size_hint = 20 * MiB;
	CHECK_INT(s3b_writer_open(&e.st, "hinted", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, 20 * MiB), 0);
	CHECK_INT(s3b_writer_commit(w, "hinted", &res), 0);
	CHECK_INT(res.parts, 3);
	CHECK_INT(res.part_size, 8 * MiB);
	composite_etag(data, 20 * MiB, 8 * MiB, want);
	CHECK(stored_equals(e.ms, "hinted", data, 20 * MiB, want));
	s3b_writer_close(w);

	/* a small hint: the object is still right when the hint was wrong */
	e.conf.size_hint = 1000;
	CHECK_INT(s3b_writer_open(&e.st, "wrong-hint", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, 9 * MiB), 0);
	CHECK_INT(s3b_writer_commit(w, "wrong-hint", &res), 0);
	CHECK_INT(res.parts, 2);
	composite_etag(data, 9 * MiB, 8 * MiB, want);
	CHECK(stored_equals(e.ms, "wrong-hint", data, 9 * MiB, want));
	s3b_writer_close(w);
	env_free(&e);
	free(data);
}

/* ---- a store wrapper: concurrency, budget peaks, RGW and KMS behaviour ---- */

struct wrap {
	struct s3b_store inner;
	struct s3b_membudget *budget;
	atomic_uint in_part, peak_part;
	atomic_size_t peak_budget;
	bool empty_complete_etag;   /* RGW: Complete returns no ETag */
	bool opaque_etags;          /* SSE-KMS: ETags are not MD5s */
	uint64_t head_size_delta;   /* HEAD reports a wrong size */
};

static void wrap_sample_budget(struct wrap *x)
{
	size_t used = x->budget ? s3b_membudget_used(x->budget) : 0, peak = x->peak_budget;

	while (used > peak && !atomic_compare_exchange_weak(&x->peak_budget, &peak, used)) {
	}
}

static int wr_put(void *inst, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta, char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	struct wrap *x = inst;
	int rc = x->inner.ops->put(x->inner.inst, key, data, len, meta, etag, err);

	if (!rc && x->opaque_etags)
		snprintf(etag, S3B_ETAG_MAX, "kms-%zu", len);
	return rc;
}

static int wr_create(void *inst, const char *key, const struct s3_meta *meta, char **id,
		     struct s3_error *err)
{
	struct wrap *x = inst;

	return x->inner.ops->create_mp(x->inner.inst, key, meta, id, err);
}

static int wr_part(void *inst, const char *key, const char *id, unsigned number,
		   const void *data, size_t len, const uint8_t md5[16], char etag[S3B_ETAG_MAX],
		   struct s3_error *err)
{
	struct wrap *x = inst;
	unsigned now = ++x->in_part, peak = x->peak_part;
	int rc;

	while (now > peak && !atomic_compare_exchange_weak(&x->peak_part, &peak, now)) {
	}
	wrap_sample_budget(x);
	rc = x->inner.ops->upload_part(x->inner.inst, key, id, number, data, len, md5, etag, err);
	x->in_part--;
	return rc;
}

static int wr_complete(void *inst, const char *key, const char *id, const struct s3_part *parts,
		       size_t n, char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	struct wrap *x = inst;
	int rc = x->inner.ops->complete(x->inner.inst, key, id, parts, n, etag, err);

	if (!rc && x->empty_complete_etag)
		etag[0] = '\0';
	if (!rc && x->opaque_etags)
		snprintf(etag, S3B_ETAG_MAX, "kms-mp-%zu", n);
	return rc;
}

static int wr_abort(void *inst, const char *key, const char *id, struct s3_error *err)
{
	struct wrap *x = inst;

	return x->inner.ops->abort(x->inner.inst, key, id, err);
}

static int wr_head(void *inst, const char *key, struct s3_object_info *info, struct s3_error *err)
{
	struct wrap *x = inst;
	int rc = x->inner.ops->head(x->inner.inst, key, info, err);

	if (!rc)
		info->size += x->head_size_delta;
	return rc;
}

static int wr_get(void *inst, const char *key, uint64_t off, size_t len, void *buf, size_t *got,
		  const char *if_match, struct s3_error *err)
{
	struct wrap *x = inst;

	return x->inner.ops->get(x->inner.inst, key, off, len, buf, got, if_match, err);
}

static const struct s3b_store_ops wrap_ops = {
	.put = wr_put, .create_mp = wr_create, .upload_part = wr_part, .complete = wr_complete,
	.abort = wr_abort, .head = wr_head, .get = wr_get,
};

static void wrap_init(struct wrap *x, const struct env *e, struct s3b_store *out)
{
	memset(x, 0, sizeof(*x));
	x->inner = e->st;
	x->budget = e->budget;
	*out = (struct s3b_store){ .ops = &wrap_ops, .inst = x, .etag_style = e->st.etag_style };
}

/* ---- parallelism and backpressure ----------------------------------------- */

static void test_parallel(void)
{
	const size_t part = 5 * MiB, size = 10 * part + 4321;
	const unsigned parallel = 3;
	struct env e;
	struct wrap x;
	struct s3b_store st;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *data = random_data(size);
	char want[S3B_ETAG_MAX];
	size_t off = 0;

	env_init(&e, S3B_METAG_COMPOSITE, 256 * MiB, 6, part, parallel);
	memstore_set_latency_us(e.ms, 30000);
	wrap_init(&x, &e, &st);
	CHECK_INT(s3b_writer_open(&st, "par", NULL, &e.conf, &w), 0);
	while (off < size) {
		size_t n = size - off < 128 * 1024 ? size - off : 128 * 1024;

		CHECK_INT(s3b_writer_write(w, off, data + off, n), 0);
		wrap_sample_budget(&x);
		off += n;
	}
	CHECK_INT(s3b_writer_commit(w, "par", &res), 0);
	composite_etag(data, size, part, want);
	CHECK(stored_equals(e.ms, "par", data, size, want));
	CHECK_INT(res.parts, 11);
	printf("parallel: peak %u parts in flight (limit %u), peak budget %zu MiB (limit %zu)\n",
	       (unsigned)x.peak_part, parallel, (size_t)x.peak_budget >> 20,
	       (size_t)((parallel + 1) * part / (1u << 20)));
	CHECK(x.peak_part >= 2);        /* uploads overlapped */
	CHECK(x.peak_part <= parallel); /* and never more than asked */
	CHECK(x.peak_budget <= (parallel + 1) * part);
	CHECK(x.peak_budget >= 2 * part);
	s3b_writer_close(w);
	env_free(&e);
	free(data);
}

/* ---- faults --------------------------------------------------------------- */

static void test_part_failure(void)
{
	const size_t part = 5 * MiB, size = 4 * part + 99;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *data = random_data(size);
	unsigned calls;
	int err;

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);
	memstore_fail_next(e.ms, MS_PART, EIO, 1);
	CHECK_INT(s3b_writer_open(&e.st, "fails", NULL, &e.conf, &w), 0);
	err = write_all(w, data, size);
	CHECK(err == 0 || err == EIO);
	CHECK_INT(s3b_writer_flush(w), EIO);
	CHECK_INT(s3b_writer_write(w, size, "x", 1), EIO); /* failed for good */
	err = s3b_writer_commit(w, "fails", &res);
	CHECK_INT(err, EIO);
	CHECK(strstr(res.error, "InjectedFault") != NULL);
	CHECK(res.verdict != S3B_ETAG_MATCH);
	CHECK_INT(memstore_calls(e.ms, MS_ABORT), 1);
	CHECK_INT(memstore_calls(e.ms, MS_COMPLETE), 0);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK_INT(memstore_objects(e.ms), 0);
	s3b_writer_close(w);

	/* BadDigest once: re-sent from the buffer, then verified */
	calls = memstore_calls(e.ms, MS_PART);
	memstore_fail_next(e.ms, MS_PART, EBADMSG, 1);
	CHECK_INT(s3b_writer_open(&e.st, "baddigest", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	err = s3b_writer_commit(w, "baddigest", &res);
	CHECK_INT(err, 0);
	CHECK_INT(res.verdict, S3B_ETAG_MATCH);
	CHECK_INT(memstore_calls(e.ms, MS_PART) - calls, 5 + 1);
	CHECK(stored_equals(e.ms, "baddigest", data, size, NULL));
	s3b_writer_close(w);

	/* BadDigest every time: bounded re-sends, then failure and abort */
	memstore_fail_next(e.ms, MS_PART, EBADMSG, 1000);
	CHECK_INT(s3b_writer_open(&e.st, "baddigest-always", NULL, &e.conf, &w), 0);
	err = write_all(w, data, size);
	CHECK(err == 0 || err == EIO);
	CHECK_INT(s3b_writer_commit(w, "baddigest-always", &res), EBADMSG);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK(memstore_get_copy(e.ms, "baddigest-always", NULL, NULL) == NULL);
	s3b_writer_close(w);
	memstore_fail_next(e.ms, MS_PART, 0, 0);

	/* CreateMultipartUpload fails: the write that needed it says EIO */
	memstore_fail_next(e.ms, MS_CREATE, EACCES, 1);
	CHECK_INT(s3b_writer_open(&e.st, "nocreate", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), EIO);
	CHECK_INT(s3b_writer_commit(w, "nocreate", &res), EACCES);
	CHECK(strstr(res.error, "CreateMultipartUpload") != NULL);
	s3b_writer_close(w);

	/* CompleteMultipartUpload fails: aborted, nothing visible */
	memstore_fail_next(e.ms, MS_COMPLETE, EIO, 1);
	CHECK_INT(s3b_writer_open(&e.st, "nocomplete", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	CHECK_INT(s3b_writer_commit(w, "nocomplete", &res), EIO);
	CHECK(strstr(res.error, "CompleteMultipartUpload") != NULL);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK(memstore_get_copy(e.ms, "nocomplete", NULL, NULL) == NULL);
	s3b_writer_close(w);

	/* PutObject fails */
	memstore_fail_next(e.ms, MS_PUT, EIO, 1);
	CHECK_INT(s3b_writer_open(&e.st, "noput", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, 1000), 0);
	CHECK_INT(s3b_writer_commit(w, "noput", &res), EIO);
	CHECK(strstr(res.error, "PutObject") != NULL);
	s3b_writer_close(w);

	/* closing a writer without commit aborts its upload */
	CHECK_INT(s3b_writer_open(&e.st, "closed", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	s3b_writer_close(w);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK(memstore_get_copy(e.ms, "closed", NULL, NULL) == NULL);
	env_free(&e);
	free(data);
}

/* A bit flipped in what the server stores is never reported as verified. */
static void test_flips(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *data = random_data(3 * part);
	unsigned verified = 0, refused = 0;
	int err;

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);
	memstore_set_flip_put(e.ms, 1.0);
	/* single PUT: the object is wrong and visible; EIO and said so */
	CHECK_INT(s3b_writer_open(&e.st, "flip-small", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, 100000), 0);
	err = s3b_writer_commit(w, "flip-small", &res);
	CHECK_INT(err, EIO);
	CHECK_INT(res.verdict, S3B_ETAG_MISMATCH);
	CHECK(strstr(res.error, "WRONG") != NULL && strstr(res.error, "flip-small") != NULL);
	s3b_writer_close(w);
	/* multipart: every part comes back with a foreign ETag; never completed */
	CHECK_INT(s3b_writer_open(&e.st, "flip-big", NULL, &e.conf, &w), 0);
	err = write_all(w, data, 3 * part);
	CHECK(err == 0 || err == EIO);
	err = s3b_writer_commit(w, "flip-big", &res);
	CHECK(err != 0);
	CHECK(res.verdict != S3B_ETAG_MATCH);
	CHECK_INT(memstore_calls(e.ms, MS_COMPLETE), 0);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK(memstore_get_copy(e.ms, "flip-big", NULL, NULL) == NULL);
	s3b_writer_close(w);

	/* sometimes: whatever is reported verified holds exactly the data */
	memstore_set_flip_put(e.ms, 0.3);
	for (unsigned i = 0; i < 24; i++) {
		size_t size = i % 2 ? 3 * part - i : 1000 + i;
		char key[32];

		snprintf(key, sizeof(key), "flip-%u", i);
		CHECK_INT(s3b_writer_open(&e.st, key, NULL, &e.conf, &w), 0);
		err = write_all(w, data, size);
		if (!err)
			err = s3b_writer_commit(w, key, &res);
		if (err == 0) {
			verified++;
			CHECK(res.verdict == S3B_ETAG_MATCH);
			CHECK(stored_equals(e.ms, key, data, size, NULL));
		} else {
			refused++;
		}
		s3b_writer_close(w);
	}
	printf("flips: %u verified (exact), %u refused\n", verified, refused);
	CHECK(verified > 0 && refused > 0);
	env_free(&e);
	free(data);
}

/* RGW: an empty Complete ETag is read with HEAD (size checked too);
 * SSE-KMS: an opaque ETag is accepted but said so. */
static void test_server_kinds(void)
{
	const size_t part = 5 * MiB, size = 2 * part + 1;
	struct env e;
	struct wrap x;
	struct s3b_store st;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *data = random_data(size);
	char want[S3B_ETAG_MAX];

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);
	wrap_init(&x, &e, &st);
	x.empty_complete_etag = true;
	CHECK_INT(s3b_writer_open(&st, "rgw", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	CHECK_INT(s3b_writer_commit(w, "rgw", &res), 0);
	composite_etag(data, size, part, want);
	CHECK_STR(res.etag, want);
	CHECK_INT(res.verdict, S3B_ETAG_MATCH);
	CHECK_INT(memstore_calls(e.ms, MS_HEAD), 1);
	s3b_writer_close(w);

	x.head_size_delta = 1;
	CHECK_INT(s3b_writer_open(&st, "rgw-short", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	CHECK_INT(s3b_writer_commit(w, "rgw-short", &res), EIO);
	CHECK_INT(res.verdict, S3B_ETAG_MISMATCH);
	CHECK(strstr(res.error, "WRONG") != NULL);
	s3b_writer_close(w);

	x.head_size_delta = 0;
	x.empty_complete_etag = false;
	x.opaque_etags = true;
	CHECK_INT(s3b_writer_open(&st, "kms", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, 1234), 0);
	CHECK_INT(s3b_writer_commit(w, "kms", &res), 0);
	CHECK_INT(res.verdict, S3B_ETAG_UNCOMPARABLE);
	CHECK(res.error[0] != '\0');
	s3b_writer_close(w);
	CHECK_INT(s3b_writer_open(&st, "kms-mp", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	CHECK_INT(s3b_writer_commit(w, "kms-mp", &res), 0);
	CHECK_INT(res.verdict, S3B_ETAG_UNCOMPARABLE);
	CHECK(stored_equals(e.ms, "kms-mp", data, size, NULL));
	s3b_writer_close(w);

	/* key change: fine for a single PUT, EXDEV once the upload started */
	x.opaque_etags = false;
	CHECK_INT(s3b_writer_open(&st, ".tmp.XXXX", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, 777), 0);
	CHECK_INT(s3b_writer_commit(w, "final-name", &res), 0);
	CHECK(stored_equals(e.ms, "final-name", data, 777, NULL));
	CHECK(memstore_get_copy(e.ms, ".tmp.XXXX", NULL, NULL) == NULL);
	s3b_writer_close(w);
	CHECK_INT(s3b_writer_open(&st, ".tmp.YYYY", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, data, size), 0);
	CHECK_INT(s3b_writer_commit(w, "other-name", &res), EXDEV);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	s3b_writer_close(w);
	env_free(&e);
	free(data);
}

/* ---- non-sequential writes ------------------------------------------------ */

/* A pool job that holds a worker until released: parts stay queued. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	struct s3b_job job;
};

static void gate_fn(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_close(struct gate *g, struct s3b_pool *pool)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = false;
	g->job = (struct s3b_job){ .fn = gate_fn, .arg = g };
	s3b_pool_submit(pool, &g->job);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Apply a write to the writer and to the shadow copy. */
static int shadow_write(struct s3b_writer *w, uint8_t *shadow, size_t *shadow_len, uint64_t off,
			const uint8_t *src, size_t len)
{
	int err = s3b_writer_write(w, off, src, len);

	if (err)
		return err;
	if (off > *shadow_len)
		memset(shadow + *shadow_len, 0, off - *shadow_len);
	memcpy(shadow + off, src, len);
	if (off + len > *shadow_len)
		*shadow_len = off + len;
	return 0;
}

static void test_rewrites(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(4 * part), *shadow = xmalloc(4 * part), buf[4096];
	size_t slen = 0, got;
	char want[S3B_ETAG_MAX];
	int err = 0;

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);

	/* In-buffer rewrites and forward holes, across part boundaries: the
	 * region being rewritten is always the unsealed part [base, size). */
	CHECK_INT(s3b_writer_open(&e.st, "rewrites", NULL, &e.conf, &w), 0);
	for (unsigned i = 0; i < 400 && !err; i++) {
		uint64_t base = slen == 0 ? 0 : (slen - 1) / part * part;
		uint64_t r = rng_next();
		size_t len = 1 + (size_t)(r % 70000), off;

		if (r % 5 == 0) /* a hole of up to 300 KB */
			off = slen + (size_t)((r >> 20) % 300000);
		else if (r % 5 == 1 && slen > base) /* rewrite inside the buffer */
			off = base + (size_t)((r >> 20) % (slen - base));
		else
			off = slen;
		if (off + len > 3 * part + 777)
			break;
		err = shadow_write(w, shadow, &slen, off, src + (r >> 33) % part, len);
	}
	CHECK_INT(err, 0);
	CHECK(slen > 2 * part);
	CHECK_INT(s3b_writer_size(w), slen);
	/* read back from the buffer; sent bytes are EIO */
	CHECK_INT(s3b_writer_read(w, slen - 100, buf, sizeof(buf), &got), 0);
	CHECK_INT(got, 100);
	CHECK(memcmp(buf, shadow + slen - 100, 100) == 0);
	CHECK_INT(s3b_writer_read(w, 10, buf, 10, &got), EIO);
	CHECK_INT(s3b_writer_read(w, slen, buf, 10, &got), 0);
	CHECK_INT(got, 0);
	CHECK_INT(s3b_writer_commit(w, "rewrites", &res), 0);
	composite_etag(shadow, slen, part, want);
	CHECK(stored_equals(e.ms, "rewrites", shadow, slen, want));
	CHECK_INT(memstore_calls(e.ms, MS_PART), (slen + part - 1) / part);
	s3b_writer_close(w);

	/* A hole spanning a part boundary at the very start */
	CHECK_INT(s3b_writer_open(&e.st, "hole", NULL, &e.conf, &w), 0);
	slen = 0;
	CHECK_INT(shadow_write(w, shadow, &slen, part + 10, src, 1000), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 2 * part + 5, src, 1), 0);
	CHECK_INT(s3b_writer_commit(w, "hole", &res), 0);
	CHECK(stored_equals(e.ms, "hole", shadow, slen, NULL));
	CHECK_INT(res.parts, 3);
	s3b_writer_close(w);
	env_free(&e);
	free(src);
	free(shadow);
}

/* Back into queued parts before any was sent: spool, exact bytes. */
static void test_seek_back_spool(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct gate g;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(3 * part), *shadow = xmalloc(3 * part), buf[64];
	size_t slen = 0, got;
	char want[S3B_ETAG_MAX];

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 1, part, 4);
	gate_close(&g, e.pool); /* the one worker is held: parts stay queued */
	CHECK_INT(s3b_writer_open(&e.st, "seekback", NULL, &e.conf, &w), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 0, src, 2 * part + part / 2), 0);
	CHECK(s3b_writer_started(w));
	CHECK_INT(memstore_calls(e.ms, MS_CREATE), 1);
	CHECK_INT(shadow_write(w, shadow, &slen, 100, src + 7, 5000), 0); /* -> spool */
	CHECK(!s3b_writer_started(w));
	CHECK_INT(memstore_calls(e.ms, MS_ABORT), 1);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, part - 3, src + 99, 10), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, slen + 4096, src, part / 3), 0); /* hole */
	CHECK_INT(s3b_writer_read(w, 100, buf, sizeof(buf), &got), 0); /* spool reads back */
	CHECK_INT(got, sizeof(buf));
	CHECK(memcmp(buf, shadow + 100, sizeof(buf)) == 0);
	gate_open(&g);
	CHECK_INT(s3b_writer_commit(w, "seekback", &res), 0);
	CHECK_INT(res.verdict, S3B_ETAG_MATCH);
	CHECK_INT(res.part_size, part);
	composite_etag(shadow, slen, part, want);
	CHECK(stored_equals(e.ms, "seekback", shadow, slen, want));
	CHECK_INT(memstore_calls(e.ms, MS_PART), (slen + part - 1) / part); /* none twice */
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	s3b_writer_close(w);
	s3b_pool_destroy(e.pool); /* the gate job has run */
	e.pool = NULL;
	CHECK_INT(s3b_pool_create(2, &e.pool), 0);
	pthread_mutex_destroy(&g.lock);
	pthread_cond_destroy(&g.cond);

	/* Back into sent data: EIO, the writer is failed, nothing is visible */
	e.conf.pool = e.pool;
	CHECK_INT(s3b_writer_open(&e.st, "sent", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 2 * part + 10), 0);
	CHECK_INT(s3b_writer_flush(w), 0); /* everything so far is sent */
	CHECK_INT(s3b_writer_write(w, 0, src, 10), EIO);
	CHECK_INT(s3b_writer_write(w, 2 * part + 10, src, 10), EIO); /* failed for good */
	CHECK_INT(s3b_writer_commit(w, "sent", &res), EIO);
	CHECK(strstr(res.error, "already uploaded") != NULL);
	CHECK(log_contains("error: writer: sent: a write at offset 0 goes back into data "
			   "already uploaded"));
	CHECK(memstore_get_copy(e.ms, "sent", NULL, NULL) == NULL);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	s3b_writer_close(w);

	/* truncating into sent data: the same */
	CHECK_INT(s3b_writer_open(&e.st, "sent-trunc", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 2 * part + 10), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(s3b_writer_truncate(w, part), EIO);
	CHECK_INT(s3b_writer_commit(w, "sent-trunc", &res), EIO);
	CHECK(memstore_get_copy(e.ms, "sent-trunc", NULL, NULL) == NULL);
	s3b_writer_close(w);
	env_free(&e);
	free(src);
	free(shadow);
}

/* Back into sent data with a local copy of the sent parts (keep_sent): the
 * spool takes over from the copy, the upload is aborted, the whole file
 * goes up again at commit; beyond keep_sent the rewrite is EIO. */
static void test_seek_back_kept(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(4 * part), *shadow = xmalloc(4 * part), *buf = xmalloc(part);
	size_t slen = 0, got;

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 4);
	e.conf.spool_dir = "/tmp";
	e.conf.keep_sent = 4 * part;

	/* everything sent (flush), then a rewrite at 0 and a read across base */
	CHECK_INT(s3b_writer_open(&e.st, "kept", NULL, &e.conf, &w), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 0, src, 2 * part + 10), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(s3b_writer_read(w, part - 5, buf, 20, &got), 0); /* sent bytes, from the copy */
	CHECK_INT(got, 20);
	CHECK(memcmp(buf, shadow + part - 5, 20) == 0);
	CHECK_INT(s3b_writer_read(w, 2 * part - 3, buf, 10, &got), 0); /* across base */
	CHECK_INT(got, 10);
	CHECK(memcmp(buf, shadow + 2 * part - 3, 10) == 0);
	CHECK_INT(memstore_calls(e.ms, MS_PART), 3);
	CHECK_INT(shadow_write(w, shadow, &slen, 3, src + 999, 10), 0); /* -> spool */
	CHECK(!s3b_writer_started(w));
	CHECK_INT(memstore_calls(e.ms, MS_ABORT), 1);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, slen, src + 5, part), 0); /* and on */
	CHECK_INT(s3b_writer_read(w, 0, buf, part, &got), 0);
	CHECK_INT(got, part);
	CHECK(memcmp(buf, shadow, part) == 0);
	CHECK_INT(s3b_writer_commit(w, "kept", &res), 0);
	CHECK_INT(res.verdict, S3B_ETAG_MATCH);
	CHECK_INT(res.size, slen);
	CHECK(stored_equals(e.ms, "kept", shadow, slen, NULL));
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK(log_contains("behind data already uploaded"));
	s3b_writer_close(w);

	/* while parts are in flight (no flush): a truncate back into them */
	slen = 0;
	CHECK_INT(s3b_writer_open(&e.st, "kept-busy", NULL, &e.conf, &w), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 0, src, 3 * part + 77), 0);
	CHECK_INT(s3b_writer_truncate(w, part + 1), 0);
	slen = part + 1;
	CHECK_INT(shadow_write(w, shadow, &slen, part / 2, src + 3, 100), 0);
	CHECK_INT(s3b_writer_commit(w, "kept-busy", &res), 0);
	CHECK(stored_equals(e.ms, "kept-busy", shadow, slen, NULL));
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	s3b_writer_close(w);

	/* a file larger than keep_sent keeps no copy: EIO, nothing visible */
	e.conf.keep_sent = part;
	CHECK_INT(s3b_writer_open(&e.st, "too-big", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 2 * part + 10), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(s3b_writer_read(w, 0, buf, 10, &got), EIO);
	CHECK_INT(s3b_writer_write(w, 0, src, 10), EIO);
	CHECK(log_contains("no local copy of it is kept (the file is larger than --keep-sent"));
	CHECK_INT(s3b_writer_commit(w, "too-big", &res), EIO);
	CHECK(memstore_get_copy(e.ms, "too-big", NULL, NULL) == NULL);
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	s3b_writer_close(w);

	/* truncate to 0 starts a new, complete copy */
	e.conf.keep_sent = 4 * part;
	slen = 0;
	CHECK_INT(s3b_writer_open(&e.st, "kept-restart", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 2 * part + 10), 0);
	CHECK_INT(s3b_writer_truncate(w, 0), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 0, src + 11, 2 * part + 20), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, part + 1, src, 30), 0);
	CHECK_INT(s3b_writer_commit(w, "kept-restart", &res), 0);
	CHECK(stored_equals(e.ms, "kept-restart", shadow, slen, NULL));
	s3b_writer_close(w);
	env_free(&e);
	free(src);
	free(shadow);
	free(buf);
}

/* flush uploads the tail and keeps it: more writes re-send it, an
 * unchanged tail is not sent twice. */
static void test_flush(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(3 * part);
	char want[S3B_ETAG_MAX];

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);
	CHECK_INT(s3b_writer_open(&e.st, "flush", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, part + 1000), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(memstore_calls(e.ms, MS_PART), 2);
	CHECK_INT(s3b_writer_flush(w), 0); /* nothing new */
	CHECK_INT(memstore_calls(e.ms, MS_PART), 2);
	CHECK_INT(s3b_writer_write(w, part + 1000, src + part + 1000, part), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(memstore_calls(e.ms, MS_PART), 4); /* part 2 again (now full), part 3 */
	CHECK_INT(s3b_writer_commit(w, "flush", &res), 0);
	CHECK_INT(memstore_calls(e.ms, MS_PART), 4); /* the tail was not sent again */
	composite_etag(src, 2 * part + 1000, part, want);
	CHECK_STR(res.etag, want);
	CHECK(stored_equals(e.ms, "flush", src, 2 * part + 1000, want));
	s3b_writer_close(w);

	/* a small file: flush sends nothing (the PUT is the commit) */
	CHECK_INT(s3b_writer_open(&e.st, "flush-small", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 1000), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(memstore_calls(e.ms, MS_PUT), 0);
	CHECK_INT(s3b_writer_commit(w, "flush-small", &res), 0);
	CHECK(stored_equals(e.ms, "flush-small", src, 1000, NULL));
	s3b_writer_close(w);
	env_free(&e);
	free(src);
}

static void test_truncate(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(3 * part), *shadow = xmalloc(3 * part);
	size_t slen = 0;

	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);
	CHECK_INT(s3b_writer_open(&e.st, "trunc", NULL, &e.conf, &w), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 0, src, part + 5000), 0);
	CHECK_INT(s3b_writer_truncate(w, part + 5000), 0); /* no-op */
	CHECK_INT(s3b_writer_truncate(w, part + 100), 0);  /* shrink in the buffer */
	slen = part + 100;
	CHECK_INT(s3b_writer_truncate(w, part + 300000), 0); /* grow: zeros */
	memset(shadow + slen, 0, 300000 - 100);
	slen = part + 300000;
	CHECK_INT(s3b_writer_size(w), slen);
	CHECK_INT(shadow_write(w, shadow, &slen, slen, src + 1, 12345), 0);
	CHECK_INT(s3b_writer_commit(w, "trunc", &res), 0);
	CHECK(stored_equals(e.ms, "trunc", shadow, slen, NULL));
	s3b_writer_close(w);

	/* O_TRUNC pattern after parts were sent: restart from nothing */
	CHECK_INT(s3b_writer_open(&e.st, "restart", NULL, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 2 * part + 1), 0);
	CHECK_INT(s3b_writer_flush(w), 0);
	CHECK_INT(s3b_writer_truncate(w, 0), 0);
	CHECK(!s3b_writer_started(w));
	CHECK_INT(memstore_open_uploads(e.ms), 0);
	CHECK_INT(write_all(w, src + 5, 3000), 0);
	CHECK_INT(s3b_writer_commit(w, "restart", &res), 0);
	CHECK_INT(res.parts, 0);
	CHECK(stored_equals(e.ms, "restart", src + 5, 3000, NULL));
	s3b_writer_close(w);

	/* truncate into sealed-but-unsent data before anything was sent: spool */
	{
		struct gate g1, g2;

		gate_close(&g1, e.pool);
		gate_close(&g2, e.pool); /* both workers held: parts stay queued */
		CHECK_INT(s3b_writer_open(&e.st, "trunc-spool", NULL, &e.conf, &w), 0);
		CHECK_INT(write_all(w, src, 2 * part + 99), 0);
		CHECK_INT(s3b_writer_truncate(w, part / 2), 0);
		CHECK(!s3b_writer_started(w));
		CHECK_INT(s3b_writer_truncate(w, part / 2 + 10), 0); /* grow: zeros */
		memcpy(shadow, src, part / 2);
		memset(shadow + part / 2, 0, 10);
		gate_open(&g1);
		gate_open(&g2);
		CHECK_INT(s3b_writer_commit(w, "trunc-spool", &res), 0);
		CHECK_INT(res.parts, 0);
		CHECK(stored_equals(e.ms, "trunc-spool", shadow, part / 2 + 10, NULL));
		s3b_writer_close(w);
		s3b_pool_destroy(e.pool); /* the gate jobs have run */
		CHECK_INT(s3b_pool_create(2, &e.pool), 0);
		pthread_mutex_destroy(&g1.lock);
		pthread_cond_destroy(&g1.cond);
		pthread_mutex_destroy(&g2.lock);
		pthread_cond_destroy(&g2.cond);
	}
	s3b_writer_close(NULL);
	env_free(&e);
	free(src);
	free(shadow);
}

/* A writer opened in spool mode: any order, read back, upload at commit. */
static void test_spool_mode(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(2 * part), *shadow = xmalloc(2 * part), buf[1000];
	size_t slen = 0, got;
	char want[S3B_ETAG_MAX];

	env_init(&e, S3B_METAG_WHOLE_MD5, 128 * MiB, 2, part, 2);
	e.conf.spool = true;
	e.conf.spool_dir = "/tmp";
	e.conf.spool_max = 2 * part;
	CHECK_INT(s3b_writer_open(&e.st, "spooled", NULL, &e.conf, &w), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, part, src, part), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 0, src + part, 1000), 0);
	CHECK_INT(shadow_write(w, shadow, &slen, 500, src + 3, 70000), 0);
	CHECK_INT(s3b_writer_write(w, 2 * part - 10, src, 11), EFBIG); /* spool_max */
	CHECK_INT(s3b_writer_read(w, 400, buf, sizeof(buf), &got), 0);
	CHECK_INT(got, sizeof(buf));
	CHECK(memcmp(buf, shadow + 400, sizeof(buf)) == 0);
	CHECK_INT(s3b_writer_read(w, 200000, buf, sizeof(buf), &got), 0); /* a hole */
	CHECK(got == sizeof(buf) && buf[0] == 0 && buf[999] == 0);
	CHECK_INT(s3b_writer_truncate(w, 2 * part - 77), 0);
	slen = 2 * part - 77;
	CHECK(!s3b_writer_started(w));
	CHECK_INT(memstore_calls(e.ms, MS_CREATE) + memstore_calls(e.ms, MS_PUT), 0);
	CHECK_INT(s3b_writer_commit(w, "spooled", &res), 0);
	CHECK_INT(res.parts, 2); /* 5 MiB + the rest */
	hex_md5(shadow, slen, want); /* WHOLE_MD5 style */
	CHECK_STR(res.etag, want);
	CHECK(stored_equals(e.ms, "spooled", shadow, slen, want));
	s3b_writer_close(w);

	/* small spooled file: one PUT */
	CHECK_INT(s3b_writer_open(&e.st, "spooled-small", NULL, &e.conf, &w), 0);
	CHECK_INT(s3b_writer_write(w, 10, src, 10), 0);
	CHECK_INT(s3b_writer_truncate(w, 0), 0);
	CHECK_INT(s3b_writer_write(w, 3, src, 10), 0);
	memset(shadow, 0, 3);
	memcpy(shadow + 3, src, 10);
	CHECK_INT(s3b_writer_commit(w, "spooled-small", &res), 0);
	CHECK_INT(res.parts, 0);
	CHECK(stored_equals(e.ms, "spooled-small", shadow, 13, NULL));
	s3b_writer_close(w);
	env_free(&e);
	free(src);
	free(shadow);
}

/* ---- metadata ------------------------------------------------------------- */

static void test_meta(void)
{
	const size_t part = 5 * MiB;
	struct env e;
	struct s3b_writer *w;
	struct s3b_write_result res;
	struct s3_meta m1 = { 0 }, m2 = { 0 }, got = { 0 };
	uint8_t *src = random_data(2 * part);

	s3_meta_set(&m1, "mode", "33188");
	s3_meta_set(&m2, "mode", "33261");
	s3_meta_set(&m2, "mtime", "981173106.500000000");
	env_init(&e, S3B_METAG_COMPOSITE, 128 * MiB, 2, part, 2);

	/* before start: replaces what goes in */
	CHECK_INT(s3b_writer_open(&e.st, "meta-small", &m1, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, 100), 0);
	CHECK_INT(s3b_writer_set_meta(w, &m2), 0);
	CHECK(!s3b_writer_meta_stale(w));
	CHECK_INT(s3b_writer_commit(w, "meta-small", &res), 0);
	CHECK_INT(memstore_meta(e.ms, "meta-small", &got), 0);
	CHECK_STR(s3_meta_get(&got, "mode"), "33261");
	CHECK_STR(s3_meta_get(&got, "mtime"), "981173106.500000000");
	s3_meta_free(&got);
	s3b_writer_close(w);

	/* after start: remembered, stale, the object keeps the first */
	CHECK_INT(s3b_writer_open(&e.st, "meta-big", &m1, &e.conf, &w), 0);
	CHECK_INT(write_all(w, src, part + 1), 0);
	CHECK(s3b_writer_started(w));
	CHECK_INT(s3b_writer_set_meta(w, &m2), 0);
	CHECK(s3b_writer_meta_stale(w));
	CHECK_INT(s3b_writer_commit(w, "meta-big", &res), 0);
	CHECK_INT(memstore_meta(e.ms, "meta-big", &got), 0);
	CHECK_STR(s3_meta_get(&got, "mode"), "33188");
	CHECK(s3_meta_get(&got, "mtime") == NULL);
	s3_meta_free(&got);
	s3b_writer_close(w);

	/* the multipart upload carries the metadata given before it started */
	CHECK_INT(s3b_writer_open(&e.st, "meta-big2", NULL, &e.conf, &w), 0);
	CHECK_INT(s3b_writer_set_meta(w, &m2), 0);
	CHECK_INT(write_all(w, src, part + 1), 0);
	CHECK_INT(s3b_writer_commit(w, "meta-big2", &res), 0);
	CHECK(!s3b_writer_meta_stale(w));
	CHECK_INT(memstore_meta(e.ms, "meta-big2", &got), 0);
	CHECK_STR(s3_meta_get(&got, "mode"), "33261");
	s3_meta_free(&got);
	s3b_writer_close(w);
	s3_meta_free(&m1);
	s3_meta_free(&m2);
	env_free(&e);
	free(src);
}

/* ---- many writers, small budget ------------------------------------------- */

struct many_arg {
	struct env *e;
	unsigned idx;
	const uint8_t *src;
	size_t size;
	int err;
	enum s3b_etag_verdict verdict;
};

static void *many_thread(void *p)
{
	struct many_arg *a = p;
	struct s3b_writer *w;
	struct s3b_write_result res;
	char key[32];

	snprintf(key, sizeof(key), "many/%u", a->idx);
	a->err = s3b_writer_open(&a->e->st, key, NULL, &a->e->conf, &w);
	if (a->err)
		return NULL;
	a->err = write_all(w, a->src, a->size);
	if (!a->err)
		a->err = s3b_writer_commit(w, key, &res);
	a->verdict = res.verdict;
	s3b_writer_close(w);
	return NULL;
}

static void watchdog(int sig)
{
	static const char msg[] = "test_writer: watchdog: deadlock or hang\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
	}
	_exit(3);
}

static void test_many(void)
{
	enum { N = 100 };
	struct env e;
	struct many_arg args[N];
	pthread_t th[N];
	uint8_t *src = random_data(6 * MiB);
	unsigned ok = 0, exact = 0;

	/* 3 MiB for 100 writers whose first buffers are 1 MiB, some growing to
	 * the 8 MiB part: most must wait, none may deadlock. */
	env_init(&e, S3B_METAG_COMPOSITE, 3 * MiB, 4, 0, 2);
	memstore_set_latency_us(e.ms, 2000);
	signal(SIGALRM, watchdog);
	alarm(100);
	for (unsigned i = 0; i < N; i++) {
		args[i] = (struct many_arg){ .e = &e, .idx = i, .src = src + i,
					     .size = i % 25 == 7 ? 2 * MiB + i : (i * 7919) % 200000 };
		pthread_create(&th[i], NULL, many_thread, &args[i]);
	}
	for (unsigned i = 0; i < N; i++) {
		char key[32];

		pthread_join(th[i], NULL);
		ok += args[i].err == 0 && args[i].verdict == S3B_ETAG_MATCH;
		snprintf(key, sizeof(key), "many/%u", i);
		exact += stored_equals(e.ms, key, args[i].src, args[i].size, NULL);
	}
	alarm(0);
	CHECK_INT(ok, N);
	CHECK_INT(exact, N);
	CHECK_INT(memstore_objects(e.ms), N);
	env_free(&e);
	free(src);
}

/* ---- bench ---------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A store that keeps nothing and answers opaque ETags: what the writer
 * alone costs (no part ETag check, verdict UNCOMPARABLE). */
static int null_put(void *inst, const char *key, const void *data, size_t len,
		    const struct s3_meta *meta, char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	snprintf(etag, S3B_ETAG_MAX, "null");
	err->attempts = 1;
	return 0;
}

static int null_create(void *inst, const char *key, const struct s3_meta *meta, char **id,
		       struct s3_error *err)
{
	*id = strdup("null-upload");
	err->attempts = 1;
	return *id ? 0 : ENOMEM;
}

static int null_part(void *inst, const char *key, const char *id, unsigned number,
		     const void *data, size_t len, const uint8_t md5[16], char etag[S3B_ETAG_MAX],
		     struct s3_error *err)
{
	snprintf(etag, S3B_ETAG_MAX, "null-%u", number);
	err->attempts = 1;
	return 0;
}

static int null_complete(void *inst, const char *key, const char *id,
			 const struct s3_part *parts, size_t n, char etag[S3B_ETAG_MAX],
			 struct s3_error *err)
{
	snprintf(etag, S3B_ETAG_MAX, "null-mp");
	err->attempts = 1;
	return 0;
}

static const struct s3b_store_ops null_ops = {
	.put = null_put, .create_mp = null_create, .upload_part = null_part,
	.complete = null_complete,
};

static void bench_one(const char *what, const struct s3b_store *st, struct env *e)
{
	const size_t size = 1024 * MiB, wsize = 128 * 1024;
	struct s3b_writer *w;
	struct s3b_write_result res;
	uint8_t *src = random_data(wsize * 64);
	double t0 = now_s(), c0 = cpu_s(), t1, c1;

	CHECK_INT(s3b_writer_open(st, "bench", NULL, &e->conf, &w), 0);
	for (size_t off = 0; off < size; off += wsize)
		CHECK_INT(s3b_writer_write(w, off, src + (off / wsize % 64) * wsize, wsize), 0);
	CHECK_INT(s3b_writer_commit(w, "bench", &res), 0);
	t1 = now_s();
	c1 = cpu_s();
	s3b_writer_close(w);
	printf("bench: 1 GiB in 128 KiB writes, 8 MiB parts, parallel 4, %s: %.0f MB/s wall, "
	       "%.2f s CPU = %.3f s CPU per 100 MB\n", what, (double)size / 1e6 / (t1 - t0),
	       c1 - c0, (c1 - c0) / ((double)size / 1e8));
	free(src);
}

static void bench(void)
{
	const size_t len = 64 * MiB;
	struct env e;
	struct s3b_store null_store = { .ops = &null_ops };
	uint8_t *src = random_data(len), md5[16], sha[32];
	double c0;

	env_init(&e, S3B_METAG_COMPOSITE, 512 * MiB, 4, 0, 4);
	bench_one("null store (the writer alone)", &null_store, &e);
	bench_one("memstore (copies and MD5s every part too)", &e.st, &e);
	env_free(&e);

	/* one core, per 100 MB: what each digest costs */
	c0 = cpu_s();
	for (int i = 0; i < 4; i++)
		s3b_md5(src, len, md5);
	printf("bench: MD5 %.3f s CPU per 100 MB\n", (cpu_s() - c0) / (4.0 * len / 1e8));
	c0 = cpu_s();
	for (int i = 0; i < 4; i++)
		s3b_sha256(src, len, sha);
	printf("bench: SHA-256 %.3f s CPU per 100 MB\n", (cpu_s() - c0) / (4.0 * len / 1e8));
	c0 = cpu_s();
	for (int i = 0; i < 4; i++)
		(void)s3b_crc32c_update(0, src, len);
	printf("bench: CRC32C %.3f s CPU per 100 MB\n", (cpu_s() - c0) / (4.0 * len / 1e8));
	free(src);
}

int main(int argc, char **argv)
{
	int fd = mkstemp(log_path);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0 || s3b_log_open(S3B_LOG_FILE, log_path) != 0) {
		fprintf(stderr, "cannot open a log file\n");
		return 2;
	}
	close(fd);
	if (argc > 2 && strcmp(argv[2], "--bench") == 0) {
		bench();
		unlink(log_path);
		return check_report();
	}
	test_plan();
	test_empty();
	test_sizes();
	test_limits();
	test_parallel();
	test_part_failure();
	test_flips();
	test_server_kinds();
	test_rewrites();
	test_seek_back_spool();
	test_seek_back_kept();
	test_flush();
	test_truncate();
	test_spool_mode();
	test_meta();
	test_many();
	CHECK(log_contains("flip-small is WRONG"));
	CHECK(log_contains("sending it again from the buffer"));
	s3b_log_close();
	unlink(log_path);
	return check_report();
}
