/*
 * tests/unit/test_reader.c — the read path (fs/reader.c) against the
 * in-process store: byte-exact sequential and random reads, concurrent
 * reads on one handle and on many, the memory bound, error propagation
 * (failed, short, corrupted and stale GETs), the in-order stream digests
 * (known answers, true and false cases) and close with read-ahead in
 * flight.  Reference digests come from OpenSSL's EVP directly and from
 * known-answer vectors, not from the reader's own hasher.  Ends with a
 * throughput figure (512 MiB, 8 MiB chunks, parallel 4).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "hash.h"
#include "log.h"
#include "membudget.h"
#include "memstore.h"
#include "pool.h"
#include "reader.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

struct env {
	struct memstore *m;
	struct s3b_store st;
	struct s3b_membudget *b;
	struct s3b_pool *pool;
};

static void env_init(struct env *e, size_t limit, unsigned threads, uint64_t seed)
{
	e->m = memstore_new(S3B_METAG_COMPOSITE, seed);
	memstore_store(e->m, &e->st);
	e->b = NULL;
	e->pool = NULL;
	CHECK_INT(s3b_membudget_create(limit, &e->b), 0);
	CHECK_INT(s3b_pool_create(threads, &e->pool), 0);
}

static void env_fini(struct env *e)
{
	s3b_pool_destroy(e->pool);
	CHECK_INT(s3b_membudget_used(e->b), 0);
	s3b_membudget_destroy(e->b);
	memstore_free(e->m);
}

static uint8_t *rand_bytes(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;

	for (size_t i = 0; i < n; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545F4914F6CDD1DULL;
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
	return p;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The reference: EVP for MD5 and SHA-256 (not the reader's hasher). */
static void ref_digests(const void *d, size_t n, struct s3b_digests *out)
{
	unsigned int l;

	memset(out, 0, sizeof(*out));
	EVP_Digest(d, n, out->md5, &l, EVP_md5(), NULL);
	EVP_Digest(d, n, out->sha256, &l, EVP_sha256(), NULL);
	out->crc32c = s3b_crc32c_update(0, d, n);
	out->bytes = n;
}

static bool same_digests(const struct s3b_digests *a, const struct s3b_digests *b)
{
	return memcmp(a->md5, b->md5, 16) == 0 && memcmp(a->sha256, b->sha256, 32) == 0 &&
	       a->crc32c == b->crc32c && a->bytes == b->bytes;
}

static void check_hex(const uint8_t *d, size_t n, const char *want)
{
	char hex[65];

	s3b_hex(d, n, hex);
	CHECK_STR(hex, want);
}

static char *etag_of(struct env *e, const char *key, char etag[S3B_ETAG_MAX])
{
	size_t len;

	free(memstore_get_copy(e->m, key, &len, etag));
	return etag;
}

/* Open with the object's current ETag; NULL on failure (no CHECK: the
 * check counters are not for threads). */
static struct s3b_reader *open_quiet(struct env *e, const char *key, uint64_t size,
				     size_t chunk, unsigned parallel)
{
	struct s3b_reader_conf conf = { .chunk = chunk, .parallel = parallel, .budget = e->b,
					.pool = e->pool };
	struct s3b_reader *r = NULL;
	char etag[S3B_ETAG_MAX];

	if (s3b_reader_open(&e->st, key, size, etag_of(e, key, etag), &conf, &r))
		return NULL;
	return r;
}

static struct s3b_reader *open_r(struct env *e, const char *key, uint64_t size, size_t chunk,
				 unsigned parallel)
{
	struct s3b_reader *r = open_quiet(e, key, size, chunk, parallel);

	CHECK(r != NULL);
	return r;
}

/* Read [0, size) in order with reads of step bytes into out (size bytes). */
static int read_all(struct s3b_reader *r, uint8_t *out, uint64_t size, size_t step)
{
	uint64_t off = 0;

	for (;;) {
		size_t got = 0, want = step;
		int rc;

		if (off < size && size - off < want)
			want = (size_t)(size - off) + (step > 1 ? 1 : 0); /* ask past the end */
		rc = s3b_reader_read(r, off, out + (off < size ? off : 0), want, &got);
		if (rc)
			return rc;
		if (got == 0)
			break;
		if (off + got > size)
			return ERANGE;
		off += got;
	}
	return off == size ? 0 : EIO;
}

/* ---- known answers ---------------------------------------------------- */

static void test_known_answers(void)
{
	struct env e;
	struct s3b_reader *r;
	struct s3b_digests d;
	uint8_t out[16];
	uint8_t *zeros, *big;

	env_init(&e, 64 * MiB, 4, 1);
	memstore_seed(e.m, "hw", "Hello world", 11, NULL);
	r = open_r(&e, "hw", 11, 4, 2);
	memset(out, 0, sizeof(out));
	CHECK_INT(read_all(r, out, 11, 3), 0);
	CHECK(memcmp(out, "Hello world", 11) == 0);
	CHECK(s3b_reader_digests(r, &d));
	check_hex(d.md5, 16, "3e25960a79dbc69b674cd4ec67a72c62");
	check_hex(d.sha256, 32, "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2477232534a8aeca37f3c");
	CHECK_INT(d.crc32c, 0x72b51f78);
	CHECK_INT(d.bytes, 11);
	s3b_reader_close(r);

	memstore_seed(e.m, "nine", "123456789", 9, NULL);
	r = open_r(&e, "nine", 9, 1, 1);
	CHECK_INT(read_all(r, out, 9, 2), 0);
	CHECK(memcmp(out, "123456789", 9) == 0);
	CHECK(s3b_reader_digests(r, &d));
	check_hex(d.md5, 16, "25f9e794323b453885f5181f1b624d0b");
	check_hex(d.sha256, 32, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225");
	CHECK_INT(d.crc32c, 0xe3069283);
	s3b_reader_close(r);

	/* the empty object: the empty stream's digests, with or without a read */
	memstore_seed(e.m, "empty", NULL, 0, NULL);
	r = open_r(&e, "empty", 0, 0, 0);
	CHECK(s3b_reader_digests(r, &d));
	check_hex(d.md5, 16, "d41d8cd98f00b204e9800998ecf8427e");
	check_hex(d.sha256, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_INT(d.crc32c, 0);
	CHECK_INT(d.bytes, 0);
	s3b_reader_close(r);
	r = open_r(&e, "empty", 0, 0, 0);
	{
		size_t got = 99;

		CHECK_INT(s3b_reader_read(r, 0, out, sizeof(out), &got), 0);
		CHECK_INT(got, 0);
	}
	CHECK(s3b_reader_digests(r, &d));
	check_hex(d.md5, 16, "d41d8cd98f00b204e9800998ecf8427e");
	s3b_reader_close(r);
	CHECK_INT(memstore_calls(e.m, MS_GET), 0 + 3 + 9); /* 11/4 -> 3 chunks, 9/1 -> 9 */

	/* 25 MiB of zeros (testdata/checksums.json; MD5/SHA-256 by hashlib) */
	zeros = calloc(1, 25 * MiB);
	big = malloc(25 * MiB);
	memstore_seed(e.m, "zeros", zeros, 25 * MiB, NULL);
	r = open_r(&e, "zeros", 25 * MiB, MiB, 4);
	memset(big, 0xAA, 25 * MiB);
	CHECK_INT(read_all(r, big, 25 * MiB, MiB + 1), 0);
	CHECK(memcmp(big, zeros, 25 * MiB) == 0);
	CHECK(s3b_reader_digests(r, &d));
	check_hex(d.md5, 16, "bed3c0a4a1407f584989b4009e9ce33f");
	check_hex(d.sha256, 32, "394c345f0b0c63ee652627a62eed069244d35c4d5134e4f07d4eabb51afda47e");
	CHECK_INT(d.crc32c, 0xfb5b991d);
	CHECK_INT(d.bytes, 25 * MiB);
	s3b_reader_close(r);
	free(zeros);
	free(big);
	env_fini(&e);
}

/* ---- sequential, all sizes ---------------------------------------------- */

static void test_sequential_sizes(void)
{
	const size_t chunk = 64 * KiB;
	const size_t sizes[] = { 0, 1, chunk - 1, chunk, chunk + 1, 10 * chunk + 123 };
	const size_t steps[] = { 1, 4093, 65536, 100003, MiB };
	struct env e;

	env_init(&e, 64 * MiB, 3, 2);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i];
		uint8_t *src = rand_bytes(size, i + 10);
		uint8_t *out = malloc(size + 1);
		struct s3b_digests want, d;

		ref_digests(src, size, &want);
		memstore_seed(e.m, "obj", src, size, NULL);
		for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			if (steps[j] == 1 && size > chunk + 1)
				continue; /* byte by byte only for the small ones */
			unsigned gets0 = memstore_calls(e.m, MS_GET);
			struct s3b_reader *r = open_r(&e, "obj", size, chunk, 3);
			size_t got = 7;

			memset(out, 0x5A, size + 1);
			CHECK_INT(read_all(r, out, size, steps[j]), 0);
			CHECK(memcmp(out, src, size) == 0);
			CHECK(s3b_reader_digests(r, &d));
			CHECK(same_digests(&d, &want));
			/* one GET per chunk, none twice */
			CHECK_INT(memstore_calls(e.m, MS_GET) - gets0, (size + chunk - 1) / chunk);
			/* at and past the end */
			CHECK_INT(s3b_reader_read(r, size, out, 10, &got), 0);
			CHECK_INT(got, 0);
			CHECK_INT(s3b_reader_read(r, size + 12345, out, 10, &got), 0);
			CHECK_INT(got, 0);
			if (size > 0) {
				/* a read straddling the end returns what is left */
				CHECK_INT(s3b_reader_read(r, size - 1, out, 10, &got), 0);
				CHECK_INT(got, 1);
				CHECK_INT(out[0], src[size - 1]);
				/* ... and that re-read ends the one-pass digests */
				CHECK(!s3b_reader_digests(r, &d));
			}
			s3b_reader_close(r);
			CHECK_INT(s3b_membudget_used(e.b), 0);
		}
		free(src);
		free(out);
	}
	env_fini(&e);
}

/* Without a pool (no read-ahead) and without a budget (no accounting). */
static void test_bare(void)
{
	const size_t size = 10 * 65536 + 123;
	uint8_t *src = rand_bytes(size, 21), *out = malloc(size);
	struct s3b_reader_conf conf = { .chunk = 65536, .parallel = 2 };
	struct s3b_digests want, d;
	struct s3b_reader *r = NULL;
	struct memstore *m = memstore_new(S3B_METAG_COMPOSITE, 21);
	struct s3b_store st;
	size_t got;

	memstore_store(m, &st);
	memstore_seed(m, "b", src, size, NULL);
	ref_digests(src, size, &want);
	CHECK_INT(s3b_reader_open(&st, "b", size, NULL, &conf, &r), 0);
	CHECK_INT(read_all(r, out, size, 30000), 0);
	CHECK(memcmp(out, src, size) == 0);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	CHECK_INT(memstore_calls(m, MS_GET), 11);
	s3b_reader_close(r);
	/* an object gone since open: ESTALE */
	CHECK_INT(s3b_reader_open(&st, "gone", size, NULL, &conf, &r), 0);
	CHECK_INT(s3b_reader_read(r, 0, out, 1000, &got), ESTALE);
	CHECK_INT(s3b_reader_read(r, 5000, out, 200000, &got), ESTALE);
	s3b_reader_close(r);
	memstore_free(m);
	free(src);
	free(out);
}

/* ---- random reads ------------------------------------------------------ */

static void test_random(void)
{
	const size_t size = 4 * MiB + 777, chunk = 256 * KiB;
	const unsigned parallel = 3;
	uint8_t *src = rand_bytes(size, 3), *out = malloc(400 * KiB);
	uint64_t s = 12345;
	struct env e;
	struct s3b_reader *r;
	struct s3b_digests d;
	unsigned bad = 0, over = 0, gets0;
	size_t got;

	env_init(&e, 64 * MiB, 4, 3);
	memstore_seed(e.m, "rnd", src, size, NULL);
	r = open_r(&e, "rnd", size, chunk, parallel);
	for (int i = 0; i < 3000; i++) {
		uint64_t off = rnd(&s) % (size + 1000);
		size_t len = 1 + (size_t)(rnd(&s) % (i % 2 ? 300 * KiB : 8 * KiB));
		size_t want = off >= size ? 0 : (size - off < len ? (size_t)(size - off) : len);
		int rc = s3b_reader_read(r, off, out, len, &got);

		if (rc || got != want || memcmp(out, src + (off < size ? off : 0), got) != 0)
			bad++;
		if (s3b_membudget_used(e.b) > (parallel + 1) * chunk)
			over++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(over, 0);
	CHECK(!s3b_reader_digests(r, &d));

	s3b_reader_close(r);

	/* small random reads near each other cost one 128 KiB GET */
	r = open_r(&e, "rnd", size, chunk, parallel);
	CHECK_INT(s3b_reader_read(r, 100, out, 100, &got), 0); /* the first read is at pos 0 */
	gets0 = memstore_calls(e.m, MS_GET);
	CHECK_INT(s3b_reader_read(r, 3 * MiB + 100, out, 100, &got), 0);
	CHECK(got == 100 && memcmp(out, src + 3 * MiB + 100, 100) == 0);
	CHECK_INT(s3b_reader_read(r, 3 * MiB + 50 * KiB, out, 4 * KiB, &got), 0);
	CHECK(got == 4 * KiB && memcmp(out, src + 3 * MiB + 50 * KiB, 4 * KiB) == 0);
	CHECK_INT(memstore_calls(e.m, MS_GET) - gets0, 1);
	s3b_reader_close(r);
	CHECK_INT(s3b_membudget_used(e.b), 0);

	/* a random read, then a sequential run from there: right bytes, no digests */
	r = open_r(&e, "rnd", size, chunk, parallel);
	CHECK_INT(s3b_reader_read(r, MiB, out, 4096, &got), 0);
	CHECK(got == 4096 && memcmp(out, src + MiB, 4096) == 0);
	{
		uint64_t off = MiB + 4096;

		bad = 0;
		while (off < size) {
			CHECK_INT(s3b_reader_read(r, off, out, 100000, &got), 0);
			if (got == 0 || memcmp(out, src + off, got) != 0) {
				bad++;
				break;
			}
			off += got;
		}
		CHECK_INT(bad, 0);
	}
	CHECK(!s3b_reader_digests(r, &d));
	s3b_reader_close(r);
	env_fini(&e);
	free(src);
	free(out);
}

/* ---- concurrency --------------------------------------------------------- */

/* Samples the budget in use as often as it can. */
struct sampler {
	struct s3b_membudget *b;
	atomic_bool stop;
	size_t peak;
};

static void *sample(void *arg)
{
	struct sampler *s = arg;

	while (!atomic_load(&s->stop)) {
		size_t u = s3b_membudget_used(s->b);

		if (u > s->peak)
			s->peak = u;
	}
	return NULL;
}


struct shared_read {
	struct s3b_reader *r;
	const uint8_t *src;
	uint64_t size;
	size_t step;
	atomic_uint_fast64_t next;
	atomic_uint bad;
	bool random;
	atomic_uint tid;
};

static void *shared_reader(void *arg)
{
	struct shared_read *s = arg;
	uint8_t *buf = malloc(s->step);
	uint64_t seed = 7919u * (atomic_fetch_add(&s->tid, 1) + 1u);

	for (int i = 0;; i++) {
		uint64_t off;
		size_t len = s->step, got = 0, want;

		if (s->random) {
			if (i >= 400)
				break;
			off = rnd(&seed) % s->size;
			len = 1 + (size_t)(rnd(&seed) % s->step);
		} else {
			off = atomic_fetch_add(&s->next, s->step);
			if (off >= s->size)
				break;
		}
		want = s->size - off < len ? (size_t)(s->size - off) : len;
		if (s3b_reader_read(s->r, off, buf, len, &got) || got != want ||
		    (s->src && memcmp(buf, s->src + off, got) != 0))
			atomic_fetch_add(&s->bad, 1);
	}
	free(buf);
	return NULL;
}

static void test_concurrent_one_reader(void)
{
	const size_t size = 64 * MiB + 5;
	uint8_t *src = rand_bytes(size, 4);
	struct s3b_digests want, d;
	struct shared_read s = { .src = src, .size = size, .step = 128 * KiB };
	pthread_t t[4];
	struct env e;

	ref_digests(src, size, &want);
	env_init(&e, 256 * MiB, 4, 4);
	memstore_seed(e.m, "c", src, size, NULL);
	memstore_set_latency_us(e.m, 300);

	/* kernel-style: four threads, consecutive pieces, slightly out of order;
	 * the window bound holds for the handle as a whole */
	struct sampler sm = { .b = e.b };
	pthread_t ts;

	pthread_create(&ts, NULL, sample, &sm);
	s.r = open_r(&e, "c", size, MiB, 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, shared_reader, &s);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	atomic_store(&sm.stop, true);
	pthread_join(ts, NULL);
	CHECK_INT(atomic_load(&s.bad), 0);
	CHECK(sm.peak <= 5 * MiB);
	CHECK(s3b_reader_digests(s.r, &d));
	CHECK(same_digests(&d, &want));
	s3b_reader_close(s.r);
	CHECK_INT(s3b_membudget_used(e.b), 0);

	/* again with 1 MiB pieces (FUSE max_read) and 8 threads */
	s.r = open_r(&e, "c", size, 4 * MiB, 4);
	s.step = MiB;
	atomic_store(&s.next, 0);
	pthread_t t8[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t8[i], NULL, shared_reader, &s);
	for (int i = 0; i < 8; i++)
		pthread_join(t8[i], NULL);
	CHECK_INT(atomic_load(&s.bad), 0);
	CHECK(s3b_reader_digests(s.r, &d));
	CHECK(same_digests(&d, &want));
	s3b_reader_close(s.r);

	/* random reads from four threads on one handle */
	s.r = open_r(&e, "c", size, MiB, 4);
	s.random = true;
	s.step = 300 * KiB;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, shared_reader, &s);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(atomic_load(&s.bad), 0);
	s3b_reader_close(s.r);
	env_fini(&e);
	free(src);
}

struct own_read {
	struct env *e;
	char key[16];
	uint8_t *src;
	size_t size;
	bool ok_bytes, ok_digests;
};

static void *own_reader(void *arg)
{
	struct own_read *o = arg;
	struct s3b_reader *r = open_quiet(o->e, o->key, o->size, 512 * KiB, 3);
	uint8_t *out = malloc(o->size);
	struct s3b_digests want, d;

	if (!r) {
		free(out);
		return NULL;
	}
	ref_digests(o->src, o->size, &want);
	o->ok_bytes = read_all(r, out, o->size, 131072) == 0 && memcmp(out, o->src, o->size) == 0;
	o->ok_digests = s3b_reader_digests(r, &d) && same_digests(&d, &want);
	s3b_reader_close(r);
	free(out);
	return NULL;
}

static void test_concurrent_readers(void)
{
	struct own_read o[6];
	pthread_t t[6];
	struct env e;

	/* budget for about three readers' windows: they share and wait */
	env_init(&e, 3 * 4 * 512 * KiB, 4, 5);
	memstore_set_latency_us(e.m, 200);
	for (int i = 0; i < 6; i++) {
		o[i] = (struct own_read){ .e = &e, .size = 6 * MiB + (size_t)i * 1001 };
		snprintf(o[i].key, sizeof(o[i].key), "own%d", i);
		o[i].src = rand_bytes(o[i].size, 100 + (uint64_t)i);
		memstore_seed(e.m, o[i].key, o[i].src, o[i].size, NULL);
	}
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, own_reader, &o[i]);
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		CHECK(o[i].ok_bytes);
		CHECK(o[i].ok_digests);
		free(o[i].src);
	}
	env_fini(&e);
}

/* ---- the memory bound ---------------------------------------------------- */

static void test_memory_bound(void)
{
	const size_t size = 256 * MiB, chunk = MiB;
	const unsigned parallel = 4;
	uint8_t *src = rand_bytes(size, 6), *buf = malloc(MiB);
	struct sampler s = { 0 };
	struct s3b_digests want, d;
	struct s3b_reader *r;
	pthread_t t;
	struct env e;
	size_t peak_after = 0, got;
	unsigned bad = 0;

	ref_digests(src, size, &want);
	env_init(&e, 1024 * MiB, 4, 6);
	memstore_seed(e.m, "big", src, size, NULL);
	s.b = e.b;
	pthread_create(&t, NULL, sample, &s);
	r = open_r(&e, "big", size, chunk, parallel);
	for (uint64_t off = 0; off < size; off += got) {
		size_t u;

		if (s3b_reader_read(r, off, buf, MiB, &got) || got == 0 ||
		    memcmp(buf, src + off, got) != 0) {
			bad++;
			break;
		}
		u = s3b_membudget_used(e.b);
		if (u > peak_after)
			peak_after = u;
	}
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	CHECK_INT(bad, 0);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	s3b_reader_close(r);
	printf("memory bound: peak budget %zu KiB (limit %zu KiB) over a 256 MiB read\n",
	       (s.peak > peak_after ? s.peak : peak_after) / KiB, (parallel + 1) * chunk / KiB);
	CHECK(s.peak <= (parallel + 1) * chunk);
	CHECK(peak_after <= (parallel + 1) * chunk);
	CHECK(peak_after >= 2 * chunk); /* read-ahead really ran ahead */
	CHECK_INT(memstore_calls(e.m, MS_GET), size / chunk);
	CHECK_INT(s3b_membudget_used(e.b), 0);
	env_fini(&e);

	/* a budget smaller than one window, even smaller than one chunk: slower,
	 * never stuck, never wrong */
	for (int k = 0; k < 2; k++) {
		size_t limit = k == 0 ? 2 * MiB : 512 * KiB;
		uint64_t sz = 32 * MiB;

		env_init(&e, limit, 4, 7);
		memstore_seed(e.m, "big", src, sz, NULL);
		ref_digests(src, sz, &want);
		r = open_r(&e, "big", sz, chunk, parallel);
		bad = 0;
		for (uint64_t off = 0; off < sz; off += got) {
			if (s3b_reader_read(r, off, buf, 200 * KiB, &got) || got == 0 ||
			    memcmp(buf, src + off, got) != 0) {
				bad++;
				break;
			}
			if (s3b_membudget_used(e.b) > limit)
				bad++;
		}
		CHECK_INT(bad, 0);
		CHECK(s3b_reader_digests(r, &d));
		CHECK(same_digests(&d, &want));
		s3b_reader_close(r);
		env_fini(&e);
	}

	/* an idle reader holding the whole budget: another still reads (slowly,
	 * straight into the caller's buffer), hashing in order from there */
	{
		struct s3b_reader *idle;
		uint64_t sz = 8 * MiB;
		double t0;
		struct timespec ts;

		env_init(&e, (parallel + 1) * chunk, 4, 8);
		memstore_seed(e.m, "big", src, sz, NULL);
		idle = open_r(&e, "big", sz, chunk, parallel);
		CHECK_INT(s3b_reader_read(idle, 0, buf, 1, &got), 0);
		usleep(50000);
		r = open_r(&e, "big", sz, chunk, parallel);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		bad = 0;
		for (uint64_t off = 0; off < sz; off += got)
			if (s3b_reader_read(r, off, buf, MiB, &got) || got == 0 ||
			    memcmp(buf, src + off, got) != 0) {
				bad++;
				break;
			}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		CHECK_INT(bad, 0);
		CHECK((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0 < 2.0);
		ref_digests(src, sz, &want);
		CHECK(s3b_reader_digests(r, &d));
		CHECK(same_digests(&d, &want));
		s3b_reader_close(r);
		s3b_reader_close(idle);
		env_fini(&e);
	}
	free(src);
	free(buf);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void)
{
	const size_t size = 3 * MiB + 17, chunk = 256 * KiB;
	uint8_t *src = rand_bytes(size, 9), *out = malloc(size + 1);
	struct s3b_digests want, d, served;
	struct s3b_reader_conf conf;
	struct s3b_reader *r;
	struct env e;
	size_t got;
	int rc;

	ref_digests(src, size, &want);
	env_init(&e, 64 * MiB, 4, 9);
	memstore_seed(e.m, "e", src, size, NULL);

	/* every GET fails: EIO, nothing served; then it recovers, digests intact */
	r = open_r(&e, "e", size, chunk, 3);
	memstore_fail_next(e.m, MS_GET, EIO, 1000);
	got = 99;
	CHECK_INT(s3b_reader_read(r, 0, out, 100000, &got), EIO);
	CHECK_INT(got, 0);
	usleep(100000); /* read-ahead GETs that started meanwhile fail too */
	memstore_fail_next(e.m, MS_GET, 0, 0);
	memset(out, 0, size);
	CHECK_INT(read_all(r, out, size, 100000), 0);
	CHECK(memcmp(out, src, size) == 0);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	s3b_reader_close(r);
	CHECK_INT(s3b_membudget_used(e.b), 0);

	/* other store errors are EIO too */
	r = open_r(&e, "e", size, chunk, 3);
	memstore_fail_next(e.m, MS_GET, ETIMEDOUT, 1000);
	CHECK_INT(s3b_reader_read(r, MiB, out, 5000, &got), EIO); /* random path */
	CHECK_INT(s3b_reader_read(r, MiB + 5000, out, 500000, &got), EIO); /* direct path */
	memstore_fail_next(e.m, MS_GET, 0, 0);
	s3b_reader_close(r);

	/* one failure in the middle of the read-ahead: a read may fail, a retry
	 * succeeds, and no read ever returns wrong bytes */
	for (int round = 0; round < 20; round++) {
		uint64_t off = 0;
		int errors = 0;

		r = open_r(&e, "e", size, chunk, 3);
		CHECK_INT(s3b_reader_read(r, 0, out, 1000, &got), 0);
		memstore_fail_next(e.m, MS_GET, EIO, 1 + (unsigned)round % 3);
		off = got;
		while (off < size && errors < 10) {
			rc = s3b_reader_read(r, off, out + off, 65536, &got);
			if (rc) {
				CHECK_INT(rc, EIO);
				errors++;
				continue;
			}
			off += got;
		}
		CHECK(off == size && memcmp(out, src, size) == 0);
		memstore_fail_next(e.m, MS_GET, 0, 0);
		s3b_reader_close(r);
	}
	CHECK_INT(s3b_membudget_used(e.b), 0);

	/* short responses are errors, never data */
	memstore_set_short_get(e.m, 1.0);
	r = open_r(&e, "e", size, chunk, 3);
	CHECK_INT(s3b_reader_read(r, 0, out, 100000, &got), EIO);
	CHECK_INT(s3b_reader_read(r, 2 * MiB, out, 1000, &got), EIO);
	CHECK_INT(s3b_reader_read(r, MiB, out, 200000, &got), EIO);
	s3b_reader_close(r);
	memstore_set_short_get(e.m, 0.3);
	{
		int good = 0, failed = 0, wrong = 0;

		for (int i = 0; i < 60; i++) {
			uint64_t off = (uint64_t)i * 50000;

			r = open_r(&e, "e", size, chunk, 3);
			memset(out, 0, 70000);
			rc = s3b_reader_read(r, off, out, 70000, &got);
			if (rc == EIO)
				failed++;
			else if (rc == 0 && got == 70000 && memcmp(out, src + off, got) == 0)
				good++;
			else
				wrong++;
			s3b_reader_close(r);
		}
		CHECK_INT(wrong, 0);
		CHECK(good > 0);
		CHECK(failed > 0);
	}
	memstore_set_short_get(e.m, 0);
	CHECK_INT(s3b_membudget_used(e.b), 0);

	/* corrupted responses: the reader cannot know, but its digests are
	 * those of what it served, not of the source */
	memstore_set_flip_get(e.m, 1.0);
	r = open_r(&e, "e", size, chunk, 3);
	CHECK_INT(read_all(r, out, size, 77777), 0);
	CHECK(memcmp(out, src, size) != 0);
	ref_digests(out, size, &served);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &served));
	CHECK(!same_digests(&d, &want));
	s3b_reader_close(r);
	memstore_set_flip_get(e.m, 0);

	/* If-Match: a wrong ETag at open, and an object replaced mid-read */
	conf = (struct s3b_reader_conf){ .chunk = chunk, .parallel = 3, .budget = e.b,
					 .pool = e.pool };
	CHECK_INT(s3b_reader_open(&e.st, "e", size, "0123456789abcdef0123456789abcdef", &conf,
				  &r), 0);
	CHECK_INT(s3b_reader_read(r, 0, out, 1000, &got), ESTALE);
	CHECK_INT(s3b_reader_read(r, MiB, out, 300000, &got), ESTALE);
	s3b_reader_close(r);
	/* "" skips If-Match */
	CHECK_INT(s3b_reader_open(&e.st, "e", size, "", &conf, &r), 0);
	CHECK_INT(s3b_reader_read(r, 0, out, 1000, &got), 0);
	CHECK(got == 1000 && memcmp(out, src, 1000) == 0);
	s3b_reader_close(r);
	{
		uint8_t *other = rand_bytes(size, 99);
		uint64_t off = 0;
		bool stale = false, wrong = false;

		r = open_r(&e, "e", size, chunk, 3);
		CHECK_INT(s3b_reader_read(r, 0, out, 100000, &got), 0);
		usleep(20000); /* let the read-ahead land */
		memstore_seed(e.m, "e", other, size, NULL);
		off = got;
		while (off < size) {
			rc = s3b_reader_read(r, off, out, 100000, &got);
			if (rc) {
				stale = rc == ESTALE;
				break;
			}
			if (memcmp(out, src + off, got) != 0)
				wrong = true;
			off += got;
		}
		CHECK(stale);
		CHECK(!wrong); /* never a byte of the new version */
		s3b_reader_close(r);
		free(other);
	}
	env_fini(&e);
	free(src);
	free(out);
}

/* ---- digests: true and false -------------------------------------------- */

static void test_digest_cases(void)
{
	const size_t size = 2 * MiB + 3, chunk = 64 * KiB;
	uint8_t *src = rand_bytes(size, 11), *out = malloc(size);
	struct s3b_digests want, d;
	struct s3b_reader *r;
	struct env e;
	size_t got;

	ref_digests(src, size, &want);
	env_init(&e, 64 * MiB, 4, 11);
	memstore_seed(e.m, "d", src, size, NULL);

	/* all but the last byte: false; the last byte completes the pass */
	r = open_r(&e, "d", size, chunk, 4);
	for (uint64_t off = 0; off < size - 1; off += got) {
		size_t n = size - 1 - off < 50000 ? (size_t)(size - 1 - off) : 50000;

		CHECK_INT(s3b_reader_read(r, off, out + off, n, &got), 0);
		CHECK_INT(got, n);
	}
	CHECK(!s3b_reader_digests(r, &d));
	CHECK_INT(s3b_reader_read(r, size - 1, out + size - 1, 1, &got), 0);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	/* asking again gives the same answer; a re-read afterwards ends it */
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	CHECK_INT(s3b_reader_read(r, 5, out, 1, &got), 0);
	CHECK(!s3b_reader_digests(r, &d));
	s3b_reader_close(r);

	/* re-reading the first bytes */
	r = open_r(&e, "d", size, chunk, 4);
	CHECK_INT(s3b_reader_read(r, 0, out, 100, &got), 0);
	CHECK_INT(s3b_reader_read(r, 0, out, 100, &got), 0);
	CHECK(got == 100 && memcmp(out, src, 100) == 0);
	CHECK_INT(read_all(r, out, size, 100000), 0);
	CHECK(!s3b_reader_digests(r, &d));
	s3b_reader_close(r);

	/* an overlapping read */
	r = open_r(&e, "d", size, chunk, 4);
	CHECK_INT(s3b_reader_read(r, 0, out, 1000, &got), 0);
	CHECK_INT(s3b_reader_read(r, 900, out, 1000, &got), 0);
	CHECK(memcmp(out, src + 900, 1000) == 0);
	s3b_reader_close(r);

	/* a gap filled much later */
	r = open_r(&e, "d", size, chunk, 4);
	CHECK_INT(s3b_reader_read(r, 0, out, 100, &got), 0);
	for (uint64_t off = 200; off < size; off += got)
		CHECK_INT(s3b_reader_read(r, off, out + off, 8192, &got), 0);
	CHECK_INT(s3b_reader_read(r, 100, out + 100, 100, &got), 0);
	CHECK(memcmp(out + 100, src + 100, size - 100) == 0);
	CHECK(!s3b_reader_digests(r, &d));
	s3b_reader_close(r);

	/* a small reordering (as the kernel's async reads do): still true */
	r = open_r(&e, "d", size, chunk, 4);
	CHECK_INT(s3b_reader_read(r, 8192, out + 8192, 8192, &got), 0);
	CHECK_INT(s3b_reader_read(r, 0, out, 8192, &got), 0);
	CHECK_INT(s3b_reader_read(r, 3 * 8192, out + 3 * 8192, 8192, &got), 0);
	CHECK_INT(s3b_reader_read(r, 2 * 8192, out + 2 * 8192, 8192, &got), 0);
	for (uint64_t off = 4 * 8192; off < size; off += got)
		CHECK_INT(s3b_reader_read(r, off, out + off, 8192, &got), 0);
	CHECK(memcmp(out, src, size) == 0);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	s3b_reader_close(r);

	/* a random read in the middle of a pass */
	r = open_r(&e, "d", size, chunk, 4);
	CHECK_INT(s3b_reader_read(r, 0, out, 100000, &got), 0);
	CHECK_INT(s3b_reader_read(r, size - 10, out, 10, &got), 0);
	CHECK(got == 10 && memcmp(out, src + size - 10, 10) == 0);
	CHECK_INT(read_all(r, out, size, 100000), 0);
	CHECK(!s3b_reader_digests(r, &d));
	s3b_reader_close(r);

	/* a pass that did not start at 0 */
	r = open_r(&e, "d", size, chunk, 4);
	for (uint64_t off = 10; off < size; off += got)
		CHECK_INT(s3b_reader_read(r, off, out, 100000, &got), 0);
	CHECK(!s3b_reader_digests(r, &d));
	s3b_reader_close(r);
	CHECK_INT(s3b_membudget_used(e.b), 0);
	env_fini(&e);
	free(src);
	free(out);
}

/* ---- close ---------------------------------------------------------------- */

static void test_close_in_flight(void)
{
	const size_t size = 40 * MiB;
	uint8_t *src = rand_bytes(size, 12), buf[4096];
	struct s3b_reader *r;
	struct env e;
	size_t got;
	unsigned gets;

	env_init(&e, 256 * MiB, 2, 12);
	memstore_seed(e.m, "cl", src, size, NULL);
	memstore_set_latency_us(e.m, 20000);

	/* two workers, nine chunks queued: close cancels what has not started */
	r = open_r(&e, "cl", size, MiB, 8);
	CHECK_INT(s3b_reader_read(r, 0, buf, 1, &got), 0);
	CHECK(got == 1 && buf[0] == src[0]);
	s3b_reader_close(r);
	CHECK_INT(s3b_membudget_used(e.b), 0);
	usleep(100000);
	gets = memstore_calls(e.m, MS_GET);
	CHECK(gets >= 1 && gets < 9);

	/* close at odd moments: right after open, after random reads, while
	 * other chunks still run */
	for (int i = 0; i < 30; i++) {
		r = open_r(&e, "cl", size, 512 * KiB, 1 + (unsigned)i % 6);
		if (i % 3 == 1)
			CHECK_INT(s3b_reader_read(r, (uint64_t)i * MiB, buf, 1000, &got), 0);
		if (i % 3 == 2) {
			CHECK_INT(s3b_reader_read(r, 0, buf, 4096, &got), 0);
			CHECK_INT(s3b_reader_read(r, 4096, buf, 4096, &got), 0);
			CHECK(memcmp(buf, src + 4096, 4096) == 0);
		}
		if (i % 5 == 0)
			usleep((useconds_t)(i * 1000));
		s3b_reader_close(r);
		CHECK_INT(s3b_membudget_used(e.b), 0);
	}
	env_fini(&e);
	free(src);
}

/* ---- throughput ------------------------------------------------------------ */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_throughput(void)
{
	const size_t size = 512 * MiB, chunk = 8 * MiB;
	uint8_t *src = rand_bytes(size, 13), *buf = malloc(MiB);
	struct s3b_digests want, d;
	struct s3b_reader *r;
	struct env e;
	size_t got;
	double t0, dt;
	int rc = 0;

	ref_digests(src, size, &want);
	env_init(&e, 512 * MiB, 8, 13);
	memstore_seed(e.m, "tp", src, size, NULL);
	free(src); /* the store keeps its own copy */
	r = open_r(&e, "tp", size, chunk, 4);
	t0 = seconds();
	for (uint64_t off = 0; off < size && rc == 0; off += got)
		rc = s3b_reader_read(r, off, buf, MiB, &got);
	dt = seconds() - t0;
	CHECK_INT(rc, 0);
	CHECK(s3b_reader_digests(r, &d));
	CHECK(same_digests(&d, &want));
	s3b_reader_close(r);
	printf("throughput: %.0f MB/s (512 MiB, 8 MiB chunks, parallel 4, 1 MiB reads, "
	       "MD5+SHA-256+CRC32C of the stream)\n",
	       (double)size / 1e6 / dt);

	/* the same with four threads on the handle, as FUSE async reads */
	{
		struct shared_read s = { .size = size, .step = MiB, .src = NULL };
		pthread_t t[4];

		s.r = open_r(&e, "tp", size, chunk, 4);
		t0 = seconds();
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, shared_reader, &s);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		dt = seconds() - t0;
		CHECK_INT(atomic_load(&s.bad), 0);
		CHECK(s3b_reader_digests(s.r, &d));
		CHECK(same_digests(&d, &want));
		s3b_reader_close(s.r);
		printf("throughput: %.0f MB/s (the same, 4 threads on one handle)\n",
		       (double)size / 1e6 / dt);
	}
	env_fini(&e);
	free(buf);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* the error tests provoke warnings by the hundred; S3B_TEST_LOG=7 shows them */
	s3b_log_level = getenv("S3B_TEST_LOG") ? (int)strtol(getenv("S3B_TEST_LOG"), NULL, 10)
					       : LOG_CRIT;
	test_known_answers();
	test_sequential_sizes();
	test_bare();
	test_random();
	test_concurrent_one_reader();
	test_concurrent_readers();
	test_memory_bound();
	test_errors();
	test_digest_cases();
	test_close_in_flight();
	test_throughput();
	return check_report();
}
