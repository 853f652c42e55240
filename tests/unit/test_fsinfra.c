/*
 * tests/unit/test_fsinfra.c — the bridge's plumbing: the memory budget
 * (blocking, clamping, timeouts, fairness), the worker pool (every job
 * runs, destroy drains, real parallelism) and the in-process store the
 * reader and writer tests rely on (ETags with known answers, Content-MD5,
 * part rules, ranged GETs, If-Match, scripted faults).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hash.h"
#include "membudget.h"
#include "memstore.h"
#include "pool.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- membudget ------------------------------------------------------- */

struct acq_arg {
	struct s3b_membudget *b;
	size_t n;
	atomic_bool done;
};

static void *acquirer(void *arg)
{
	struct acq_arg *a = arg;

	s3b_membudget_acquire(a->b, a->n);
	atomic_store(&a->done, true);
	return NULL;
}

static void test_budget_basics(void)
{
	struct s3b_membudget *b = NULL;
	double t0, dt;

	CHECK_INT(s3b_membudget_create(1000, &b), 0);
	CHECK_INT(s3b_membudget_limit(b), 1000);
	CHECK_INT(s3b_membudget_used(b), 0);
	CHECK(s3b_membudget_try_acquire(b, 600));
	CHECK(!s3b_membudget_try_acquire(b, 401));
	CHECK(s3b_membudget_try_acquire(b, 400));
	CHECK_INT(s3b_membudget_used(b), 1000);
	CHECK(!s3b_membudget_try_acquire(b, 1));
	s3b_membudget_release(b, 400);
	CHECK_INT(s3b_membudget_used(b), 600);

	/* acquire_for times out after about ms, and succeeds when it fits */
	t0 = now_ms();
	CHECK(!s3b_membudget_acquire_for(b, 500, 80));
	dt = now_ms() - t0;
	CHECK(dt >= 75 && dt < 2000);
	CHECK_INT(s3b_membudget_used(b), 600);
	CHECK(s3b_membudget_acquire_for(b, 400, 80));
	CHECK_INT(s3b_membudget_used(b), 1000);
	s3b_membudget_release(b, 1000);
	CHECK_INT(s3b_membudget_used(b), 0);

	/* oversize requests are clamped to the limit, both ways */
	s3b_membudget_acquire(b, 5000);
	CHECK_INT(s3b_membudget_used(b), 1000);
	CHECK(!s3b_membudget_try_acquire(b, 1));
	s3b_membudget_release(b, 5000);
	CHECK_INT(s3b_membudget_used(b), 0);
	CHECK(s3b_membudget_try_acquire(b, 1u << 30));
	CHECK_INT(s3b_membudget_used(b), 1000);
	s3b_membudget_release(b, 1u << 30);

	/* releasing more than is used cannot go below zero */
	CHECK(s3b_membudget_try_acquire(b, 10));
	s3b_membudget_release(b, 20);
	CHECK_INT(s3b_membudget_used(b), 0);

	/* zero-byte requests always succeed */
	CHECK(s3b_membudget_try_acquire(b, 0));
	s3b_membudget_destroy(b);
}

static void test_budget_blocks(void)
{
	struct s3b_membudget *b = NULL;
	struct acq_arg a = { .n = 500 };
	pthread_t t;

	CHECK_INT(s3b_membudget_create(1000, &b), 0);
	a.b = b;
	s3b_membudget_acquire(b, 900);
	CHECK_INT(pthread_create(&t, NULL, acquirer, &a), 0);
	sleep_ms(100);
	CHECK(!atomic_load(&a.done)); /* blocked: 900 + 500 > 1000 */
	/* a waiter is queued: try_acquire must not jump it, even though 50 fits */
	CHECK(!s3b_membudget_try_acquire(b, 50));
	s3b_membudget_release(b, 300); /* 600 used: still no room for 500 */
	sleep_ms(50);
	CHECK(!atomic_load(&a.done));
	s3b_membudget_release(b, 100); /* 500 used: now it fits */
	pthread_join(t, NULL);
	CHECK(atomic_load(&a.done));
	CHECK_INT(s3b_membudget_used(b), 1000);
	s3b_membudget_release(b, 1000);
	/* acquire_for wakes as soon as a release makes room */
	s3b_membudget_acquire(b, 1000);
	a.n = 1;
	atomic_store(&a.done, false);
	CHECK_INT(pthread_create(&t, NULL, acquirer, &a), 0);
	sleep_ms(30);
	CHECK(!atomic_load(&a.done));
	s3b_membudget_release(b, 1);
	pthread_join(t, NULL);
	CHECK(atomic_load(&a.done));
	s3b_membudget_release(b, 1000);
	CHECK_INT(s3b_membudget_used(b), 0);
	s3b_membudget_destroy(b);
}

struct stress_arg {
	struct s3b_membudget *b;
	atomic_long *held;
	atomic_long *over;
	unsigned seed;
};

static void *stress(void *arg)
{
	struct stress_arg *s = arg;
	unsigned x = s->seed;

	for (int i = 0; i < 20000; i++) {
		size_t n;
		long h;

		x = x * 1103515245u + 12345u;
		n = 1 + (x >> 8) % 400;
		if (i % 3 == 0) {
			if (!s3b_membudget_acquire_for(s->b, n, 5))
				continue;
		} else if (i % 3 == 1) {
			if (!s3b_membudget_try_acquire(s->b, n))
				continue;
		} else {
			s3b_membudget_acquire(s->b, n);
		}
		h = atomic_fetch_add(s->held, (long)n) + (long)n;
		if (h > 1000)
			atomic_fetch_add(s->over, 1);
		atomic_fetch_sub(s->held, (long)n);
		s3b_membudget_release(s->b, n);
	}
	return NULL;
}

static void test_budget_stress(void)
{
	struct s3b_membudget *b = NULL;
	atomic_long held = 0, over = 0;
	struct stress_arg args[6];
	pthread_t t[6];

	CHECK_INT(s3b_membudget_create(1000, &b), 0);
	for (unsigned i = 0; i < 6; i++) {
		args[i] = (struct stress_arg){ .b = b, .held = &held, .over = &over, .seed = i + 1 };
		pthread_create(&t[i], NULL, stress, &args[i]);
	}
	for (unsigned i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(atomic_load(&over), 0);
	CHECK_INT(s3b_membudget_used(b), 0);
	s3b_membudget_destroy(b);
}

/* ---- pool -------------------------------------------------------------- */

struct counted_job {
	struct s3b_job job;
	atomic_int *count;
	unsigned sleep_us;
};

static void count_fn(void *arg)
{
	struct counted_job *j = arg;

	if (j->sleep_us)
		usleep(j->sleep_us);
	atomic_fetch_add(j->count, 1);
	free(j); /* the node is the submitter's: a job may free its own */
}

static void test_pool_runs_all(void)
{
	struct s3b_pool *p = NULL;
	atomic_int count = 0;

	CHECK_INT(s3b_pool_create(0, &p), EINVAL);
	CHECK(p == NULL);
	CHECK_INT(s3b_pool_create(4, &p), 0);
	for (int i = 0; i < 10000; i++) {
		struct counted_job *j = calloc(1, sizeof(*j));

		j->job = (struct s3b_job){ .fn = count_fn, .arg = j };
		j->count = &count;
		s3b_pool_submit(p, &j->job);
	}
	/* destroy drains: slow jobs still queued must run before it returns */
	for (int i = 0; i < 20; i++) {
		struct counted_job *j = calloc(1, sizeof(*j));

		j->job = (struct s3b_job){ .fn = count_fn, .arg = j };
		j->count = &count;
		j->sleep_us = 5000;
		s3b_pool_submit(p, &j->job);
	}
	s3b_pool_destroy(p);
	CHECK_INT(atomic_load(&count), 10020);
}

/* A job that submits its successor: the chain must finish even while
 * destroy is draining. */
struct chain_job {
	struct s3b_job job;
	struct s3b_pool *p;
	atomic_int *count;
	int left;
};

static void chain_fn(void *arg)
{
	struct chain_job *j = arg;

	atomic_fetch_add(j->count, 1);
	if (j->left > 0) {
		j->left--;
		usleep(200);
		s3b_pool_submit(j->p, &j->job); /* resubmit the same node */
		return;
	}
	free(j);
}

static void test_pool_chain(void)
{
	struct s3b_pool *p = NULL;
	atomic_int count = 0;
	struct chain_job *j = calloc(1, sizeof(*j));

	CHECK_INT(s3b_pool_create(2, &p), 0);
	*j = (struct chain_job){ .p = p, .count = &count, .left = 99 };
	j->job = (struct s3b_job){ .fn = chain_fn, .arg = j };
	s3b_pool_submit(p, &j->job);
	s3b_pool_destroy(p);
	CHECK_INT(atomic_load(&count), 100);
}

/* Jobs that wait (bounded) until `threads` of them run at once. */
struct par_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running, max_running, target;
};

struct par_job {
	struct s3b_job job;
	struct par_state *s;
};

static void par_fn(void *arg)
{
	struct par_job *j = arg;
	struct par_state *s = j->s;
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3;
	pthread_mutex_lock(&s->lock);
	s->running++;
	if (s->running > s->max_running)
		s->max_running = s->running;
	pthread_cond_broadcast(&s->cond);
	while (s->max_running < s->target)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT)
			break;
	s->running--;
	pthread_mutex_unlock(&s->lock);
}

static void test_pool_parallel(void)
{
	struct par_state s = { .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER,
			       .target = 4 };
	struct par_job jobs[12];
	struct s3b_pool *p = NULL;

	CHECK_INT(s3b_pool_create(4, &p), 0);
	for (int i = 0; i < 12; i++) {
		jobs[i] = (struct par_job){ .s = &s };
		jobs[i].job = (struct s3b_job){ .fn = par_fn, .arg = &jobs[i] };
		s3b_pool_submit(p, &jobs[i].job);
	}
	s3b_pool_destroy(p);
	CHECK_INT(s.max_running, 4); /* four threads, never more */
	CHECK_INT(s.running, 0);
}

/* ---- memstore ---------------------------------------------------------- */

static void test_memstore_objects(void)
{
	struct memstore *m = memstore_new(S3B_METAG_COMPOSITE, 1);
	struct s3b_store st;
	struct s3_error err;
	struct s3_object_info info;
	struct s3_meta meta = { 0 }, back = { 0 };
	char etag[S3B_ETAG_MAX], buf[16];
	size_t got, len;
	uint8_t *copy;

	memstore_store(m, &st);
	CHECK(st.ops && st.inst == m && st.etag_style == S3B_METAG_COMPOSITE);
	CHECK_INT(memstore_seed(m, "k/hello", "hello", 5, NULL), 0);
	CHECK_INT(memstore_objects(m), 1);
	CHECK_INT(st.ops->head(st.inst, "k/hello", &info, &err), 0);
	CHECK_INT(info.size, 5);
	CHECK_STR(info.etag, "5d41402abc4b2a76b9719d911017c592");
	s3_object_info_free(&info);
	CHECK_INT(st.ops->head(st.inst, "nope", &info, &err), ENOENT);
	CHECK_STR(err.code, "NoSuchKey");

	/* ranged GETs, as s3_get_object */
	CHECK_INT(st.ops->get(st.inst, "k/hello", 1, 3, buf, &got, NULL, &err), 0);
	CHECK_INT(got, 3);
	CHECK(memcmp(buf, "ell", 3) == 0);
	CHECK_INT(st.ops->get(st.inst, "k/hello", 3, 10, buf, &got, NULL, &err), 0);
	CHECK_INT(got, 2);
	CHECK(memcmp(buf, "lo", 2) == 0);
	CHECK_INT(st.ops->get(st.inst, "k/hello", 5, 10, buf, &got, NULL, &err), 0);
	CHECK_INT(got, 0);
	CHECK_INT(st.ops->get(st.inst, "k/hello", 0, 5, buf, &got,
			      "\"5d41402abc4b2a76b9719d911017c592\"", &err), 0);
	CHECK_INT(got, 5);
	CHECK_INT(st.ops->get(st.inst, "k/hello", 0, 5, buf, &got,
			      "0123456789abcdef0123456789abcdef", &err), ESTALE);
	CHECK_INT(err.http_status, 412);
	CHECK_INT(st.ops->get(st.inst, "nope", 0, 5, buf, &got, NULL, &err), ENOENT);

	/* PUT with metadata, replace */
	CHECK_INT(s3_meta_set(&meta, "mode", "33188"), 0);
	meta.content_type = strdup("text/plain");
	CHECK_INT(st.ops->put(st.inst, "k/hello", "world!", 6, &meta, etag, &err), 0);
	CHECK_STR(etag, "08cf82251c975a5e9734699fadf5e9c0"); /* md5("world!") */
	CHECK_INT(memstore_objects(m), 1);
	CHECK_INT(memstore_meta(m, "k/hello", &back), 0);
	CHECK_STR(back.content_type, "text/plain");
	CHECK_STR(s3_meta_get(&back, "mode"), "33188");
	s3_meta_free(&back);
	CHECK_INT(memstore_meta(m, "nope", &back), ENOENT);
	copy = memstore_get_copy(m, "k/hello", &len, etag);
	CHECK(copy && len == 6 && memcmp(copy, "world!", 6) == 0);
	CHECK_STR(etag, "08cf82251c975a5e9734699fadf5e9c0");
	free(copy);
	CHECK(memstore_get_copy(m, "nope", &len, NULL) == NULL);
	s3_meta_free(&meta);

	/* empty object */
	CHECK_INT(st.ops->put(st.inst, "empty", NULL, 0, NULL, etag, &err), 0);
	CHECK_STR(etag, "d41d8cd98f00b204e9800998ecf8427e");
	copy = memstore_get_copy(m, "empty", &len, NULL);
	CHECK(copy != NULL);
	CHECK_INT(len, 0);
	free(copy);
	CHECK_INT(memstore_calls(m, MS_PUT), 2);
	CHECK_INT(memstore_calls(m, MS_GET), 6);
	CHECK_INT(memstore_calls(m, MS_HEAD), 2);
	memstore_free(m);
}

static void test_memstore_multipart(enum s3b_multipart_etag style, const char *want)
{
	struct memstore *m = memstore_new(style, 2);
	struct s3b_store st;
	struct s3_error err;
	struct s3_part parts[3];
	uint8_t md5[16], bad[16] = { 1, 2, 3 };
	char *id = NULL, *id2 = NULL, etag[S3B_ETAG_MAX];
	size_t big = 5u << 20, len;
	uint8_t *a = malloc(big), *copy;
	struct s3_meta meta = { 0 }, back = { 0 };

	memset(a, 'a', big);
	memstore_store(m, &st);
	CHECK_INT(s3_meta_set(&meta, "mtime", "1700000000.5"), 0);
	CHECK_INT(st.ops->create_mp(st.inst, "mp", &meta, &id, &err), 0);
	CHECK(id != NULL);
	CHECK_INT(memstore_open_uploads(m), 1);
	s3b_md5(a, big, md5);
	parts[0].number = 1;
	CHECK_INT(st.ops->upload_part(st.inst, "mp", id, 1, a, big, md5, parts[0].etag, &err), 0);
	CHECK_STR(parts[0].etag, "79b281060d337b9b2b84ccf390adcf74"); /* md5 of 5 MiB 'a' */
	/* a wrong Content-MD5 is refused */
	CHECK_INT(st.ops->upload_part(st.inst, "mp", id, 2, "b", 1, bad, etag, &err), EBADMSG);
	CHECK_STR(err.code, "BadDigest");
	s3b_md5("b", 1, md5);
	parts[1].number = 2;
	CHECK_INT(st.ops->upload_part(st.inst, "mp", id, 2, "b", 1, md5, parts[1].etag, &err), 0);
	CHECK_INT(st.ops->upload_part(st.inst, "mp", "no-such-id", 1, "b", 1, NULL, etag, &err),
		  ENOENT);
	/* out of order, unknown part, wrong ETag */
	parts[2] = parts[0];
	CHECK_INT(st.ops->complete(st.inst, "mp", id, (struct s3_part[]){ parts[1], parts[0] }, 2,
				   etag, &err),
		  EINVAL);
	CHECK_STR(err.code, "InvalidPartOrder");
	CHECK_INT(st.ops->complete(st.inst, "mp", id,
				   (struct s3_part[]){ parts[0], { .number = 3, .etag = "x" } }, 2,
				   etag, &err),
		  EINVAL);
	CHECK_STR(err.code, "InvalidPart");
	CHECK_INT(memstore_objects(m), 0);
	CHECK_INT(st.ops->complete(st.inst, "mp", id, parts, 2, etag, &err), 0);
	CHECK_STR(etag, want);
	CHECK_INT(memstore_open_uploads(m), 0);
	copy = memstore_get_copy(m, "mp", &len, NULL);
	CHECK(copy && len == big + 1 && memcmp(copy, a, big) == 0 && copy[big] == 'b');
	free(copy);
	CHECK_INT(memstore_meta(m, "mp", &back), 0);
	CHECK_STR(s3_meta_get(&back, "mtime"), "1700000000.5");
	s3_meta_free(&back);
	CHECK_INT(st.ops->complete(st.inst, "mp", id, parts, 2, etag, &err), ENOENT);
	free(id);

	/* the 5 MiB minimum for all but the last part, unless lifted */
	CHECK_INT(st.ops->create_mp(st.inst, "small", NULL, &id, &err), 0);
	CHECK_INT(st.ops->create_mp(st.inst, "other", NULL, &id2, &err), 0);
	CHECK_INT(memstore_open_uploads(m), 2);
	parts[0].number = 1;
	parts[1].number = 2;
	CHECK_INT(st.ops->upload_part(st.inst, "small", id, 1, "x", 1, NULL, parts[0].etag, &err), 0);
	CHECK_INT(st.ops->upload_part(st.inst, "small", id, 2, "y", 1, NULL, parts[1].etag, &err), 0);
	CHECK_INT(st.ops->complete(st.inst, "small", id, parts, 2, etag, &err), EINVAL);
	CHECK_STR(err.code, "EntityTooSmall");
	memstore_set_min_part(m, 0);
	CHECK_INT(st.ops->complete(st.inst, "small", id, parts, 2, etag, &err), 0);
	copy = memstore_get_copy(m, "small", &len, NULL);
	CHECK(copy && len == 2 && memcmp(copy, "xy", 2) == 0);
	free(copy);
	/* abort */
	CHECK_INT(st.ops->abort(st.inst, "other", id2, &err), 0);
	CHECK_INT(st.ops->abort(st.inst, "other", id2, &err), ENOENT);
	CHECK_INT(memstore_open_uploads(m), 0);
	CHECK_INT(memstore_calls(m, MS_CREATE), 3);
	CHECK_INT(memstore_calls(m, MS_ABORT), 2);
	free(id);
	free(id2);
	s3_meta_free(&meta);
	free(a);
	memstore_free(m);
}

static int count_bit_diffs(const uint8_t *a, const uint8_t *b, size_t n)
{
	int d = 0;

	for (size_t i = 0; i < n; i++)
		d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
	return d;
}

static void test_memstore_faults(void)
{
	struct memstore *m = memstore_new(S3B_METAG_COMPOSITE, 3);
	struct s3b_store st;
	struct s3_error err;
	uint8_t data[4096], buf[4096], md5[16], *copy;
	char etag[S3B_ETAG_MAX], want[S3B_ETAG_MAX], *id = NULL;
	size_t got, len;
	int short_seen = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	memstore_store(m, &st);
	CHECK_INT(memstore_seed(m, "o", data, sizeof(data), NULL), 0);

	/* fail_next: exactly n failures, counted as calls */
	memstore_fail_next(m, MS_GET, EIO, 2);
	CHECK_INT(st.ops->get(st.inst, "o", 0, 10, buf, &got, NULL, &err), EIO);
	CHECK_STR(err.code, "InjectedFault");
	CHECK_INT(st.ops->get(st.inst, "o", 0, 10, buf, &got, NULL, &err), EIO);
	CHECK_INT(st.ops->get(st.inst, "o", 0, 10, buf, &got, NULL, &err), 0);
	CHECK_INT(memstore_calls(m, MS_GET), 3);
	memstore_fail_next(m, MS_PUT, ENOSPC, 1);
	CHECK_INT(st.ops->put(st.inst, "p", "z", 1, NULL, etag, &err), ENOSPC);
	CHECK_INT(st.ops->put(st.inst, "p", "z", 1, NULL, etag, &err), 0);

	/* flip_get: one bit of the answer differs */
	memstore_set_flip_get(m, 1.0);
	CHECK_INT(st.ops->get(st.inst, "o", 0, sizeof(buf), buf, &got, NULL, &err), 0);
	CHECK_INT(got, sizeof(buf));
	CHECK_INT(count_bit_diffs(buf, data, sizeof(buf)), 1);
	memstore_set_flip_get(m, 0);

	/* short_get: fewer bytes than asked before the end */
	memstore_set_short_get(m, 0.5);
	for (int i = 0; i < 40; i++) {
		CHECK_INT(st.ops->get(st.inst, "o", 100, 1000, buf, &got, NULL, &err), 0);
		CHECK(got <= 1000);
		if (got < 1000)
			short_seen++;
		CHECK(memcmp(buf, data + 100, got) == 0);
	}
	CHECK(short_seen > 5 && short_seen < 35);
	memstore_set_short_get(m, 0);

	/* flip_put: stored wrong, ETag of what was stored */
	memstore_set_flip_put(m, 1.0);
	CHECK_INT(st.ops->put(st.inst, "f", data, sizeof(data), NULL, etag, &err), 0);
	s3b_md5(data, sizeof(data), md5);
	s3b_etag_from_md5(md5, want);
	CHECK(strcmp(etag, want) != 0);
	copy = memstore_get_copy(m, "f", &len, NULL);
	CHECK(copy && len == sizeof(data));
	if (copy) {
		CHECK_INT(count_bit_diffs(copy, data, sizeof(data)), 1);
		s3b_md5(copy, len, md5);
		s3b_etag_from_md5(md5, want);
		CHECK_STR(etag, want);
	}
	free(copy);
	/* ... and in a part, after the Content-MD5 check passed */
	CHECK_INT(st.ops->create_mp(st.inst, "fp", NULL, &id, &err), 0);
	s3b_md5(data, sizeof(data), md5);
	CHECK_INT(st.ops->upload_part(st.inst, "fp", id, 1, data, sizeof(data), md5, etag, &err), 0);
	s3b_etag_from_md5(md5, want);
	CHECK(strcmp(etag, want) != 0);
	CHECK_INT(st.ops->abort(st.inst, "fp", id, &err), 0);
	free(id);
	memstore_set_flip_put(m, 0);

	/* latency is per call */
	memstore_set_latency_us(m, 20000);
	{
		double t0 = now_ms();

		CHECK_INT(st.ops->get(st.inst, "o", 0, 10, buf, &got, NULL, &err), 0);
		CHECK(now_ms() - t0 >= 19);
	}
	memstore_free(m);
}

/* Parts uploaded from several threads at once (as the writer's pool
 * does), with GETs and PUTs of other objects going on. */
struct mp_thread {
	struct s3b_store *st;
	const char *id;
	const uint8_t *data;
	size_t part;
	unsigned first, step, n;
	struct s3_part *parts;
	atomic_int *errors;
};

static void *mp_uploader(void *arg)
{
	struct mp_thread *t = arg;
	struct s3_error err;

	for (unsigned num = t->first; num <= t->n; num += t->step) {
		uint8_t md5[16];
		const uint8_t *p = t->data + (size_t)(num - 1) * t->part;

		s3b_md5(p, t->part, md5);
		t->parts[num - 1].number = num;
		if (t->st->ops->upload_part(t->st->inst, "cmp", t->id, num, p, t->part, md5,
					   t->parts[num - 1].etag, &err))
			atomic_fetch_add(t->errors, 1);
	}
	return NULL;
}

static void *mp_noise(void *arg)
{
	struct mp_thread *t = arg;
	struct s3_error err;
	uint8_t buf[1000];
	char etag[S3B_ETAG_MAX];
	size_t got;

	for (int i = 0; i < 300; i++) {
		if (t->st->ops->put(t->st->inst, "noise", t->data, 1000, NULL, etag, &err) ||
		    t->st->ops->get(t->st->inst, "noise", 0, sizeof(buf), buf, &got, NULL, &err) ||
		    got != 1000 || memcmp(buf, t->data, 1000) != 0)
			atomic_fetch_add(t->errors, 1);
	}
	return NULL;
}

static void test_memstore_concurrent(void)
{
	const unsigned n = 24;
	const size_t part = 64 * 1024;
	struct memstore *m = memstore_new(S3B_METAG_COMPOSITE, 4);
	struct s3b_store st;
	struct s3_error err;
	struct s3_part parts[24];
	struct mp_thread t[5];
	pthread_t th[5];
	atomic_int errors = 0;
	struct s3b_etag_builder eb;
	uint8_t *data = malloc(n * part), *copy;
	char *id = NULL, etag[S3B_ETAG_MAX], want[S3B_ETAG_MAX];
	size_t len;

	for (size_t i = 0; i < n * part; i++)
		data[i] = (uint8_t)(i * 31 + i / 977);
	memstore_store(m, &st);
	memstore_set_min_part(m, 0);
	memstore_set_latency_us(m, 100);
	CHECK_INT(st.ops->create_mp(st.inst, "cmp", NULL, &id, &err), 0);
	for (unsigned i = 0; i < 5; i++) {
		t[i] = (struct mp_thread){ .st = &st, .id = id, .data = data, .part = part,
					   .first = i + 1, .step = 4, .n = n, .parts = parts,
					   .errors = &errors };
		pthread_create(&th[i], NULL, i < 4 ? mp_uploader : mp_noise, &t[i]);
	}
	for (unsigned i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(atomic_load(&errors), 0);
	CHECK_INT(memstore_calls(m, MS_PART), n);
	CHECK_INT(st.ops->complete(st.inst, "cmp", id, parts, n, etag, &err), 0);
	CHECK_INT(s3b_etag_builder_init(&eb), 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t md5[16];

		s3b_md5(data + (size_t)i * part, part, md5);
		s3b_etag_builder_add(&eb, md5);
	}
	s3b_etag_builder_final(&eb, want);
	CHECK_STR(etag, want);
	CHECK(strstr(etag, "-24") != NULL);
	copy = memstore_get_copy(m, "cmp", &len, NULL);
	CHECK(copy && len == n * part && memcmp(copy, data, len) == 0);
	free(copy);
	free(id);
	free(data);
	memstore_free(m);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_budget_basics();
	test_budget_blocks();
	test_budget_stress();
	test_pool_runs_all();
	test_pool_chain();
	test_pool_parallel();
	test_memstore_objects();
	test_memstore_multipart(S3B_METAG_COMPOSITE, "e5a8c5272b26fc10581a21089559b006-2");
	test_memstore_multipart(S3B_METAG_WHOLE_MD5, "ad8356a4d8256639d7a35e4c221289ea");
	test_memstore_faults();
	test_memstore_concurrent();
	return check_report();
}
