/*
 * tests/unit/memstore.c — the in-process object store for unit tests (see
 * memstore.h).
 *
 * What it is for: giving the reader and the writer a store that behaves
 * like S3 where they depend on it (ETags, Content-MD5, part rules, ranged
 * GETs, If-Match) and that fails on cue, reproducibly (seeded faults).
 *
 * What it does not do: no listing, no deletes, no persistence, no HTTP.
 *
 * Concurrency: one mutex (m->lock) protects the tables, counters, fault
 * settings and the random source.  Object bodies are immutable and
 * reference counted, so a GET takes a reference under the lock and copies
 * outside it: many GETs run at once, as against a real server.  Part data
 * is copied and hashed outside the lock too.  Latency is slept outside the
 * lock.
 */
#include "memstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MS_BUCKETS 1024u

/* An immutable object body, shared by GETs in progress. */
struct mdata {
	uint8_t *bytes;
	size_t len;
	unsigned refs; /* protected by m->lock */
};

struct mobj {
	char *key;
	struct mdata *data;
	char etag[S3B_ETAG_MAX];
	struct s3_meta meta;
	struct timespec mtime;
	struct mobj *next;
};

struct mpart {
	uint8_t *data;
	size_t len;
	uint8_t md5[16];
	char etag[S3B_ETAG_MAX];
};

struct mupload {
	char *id;
	char *key;
	struct s3_meta meta;
	struct mpart *parts[S3_MAX_PARTS + 1]; /* by number; NULL: not uploaded */
	struct mupload *next;
};

struct fault {
	int err;
	unsigned n;
};

struct memstore {
	pthread_mutex_t lock;
	enum s3b_multipart_etag style;
	struct mobj *buckets[MS_BUCKETS];
	size_t n_objects;
	struct mupload *uploads;
	unsigned n_uploads;
	unsigned next_upload;
	uint64_t rng;
	struct fault fail[MS__COUNT];
	unsigned calls[MS__COUNT];
	double flip_put, flip_get, short_get;
	unsigned latency_us;
	size_t min_part;
};

/* ---- small helpers --------------------------------------------------- */

static uint64_t rng_next(struct memstore *m) /* xorshift64*; under m->lock */
{
	uint64_t x = m->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	m->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static bool rng_chance(struct memstore *m, double p)
{
	if (p <= 0)
		return false;
	return (double)(rng_next(m) >> 11) * 0x1.0p-53 < p;
}

static unsigned hash_key(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % MS_BUCKETS;
}

static void set_err(struct s3_error *err, int status, const char *code, const char *msg)
{
	if (!err)
		return;
	*err = (struct s3_error){ .http_status = status, .attempts = 1 };
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->message, sizeof(err->message), "%s", msg);
	snprintf(err->request_id, sizeof(err->request_id), "memstore");
}

static int fail(struct s3_error *err, int e, int status, const char *code, const char *msg)
{
	set_err(err, status, code, msg);
	return e;
}

/* Compare ETags ignoring one pair of quotes and hex case. */
static bool etag_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la >= 2 && a[0] == '"' && a[la - 1] == '"') {
		a++;
		la -= 2;
	}
	if (lb >= 2 && b[0] == '"' && b[lb - 1] == '"') {
		b++;
		lb -= 2;
	}
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Deep copy of metadata into a zeroed dst.  0 or ENOMEM (dst freed). */
static int meta_copy(struct s3_meta *dst, const struct s3_meta *src)
{
	*dst = (struct s3_meta){ 0 };
	if (!src)
		return 0;
	if (src->content_type) {
		dst->content_type = strdup(src->content_type);
		if (!dst->content_type)
			goto nomem;
	}
	for (size_t i = 0; i < src->n; i++)
		if (s3_meta_set(dst, src->kv[i].name, src->kv[i].value))
			goto nomem;
	return 0;
nomem:
	s3_meta_free(dst);
	return ENOMEM;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L };

	if (us)
		while (nanosleep(&ts, &ts) == EINTR) {
		}
}

/*
 * Every hook starts here: count the call, sleep the latency (outside the
 * lock) and consume a scripted failure.  Returns the injected errno or 0.
 */
static int begin(struct memstore *m, enum memstore_op op, struct s3_error *err)
{
	unsigned lat;
	int e = 0;

	pthread_mutex_lock(&m->lock);
	m->calls[op]++;
	lat = m->latency_us;
	if (m->fail[op].n > 0) {
		m->fail[op].n--;
		e = m->fail[op].err;
	}
	pthread_mutex_unlock(&m->lock);
	sleep_us(lat);
	if (e)
		return fail(err, e, 500, "InjectedFault", "memstore: scripted failure");
	set_err(err, 200, "", "");
	return 0;
}

static struct mobj *find_obj(struct memstore *m, const char *key)
{
	for (struct mobj *o = m->buckets[hash_key(key)]; o; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static struct mupload *find_upload(struct memstore *m, const char *id)
{
	for (struct mupload *u = m->uploads; u; u = u->next)
		if (strcmp(u->id, id) == 0)
			return u;
	return NULL;
}

static void data_unref(struct memstore *m, struct mdata *d)
{
	bool last;

	pthread_mutex_lock(&m->lock);
	last = --d->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (last) {
		free(d->bytes);
		free(d);
	}
}

static void obj_free(struct mobj *o)
{
	free(o->key);
	s3_meta_free(&o->meta);
	free(o);
}

static void upload_free(struct mupload *u)
{
	for (unsigned i = 0; i <= S3_MAX_PARTS; i++) {
		if (u->parts[i]) {
			free(u->parts[i]->data);
			free(u->parts[i]);
		}
	}
	free(u->id);
	free(u->key);
	s3_meta_free(&u->meta);
	free(u);
}

/*
 * Store an object under key, taking ownership of bytes (malloc'd, may be
 * NULL when len is 0).  The metadata is copied.  0 or ENOMEM (bytes freed).
 */
static int store_object(struct memstore *m, const char *key, uint8_t *bytes, size_t len,
			const char *etag, const struct s3_meta *meta)
{
	struct mobj *o = calloc(1, sizeof(*o)), *old;
	struct mdata *d = calloc(1, sizeof(*d));
	struct mdata *old_data = NULL;

	if (!o || !d)
		goto nomem;
	o->key = strdup(key);
	if (!o->key || meta_copy(&o->meta, meta))
		goto nomem;
	d->bytes = bytes;
	d->len = len;
	d->refs = 1; /* the table's */
	o->data = d;
	snprintf(o->etag, sizeof(o->etag), "%s", etag);
	clock_gettime(CLOCK_REALTIME, &o->mtime);

	pthread_mutex_lock(&m->lock);
	old = find_obj(m, key);
	if (old) {
		/* replace in place: swap bodies and metadata */
		struct s3_meta tmp = old->meta;

		old_data = old->data;
		old->data = d;
		old->meta = o->meta;
		o->meta = tmp;
		memcpy(old->etag, o->etag, sizeof(old->etag));
		old->mtime = o->mtime;
		old_data->refs--;
		if (old_data->refs)
			old_data = NULL; /* a GET still reads it; it frees */
	} else {
		unsigned h = hash_key(key);

		o->next = m->buckets[h];
		m->buckets[h] = o;
		m->n_objects++;
		o = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	if (o)
		obj_free(o);
	if (old_data) {
		free(old_data->bytes);
		free(old_data);
	}
	return 0;

nomem:
	if (o) {
		free(o->key);
		s3_meta_free(&o->meta);
		free(o);
	}
	free(d);
	free(bytes);
	return ENOMEM;
}

/* Copy len bytes (NULL data allowed when len is 0); never NULL on success
 * for len > 0. */
static uint8_t *dup_bytes(const void *data, size_t len, bool *ok)
{
	uint8_t *p;

	*ok = true;
	if (len == 0)
		return NULL;
	p = malloc(len);
	if (!p) {
		*ok = false;
		return NULL;
	}
	memcpy(p, data, len);
	return p;
}

/* ---- the store hooks ------------------------------------------------- */

static int ms_put(void *inst, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta, char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	struct memstore *m = inst;
	uint8_t md5[16];
	char tag[S3B_ETAG_MAX];
	uint64_t bit = 0;
	bool flip, ok;
	uint8_t *copy;
	int rc = begin(m, MS_PUT, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	flip = len > 0 && rng_chance(m, m->flip_put);
	if (flip)
		bit = rng_next(m) % ((uint64_t)len * 8);
	pthread_mutex_unlock(&m->lock);

	copy = dup_bytes(data, len, &ok);
	if (!ok)
		return fail(err, ENOMEM, 500, "InternalError", "memstore: out of memory");
	if (flip)
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	s3b_md5(copy, len, md5);
	s3b_etag_from_md5(md5, tag);
	rc = store_object(m, key, copy, len, tag, meta);
	if (rc)
		return fail(err, rc, 500, "InternalError", "memstore: out of memory");
	if (etag)
		memcpy(etag, tag, S3B_ETAG_MAX);
	return 0;
}

static int ms_create_mp(void *inst, const char *key, const struct s3_meta *meta,
			char **upload_id, struct s3_error *err)
{
	struct memstore *m = inst;
	struct mupload *u;
	char id[64];
	int rc = begin(m, MS_CREATE, err);

	*upload_id = NULL;
	if (rc)
		return rc;
	u = calloc(1, sizeof(*u));
	if (!u)
		return fail(err, ENOMEM, 500, "InternalError", "memstore: out of memory");
	u->key = strdup(key);
	if (!u->key || meta_copy(&u->meta, meta))
		goto nomem;
	pthread_mutex_lock(&m->lock);
	snprintf(id, sizeof(id), "ms-%u-%016llx", ++m->next_upload,
		 (unsigned long long)rng_next(m));
	pthread_mutex_unlock(&m->lock);
	u->id = strdup(id);
	*upload_id = strdup(id);
	if (!u->id || !*upload_id)
		goto nomem;
	pthread_mutex_lock(&m->lock);
	u->next = m->uploads;
	m->uploads = u;
	m->n_uploads++;
	pthread_mutex_unlock(&m->lock);
	return 0;

nomem:
	free(*upload_id);
	*upload_id = NULL;
	upload_free(u);
	return fail(err, ENOMEM, 500, "InternalError", "memstore: out of memory");
}

static int ms_upload_part(void *inst, const char *key, const char *upload_id, unsigned number,
			  const void *data, size_t len, const uint8_t md5[16],
			  char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	struct memstore *m = inst;
	struct mupload *u;
	struct mpart *part, *old = NULL;
	uint64_t bit = 0;
	bool flip, exists, ok;
	int rc = begin(m, MS_PART, err);

	if (rc)
		return rc;
	if (number < 1 || number > S3_MAX_PARTS)
		return fail(err, EINVAL, 400, "InvalidArgument", "part number out of range");
	pthread_mutex_lock(&m->lock);
	u = find_upload(m, upload_id);
	exists = u && strcmp(u->key, key) == 0;
	flip = len > 0 && rng_chance(m, m->flip_put);
	if (flip)
		bit = rng_next(m) % ((uint64_t)len * 8);
	pthread_mutex_unlock(&m->lock);
	if (!exists)
		return fail(err, ENOENT, 404, "NoSuchUpload", "no such upload");

	part = calloc(1, sizeof(*part));
	if (!part)
		return fail(err, ENOMEM, 500, "InternalError", "memstore: out of memory");
	part->data = dup_bytes(data, len, &ok);
	if (!ok) {
		free(part);
		return fail(err, ENOMEM, 500, "InternalError", "memstore: out of memory");
	}
	part->len = len;
	/* Content-MD5 is checked against the bytes as received */
	s3b_md5(part->data, len, part->md5);
	if (md5 && memcmp(md5, part->md5, 16) != 0) {
		free(part->data);
		free(part);
		return fail(err, EBADMSG, 400, "BadDigest",
			    "The Content-MD5 you specified did not match what we received.");
	}
	if (flip) {
		/* corrupted "before the checksum": stored wrong, MD5 of what is stored */
		part->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		s3b_md5(part->data, len, part->md5);
	}
	s3b_etag_from_md5(part->md5, part->etag);
	if (etag)
		memcpy(etag, part->etag, S3B_ETAG_MAX);

	pthread_mutex_lock(&m->lock);
	u = find_upload(m, upload_id);
	if (u) {
		old = u->parts[number];
		u->parts[number] = part;
		part = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	if (old) {
		free(old->data);
		free(old);
	}
	if (part) {
		/* aborted while we copied */
		free(part->data);
		free(part);
		return fail(err, ENOENT, 404, "NoSuchUpload", "no such upload");
	}
	return 0;
}

static void unlink_upload(struct memstore *m, struct mupload *u)
{
	for (struct mupload **pp = &m->uploads; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			m->n_uploads--;
			return;
		}
	}
}

static int ms_complete(void *inst, const char *key, const char *upload_id,
		       const struct s3_part *parts, size_t n, char etag[S3B_ETAG_MAX],
		       struct s3_error *err)
{
	struct memstore *m = inst;
	struct mupload *u;
	struct s3b_etag_builder eb;
	uint8_t *bytes = NULL;
	size_t total = 0;
	char tag[S3B_ETAG_MAX];
	size_t min_part;
	int rc = begin(m, MS_COMPLETE, err);

	if (rc)
		return rc;
	if (n == 0)
		return fail(err, EINVAL, 400, "MalformedXML", "no parts");
	pthread_mutex_lock(&m->lock);
	min_part = m->min_part;
	u = find_upload(m, upload_id);
	if (!u || strcmp(u->key, key) != 0) {
		pthread_mutex_unlock(&m->lock);
		return fail(err, ENOENT, 404, "NoSuchUpload", "no such upload");
	}
	for (size_t i = 0; i < n; i++) {
		unsigned num = parts[i].number;

		if (num < 1 || num > S3_MAX_PARTS || (i > 0 && num <= parts[i - 1].number)) {
			pthread_mutex_unlock(&m->lock);
			return fail(err, EINVAL, 400, "InvalidPartOrder",
				    "parts must be listed in ascending order");
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct mpart *p = u->parts[parts[i].number];

		if (!p || !etag_eq(p->etag, parts[i].etag)) {
			pthread_mutex_unlock(&m->lock);
			return fail(err, EINVAL, 400, "InvalidPart", "a listed part was not found");
		}
		if (i + 1 < n && p->len < min_part) {
			pthread_mutex_unlock(&m->lock);
			return fail(err, EINVAL, 400, "EntityTooSmall",
				    "a part is smaller than the minimum allowed size");
		}
		total += p->len;
	}
	/* valid: take the upload out of the table and assemble outside the lock */
	unlink_upload(m, u);
	pthread_mutex_unlock(&m->lock);

	if (s3b_etag_builder_init(&eb))
		goto nomem;
	if (total > 0) {
		bytes = malloc(total);
		if (!bytes) {
			s3b_etag_builder_dispose(&eb);
			goto nomem;
		}
	}
	total = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mpart *p = u->parts[parts[i].number];

		if (p->len)
			memcpy(bytes + total, p->data, p->len);
		total += p->len;
		s3b_etag_builder_add(&eb, p->md5);
	}
	if (m->style == S3B_METAG_COMPOSITE) {
		s3b_etag_builder_final(&eb, tag);
	} else {
		uint8_t md5[16];

		s3b_etag_builder_dispose(&eb);
		s3b_md5(bytes, total, md5);
		s3b_etag_from_md5(md5, tag);
	}
	rc = store_object(m, key, bytes, total, tag, &u->meta);
	upload_free(u);
	if (rc)
		return fail(err, rc, 500, "InternalError", "memstore: out of memory");
	if (etag)
		memcpy(etag, tag, S3B_ETAG_MAX);
	return 0;

nomem:
	upload_free(u);
	return fail(err, ENOMEM, 500, "InternalError", "memstore: out of memory");
}

static int ms_abort(void *inst, const char *key, const char *upload_id, struct s3_error *err)
{
	struct memstore *m = inst;
	struct mupload *u;
	int rc = begin(m, MS_ABORT, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	u = find_upload(m, upload_id);
	if (u && strcmp(u->key, key) == 0)
		unlink_upload(m, u);
	else
		u = NULL;
	pthread_mutex_unlock(&m->lock);
	if (!u)
		return fail(err, ENOENT, 404, "NoSuchUpload", "no such upload");
	upload_free(u);
	return 0;
}

static int ms_head(void *inst, const char *key, struct s3_object_info *info,
		   struct s3_error *err)
{
	struct memstore *m = inst;
	struct mobj *o;
	int rc = begin(m, MS_HEAD, err);

	if (rc)
		return rc;
	*info = (struct s3_object_info){ 0 };
	pthread_mutex_lock(&m->lock);
	o = find_obj(m, key);
	if (o) {
		info->size = o->data->len;
		memcpy(info->etag, o->etag, sizeof(info->etag));
		info->mtime = o->mtime;
		snprintf(info->storage_class, sizeof(info->storage_class), "STANDARD");
		rc = meta_copy(&info->meta, &o->meta);
	}
	pthread_mutex_unlock(&m->lock);
	if (!o)
		return fail(err, ENOENT, 404, "NoSuchKey", "The specified key does not exist.");
	if (rc)
		return fail(err, rc, 500, "InternalError", "memstore: out of memory");
	return 0;
}

static int ms_get(void *inst, const char *key, uint64_t off, size_t len, void *buf, size_t *got,
		  const char *if_match, struct s3_error *err)
{
	struct memstore *m = inst;
	struct mobj *o;
	struct mdata *d;
	size_t n, give;
	uint64_t bit = 0;
	bool flip = false;
	int rc = begin(m, MS_GET, err);

	*got = 0;
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	o = find_obj(m, key);
	if (!o) {
		pthread_mutex_unlock(&m->lock);
		return fail(err, ENOENT, 404, "NoSuchKey", "The specified key does not exist.");
	}
	if (if_match && !etag_eq(if_match, o->etag)) {
		pthread_mutex_unlock(&m->lock);
		return fail(err, ESTALE, 412, "PreconditionFailed",
			    "At least one of the pre-conditions you specified did not hold");
	}
	d = o->data;
	if (len == 0 || off >= d->len) {
		/* as s3_get_object: nothing at or past the end */
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	n = d->len - off < len ? (size_t)(d->len - off) : len;
	give = n;
	if (rng_chance(m, m->short_get))
		give = (size_t)(rng_next(m) % n); /* fewer than asked, before the end */
	if (give > 0 && rng_chance(m, m->flip_get)) {
		flip = true;
		bit = rng_next(m) % ((uint64_t)give * 8);
	}
	d->refs++;
	pthread_mutex_unlock(&m->lock);

	memcpy(buf, d->bytes + off, give);
	if (flip)
		((uint8_t *)buf)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	*got = give;
	data_unref(m, d);
	return 0;
}

static const struct s3b_store_ops memstore_ops = {
	.put = ms_put,
	.create_mp = ms_create_mp,
	.upload_part = ms_upload_part,
	.complete = ms_complete,
	.abort = ms_abort,
	.head = ms_head,
	.get = ms_get,
};

/* ---- the test-facing API --------------------------------------------- */

struct memstore *memstore_new(enum s3b_multipart_etag style, uint64_t seed)
{
	struct memstore *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		return NULL;
	}
	m->style = style;
	m->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	m->min_part = S3_MIN_PART_SIZE;
	return m;
}

void memstore_free(struct memstore *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < MS_BUCKETS; i++) {
		struct mobj *o = m->buckets[i];

		while (o) {
			struct mobj *next = o->next;

			free(o->data->bytes);
			free(o->data);
			obj_free(o);
			o = next;
		}
	}
	while (m->uploads) {
		struct mupload *u = m->uploads;

		m->uploads = u->next;
		upload_free(u);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void memstore_store(struct memstore *m, struct s3b_store *out)
{
	*out = (struct s3b_store){ .ops = &memstore_ops, .inst = m, .etag_style = m->style };
}

void memstore_fail_next(struct memstore *m, enum memstore_op op, int err, unsigned n)
{
	pthread_mutex_lock(&m->lock);
	m->fail[op] = (struct fault){ .err = err, .n = err ? n : 0 };
	pthread_mutex_unlock(&m->lock);
}

#define MS_SETTER(name, field, type)                              \
	void name(struct memstore *m, type v)                     \
	{                                                         \
		pthread_mutex_lock(&m->lock);                     \
		m->field = v;                                     \
		pthread_mutex_unlock(&m->lock);                   \
	}
MS_SETTER(memstore_set_flip_put, flip_put, double)
MS_SETTER(memstore_set_flip_get, flip_get, double)
MS_SETTER(memstore_set_short_get, short_get, double)
MS_SETTER(memstore_set_latency_us, latency_us, unsigned)
MS_SETTER(memstore_set_min_part, min_part, size_t)

int memstore_seed(struct memstore *m, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta)
{
	uint8_t md5[16];
	char tag[S3B_ETAG_MAX];
	bool ok;
	uint8_t *copy = dup_bytes(data, len, &ok);

	if (!ok)
		return ENOMEM;
	s3b_md5(copy, len, md5);
	s3b_etag_from_md5(md5, tag);
	return store_object(m, key, copy, len, tag, meta);
}

uint8_t *memstore_get_copy(struct memstore *m, const char *key, size_t *len,
			   char etag[S3B_ETAG_MAX])
{
	struct mobj *o;
	uint8_t *copy = NULL;

	pthread_mutex_lock(&m->lock);
	o = find_obj(m, key);
	if (o) {
		/* malloc(0) may return NULL: allocate at least one byte */
		copy = malloc(o->data->len ? o->data->len : 1);
		if (copy) {
			if (o->data->len)
				memcpy(copy, o->data->bytes, o->data->len);
			if (len)
				*len = o->data->len;
			if (etag)
				memcpy(etag, o->etag, S3B_ETAG_MAX);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return copy;
}

int memstore_meta(struct memstore *m, const char *key, struct s3_meta *out)
{
	struct mobj *o;
	int rc;

	pthread_mutex_lock(&m->lock);
	o = find_obj(m, key);
	rc = o ? meta_copy(out, &o->meta) : ENOENT;
	pthread_mutex_unlock(&m->lock);
	if (rc == ENOENT)
		*out = (struct s3_meta){ 0 };
	return rc;
}

unsigned memstore_calls(struct memstore *m, enum memstore_op op)
{
	unsigned n;

	pthread_mutex_lock(&m->lock);
	n = m->calls[op];
	pthread_mutex_unlock(&m->lock);
	return n;
}

unsigned memstore_open_uploads(struct memstore *m)
{
	unsigned n;

	pthread_mutex_lock(&m->lock);
	n = m->n_uploads;
	pthread_mutex_unlock(&m->lock);
	return n;
}

size_t memstore_objects(struct memstore *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->n_objects;
	pthread_mutex_unlock(&m->lock);
	return n;
}
