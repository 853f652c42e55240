/*
 * fs/writer.c — the write path of one file (see writer.h for the contract).
 *
 * What it is for: turning the writes of one open file into one verified
 * object: a single PutObject for a file that fits in its first part, a
 * multipart upload with bounded memory otherwise, or a local spool file
 * uploaded at commit when the writes cannot be streamed.
 *
 * What it does not do: no FUSE, no journal, no metadata policy (the caller
 * passes metadata), no deleting of a wrong object after a mismatch (the
 * store has no delete; the caller is told in res->error), no retries of
 * transient errors (the client did those; only BadDigest is retried here,
 * from the buffer, because that corruption happened in transit).
 *
 * Data flow (streaming mode):
 *
 *   write() --copy--> current part buffer --seal--> slot --pool--> worker:
 *                                                     part MD5, UploadPart
 *                                                     (Content-MD5), check
 *                                                     the part ETag
 *                     slot --hash queue (part order)--> stream hasher:
 *                                                     MD5+SHA-256+CRC32C of
 *                                                     the whole object
 *
 *   The part MD5s are computed on the workers, in parallel.  The whole-object
 *   digests must see the bytes in offset order, so sealed slots wait in a
 *   queue in part order and whoever holds the hashing token (a worker after
 *   its upload, or the caller's thread while it waits for backpressure or
 *   for the commit) hashes them one after the other.  A slot's buffer is
 *   freed (and its budget released) when it is both uploaded and hashed.
 *
 * Slot states (w->lock):
 *
 *   sealed (queued in the pool, in the hash queue; live)
 *     -> sending (a worker started it: w->sent counts these)
 *     -> uploaded (result recorded, or error -> writer failed)
 *   and independently hashed (popped from the hash queue by the token
 *   holder).  uploaded && hashed -> settled: buffer freed, slot freed.
 *   cancelled: a queued slot whose data the writer took back (switch to
 *   spool, truncate to 0): its job does nothing, its result is ignored.
 *
 * Modes of the file:
 *
 *   streaming --write before the sealed data, nothing sent yet--> spool
 *   streaming --write before the sealed data, something sent--> failed (EIO)
 *   streaming --part 1 cannot grow within the budget--> spool
 *   any --truncate to 0--> restart (same mode, nothing kept)
 *   any --commit--> committed (only close is left)
 *
 * Invariants:
 *   1. In streaming mode size == base + blen: the bytes before base are
 *      sealed (queued or uploaded), the rest is in buf.
 *   2. Slots are sealed, queued for hashing and numbered in offset order;
 *      the stream hasher sees exactly the bytes [0, base) in order.
 *   3. live <= parallel whenever the caller is about to seal: at most
 *      parallel part buffers in flight plus the one filling, all from the
 *      budget.  The caller blocks in membudget_acquire only while it holds
 *      no partly filled buffer (a new part, or a part read from the spool);
 *      growing the first buffer uses a bounded wait and falls back to the
 *      spool (membudget.h's deadlock rule).
 *   4. A job never touches its slot after marking it uploaded (someone else
 *      may free it then), nor the writer after its final unlock (close may
 *      free it then).
 *   5. upload_id is written only by the caller's thread while no job is
 *      live; workers read it.
 *
 * Lock order: w->lock, then the budget's own lock (release under w->lock).
 * No S3 request is made under w->lock.
 */
#include "writer.h"
#include "writer_impl.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024ull * 1024ull)

#define W_GROWTH_BASE (8 * MiB)        /* parts 1-1000 without a hint */
#define W_PARTS_PER_STEP 1000u         /* then doubling every 1000 parts */
#define W_HINT_MIN (8 * MiB)           /* smallest hinted part */
#define W_DEFAULT_PARALLEL 4u
#define W_MAX_PARALLEL 256u
#define W_DEFAULT_SPOOL_MAX (64ull << 30)
#define W_FIRST_CAP (1u << 20)         /* first buffer without a (small) hint */
#define W_MIN_CAP (64u << 10)
#define W_GROW_WAIT_MS 5000u           /* bounded wait to grow the first buffer */
#define W_BADDIGEST_RETRIES 3u         /* re-sends of a part after BadDigest */

/* ---- the part-size plan (writer_impl.h) ------------------------------------ */

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

void s3b_part_plan_init(struct s3b_part_plan *p, size_t conf_part_size, uint64_t size_hint)
{
	*p = (struct s3b_part_plan){ .hint = size_hint };
	if (conf_part_size) {
		uint64_t f = conf_part_size;

		if (f < S3_MIN_PART_SIZE)
			f = S3_MIN_PART_SIZE;
		if (f > S3_MAX_PART_SIZE)
			f = S3_MAX_PART_SIZE;
		p->fixed = (size_t)f;
		return;
	}
	if (size_hint) {
		uint64_t b = round_up((size_hint + S3_MAX_PARTS - 1) / S3_MAX_PARTS, MiB);

		if (b < W_HINT_MIN)
			b = W_HINT_MIN;
		if (b > S3_MAX_PART_SIZE)
			b = S3_MAX_PART_SIZE;
		p->base = (size_t)b;
	}
}

static uint64_t growth_size(unsigned n)
{
	return W_GROWTH_BASE << ((n - 1) / W_PARTS_PER_STEP);
}

size_t s3b_part_plan_size(const struct s3b_part_plan *p, unsigned n)
{
	uint64_t g;

	if (n < 1 || n > S3_MAX_PARTS)
		return 0;
	if (p->fixed)
		return p->fixed;
	g = growth_size(n);
	if (p->base == 0)
		return (size_t)g;
	if ((uint64_t)(n - 1) * p->base < p->hint)
		return p->base;
	return (size_t)(g > p->base ? g : p->base);
}

uint64_t s3b_part_plan_max(const struct s3b_part_plan *p)
{
	uint64_t sum = 0;

	for (unsigned n = 1; n <= S3_MAX_PARTS; n++)
		sum += s3b_part_plan_size(p, n);
	return sum;
}

/* ---- the writer ------------------------------------------------------------ */

/* What the server said about one part. */
struct wpart {
	uint8_t md5[S3B_MD5_LEN];
	char etag[S3B_ETAG_MAX];
	size_t len;
};

struct wslot {
	struct s3b_job job;          /* the pool's node; alive until the job ran */
	struct s3b_writer *w;
	uint8_t *buf;
	size_t len;
	size_t held;                 /* budget bytes held for buf */
	uint64_t off;                /* offset of buf[0] in the object */
	unsigned number;
	uint8_t md5[S3B_MD5_LEN];    /* the part's, computed by the job */
	bool borrowed;               /* flush's tail: buf stays the writer's */
	bool submitted;              /* a job will run (else: hash only) */
	/* protected by w->lock */
	bool cancelled, sending, uploaded, hashed;
	struct wslot *hnext;         /* hash queue */
	struct wslot *lprev, *lnext; /* live list, in seal order */
};

struct s3b_writer {
	/* constant after open */
	struct s3b_store st;
	char *key;
	unsigned parallel;
	struct s3b_membudget *budget;
	struct s3b_pool *pool;
	char *spool_dir;
	uint64_t spool_max;
	uint64_t keep_sent;          /* copy sent parts while size <= this */
	size_t conf_part_size;
	uint64_t conf_hint;

	/* the caller's thread only (the caller serialises requests) */
	struct s3b_part_plan plan;
	uint64_t max_size;
	struct s3_meta meta;
	struct s3_meta sent_meta;    /* what CreateMultipartUpload carried */
	bool meta_stale;
	bool started;                /* a multipart upload was created (and kept) */
	bool committed;
	int commit_err;
	char *upload_id;             /* see invariant 5 */
	uint64_t size;
	uint64_t base;               /* offset of buf[0] */
	uint8_t *buf;
	size_t cap, blen, held;      /* buffer room, bytes in it, budget held */
	size_t part_cap;             /* size of the part being filled */
	unsigned cur_part;           /* its number */
	size_t first_part;           /* length of part 1 once sealed */
	bool tail_clean;             /* buf was uploaded by flush, unchanged since */
	size_t tail_len;
	bool spooling;
	bool teeing;                 /* the spool file holds [0, base): see tee_part */
	int spool_fd;                /* -1 until the spool is made */
	s3b_precommit_fn precommit;  /* checked before the object becomes visible */
	void *precommit_ctx;

	pthread_mutex_t lock;
	pthread_cond_t cond;         /* any change of the fields below */
	/* protected by lock */
	int err;                     /* first failure: the writer is failed */
	char errmsg[200];
	unsigned live;               /* slots not settled */
	unsigned jobs;               /* submitted jobs not finished */
	unsigned sent;               /* slots a worker started to upload */
	unsigned attempts;
	struct wslot *live_head, *live_tail;
	struct wslot *hq_head, *hq_tail;
	bool hashing;                /* somebody holds the hashing token */
	struct wpart *parts;         /* [number - 1]; grown by the caller under lock */
	unsigned parts_cap;

	/* the token holder's; the caller's when no slot is live */
	struct s3b_hasher *hasher;
};

static void set_err_locked(struct s3b_writer *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err_locked(struct s3b_writer *w, int err, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return;
	w->err = err;
	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&w->cond);
}

static void res_error(struct s3b_write_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void res_error(struct s3b_write_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

static void add_attempts(struct s3b_writer *w, const struct s3_error *e)
{
	pthread_mutex_lock(&w->lock);
	w->attempts += e->attempts ? e->attempts : 1;
	pthread_mutex_unlock(&w->lock);
}

/* ---- memory: buffers from the budget -------------------------------------- */

/* The budget clamps a request to its limit; so do we, so that a release
 * always matches what was acquired. */
static size_t budget_amount(const struct s3b_writer *w, size_t bytes)
{
	size_t lim;

	if (!w->budget)
		return 0;
	lim = s3b_membudget_limit(w->budget);
	return bytes < lim ? bytes : lim;
}

static void budget_release(struct s3b_writer *w, size_t held)
{
	if (held)
		s3b_membudget_release(w->budget, held);
}

/* A new buffer of cap bytes; blocks for the budget, so the caller must hold
 * no partly filled buffer.  *buf is the caller's (free + budget_release). */
static int buf_alloc(struct s3b_writer *w, size_t cap, uint8_t **buf, size_t *held)
{
	size_t h = budget_amount(w, cap);

	if (h)
		s3b_membudget_acquire(w->budget, h);
	*buf = malloc(cap ? cap : 1);
	if (!*buf) {
		budget_release(w, h);
		return ENOMEM;
	}
	*held = h;
	return 0;
}

/* ---- slots, the hash queue and the jobs ----------------------------------- */

static void slot_settle_locked(struct s3b_writer *w, struct wslot *s)
{
	if (!s->uploaded || !s->hashed)
		return;
	if (s->lprev)
		s->lprev->lnext = s->lnext;
	else
		w->live_head = s->lnext;
	if (s->lnext)
		s->lnext->lprev = s->lprev;
	else
		w->live_tail = s->lprev;
	w->live--;
	if (!s->borrowed) {
		free(s->buf);
		budget_release(w, s->held);
	}
	free(s);
	pthread_cond_broadcast(&w->cond);
}

/* Take the hashing token if free and hash every queued slot in order.
 * Called with w->lock held; drops it while hashing. */
static void hash_run_locked(struct s3b_writer *w)
{
	struct wslot *s;

	if (w->hashing)
		return;
	w->hashing = true;
	while ((s = w->hq_head) != NULL) {
		bool doit = !s->cancelled && w->err == 0;

		w->hq_head = s->hnext;
		if (!w->hq_head)
			w->hq_tail = NULL;
		pthread_mutex_unlock(&w->lock);
		if (doit)
			s3b_hasher_update(w->hasher, s->buf, s->len);
		pthread_mutex_lock(&w->lock);
		s->hashed = true;
		slot_settle_locked(w, s);
	}
	w->hashing = false;
	pthread_cond_broadcast(&w->cond);
}

/* Wait (lock held) until nothing is live, running or hashing; lends the
 * caller's thread to the stream hashing meanwhile. */
static void wait_idle_locked(struct s3b_writer *w)
{
	while (w->live || w->jobs || w->hashing) {
		if (!w->hashing && w->hq_head)
			hash_run_locked(w);
		else
			pthread_cond_wait(&w->cond, &w->lock);
	}
}

/* Upload one part from its buffer: Content-MD5 always; the part ETag, when
 * it is an MD5, must be ours (else the server stored other bytes).  A
 * BadDigest (EBADMSG) is re-sent from the buffer a bounded number of times.
 * 0 or errno with msg filled. */
static int upload_slot(struct s3b_writer *w, struct wslot *s, char etag[S3B_ETAG_MAX],
		       char *msg, size_t msglen)
{
	char want[S3B_ETAG_MAX];
	int err;

	s3b_md5(s->buf, s->len, s->md5);
	s3b_etag_from_md5(s->md5, want);
	for (unsigned try = 0;; try++) {
		struct s3_error e = { 0 };
		struct s3b_etag got;

		etag[0] = '\0';
		err = w->st.ops->upload_part(w->st.inst, w->key, w->upload_id, s->number, s->buf,
					     s->len, s->md5, etag, &e);
		add_attempts(w, &e);
		if (err == 0) {
			s3b_etag_parse(etag, &got);
			if (got.kind == S3B_ETAG_MD5 &&
			    memcmp(got.md5, s->md5, S3B_MD5_LEN) != 0) {
				err = EBADMSG;
				snprintf(msg, msglen,
					 "part %u: the server stored other bytes (part ETag %s, sent %s)",
					 s->number, etag, want);
			}
		} else {
			char why[160];

			s3_error_format(&e, why, sizeof(why));
			snprintf(msg, msglen, "part %u: %s", s->number, why);
		}
		if (err != EBADMSG || try >= W_BADDIGEST_RETRIES)
			return err;
		LOG_W("writer: %s: %s; sending it again from the buffer", w->key, msg);
	}
}

static void part_job(void *arg)
{
	struct wslot *s = arg;
	struct s3b_writer *w = s->w;
	char etag[S3B_ETAG_MAX] = "", msg[200] = "";
	bool skip;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	skip = s->cancelled || w->err != 0;
	if (!skip) {
		s->sending = true;
		w->sent++;
	}
	pthread_mutex_unlock(&w->lock);

	if (!skip)
		err = upload_slot(w, s, etag, msg, sizeof(msg));

	pthread_mutex_lock(&w->lock);
	if (!skip && !s->cancelled) {
		if (err) {
			set_err_locked(w, err, "%s", msg);
		} else {
			struct wpart *p = &w->parts[s->number - 1];

			memcpy(p->md5, s->md5, S3B_MD5_LEN);
			memcpy(p->etag, etag, S3B_ETAG_MAX);
			p->len = s->len;
		}
	}
	s->uploaded = true;
	slot_settle_locked(w, s); /* s may be gone from here on */
	hash_run_locked(w);
	w->jobs--;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void submit(struct s3b_writer *w, struct wslot *s)
{
	if (w->pool)
		s3b_pool_submit(w->pool, &s->job);
	else
		part_job(s);
}

/* ---- requests made by the caller's thread --------------------------------- */

static const struct s3_meta *meta_arg(const struct s3b_writer *w)
{
	return w->meta.content_type || w->meta.n ? &w->meta : NULL;
}

static void fail(struct s3b_writer *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct s3b_writer *w, int err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&w->lock);
	set_err_locked(w, err, "%s", msg);
	pthread_mutex_unlock(&w->lock);
}

static int meta_copy(struct s3_meta *dst, const struct s3_meta *src);

static int create_upload(struct s3b_writer *w)
{
	struct s3_error e = { 0 };
	char *id = NULL, why[160];
	int err;

	err = w->st.ops->create_mp(w->st.inst, w->key, meta_arg(w), &id, &e);
	add_attempts(w, &e);
	if (err) {
		free(id);
		s3_error_format(&e, why, sizeof(why));
		fail(w, err, "CreateMultipartUpload: %s", why);
		return err;
	}
	w->upload_id = id;
	w->started = true;
	s3_meta_free(&w->sent_meta);
	if (meta_copy(&w->sent_meta, &w->meta))
		w->meta_stale = true; /* cannot tell: assume it differs */
	return 0;
}

/* Only while no job can read upload_id (invariant 5). */
static void abort_upload(struct s3b_writer *w)
{
	struct s3_error e = { 0 };
	char why[160];
	int err;

	if (!w->upload_id)
		return;
	err = w->st.ops->abort(w->st.inst, w->key, w->upload_id, &e);
	add_attempts(w, &e);
	if (err) {
		s3_error_format(&e, why, sizeof(why));
		LOG_W("writer: %s: AbortMultipartUpload %s failed (the upload is left for the "
		      "orphan sweep): %s", w->key, w->upload_id, why);
	}
	free(w->upload_id);
	w->upload_id = NULL;
}

/* ---- the spool -------------------------------------------------------------- */

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Bytes past the end of the file read as zeros (a hole). */
static int pread_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* The spool file, made on first use: mkstemp, then unlinked at once so
 * nothing is left behind whatever happens to the process. */
static int spool_fd(struct s3b_writer *w, int *fd)
{
	const char *dir = w->spool_dir;
	char path[4096];
	int n;

	if (w->spool_fd >= 0) {
		*fd = w->spool_fd;
		return 0;
	}
	if (!dir || !dir[0])
		dir = getenv("TMPDIR");
	if (!dir || !dir[0])
		dir = "/var/tmp";
	n = snprintf(path, sizeof(path), "%s/s3bridge-spool-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ENAMETOOLONG;
	w->spool_fd = mkostemp(path, O_CLOEXEC);
	if (w->spool_fd < 0) {
		int err = errno;

		LOG_E("writer: %s: cannot create a spool file in %s: %s", w->key, dir,
		      strerror(err));
		return err;
	}
	unlink(path);
	*fd = w->spool_fd;
	return 0;
}

/* Spool mode: write (data NULL: a hole) at off.  0 or errno; an I/O error
 * fails the writer. */
static int spool_write(struct s3b_writer *w, uint64_t off, const uint8_t *data, uint64_t len)
{
	int fd, err;

	if (off + len > w->spool_max)
		return EFBIG;
	err = spool_fd(w, &fd);
	if (!err && data)
		err = pwrite_all(fd, data, (size_t)len, off);
	else if (!err && off + len > w->size && ftruncate(fd, (off_t)(off + len)) != 0)
		err = errno;
	if (err) {
		fail(w, err, "spool: %s", strerror(err));
		return err;
	}
	if (off + len > w->size)
		w->size = off + len;
	return 0;
}

static int spool_truncate(struct s3b_writer *w, uint64_t size)
{
	int fd, err;

	if (size > w->spool_max)
		return EFBIG;
	err = spool_fd(w, &fd);
	if (!err && ftruncate(fd, (off_t)size) != 0)
		err = errno;
	if (err) {
		fail(w, err, "spool: %s", strerror(err));
		return err;
	}
	w->size = size;
	return 0;
}

/* Stop keeping the local copy of sent parts and give its disk space back:
 * a later write into sent data fails (rewrite_refused). */
static void tee_stop(struct s3b_writer *w)
{
	w->teeing = false;
	if (w->spool_fd >= 0) {
		close(w->spool_fd);
		w->spool_fd = -1;
	}
}

/*
 * The buffer [base, base + blen) is about to be handed to the upload: add
 * it to the local copy of sent parts, so that the spool can take over if
 * the application comes back to rewrite it.  A file that outgrows
 * keep_sent, or a copy that cannot be written, ends the copy (never the
 * upload).
 */
static void tee_part(struct s3b_writer *w)
{
	int fd, err;

	if (!w->teeing)
		return;
	if (w->base + w->blen > w->keep_sent) {
		LOG_D("writer: %s: larger than --keep-sent (%" PRIu64 " bytes): no local copy "
		      "of its uploaded parts is kept", w->key, w->keep_sent);
		tee_stop(w);
		return;
	}
	if (spool_fd(w, &fd) != 0) { /* said by spool_fd */
		tee_stop(w);
		return;
	}
	err = pwrite_all(fd, w->buf, w->blen, w->base);
	if (err) {
		LOG_W("writer: %s: cannot keep a local copy of its uploaded parts in the spool "
		      "directory: %s (the upload goes on; a later rewrite of uploaded data "
		      "would fail)", w->key, strerror(err));
		tee_stop(w);
	}
}

static void drop_buffer(struct s3b_writer *w)
{
	free(w->buf);
	budget_release(w, w->held);
	w->buf = NULL;
	w->cap = w->blen = w->held = 0;
}

/* Back to an empty stream at part 1 (the hasher, the parts, the upload);
 * no job may be live. */
static void reset_stream(struct s3b_writer *w)
{
	abort_upload(w);
	s3b_hasher_reset(w->hasher);
	w->started = false;
	w->meta_stale = false; /* the next upload takes the current metadata */
	w->base = 0;
	w->cur_part = 1;
	w->part_cap = s3b_part_plan_size(&w->plan, 1);
	w->first_part = 0;
	w->tail_clean = false;
}

/*
 * Move the file to the spool: allowed while no part was sent, or when the
 * local copy of sent parts covers them (teeing).  The queued parts are
 * cancelled and their bytes copied out; parts being uploaded are waited
 * for, then the upload is aborted.  0; EALREADY when something was sent
 * and no copy of it is kept (nothing changed); or an errno (the writer is
 * failed).
 */
static int to_spool(struct s3b_writer *w)
{
	struct wslot *s, *next;
	bool teed = w->teeing;
	int fd, err;

	pthread_mutex_lock(&w->lock);
	if (w->sent > 0 && !teed) {
		pthread_mutex_unlock(&w->lock);
		return EALREADY;
	}
	pthread_mutex_unlock(&w->lock);
	err = spool_fd(w, &fd);
	if (err) {
		fail(w, err, "spool: %s", strerror(err));
		return err;
	}
	pthread_mutex_lock(&w->lock);
	while (w->hashing)
		pthread_cond_wait(&w->cond, &w->lock);
	w->hq_head = w->hq_tail = NULL;
	/* A cancelled job that has not started does nothing; one that has
	 * (teed only) finishes its request, and is waited for below. */
	for (s = w->live_head; s; s = s->lnext) {
		s->cancelled = true;
		if (!err && !teed)
			err = pwrite_all(fd, s->buf, s->len, s->off);
	}
	for (s = w->live_head; s; s = next) {
		next = s->lnext;
		s->hashed = true;
		slot_settle_locked(w, s);
	}
	if (w->sent > 0) {
		/* The upload is aborted next: no job may read upload_id then
		 * (invariant 5). */
		wait_idle_locked(w);
		w->sent = 0;
	}
	if (!err)
		err = w->err;
	pthread_mutex_unlock(&w->lock);
	if (!err && w->blen)
		err = pwrite_all(fd, w->buf, w->blen, w->base);
	if (!err && ftruncate(fd, (off_t)w->size) != 0)
		err = errno;
	drop_buffer(w);
	reset_stream(w);
	w->spooling = true;
	w->teeing = false;
	if (err)
		fail(w, err, "spool: %s", strerror(err));
	else if (teed)
		LOG_N("writer: %s: the file is being rewritten behind data already uploaded; "
		      "the upload is aborted and the file will be sent again from the local "
		      "copy at close", w->key);
	return err;
}

/* ---- streaming -------------------------------------------------------------- */

static int parts_reserve_locked(struct s3b_writer *w, unsigned n)
{
	struct wpart *p;
	unsigned ncap;

	if (n <= w->parts_cap)
		return 0;
	ncap = w->parts_cap ? w->parts_cap : 64;
	while (ncap < n)
		ncap *= 2;
	if (ncap > S3_MAX_PARTS)
		ncap = S3_MAX_PARTS;
	p = realloc(w->parts, ncap * sizeof(*p));
	if (!p)
		return ENOMEM;
	memset(p + w->parts_cap, 0, (ncap - w->parts_cap) * sizeof(*p));
	w->parts = p;
	w->parts_cap = ncap;
	return 0;
}

static void live_append_locked(struct s3b_writer *w, struct wslot *s)
{
	s->lprev = w->live_tail;
	if (w->live_tail)
		w->live_tail->lnext = s;
	else
		w->live_head = s;
	w->live_tail = s;
	w->live++;
}

/*
 * Hand the current buffer (blen > 0) to the upload as part cur_part, after
 * waiting for a free slot (backpressure).  A tail that flush already
 * uploaded unchanged is only hashed.  0 or errno (the writer is failed).
 */
static int seal(struct s3b_writer *w)
{
	bool hash_only = w->tail_clean && w->blen == w->tail_len;
	struct wslot *s;
	int err;

	if (!w->upload_id && (err = create_upload(w)) != 0)
		return err;
	tee_part(w);
	s = calloc(1, sizeof(*s));
	if (!s) {
		fail(w, ENOMEM, "out of memory");
		return ENOMEM;
	}
	*s = (struct wslot){
		.job = { .fn = part_job, .arg = s },
		.w = w,
		.buf = w->buf,
		.len = w->blen,
		.held = w->held,
		.off = w->base,
		.number = w->cur_part,
		.submitted = !hash_only,
		.uploaded = hash_only,
	};
	pthread_mutex_lock(&w->lock);
	while (w->live >= w->parallel && !w->err) {
		if (!w->hashing && w->hq_head)
			hash_run_locked(w);
		else
			pthread_cond_wait(&w->cond, &w->lock);
	}
	err = w->err;
	if (!err && (err = parts_reserve_locked(w, s->number)) != 0)
		set_err_locked(w, err, "out of memory");
	if (err) {
		pthread_mutex_unlock(&w->lock);
		free(s);
		return err;
	}
	live_append_locked(w, s);
	if (w->hq_tail)
		w->hq_tail->hnext = s;
	else
		w->hq_head = s;
	w->hq_tail = s;
	if (!hash_only)
		w->jobs++;
	else
		hash_run_locked(w); /* s may be gone */
	pthread_mutex_unlock(&w->lock);
	if (!hash_only)
		submit(w, s); /* s may be gone */

	if (w->cur_part == 1)
		w->first_part = w->blen;
	w->base += w->blen;
	w->buf = NULL;
	w->cap = w->blen = w->held = 0;
	w->tail_clean = false;
	w->cur_part++;
	w->part_cap = s3b_part_plan_size(&w->plan, w->cur_part);
	return 0;
}

/* Room for the first buffer of part 1: what the hint says, else 1 MiB;
 * it grows to the full part when the file outgrows it. */
static size_t first_cap(const struct s3b_writer *w)
{
	uint64_t c = W_FIRST_CAP;

	if (w->conf_hint) {
		c = round_up(w->conf_hint, 4096);
		if (c < W_MIN_CAP)
			c = W_MIN_CAP;
	}
	return c < w->part_cap ? (size_t)c : w->part_cap;
}

/*
 * Room for need (<= part_cap) bytes in the current buffer.  0 (possibly
 * with w->spooling now set: the first buffer could not grow within the
 * budget and the data moved to the spool), or errno.
 */
static int ensure_cap(struct s3b_writer *w, size_t need)
{
	size_t new_held, delta;
	uint8_t *nb;
	int err;

	if (!w->buf) {
		/* We hold no partly filled buffer: blocking for the budget is safe. */
		size_t cap = w->part_cap;

		if (w->cur_part == 1) {
			cap = first_cap(w);
			if (cap < need)
				cap = need;
		}
		err = buf_alloc(w, cap, &w->buf, &w->held);
		if (err)
			return err;
		w->cap = cap;
		return 0;
	}
	if (need <= w->cap)
		return 0;
	/* Growing part 1 while holding it: a bounded wait (membudget.h). */
	new_held = budget_amount(w, w->part_cap);
	delta = new_held > w->held ? new_held - w->held : 0;
	if (delta && !s3b_membudget_try_acquire(w->budget, delta) &&
	    !s3b_membudget_acquire_for(w->budget, delta, W_GROW_WAIT_MS)) {
		LOG_W("writer: %s: no memory budget to grow the first part to %zu bytes "
		      "within %u ms; spooling the file locally", w->key, w->part_cap,
		      W_GROW_WAIT_MS);
		err = to_spool(w);
		return err == EALREADY ? EIO : err;
	}
	nb = realloc(w->buf, w->part_cap);
	if (!nb) {
		budget_release(w, delta);
		return ENOMEM;
	}
	w->buf = nb;
	w->cap = w->part_cap;
	w->held += delta;
	return 0;
}

/* Streaming mode: copy data (NULL: zeros) to [off, off+len), base <= off
 * <= size, sealing full parts.  0 or errno. */
static int put_bytes(struct s3b_writer *w, uint64_t off, const uint8_t *data, uint64_t len)
{
	while (len > 0) {
		uint64_t pos = off - w->base;
		size_t n;
		int err;

		if (w->part_cap == 0)
			return EFBIG; /* past part 10,000: max_size prevents this */
		if (pos >= w->part_cap) {
			err = seal(w);
			if (err)
				return err;
			continue;
		}
		n = len < w->part_cap - pos ? (size_t)len : (size_t)(w->part_cap - pos);
		err = ensure_cap(w, (size_t)pos + n);
		if (err)
			return err;
		if (w->spooling)
			return spool_write(w, off, data, len);
		if (data) {
			memcpy(w->buf + pos, data, n);
			data += n;
		} else {
			memset(w->buf + pos, 0, n);
		}
		if (pos + n > w->blen) {
			w->blen = (size_t)pos + n;
			w->size = w->base + w->blen;
		}
		w->tail_clean = false;
		off += n;
		len -= n;
	}
	return 0;
}

/* ---- the interface -------------------------------------------------------- */

static int meta_copy(struct s3_meta *dst, const struct s3_meta *src)
{
	*dst = (struct s3_meta){ 0 };
	if (!src)
		return 0;
	if (src->content_type && !(dst->content_type = strdup(src->content_type)))
		goto nomem;
	if (src->n) {
		dst->kv = calloc(src->n, sizeof(*dst->kv));
		if (!dst->kv)
			goto nomem;
	}
	for (size_t i = 0; i < src->n; i++) {
		dst->kv[i].name = strdup(src->kv[i].name ? src->kv[i].name : "");
		dst->kv[i].value = strdup(src->kv[i].value ? src->kv[i].value : "");
		dst->n = i + 1;
		if (!dst->kv[i].name || !dst->kv[i].value)
			goto nomem;
	}
	return 0;

nomem:
	s3_meta_free(dst);
	return ENOMEM;
}

int s3b_writer_open(const struct s3b_store *st, const char *key, const struct s3_meta *meta,
		    const struct s3b_writer_conf *conf, struct s3b_writer **out)
{
	static const struct s3b_writer_conf defaults = { 0 };
	struct s3b_writer *w;
	int err = ENOMEM;

	*out = NULL;
	if (!st || !st->ops || !key)
		return EINVAL;
	if (!conf)
		conf = &defaults;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->st = *st;
	w->spool_fd = -1;
	w->parallel = conf->parallel ? conf->parallel : W_DEFAULT_PARALLEL;
	if (w->parallel > W_MAX_PARALLEL)
		w->parallel = W_MAX_PARALLEL;
	w->budget = conf->budget;
	w->pool = conf->pool;
	w->spool_max = conf->spool_max ? conf->spool_max : W_DEFAULT_SPOOL_MAX;
	w->keep_sent = conf->keep_sent < w->spool_max ? conf->keep_sent : w->spool_max;
	w->conf_part_size = conf->part_size;
	w->conf_hint = conf->size_hint;
	w->spooling = conf->spool;
	w->teeing = !w->spooling && w->keep_sent > 0;
	s3b_part_plan_init(&w->plan, conf->part_size, conf->size_hint);
	w->max_size = s3b_part_plan_max(&w->plan);
	w->cur_part = 1;
	w->part_cap = s3b_part_plan_size(&w->plan, 1);
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w);
		return ENOMEM;
	}
	if (pthread_cond_init(&w->cond, NULL) != 0)
		goto fail_lock;
	w->key = strdup(key);
	if (!w->key)
		goto fail_cond;
	if (conf->spool_dir && !(w->spool_dir = strdup(conf->spool_dir)))
		goto fail_key;
	if ((err = meta_copy(&w->meta, meta)) != 0)
		goto fail_dir;
	if ((err = s3b_hasher_new(S3B_HASH_ALL, &w->hasher)) != 0)
		goto fail_meta;
	*out = w;
	return 0;

fail_meta:
	s3_meta_free(&w->meta);
fail_dir:
	free(w->spool_dir);
fail_key:
	free(w->key);
fail_cond:
	pthread_cond_destroy(&w->cond);
fail_lock:
	pthread_mutex_destroy(&w->lock);
	free(w);
	return err;
}

static bool str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Same Content-Type and the same pairs, in any order. */
static bool meta_equal(const struct s3_meta *a, const struct s3_meta *b)
{
	if (!str_equal(a->content_type, b->content_type) || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		size_t j;

		for (j = 0; j < b->n; j++)
			if (strcmp(a->kv[i].name, b->kv[j].name) == 0)
				break;
		if (j == b->n || strcmp(a->kv[i].value, b->kv[j].value) != 0)
			return false;
	}
	return true;
}

int s3b_writer_set_meta(struct s3b_writer *w, const struct s3_meta *meta)
{
	struct s3_meta m;
	int err = meta_copy(&m, meta);

	if (err)
		return err;
	s3_meta_free(&w->meta);
	w->meta = m;
	if (w->committed)
		w->meta_stale = true;
	else if (w->started)
		w->meta_stale = !meta_equal(&w->meta, &w->sent_meta);
	return 0;
}

bool s3b_writer_meta_stale(const struct s3b_writer *w)
{
	return w->meta_stale;
}

uint64_t s3b_writer_size(const struct s3b_writer *w)
{
	return w->size;
}

bool s3b_writer_started(const struct s3b_writer *w)
{
	return w->started;
}

/* The write path's errors as writer.h lists them. */
static int write_errno(int err)
{
	return err == 0 || err == ENOSPC || err == EFBIG || err == ENOMEM ? err : EIO;
}

/* Before a change: 0, EIO (committed or failed) or EFBIG (too large). */
static int change_check(struct s3b_writer *w, uint64_t end)
{
	int err;

	if (w->committed)
		return EIO;
	pthread_mutex_lock(&w->lock);
	err = w->err;
	pthread_mutex_unlock(&w->lock);
	if (err)
		return EIO;
	if (end > w->max_size || (w->spooling && end > w->spool_max))
		return EFBIG;
	return 0;
}

/* A change that would rewrite uploaded data: the writer fails. */
static int rewrite_refused(struct s3b_writer *w, const char *what, uint64_t off)
{
	LOG_E("writer: %s: %s at offset %" PRIu64 " goes back into data already uploaded "
	      "(%" PRIu64 " bytes handed to the multipart upload) and no local copy of it is "
	      "kept (the file is larger than --keep-sent %" PRIu64 "); the object cannot be "
	      "written and will not be committed", w->key, what, off, w->base, w->keep_sent);
	fail(w, EIO, "%s at offset %" PRIu64 " went back into data already uploaded "
	     "(first %" PRIu64 " bytes)", what, off, w->base);
	return EIO;
}

int s3b_writer_write(struct s3b_writer *w, uint64_t off, const void *data, size_t len)
{
	int err;

	if (len > UINT64_MAX - off)
		return EFBIG;
	err = change_check(w, off + len);
	if (err || len == 0)
		return err;
	if (!w->spooling && off < w->base) {
		err = to_spool(w);
		if (err == EALREADY)
			return rewrite_refused(w, "a write", off);
		if (err)
			return write_errno(err);
	}
	if (!w->spooling && off > w->size) {
		err = put_bytes(w, w->size, NULL, off - w->size);
		if (err)
			goto fail;
	}
	if (w->spooling)
		err = spool_write(w, off, data, len);
	else
		err = put_bytes(w, off, data, len);
	if (err)
		goto fail;
	return 0;

fail:
	/* Some bytes may have gone in: the object would not be what the
	 * application believes, so the writer fails whatever the reason. */
	if (err != EFBIG)
		fail(w, err, "write at offset %" PRIu64 ": %s", off, strerror(err));
	return write_errno(err);
}

/* Truncate to 0: drop everything, wait for (cancelled) parts, abort. */
static int restart(struct s3b_writer *w)
{
	struct wslot *s;

	pthread_mutex_lock(&w->lock);
	for (s = w->live_head; s; s = s->lnext)
		s->cancelled = true;
	wait_idle_locked(w);
	w->sent = 0;
	pthread_mutex_unlock(&w->lock);
	drop_buffer(w);
	reset_stream(w);
	if (w->spooling)
		return write_errno(spool_truncate(w, 0));
	w->size = 0;
	w->teeing = w->keep_sent > 0; /* an empty copy is complete */
	return 0;
}

int s3b_writer_truncate(struct s3b_writer *w, uint64_t size)
{
	int err = change_check(w, size);

	if (err || size == w->size)
		return err;
	if (size == 0)
		return restart(w);
	if (!w->spooling && size < w->base) {
		err = to_spool(w);
		if (err == EALREADY)
			return rewrite_refused(w, "a truncate", size);
		if (err)
			return write_errno(err);
	}
	if (w->spooling)
		return write_errno(spool_truncate(w, size));
	if (size < w->size) {
		w->blen = (size_t)(size - w->base);
		w->size = size;
		w->tail_clean = false;
		return 0;
	}
	err = put_bytes(w, w->size, NULL, size - w->size);
	if (!err && w->spooling && w->size < size)
		err = spool_truncate(w, size);
	if (err && err != EFBIG)
		fail(w, err, "truncate to %" PRIu64 ": %s", size, strerror(err));
	return write_errno(err);
}

int s3b_writer_read(struct s3b_writer *w, uint64_t off, void *buf, size_t len, size_t *got)
{
	int err;

	*got = 0;
	if (w->committed)
		return EIO;
	if (off >= w->size)
		return 0;
	if (len > w->size - off)
		len = (size_t)(w->size - off);
	if (w->spooling) {
		if (w->spool_fd < 0) {
			memset(buf, 0, len); /* only holes so far */
		} else if ((err = pread_full(w->spool_fd, buf, len, off)) != 0) {
			return EIO;
		}
	} else {
		size_t sent = off < w->base ? (size_t)(w->base - off < len ? w->base - off : len) : 0;

		if (sent && (!w->teeing || w->spool_fd < 0 ||
			     pread_full(w->spool_fd, buf, sent, off) != 0))
			return EIO;
		if (len > sent)
			memcpy((uint8_t *)buf + sent, w->buf + (off + sent - w->base), len - sent);
	}
	*got = len;
	return 0;
}

int s3b_writer_flush(struct s3b_writer *w)
{
	struct wslot *s;
	bool tail = false;
	int err;

	if (w->committed)
		return w->commit_err;
	if (!w->spooling && w->upload_id && w->blen > 0 && !w->tail_clean) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return ENOMEM;
		*s = (struct wslot){
			.job = { .fn = part_job, .arg = s },
			.w = w,
			.buf = w->buf,
			.len = w->blen,
			.off = w->base,
			.number = w->cur_part,
			.borrowed = true,
			.submitted = true,
			.hashed = true, /* hashed when it is sealed for good */
		};
		pthread_mutex_lock(&w->lock);
		err = w->err;
		if (!err && (err = parts_reserve_locked(w, s->number)) != 0)
			set_err_locked(w, err, "out of memory");
		if (err) {
			pthread_mutex_unlock(&w->lock);
			free(s);
			return err;
		}
		live_append_locked(w, s);
		w->jobs++;
		pthread_mutex_unlock(&w->lock);
		submit(w, s);
		tail = true;
	}
	pthread_mutex_lock(&w->lock);
	wait_idle_locked(w);
	err = w->err;
	pthread_mutex_unlock(&w->lock);
	if (tail && !err) {
		w->tail_clean = true;
		w->tail_len = w->blen;
	}
	return err;
}

/* ---- commit ----------------------------------------------------------------- */

/* Compare the server's ETag (HEAD when it sent none) with ours. */
static int verify(struct s3b_writer *w, const char *key, struct s3b_write_result *res,
		  unsigned nparts, const char *composite)
{
	if (!res->etag[0]) {
		struct s3_object_info info = { 0 };
		struct s3_error e = { 0 };
		uint64_t server_size;
		char why[160];
		int err;

		err = w->st.ops->head(w->st.inst, key, &info, &e);
		add_attempts(w, &e);
		if (err) {
			s3_error_format(&e, why, sizeof(why));
			res_error(res, "stored, but not verified: HEAD failed: %s", why);
			s3_object_info_free(&info);
			return err;
		}
		memcpy(res->etag, info.etag, S3B_ETAG_MAX);
		res->etag[S3B_ETAG_MAX - 1] = '\0';
		server_size = info.size;
		s3_object_info_free(&info);
		if (server_size != w->size) {
			res->verdict = S3B_ETAG_MISMATCH;
			res_error(res, "object %s is WRONG: the server holds %" PRIu64 " bytes, %"
				  PRIu64 " were written; it must be deleted", key, server_size, w->size);
			LOG_E("writer: %s", res->error);
			return EIO;
		}
	}
	res->verdict = s3b_etag_check(res->etag, nparts, w->st.etag_style, res->digests.md5,
				      composite);
	switch (res->verdict) {
	case S3B_ETAG_MATCH:
		return 0;
	case S3B_ETAG_UNCOMPARABLE:
		res_error(res, "ETag %s is not an MD5 form (SSE-KMS/SSE-C?): not comparable, "
			  "accepted on Content-MD5 of every part alone", res->etag);
		return 0;
	case S3B_ETAG_MISMATCH:
	default:
		res->verdict = S3B_ETAG_MISMATCH;
		res_error(res, "object %s is WRONG: server ETag %s, expected %s; it must be "
			  "deleted", key, res->etag, res->expected_etag);
		LOG_E("writer: %s", res->error);
		return EIO;
	}
}

void s3b_writer_set_precommit(struct s3b_writer *w, s3b_precommit_fn fn, void *ctx)
{
	w->precommit = fn;
	w->precommit_ctx = ctx;
}

/* The caller's last word before the object becomes visible. */
static int run_precommit(struct s3b_writer *w, struct s3b_write_result *res,
			 const char *composite)
{
	char why[sizeof(res->error)] = "";
	int err;

	if (!w->precommit)
		return 0;
	err = w->precommit(w->precommit_ctx, &res->digests, w->size, composite, why, sizeof(why));
	if (err) {
		res->verdict = S3B_ETAG_MISMATCH;
		res_error(res, "%s", why[0] ? why : "refused before commit");
	}
	return err;
}

/* A single PutObject of buf (the whole object). */
static int commit_single(struct s3b_writer *w, const char *key, const uint8_t *buf,
			 size_t len, struct s3b_write_result *res)
{
	static const uint8_t empty[1];
	struct s3_error e = { 0 };
	char why[160];
	int err;

	s3b_hasher_update(w->hasher, buf ? buf : empty, len);
	s3b_hasher_final(w->hasher, &res->digests);
	s3b_etag_from_md5(res->digests.md5, res->expected_etag);
	err = run_precommit(w, res, NULL);
	if (err)
		return err;
	/* BadDigest: the body was damaged on the way; send it again from the
	 * buffer, as for parts */
	for (unsigned tries = 0; tries <= W_BADDIGEST_RETRIES; tries++) {
		err = w->st.ops->put(w->st.inst, key, buf ? buf : empty, len, meta_arg(w), res->etag,
				     &e);
		add_attempts(w, &e);
		if (err != EBADMSG)
			break;
		LOG_W("writer: %s: the server saw a damaged body (BadDigest); sending it again", key);
	}
	if (err) {
		s3_error_format(&e, why, sizeof(why));
		res_error(res, "PutObject: %s", why);
		return err;
	}
	return verify(w, key, res, 0, NULL);
}

/* Seal the tail, wait for every part, complete in order, verify. */
static int finish_multipart(struct s3b_writer *w, struct s3b_write_result *res)
{
	struct s3b_etag_builder b;
	struct s3_part *list;
	struct s3_error e = { 0 };
	char composite[S3B_ETAG_MAX], why[160];
	unsigned n;
	int err = 0;

	if (w->blen > 0)
		err = seal(w);
	pthread_mutex_lock(&w->lock);
	wait_idle_locked(w);
	if (w->err) {
		err = w->err;
		res_error(res, "%s", w->errmsg);
	}
	pthread_mutex_unlock(&w->lock);
	if (err)
		return err;

	n = w->cur_part - 1;
	res->parts = n;
	res->part_size = w->first_part;
	list = calloc(n, sizeof(*list));
	if (!list || s3b_etag_builder_init(&b) != 0) {
		free(list);
		res_error(res, "out of memory");
		return ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		list[i].number = i + 1;
		memcpy(list[i].etag, w->parts[i].etag, S3B_ETAG_MAX);
		s3b_etag_builder_add(&b, w->parts[i].md5);
	}
	s3b_etag_builder_final(&b, composite);
	s3b_hasher_final(w->hasher, &res->digests);
	if (w->st.etag_style == S3B_METAG_COMPOSITE)
		memcpy(res->expected_etag, composite, S3B_ETAG_MAX);
	else
		s3b_etag_from_md5(res->digests.md5, res->expected_etag);
	if (res->digests.bytes != w->size) {
		free(list);
		res_error(res, "internal: hashed %" PRIu64 " bytes of %" PRIu64,
			  res->digests.bytes, w->size);
		LOG_E("writer: %s: %s", w->key, res->error);
		return EIO;
	}
	err = run_precommit(w, res, composite);
	if (err) {
		free(list);
		return err;
	}

	err = w->st.ops->complete(w->st.inst, w->key, w->upload_id, list, n, res->etag, &e);
	add_attempts(w, &e);
	free(list);
	if (err && e.attempts > 1) {
		/* the first Complete may have worked and only its answer was lost:
		 * the retry then finds no upload (S3: NoSuchUpload; s3rver: 500).
		 * The object itself says whether it is ours. */
		struct s3_object_info info = { 0 };
		struct s3_error he = { 0 };

		if (w->st.ops->head(w->st.inst, w->key, &info, &he) == 0 && info.size == w->size &&
		    strcmp(info.etag, res->expected_etag) == 0) {
			LOG_N("writer: %s: CompleteMultipartUpload's answer was lost, but the object "
			      "is there with the expected ETag", w->key);
			memcpy(res->etag, info.etag, S3B_ETAG_MAX);
			err = 0;
		}
		add_attempts(w, &he);
		s3_object_info_free(&info);
	}
	if (err) {
		s3_error_format(&e, why, sizeof(why));
		res_error(res, "CompleteMultipartUpload: %s", why);
		return err;
	}
	free(w->upload_id); /* completed: nothing to abort any more */
	w->upload_id = NULL;
	return verify(w, w->key, res, n, composite);
}

/* Upload the spooled file: one PUT, or parts read from the file (the size
 * is known now, so the part size is chosen as for a hint). */
static int commit_spool(struct s3b_writer *w, const char *key, struct s3b_write_result *res)
{
	uint64_t total = w->size, off = 0;
	uint8_t *buf = NULL;
	size_t held = 0;
	int err;

	s3b_part_plan_init(&w->plan, w->conf_part_size, total);
	if (total > s3b_part_plan_max(&w->plan)) {
		res_error(res, "%" PRIu64 " bytes do not fit in %u parts", total, S3_MAX_PARTS);
		return EFBIG;
	}
	if (total <= s3b_part_plan_size(&w->plan, 1)) {
		err = buf_alloc(w, (size_t)total, &buf, &held);
		if (!err && w->spool_fd >= 0)
			err = pread_full(w->spool_fd, buf, (size_t)total, 0);
		else if (!err)
			memset(buf, 0, (size_t)total);
		if (err)
			res_error(res, "spool: %s", strerror(err));
		else
			err = commit_single(w, key, buf, (size_t)total, res);
		free(buf);
		budget_release(w, held);
		return err;
	}
	if (strcmp(key, w->key) != 0) {
		char *k = strdup(key);

		if (!k) {
			res_error(res, "out of memory");
			return ENOMEM;
		}
		free(w->key);
		w->key = k;
	}
	reset_stream(w);
	while (off < total) {
		size_t n = s3b_part_plan_size(&w->plan, w->cur_part);

		if (n > total - off)
			n = (size_t)(total - off);
		/* The previous buffer is sealed: blocking for the budget is safe. */
		err = buf_alloc(w, n, &w->buf, &w->held);
		if (!err)
			err = w->spool_fd >= 0 ? pread_full(w->spool_fd, w->buf, n, off) : 0;
		if (err) {
			fail(w, err, "spool: %s", strerror(err));
			break;
		}
		w->cap = w->blen = n;
		err = seal(w);
		if (err)
			break;
		off += n;
	}
	/* finish_multipart reports a failure recorded by seal or a part. */
	return finish_multipart(w, res);
}

int s3b_writer_commit(struct s3b_writer *w, const char *key, struct s3b_write_result *res)
{
	int err;

	*res = (struct s3b_write_result){ .verdict = S3B_ETAG_UNCOMPARABLE };
	if (!key)
		key = w->key;
	if (w->committed) {
		res_error(res, "already committed");
		return EINVAL;
	}
	w->committed = true;
	pthread_mutex_lock(&w->lock);
	err = w->err;
	if (err)
		res_error(res, "%s", w->errmsg);
	pthread_mutex_unlock(&w->lock);
	if (err)
		goto out;
	if (w->started && strcmp(key, w->key) != 0) {
		err = EXDEV;
		res_error(res, "the multipart upload was started under %s, not %s", w->key, key);
		goto out;
	}
	if (w->spooling)
		err = commit_spool(w, key, res);
	else if (!w->upload_id)
		err = commit_single(w, key, w->buf, w->blen, res);
	else
		err = finish_multipart(w, res);

out:
	/* Cancel what is still queued (a failure), wait, abort the upload. */
	pthread_mutex_lock(&w->lock);
	for (struct wslot *s = w->live_head; s; s = s->lnext)
		s->cancelled = true;
	wait_idle_locked(w);
	pthread_mutex_unlock(&w->lock);
	abort_upload(w);
	drop_buffer(w);
	pthread_mutex_lock(&w->lock);
	res->attempts = w->attempts;
	pthread_mutex_unlock(&w->lock);
	res->size = w->size;
	if (err && !res->error[0])
		res_error(res, "%s", strerror(err));
	w->commit_err = err;
	return err;
}

void s3b_writer_close(struct s3b_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	for (struct wslot *s = w->live_head; s; s = s->lnext)
		s->cancelled = true;
	wait_idle_locked(w);
	pthread_mutex_unlock(&w->lock);
	if (!w->committed)
		abort_upload(w);
	drop_buffer(w);
	if (w->spool_fd >= 0)
		close(w->spool_fd);
	free(w->upload_id);
	free(w->parts);
	free(w->key);
	free(w->spool_dir);
	s3_meta_free(&w->meta);
	s3b_hasher_free(w->hasher);
	s3_meta_free(&w->sent_meta);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
