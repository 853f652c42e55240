/*
 * fs/dircache.c — see dircache.h.  A chained hash table plus an LRU list.
 * Invariants:
 *  1. every entry is in exactly one chain and in the LRU list;
 *  2. a directory entry with complete_until > now has all its children
 *     present (positive or negative) or it is not complete (eviction of a
 *     child clears the flag: evict() -> parent_incomplete()).
 */
#include "dircache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *chain;
	struct entry *lru_prev, *lru_next;
	uint64_t hash;
	unsigned bucket;
	bool absent;
	uint64_t expires;         /* monotonic ms */
	uint64_t complete_until;  /* monotonic ms; 0: not complete */
	struct s3b_node node;
	char key[];
};

struct s3b_dircache {
	pthread_mutex_t lock;
	struct entry **table;     /* protected by lock */
	size_t nslots;
	size_t count;             /* protected by lock */
	size_t max;
	unsigned ttl_ms;
	uint64_t evictions;       /* protected by lock */
	struct entry lru;         /* sentinel: lru.next is the most recent */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t hash_key(unsigned bucket, const char *key)
{
	uint64_t h = 1469598103934665603ull ^ bucket;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

int s3b_dircache_create(unsigned ttl_ms, size_t max_entries, struct s3b_dircache **out)
{
	struct s3b_dircache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return ENOMEM;
	dc->max = max_entries ? max_entries : 262144;
	dc->nslots = 1;
	while (dc->nslots < dc->max)
		dc->nslots <<= 1;
	dc->table = calloc(dc->nslots, sizeof(*dc->table));
	if (!dc->table) {
		free(dc);
		return ENOMEM;
	}
	dc->ttl_ms = ttl_ms;
	dc->lru.lru_next = dc->lru.lru_prev = &dc->lru;
	pthread_mutex_init(&dc->lock, NULL);
	*out = dc;
	return 0;
}

void s3b_dircache_destroy(struct s3b_dircache *dc)
{
	struct entry *e, *next;

	if (!dc)
		return;
	for (e = dc->lru.lru_next; e != &dc->lru; e = next) {
		next = e->lru_next;
		free(e);
	}
	free(dc->table);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
}

static void lru_unlink(struct entry *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_front(struct s3b_dircache *dc, struct entry *e)
{
	e->lru_next = dc->lru.lru_next;
	e->lru_prev = &dc->lru;
	dc->lru.lru_next->lru_prev = e;
	dc->lru.lru_next = e;
}

static struct entry **find_slot(struct s3b_dircache *dc, unsigned bucket, const char *key,
				uint64_t h)
{
	struct entry **pp = &dc->table[h & (dc->nslots - 1)];

	for (; *pp; pp = &(*pp)->chain)
		if ((*pp)->hash == h && (*pp)->bucket == bucket && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

/* The parent directory key of key ("a/b/c" -> "a/b", "a" -> ""). */
static size_t parent_len(const char *key)
{
	const char *slash = strrchr(key, '/');

	return slash ? (size_t)(slash - key) : 0;
}

static void parent_incomplete(struct s3b_dircache *dc, unsigned bucket, const char *key)
{
	size_t pl = parent_len(key);
	char stackbuf[256], *pk = pl < sizeof(stackbuf) ? stackbuf : malloc(pl + 1);
	struct entry **pp;

	if (!pk) {
		/* cannot name the parent: drop every completeness claim */
		for (struct entry *e = dc->lru.lru_next; e != &dc->lru; e = e->lru_next)
			e->complete_until = 0;
		return;
	}
	memcpy(pk, key, pl);
	pk[pl] = '\0';
	pp = find_slot(dc, bucket, pk, hash_key(bucket, pk));
	if (*pp)
		(*pp)->complete_until = 0;
	if (pk != stackbuf)
		free(pk);
}

static void remove_entry(struct s3b_dircache *dc, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->chain;
	lru_unlink(e);
	dc->count--;
	free(e);
}

static void evict_one(struct s3b_dircache *dc)
{
	struct entry *e = dc->lru.lru_prev;
	struct entry **pp;

	if (e == &dc->lru)
		return;
	dc->evictions++;
	parent_incomplete(dc, e->bucket, e->key);
	pp = find_slot(dc, e->bucket, e->key, e->hash);
	remove_entry(dc, pp);
}

/* Find or create the entry for key; NULL on ENOMEM.  Caller holds lock. */
static struct entry *upsert(struct s3b_dircache *dc, unsigned bucket, const char *key)
{
	uint64_t h = hash_key(bucket, key);
	struct entry **pp = find_slot(dc, bucket, key, h), *e;
	size_t kl;

	if (*pp) {
		e = *pp;
		lru_unlink(e);
		lru_front(dc, e);
		return e;
	}
	while (dc->count >= dc->max)
		evict_one(dc);
	pp = find_slot(dc, bucket, key, h); /* eviction may have moved chains */
	kl = strlen(key);
	e = calloc(1, sizeof(*e) + kl + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, kl + 1);
	e->hash = h;
	e->bucket = bucket;
	*pp = e;
	lru_front(dc, e);
	dc->count++;
	return e;
}

enum s3b_lookup s3b_dircache_get(struct s3b_dircache *dc, unsigned bucket, const char *key,
				 struct s3b_node *out)
{
	enum s3b_lookup r = S3B_LK_UNKNOWN;
	uint64_t now = now_ms();
	struct entry **pp;

	pthread_mutex_lock(&dc->lock);
	pp = find_slot(dc, bucket, key, hash_key(bucket, key));
	if (*pp && (*pp)->expires > now) {
		struct entry *e = *pp;

		if (e->absent) {
			r = S3B_LK_ABSENT;
		} else {
			*out = e->node;
			r = S3B_LK_FOUND;
		}
		lru_unlink(e);
		lru_front(dc, e);
	} else if (*key) {
		/* not known (or stale): a complete, fresh parent proves absence */
		size_t pl = parent_len(key);
		char *pk = strndup(key, pl);

		if (pk) {
			struct entry **pe = find_slot(dc, bucket, pk, hash_key(bucket, pk));

			if (*pe && (*pe)->complete_until > now && !*pp)
				r = S3B_LK_ABSENT;
			free(pk);
		}
	}
	pthread_mutex_unlock(&dc->lock);
	return r;
}

void s3b_dircache_put(struct s3b_dircache *dc, unsigned bucket, const char *key,
		      const struct s3b_node *n, bool merge_dir)
{
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	e = upsert(dc, bucket, key);
	if (e) {
		struct s3b_node old = e->node;
		bool was_present = !e->absent && e->expires;

		e->node = *n;
		if (was_present && merge_dir) {
			e->node.is_dir |= old.is_dir;
			if (!n->is_file && old.is_file) {
				/* a directory sighting keeps what is known of the file */
				bool dir = e->node.is_dir;

				e->node = old;
				e->node.is_dir = dir;
			}
		}
		if (was_present && !n->has_meta && old.has_meta && n->is_file && old.is_file &&
		    strcmp(old.etag, n->etag) == 0) {
			e->node.has_meta = true;
			e->node.pm = old.pm;
		}
		e->absent = false;
		e->expires = now_ms() + dc->ttl_ms;
	}
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_put_absent(struct s3b_dircache *dc, unsigned bucket, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	e = upsert(dc, bucket, key);
	if (e) {
		memset(&e->node, 0, sizeof(e->node));
		e->absent = true;
		e->complete_until = 0;
		e->expires = now_ms() + dc->ttl_ms;
	}
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_forget(struct s3b_dircache *dc, unsigned bucket, const char *key)
{
	struct entry **pp;

	pthread_mutex_lock(&dc->lock);
	pp = find_slot(dc, bucket, key, hash_key(bucket, key));
	if (*pp)
		remove_entry(dc, pp);
	if (*key)
		parent_incomplete(dc, bucket, key);
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_forget_tree(struct s3b_dircache *dc, unsigned bucket, const char *dirkey)
{
	size_t dl = strlen(dirkey);
	struct entry *e, *next;

	pthread_mutex_lock(&dc->lock);
	for (e = dc->lru.lru_next; e != &dc->lru; e = next) {
		next = e->lru_next;
		if (e->bucket == bucket &&
		    (dl == 0 || (strncmp(e->key, dirkey, dl) == 0 &&
				 (e->key[dl] == '/' || e->key[dl] == '\0')))) {
			struct entry **pp = find_slot(dc, bucket, e->key, e->hash);

			remove_entry(dc, pp);
		}
	}
	if (dl)
		parent_incomplete(dc, bucket, dirkey);
	pthread_mutex_unlock(&dc->lock);
}

uint64_t s3b_dircache_generation(struct s3b_dircache *dc)
{
	uint64_t g;

	pthread_mutex_lock(&dc->lock);
	g = dc->evictions;
	pthread_mutex_unlock(&dc->lock);
	return g;
}

void s3b_dircache_set_complete(struct s3b_dircache *dc, unsigned bucket, const char *dirkey,
			       bool complete, uint64_t since_generation)
{
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	if (complete && dc->evictions != since_generation) {
		pthread_mutex_unlock(&dc->lock);
		return;
	}
	e = upsert(dc, bucket, dirkey);
	if (e) {
		if (e->absent || !e->expires) {
			memset(&e->node, 0, sizeof(e->node));
			e->node.is_dir = true;
			e->absent = false;
			e->expires = now_ms() + dc->ttl_ms;
		}
		e->complete_until = complete ? now_ms() + dc->ttl_ms : 0;
	}
	pthread_mutex_unlock(&dc->lock);
}
