/*
 * fs/reader.c — the read path of one open file (see reader.h).
 *
 * What it is for: turning the kernel's reads (up to max_read, possibly
 * several at once on one handle, slightly out of order) into few large
 * ranged GETs, with bounded memory, serving only bytes the server returned,
 * and hashing the stream served in order from offset 0.
 *
 * What it does not do: no retries (the client retries; a failed chunk is
 * simply forgotten and fetched again by the next read that needs it), no
 * caching across opens, no writes.
 *
 * The window.  A reader keeps a list of chunks: buffers holding the bytes
 * [off, off+len) of the object.  Chunks may overlap (a random read may
 * cache a range a later stream also fetches); each byte served comes from
 * one chunk, and the hash is fed from that same chunk.  Every chunk's
 * buffer is taken from the mount's budget before its GET is issued and
 * given back when the chunk is freed, and the bytes of all live chunks of
 * a reader (`held`) never exceed cap = (parallel + 1) * chunk.
 *
 * Sequential or random.  `pos` is where the latest read ended.  A read is
 * part of the current stream when it starts at or after ra_start, at most
 * a chunk past max(ra_next, pos), and not more than cap behind pos (or
 * anywhere in the gap the stream hash waits on, see below); otherwise,
 * when it starts at pos, it begins a new stream there (on a fresh handle
 * anywhere in [0, chunk]: the kernel sends its first reads together and
 * one may overtake the read at 0, which must still find its bytes
 * fetched); anything else is random.  A stream keeps chunks from ra_next
 * onwards issued on the pool (read-ahead) while ra_next < p + cap, p
 * being the position being served: one chunk being consumed plus
 * `parallel` ahead.  Read-ahead only takes budget that is free at once
 * (try_acquire); it never waits.
 *   - A sequential read whose bytes no chunk covers (the budget was short,
 *     or a chunk failed) fetches a demand chunk itself, waiting a bounded
 *     time for budget (DEMAND_WAIT_MS; not again until budget is seen
 *     free, once a wait came to nothing); if none comes it reads straight
 *     into the caller's buffer (no budget needed, so a reader can always
 *     progress), hashing from there when those bytes are next in order.
 *   - A random read ends the stream (its queued read-ahead is cancelled,
 *     its chunks dropped unless they cover the read) and the stream hash.
 *     It reads from chunks that cover it; otherwise a small read (under
 *     128 KiB) fetches a 128 KiB chunk (4 KiB aligned) that later small
 *     reads nearby can use, and a large one GETs straight into the
 *     caller's buffer.
 *
 * Chunk life (state is atomic because a pool worker claims a queued chunk
 * without the lock; every other transition happens under r->lock):
 *
 *     QUEUED --worker--> RUNNING --GET ok--> DONE
 *        |                  |    --GET err-> FAILED (and dead)
 *        +--cancel--> CANCELLED (buffer freed at once; the worker pops
 *                                the job and never touches the reader; the
 *                                last of canceller and worker frees the
 *                                struct, which holds the job node)
 *
 * Chunks fetched by a reading thread itself (demand and random chunks) are
 * created RUNNING.  A chunk is "dead" once it is out of use (consumed,
 * failed, dropped, evicted): lookups skip it and it is freed as soon as no
 * thread pins it (pins: threads waiting on it or copying out of it), no
 * served range waits in the hash queue on it (holds) and no GET writes
 * into it.
 *
 * Hashing.  Each served piece [p, p+k) and the chunk it came from go into a
 * small queue sorted by offset (the chunk is held; adjacent pieces of one
 * chunk merge into one run).  One thread at a time (`hashing`) feeds the
 * hasher from the queue head while the head starts at hashed_end, outside
 * the lock.  Pieces served ahead of a gap wait in the queue for the read
 * that fills it; when their chunks fill the window and nothing else can
 * give room, a demand waits up to GAP_WAIT_MS for the gap, then gives the
 * hash up.  A piece that overlaps bytes already served, a full queue, a
 * direct read that is not next in order (its bytes cannot be kept) or a
 * random read clears hash_ok for good: s3b_reader_digests is true only
 * for one exact in-order pass.
 *
 * Invariants (under r->lock):
 *   1. held == sum of len over chunks whose buffer is allocated, and
 *      held <= cap; the budget holds exactly the same bytes for them.
 *   2. jobs == chunks submitted to the pool and not yet finished or
 *      cancelled; close waits for jobs == 0 before freeing the reader.
 *   3. The lock is never held across a GET, a hash update, a copy out of a
 *      chunk or a blocking budget acquire.
 *   4. hashed_end <= every queued piece's offset; the queue is sorted and
 *      its pieces do not overlap.
 *
 * Lock order: r->lock, then the pool's or the budget's lock (submit and
 * try_acquire are called under r->lock; nothing calls back into a reader
 * while holding those).
 */
#include "reader.h"
#include "etag.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define DEFAULT_CHUNK (8u << 20)
#define DEFAULT_PARALLEL 4u
#define RANDOM_MIN (128u << 10)      /* smallest GET of a random read */
#define RANDOM_ALIGN 4096u
#define HQ_MAX 128u                  /* served runs waiting to be hashed */
#define DEMAND_WAIT_MS 500u          /* how long a demand chunk waits for budget */
#define GAP_WAIT_MS 5000u            /* how long room waits for a hash gap to fill */

enum cstate { C_QUEUED, C_RUNNING, C_DONE, C_FAILED, C_CANCELLED };

struct chunk {
	struct s3b_job job;      /* pool node: must live until a worker pops it */
	struct s3b_reader *r;
	uint64_t off;
	size_t len;              /* also the bytes taken from the budget */
	uint8_t *buf;
	atomic_int state;        /* enum cstate */
	atomic_int cancel_refs;  /* CANCELLED: reader + worker; the last frees */
	int err;                 /* FAILED: the errno */
	bool pooled;             /* fetched by a pool job */
	bool stream;             /* belongs to the current read-ahead stream */
	bool dead;               /* see the file comment */
	unsigned pins;
	unsigned holds;
	size_t served;           /* bytes copied out so far */
	struct chunk *prev, *next;
};

struct hq_item {
	uint64_t off;
	size_t len;
	struct chunk *c;
};

struct s3b_reader {
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* chunk finished or freed, pin dropped, hasher done */
	struct s3b_store st;
	char *key;
	char *etag;              /* NULL: no If-Match */
	uint64_t size;
	size_t chunk;
	unsigned parallel;
	size_t cap;
	struct s3b_membudget *budget; /* NULL: no accounting */
	struct s3b_pool *pool;        /* NULL: no read-ahead */

	/* everything below is protected by lock */
	struct chunk *head, *tail;
	size_t held;
	unsigned jobs;
	uint64_t pos;
	bool ra_active;
	uint64_t ra_start, ra_next;
	bool starved;            /* a demand chunk found no budget in time */
	bool fresh;              /* no read yet */
	bool closing;

	struct s3b_hasher *hasher; /* used by the `hashing` thread only */
	bool hash_ok;
	bool hashing;
	uint64_t hashed_end;
	struct hq_item hq[HQ_MAX];
	unsigned hq_n;
	bool final_done;
	struct s3b_digests final;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t chunk_end(const struct chunk *c)
{
	return c->off + c->len;
}

static int cstate(const struct chunk *c)
{
	return atomic_load(&c->state);
}

/* ---- budget ---------------------------------------------------------- */

static bool budget_try(struct s3b_reader *r, size_t n)
{
	if (r->budget && !s3b_membudget_try_acquire(r->budget, n))
		return false;
	r->starved = false;
	return true;
}

static void budget_release(struct s3b_reader *r, size_t n)
{
	if (r->budget)
		s3b_membudget_release(r->budget, n);
}

/* ---- the GET ----------------------------------------------------------- */

/*
 * Fetch exactly [off, off+len) (len already clipped to the object's size)
 * into buf.  Never called with r->lock held.  0, ESTALE (the object
 * changed or vanished since open) or EIO (anything else, including a
 * response shorter than asked, which the store contract forbids).
 */
static int fetch(struct s3b_reader *r, uint64_t off, size_t len, void *buf)
{
	struct s3_error err = { 0 };
	struct s3b_etag e = { .kind = S3B_ETAG_OPAQUE };
	size_t got = 0;
	int rc;

	/* A GET of the whole object whose ETag is its MD5 is checked before a
	 * byte of it is served: damage on the way is fetched again, never
	 * passed on (most objects of a migration are this small). */
	if (off == 0 && len == r->size && r->etag)
		s3b_etag_parse(r->etag, &e);
	for (unsigned tries = 0;; tries++) {
		uint8_t md5[S3B_MD5_LEN];

		rc = r->st.ops->get(r->st.inst, r->key, off, len, buf, &got, r->etag, &err);
		if (rc == 0 && got != len) {
			LOG_E("read %s: short response at %" PRIu64 ": %zu of %zu bytes", r->key, off,
			      got, len);
			return EIO;
		}
		if (rc || e.kind != S3B_ETAG_MD5)
			break;
		s3b_md5(buf, len, md5);
		if (memcmp(md5, e.md5, sizeof(md5)) == 0)
			return 0;
		if (tries == 2) {
			LOG_E("read %s: the body does not match its ETag %s three times; refused",
			      r->key, r->etag);
			return EIO;
		}
		LOG_W("read %s: the body does not match its ETag (damaged in transit); "
		      "fetching it again", r->key);
	}
	if (rc == 0)
		return 0;
	LOG_W("read %s [%" PRIu64 ", +%zu): %s (HTTP %d %s)", r->key, off, len, strerror(rc),
	      err.http_status, err.code);
	return rc == ESTALE || rc == ENOENT ? ESTALE : EIO;
}

/* ---- chunks (all under r->lock) ------------------------------------------ */

static struct chunk *chunk_new(struct s3b_reader *r, uint64_t off, size_t len, int state)
{
	struct chunk *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->buf = malloc(len);
	if (!c->buf) {
		free(c);
		return NULL;
	}
	c->r = r;
	c->off = off;
	c->len = len;
	atomic_init(&c->state, state);
	c->prev = r->tail;
	if (r->tail)
		r->tail->next = c;
	else
		r->head = c;
	r->tail = c;
	r->held += len;
	return c;
}

static void unlink_chunk(struct s3b_reader *r, struct chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		r->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		r->tail = c->prev;
	c->prev = c->next = NULL;
}

/* Give the buffer back: held and budget shrink, waiters wake. */
static void drop_buffer(struct s3b_reader *r, struct chunk *c)
{
	free(c->buf);
	c->buf = NULL;
	r->held -= c->len;
	budget_release(r, c->len);
	pthread_cond_broadcast(&r->cond);
}

static bool idle(const struct chunk *c)
{
	int s = cstate(c);

	return c->pins == 0 && c->holds == 0 && (s == C_DONE || s == C_FAILED);
}

static void maybe_free(struct s3b_reader *r, struct chunk *c)
{
	if (!c->dead || !idle(c))
		return;
	unlink_chunk(r, c);
	drop_buffer(r, c);
	free(c);
}

/* Take a chunk out of use: cancel it if still queued and nobody waits on
 * it, else free it when idle.  The caller must not use c afterwards unless
 * it pinned it. */
static void kill_chunk(struct s3b_reader *r, struct chunk *c)
{
	int expect = C_QUEUED;

	if (c->dead)
		return;
	c->dead = true;
	c->stream = false;
	if (c->pooled && c->pins == 0 &&
	    atomic_compare_exchange_strong(&c->state, &expect, C_CANCELLED)) {
		/* the worker never touches r again; whichever of us is last
		 * frees the struct (it holds the job node the pool may still
		 * have queued) */
		unlink_chunk(r, c);
		drop_buffer(r, c);
		r->jobs--;
		if (atomic_fetch_sub(&c->cancel_refs, 1) == 1)
			free(c);
		return;
	}
	maybe_free(r, c);
}

static void unpin(struct s3b_reader *r, struct chunk *c)
{
	if (--c->pins == 0)
		pthread_cond_broadcast(&r->cond);
	maybe_free(r, c);
}

/* A live chunk covering p (one that is done first), or NULL. */
static struct chunk *lookup(struct s3b_reader *r, uint64_t p)
{
	struct chunk *pending = NULL;

	for (struct chunk *c = r->head; c; c = c->next) {
		if (c->dead || p < c->off || p >= chunk_end(c))
			continue;
		if (cstate(c) == C_DONE)
			return c;
		if (!pending)
			pending = c;
	}
	return pending;
}

/* Start of the first live chunk after p, or the object's size. */
static uint64_t next_start(struct s3b_reader *r, uint64_t p)
{
	uint64_t ns = r->size;

	for (struct chunk *c = r->head; c; c = c->next)
		if (!c->dead && c->off > p && c->off < ns)
			ns = c->off;
	return ns;
}

static void complete(struct s3b_reader *r, struct chunk *c, int rc)
{
	c->err = rc;
	atomic_store(&c->state, rc ? C_FAILED : C_DONE);
	if (rc)
		c->dead = true; /* forget it: the next read that needs it fetches again */
	pthread_cond_broadcast(&r->cond);
}

static void fetch_job(void *arg)
{
	struct chunk *c = arg;
	struct s3b_reader *r;
	int expect = C_QUEUED, rc;

	if (!atomic_compare_exchange_strong(&c->state, &expect, C_RUNNING)) {
		/* cancelled: the reader forgot it and may be gone */
		if (atomic_fetch_sub(&c->cancel_refs, 1) == 1)
			free(c);
		return;
	}
	r = c->r;
	rc = fetch(r, c->off, c->len, c->buf);
	pthread_mutex_lock(&r->lock);
	complete(r, c, rc);
	r->jobs--;
	maybe_free(r, c);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock); /* r may be freed from here on */
}

/* ---- hashing (under r->lock) ------------------------------------------- */

static void hash_drop(struct s3b_reader *r, const char *why)
{
	if (r->hash_ok)
		LOG_D("read %s: %s (hashed to %" PRIu64 ", read to %" PRIu64
		      "): no stream digests", r->key, why, r->hashed_end, r->pos);
	r->hash_ok = false;
	while (r->hq_n > 0) {
		struct chunk *c = r->hq[--r->hq_n].c;

		c->holds--;
		maybe_free(r, c);
	}
	pthread_cond_broadcast(&r->cond);
}

/* Record that [p, p+k) went out from chunk c. */
static void hash_served(struct s3b_reader *r, struct chunk *c, uint64_t p, size_t k)
{
	unsigned i;

	if (!r->hash_ok)
		return;
	if (p < r->hashed_end) {
		hash_drop(r, "bytes served again");
		return;
	}
	for (i = 0; i < r->hq_n && r->hq[i].off < p; i++)
		;
	/* overlap with the neighbours = bytes served twice */
	if ((i > 0 && r->hq[i - 1].off + r->hq[i - 1].len > p) ||
	    (i < r->hq_n && r->hq[i].off < p + k)) {
		hash_drop(r, "bytes served twice");
		return;
	}
	/* a run that continues the one before, from the same chunk, grows it
	 * (and may join the one after): the queue holds gaps, not reads */
	if (i > 0 && r->hq[i - 1].c == c && r->hq[i - 1].off + r->hq[i - 1].len == p) {
		r->hq[i - 1].len += k;
		if (i < r->hq_n && r->hq[i].c == c && r->hq[i].off == p + k) {
			r->hq[i - 1].len += r->hq[i].len;
			r->hq_n--;
			memmove(&r->hq[i], &r->hq[i + 1], (r->hq_n - i) * sizeof(r->hq[0]));
			c->holds--;
		}
		return;
	}
	if (i < r->hq_n && r->hq[i].c == c && r->hq[i].off == p + k) {
		r->hq[i].off = p;
		r->hq[i].len += k;
		return;
	}
	if (r->hq_n == HQ_MAX) {
		hash_drop(r, "too many pieces ahead of a gap");
		return;
	}
	memmove(&r->hq[i + 1], &r->hq[i], (r->hq_n - i) * sizeof(r->hq[0]));
	r->hq[i] = (struct hq_item){ .off = p, .len = k, .c = c };
	r->hq_n++;
	c->holds++;
}

/*
 * Bytes [p, p+k) went out straight from the caller's buffer (no chunk to
 * keep them in): they can be hashed only now, and only if they are next
 * in order.  Unlocks.
 */
static void hash_direct(struct s3b_reader *r, uint64_t p, const void *data, size_t k)
{
	for (;;) {
		if (!r->hash_ok)
			return;
		if (p != r->hashed_end || (r->hq_n > 0 && r->hq[0].off < p + k)) {
			hash_drop(r, "a direct read out of order");
			return;
		}
		if (!r->hashing)
			break;
		pthread_cond_wait(&r->cond, &r->lock);
	}
	r->hashing = true;
	r->hashed_end = p + k;
	pthread_mutex_unlock(&r->lock);
	s3b_hasher_update(r->hasher, data, k);
	pthread_mutex_lock(&r->lock);
	r->hashing = false;
	pthread_cond_broadcast(&r->cond);
}

static bool hash_head_ready(const struct s3b_reader *r)
{
	return r->hash_ok && r->hq_n > 0 && r->hq[0].off == r->hashed_end;
}

static bool hasher_runnable(const struct s3b_reader *r)
{
	return !r->hashing && hash_head_ready(r);
}

/* Feed the hasher with the in-order head of the queue.  Unlocks. */
static void run_hasher(struct s3b_reader *r)
{
	if (!hasher_runnable(r))
		return;
	r->hashing = true;
	while (hash_head_ready(r)) {
		struct hq_item it = r->hq[0];

		r->hq_n--;
		memmove(&r->hq[0], &r->hq[1], r->hq_n * sizeof(r->hq[0]));
		r->hashed_end = it.off + it.len;
		pthread_mutex_unlock(&r->lock);
		s3b_hasher_update(r->hasher, it.c->buf + (it.off - it.c->off), it.len);
		pthread_mutex_lock(&r->lock);
		it.c->holds--;
		maybe_free(r, it.c);
	}
	r->hashing = false;
	pthread_cond_broadcast(&r->cond);
}

/* ---- the stream (under r->lock) -------------------------------------------- */

/* Forget the current stream.  Its chunks that meet [lo, hi) stay as plain
 * cached chunks (a new stream may adopt them); the others are dropped,
 * queued ones cancelled, unless a thread is using them. */
static void end_stream(struct s3b_reader *r, uint64_t lo, uint64_t hi)
{
	struct chunk *c, *next;

	for (c = r->head; c; c = next) {
		next = c->next;
		if (!c->stream)
			continue;
		c->stream = false;
		if (c->pins == 0 && (chunk_end(c) <= lo || c->off >= hi))
			kill_chunk(r, c);
	}
	r->ra_active = false;
}

/* Sequential (true) or random; updates pos and the stream. */
static bool classify(struct s3b_reader *r, uint64_t off, uint64_t end)
{
	uint64_t tol = r->chunk;
	uint64_t head = r->ra_next > r->pos ? r->ra_next : r->pos;
	bool behind_ok = off + r->cap >= r->pos || (r->hash_ok && off >= r->hashed_end);
	bool seq = true;

	if (r->ra_active && off >= r->ra_start && behind_ok && off <= head + tol) {
		/* within the stream's window, or a small reordering of it */
	} else if (off == r->pos || (r->fresh && off - r->pos <= tol)) {
		/* a new stream at pos; on a fresh handle off may have overtaken
		 * the first reads (the kernel sends several at once) */
		end_stream(r, r->pos, r->pos + r->cap);
		r->ra_active = true;
		r->ra_start = r->ra_next = r->pos;
	} else {
		end_stream(r, off, end);
		hash_drop(r, "a random read");
		seq = false;
	}
	r->pos = seq && r->pos > end ? r->pos : end;
	r->fresh = false;
	return seq;
}

/* Drop chunks nobody needs (outside the stream, unused, not being
 * fetched), oldest first, until need more bytes fit under the cap. */
static void evict_useless(struct s3b_reader *r, size_t need)
{
	struct chunk *c, *next;

	for (c = r->head; c && r->held + need > r->cap; c = next) {
		next = c->next;
		if (!c->dead && !c->stream && c->pins == 0 && c->holds == 0 &&
		    cstate(c) != C_RUNNING)
			kill_chunk(r, c);
	}
}

/* Keep chunks issued ahead of p (see the file comment).  Never waits. */
static void read_ahead(struct s3b_reader *r, uint64_t p)
{
	if (!r->pool || !r->ra_active || r->closing)
		return;
	while (r->ra_next < r->size && r->ra_next < p + r->cap) {
		struct chunk *c = lookup(r, r->ra_next);
		size_t len;

		if (c) {
			/* already fetched or being fetched: adopt it */
			c->stream = true;
			r->ra_next = chunk_end(c);
			continue;
		}
		len = (size_t)min_u64(r->chunk, next_start(r, r->ra_next) - r->ra_next);
		if (r->held + len > r->cap)
			evict_useless(r, len);
		if (r->held + len > r->cap || !budget_try(r, len))
			return;
		c = chunk_new(r, r->ra_next, len, C_QUEUED);
		if (!c) {
			budget_release(r, len);
			return;
		}
		c->pooled = true;
		atomic_init(&c->cancel_refs, 2);
		c->stream = true;
		c->job = (struct s3b_job){ .fn = fetch_job, .arg = c };
		r->jobs++;
		r->ra_next += len;
		s3b_pool_submit(r->pool, &c->job);
	}
}

/* Something that will change without this thread: a GET queued or under
 * way, a thread copying or waiting. */
static bool transient(const struct s3b_reader *r)
{
	for (const struct chunk *c = r->head; c; c = c->next) {
		int s = cstate(c);

		if (c->pins || s == C_QUEUED || s == C_RUNNING)
			return true;
	}
	return false;
}

/* A stream chunk to sacrifice for a demand chunk at p: the farthest one
 * not yet started; or, when fetched ones must go too, one the stream has
 * passed (a late read may still want it), else the farthest one. */
static struct chunk *stream_victim(struct s3b_reader *r, uint64_t p, bool fetched)
{
	struct chunk *queued = NULL, *done = NULL;

	for (struct chunk *c = r->head; c; c = c->next) {
		int s = cstate(c);

		if (c->dead || !c->stream || c->pins || c->holds)
			continue;
		if (s == C_QUEUED && (!queued || c->off > queued->off))
			queued = c;
		if (fetched && s == C_DONE && chunk_end(c) <= p)
			return c;
		if (s == C_DONE && (!done || c->off > done->off))
			done = c;
	}
	return queued ? queued : fetched ? done : NULL;
}

/*
 * Make need bytes fit under the cap for a demand chunk at p, the hard
 * way, cheapest first: drop unused chunks and unstarted read-ahead, hash,
 * wait for GETs and copies in flight, drop fetched read-ahead, and wait a
 * while for the gap the hash queue waits on, then give the hash up.  When
 * p is where that gap starts, this read is the one the queue waits for:
 * return false at once (the caller reads directly and hashes in order).
 * May unlock.  false: no room.
 */
static bool make_room(struct s3b_reader *r, size_t need, uint64_t p)
{
	struct timespec deadline = { 0 };

	while (r->held + need > r->cap) {
		struct chunk *victim;

		evict_useless(r, need);
		if (r->held + need <= r->cap)
			break;
		victim = stream_victim(r, p, false);
		if (victim) {
			kill_chunk(r, victim);
			continue;
		}
		if (hasher_runnable(r)) {
			run_hasher(r);
			continue;
		}
		if (r->hashing || transient(r)) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		victim = stream_victim(r, p, true);
		if (victim) {
			kill_chunk(r, victim);
			continue;
		}
		if (r->hq_n > 0 && r->hash_ok && p == r->hashed_end)
			return false;
		if (r->hq_n > 0) {
			/* the queue waits on a gap: the read that fills it may be a
			 * moment away (another thread), or never come */
			if (deadline.tv_sec == 0) {
				clock_gettime(CLOCK_MONOTONIC, &deadline);
				deadline.tv_sec += GAP_WAIT_MS / 1000;
				deadline.tv_nsec += (long)(GAP_WAIT_MS % 1000) * 1000000L;
				if (deadline.tv_nsec >= 1000000000L) {
					deadline.tv_sec++;
					deadline.tv_nsec -= 1000000000L;
				}
			}
			if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
				hash_drop(r, "a gap that did not fill");
			continue;
		}
		return false;
	}
	return true;
}

/* Create a chunk [p, p+len) that this thread fetches, pinned.  Budget
 * already taken.  Unlocks for the GET.  NULL on ENOMEM (budget returned). */
static struct chunk *fetch_own(struct s3b_reader *r, uint64_t p, size_t len, bool stream)
{
	struct chunk *c = chunk_new(r, p, len, C_RUNNING);
	int rc;

	if (!c) {
		budget_release(r, len);
		return NULL;
	}
	c->pins = 1;
	c->stream = stream;
	if (stream && chunk_end(c) > r->ra_next)
		r->ra_next = chunk_end(c);
	pthread_mutex_unlock(&r->lock);
	rc = fetch(r, p, len, c->buf);
	pthread_mutex_lock(&r->lock);
	complete(r, c, rc);
	return c;
}

/*
 * A chunk covering p for a sequential read, pinned: one in the window, or
 * a demand chunk fetched by this thread.  NULL when no memory could be
 * had in time: the caller reads straight into its buffer.
 */
static struct chunk *get_demand(struct s3b_reader *r, uint64_t p)
{
	for (;;) {
		struct chunk *c = lookup(r, p);
		size_t len;
		bool ok;

		if (c) {
			c->pins++;
			return c;
		}
		len = (size_t)min_u64(r->chunk, next_start(r, p) - p);
		if (r->held + len > r->cap) {
			if (!make_room(r, len, p))
				return NULL;
			continue;
		}
		if (!budget_try(r, len)) {
			/* give back what this reader does not need, then wait a while
			 * (unless the last wait came to nothing: then go direct until
			 * budget frees up) */
			evict_useless(r, r->cap);
			if (!budget_try(r, len)) {
				if (r->starved)
					return NULL;
				pthread_mutex_unlock(&r->lock);
				ok = s3b_membudget_acquire_for(r->budget, len, DEMAND_WAIT_MS);
				pthread_mutex_lock(&r->lock);
				if (!ok) {
					LOG_D("read %s: no memory for a %zu-byte chunk in %u ms",
					      r->key, len, DEMAND_WAIT_MS);
					r->starved = true;
					return NULL;
				}
				/* the window may have changed while unlocked */
				if (lookup(r, p) || r->held + len > r->cap ||
				    len != (size_t)min_u64(r->chunk, next_start(r, p) - p)) {
					budget_release(r, len);
					continue;
				}
			}
		}
		return fetch_own(r, p, len,
				 r->ra_active && p >= r->ra_start && p <= r->ra_next);
	}
}

/*
 * A chunk covering p for a random read, pinned: one in the window, or a
 * small chunk fetched by this thread when the read is small.  NULL: read
 * straight into the caller's buffer.
 */
static struct chunk *get_random(struct s3b_reader *r, uint64_t p, uint64_t end)
{
	struct chunk *c = lookup(r, p);
	uint64_t lo, hi, ns;
	size_t len;

	if (c) {
		c->pins++;
		return c;
	}
	if (end - p >= RANDOM_MIN)
		return NULL;
	lo = p - p % RANDOM_ALIGN;
	hi = lo + RANDOM_MIN;
	if (hi < end)
		hi = end;
	hi = min_u64((hi + RANDOM_ALIGN - 1) / RANDOM_ALIGN * RANDOM_ALIGN, r->size);
	ns = next_start(r, p);
	if (ns < hi)
		hi = ns > end ? ns : end; /* no need to fetch what the next chunk has */
	len = (size_t)(hi - lo);
	if (r->held + len > r->cap)
		evict_useless(r, len);
	if (r->held + len > r->cap || !budget_try(r, len))
		return NULL;
	return fetch_own(r, lo, len, false);
}

/* ---- the API ----------------------------------------------------------- */

int s3b_reader_open(const struct s3b_store *st, const char *key, uint64_t size,
		    const char *etag, const struct s3b_reader_conf *conf,
		    struct s3b_reader **out)
{
	struct s3b_reader *r;
	pthread_condattr_t attr;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	r->st = *st;
	r->size = size;
	r->chunk = conf && conf->chunk ? conf->chunk : DEFAULT_CHUNK;
	r->parallel = conf && conf->parallel ? conf->parallel : DEFAULT_PARALLEL;
	if (r->chunk > SIZE_MAX / (r->parallel + 1u))
		r->chunk = SIZE_MAX / (r->parallel + 1u);
	r->cap = (r->parallel + 1u) * r->chunk;
	r->budget = conf ? conf->budget : NULL;
	r->pool = conf ? conf->pool : NULL;
	r->hash_ok = !(conf && conf->no_digests);
	r->fresh = true;
	r->key = strdup(key);
	if (!r->key)
		goto fail_free;
	if (etag && etag[0]) {
		r->etag = strdup(etag);
		if (!r->etag)
			goto fail_free;
	}
	if (s3b_hasher_new(S3B_HASH_ALL, &r->hasher))
		goto fail_free;
	if (pthread_mutex_init(&r->lock, NULL))
		goto fail_hasher;
	if (pthread_condattr_init(&attr))
		goto fail_mutex;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&r->cond, &attr)) {
		pthread_condattr_destroy(&attr);
		goto fail_mutex;
	}
	pthread_condattr_destroy(&attr);
	*out = r;
	return 0;

fail_mutex:
	pthread_mutex_destroy(&r->lock);
fail_hasher:
	s3b_hasher_free(r->hasher);
fail_free:
	free(r->etag);
	free(r->key);
	free(r);
	return ENOMEM;
}

int s3b_reader_read(struct s3b_reader *r, uint64_t off, void *buf, size_t len, size_t *got)
{
	uint8_t *dst = buf;
	uint64_t end, p;
	bool seq;
	int rc = 0;

	*got = 0;
	if (len == 0 || off >= r->size)
		return 0;
	end = off + min_u64(len, r->size - off);

	pthread_mutex_lock(&r->lock);
	seq = classify(r, off, end);
	for (p = off; p < end;) {
		struct chunk *c;
		size_t k;

		if (seq) {
			read_ahead(r, p);
			c = get_demand(r, p);
		} else {
			c = get_random(r, p, end);
		}
		if (!c) {
			/* straight into the caller's buffer */
			uint64_t dend = seq ? end : min_u64(end, next_start(r, p));

			pthread_mutex_unlock(&r->lock);
			rc = fetch(r, p, (size_t)(dend - p), dst + (p - off));
			pthread_mutex_lock(&r->lock);
			if (rc)
				break;
			hash_direct(r, p, dst + (p - off), (size_t)(dend - p));
			p = dend;
			run_hasher(r);
			continue;
		}
		while (cstate(c) == C_QUEUED || cstate(c) == C_RUNNING)
			pthread_cond_wait(&r->cond, &r->lock);
		if (cstate(c) == C_FAILED) {
			rc = c->err;
			unpin(r, c);
			break;
		}
		k = (size_t)(min_u64(chunk_end(c), end) - p);
		pthread_mutex_unlock(&r->lock);
		memcpy(dst + (p - off), c->buf + (p - c->off), k);
		pthread_mutex_lock(&r->lock);
		hash_served(r, c, p, k);
		c->served += k;
		if (c->served >= c->len)
			kill_chunk(r, c); /* consumed: freed once unpinned and hashed */
		unpin(r, c);
		p += k;
		run_hasher(r);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc == 0)
		*got = (size_t)(end - off);
	return rc;
}

bool s3b_reader_hash_lost(struct s3b_reader *r)
{
	bool lost;

	pthread_mutex_lock(&r->lock);
	lost = !r->hash_ok;
	pthread_mutex_unlock(&r->lock);
	return lost;
}

bool s3b_reader_digests(struct s3b_reader *r, struct s3b_digests *out)
{
	bool ok;

	pthread_mutex_lock(&r->lock);
	while (r->hashing)
		pthread_cond_wait(&r->cond, &r->lock);
	run_hasher(r);
	if (!r->final_done && r->hash_ok && r->hq_n == 0 && r->hashed_end == r->size) {
		s3b_hasher_final(r->hasher, &r->final);
		r->final_done = true;
	}
	ok = r->hash_ok && r->final_done;
	if (ok && out)
		*out = r->final;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

void s3b_reader_close(struct s3b_reader *r)
{
	struct chunk *c, *next;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->closing = true;
	r->ra_active = false;
	r->hash_ok = false;
	while (r->hq_n > 0) {
		c = r->hq[--r->hq_n].c;
		c->holds--;
	}
	for (c = r->head; c; c = next) {
		next = c->next;
		kill_chunk(r, c); /* cancels what has not started */
	}
	while (r->jobs > 0)
		pthread_cond_wait(&r->cond, &r->lock);
	/* no reads run during close (the caller's contract), so nothing is
	 * pinned: whatever is left is idle */
	while (r->head) {
		c = r->head;
		unlink_chunk(r, c);
		drop_buffer(r, c);
		free(c);
	}
	pthread_mutex_unlock(&r->lock);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	s3b_hasher_free(r->hasher);
	free(r->etag);
	free(r->key);
	free(r);
}
