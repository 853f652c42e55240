/*
 * fs/dircache.c — see dircache.h.  A chained hash table, an LRU list, and
 * parent/child links between entries.
 *
 * Invariants (everything below is protected by dc->lock):
 *  1. every entry is in exactly one hash chain and in the LRU list;
 *  2. every entry but a bucket root ("") has its parent directory's entry
 *     in the cache (a placeholder when nothing else is known of it) and is
 *     in that entry's list of children: the children of a directory are
 *     exactly the entries linked under it;
 *  3. in LRU order every entry is more recent than all its descendants
 *     (touch() moves an entry, then each of its ancestors, to the front),
 *     so the LRU tail is a leaf and evicting it orphans nothing;
 *  4. a directory with complete_until > now has every child in the cache
 *     (positive, negative, or stale and then not trusted): removing a child
 *     clears the flag (kid_unlink()), and set_complete() refuses a listing
 *     during which a child may have been lost (lost_seq for evictions and
 *     dropped trees anywhere, dirty_seq for a forget in that directory).
 */
#include "dircache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_ENTRIES 65536 /* about 19 MiB at 288 bytes an entry */
#define MIN_MAX_ENTRIES 16

struct entry {
	struct entry *chain;                /* hash chain */
	struct entry *lru_prev, *lru_next;
	struct entry *parent;               /* NULL for a bucket root "" */
	struct entry *kids;                 /* first child */
	struct entry *sib_prev, *sib_next;  /* among the parent's children */
	size_t nkids;
	uint64_t hash;
	unsigned bucket;
	bool absent;
	uint64_t expires;         /* monotonic ms; 0: a placeholder */
	uint64_t complete_until;  /* monotonic ms; 0: not complete */
	uint64_t claimed_until;   /* monotonic ms: a lookup listed this directory */
	uint64_t put_seq;         /* dc->seq of the last put (or of creation) */
	uint64_t dirty_seq;       /* dc->seq of the last forget of a child */
	unsigned meta_batches;    /* s3b_dircache_meta_batch() since the claim */
	struct s3b_node node;
	size_t klen;
	char key[];
};

struct s3b_dircache {
	pthread_mutex_t lock;
	struct entry **table;
	size_t nslots;
	size_t count;
	size_t max;
	unsigned ttl_ms;          /* entries */
	unsigned listing_ttl_ms;  /* completeness and lookup listings */
	uint64_t seq;             /* stamps puts and losses; generation() reads it */
	uint64_t lost_seq;        /* seq of the last eviction or dropped tree */
	uint64_t (*now)(void);
	struct entry lru;         /* sentinel: lru.lru_next is the most recent */
};

static uint64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t hash_key(unsigned bucket, const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ bucket;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
	return h;
}

/* The length of the parent directory's key ("a/b/c" -> 2, "a" -> 0). */
static size_t parent_len(const char *key, size_t len)
{
	while (len > 0)
		if (key[--len] == '/')
			return len;
	return 0;
}

int s3b_dircache_create(unsigned ttl_ms, size_t max_entries, struct s3b_dircache **out)
{
	struct s3b_dircache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return ENOMEM;
	dc->max = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	if (dc->max < MIN_MAX_ENTRIES)
		dc->max = MIN_MAX_ENTRIES;
	dc->nslots = 1;
	while (dc->nslots < dc->max)
		dc->nslots <<= 1;
	dc->table = calloc(dc->nslots, sizeof(*dc->table));
	if (!dc->table) {
		free(dc);
		return ENOMEM;
	}
	dc->ttl_ms = ttl_ms;
	dc->listing_ttl_ms = ttl_ms;
	dc->now = clock_ms;
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

void s3b_dircache_set_listing_ttl(struct s3b_dircache *dc, unsigned ms)
{
	pthread_mutex_lock(&dc->lock);
	dc->listing_ttl_ms = ms < dc->ttl_ms ? ms : dc->ttl_ms;
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_set_clock(struct s3b_dircache *dc, uint64_t (*now_ms)(void))
{
	pthread_mutex_lock(&dc->lock);
	dc->now = now_ms ? now_ms : clock_ms;
	pthread_mutex_unlock(&dc->lock);
}

size_t s3b_dircache_count(struct s3b_dircache *dc)
{
	size_t n;

	pthread_mutex_lock(&dc->lock);
	n = dc->count;
	pthread_mutex_unlock(&dc->lock);
	return n;
}

/* ---- the table, the LRU list and the tree (caller holds the lock) ---- */

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

/* Most recent: e, then each ancestor ahead of it (invariant 3). */
static void touch(struct s3b_dircache *dc, struct entry *e)
{
	for (; e; e = e->parent) {
		lru_unlink(e);
		lru_front(dc, e);
	}
}

static struct entry **find_slot(struct s3b_dircache *dc, unsigned bucket, const char *key,
				size_t len, uint64_t h)
{
	struct entry **pp = &dc->table[h & (dc->nslots - 1)];

	for (; *pp; pp = &(*pp)->chain) {
		const struct entry *e = *pp;

		if (e->hash == h && e->bucket == bucket && e->klen == len &&
		    memcmp(e->key, key, len) == 0)
			return pp;
	}
	return pp;
}

static struct entry *find(struct s3b_dircache *dc, unsigned bucket, const char *key, size_t len)
{
	return *find_slot(dc, bucket, key, len, hash_key(bucket, key, len));
}

static void kid_link(struct entry *parent, struct entry *e)
{
	e->parent = parent;
	e->sib_prev = NULL;
	e->sib_next = parent->kids;
	if (parent->kids)
		parent->kids->sib_prev = e;
	parent->kids = e;
	parent->nkids++;
}

/* Detach e from its parent, which can no longer claim completeness. */
static void kid_unlink(struct entry *e)
{
	struct entry *p = e->parent;

	if (!p)
		return;
	if (e->sib_prev)
		e->sib_prev->sib_next = e->sib_next;
	else
		p->kids = e->sib_next;
	if (e->sib_next)
		e->sib_next->sib_prev = e->sib_prev;
	p->nkids--;
	p->complete_until = 0;
	e->parent = NULL;
}

/* Remove a leaf (nkids == 0). */
static void remove_entry(struct s3b_dircache *dc, struct entry *e)
{
	struct entry **pp = find_slot(dc, e->bucket, e->key, e->klen, e->hash);

	*pp = e->chain;
	lru_unlink(e);
	kid_unlink(e);
	dc->count--;
	free(e);
}

/* Remove e and everything under it, leaves first. */
static void remove_subtree(struct s3b_dircache *dc, struct entry *e)
{
	struct entry *x = e;

	for (;;) {
		struct entry *up;
		bool top;

		while (x->kids)
			x = x->kids;
		up = x->parent;
		top = x == e;
		remove_entry(dc, x);
		if (top)
			return;
		x = up;
	}
}

/* Room for one more entry: evict from the LRU tail (a leaf, invariant 3),
 * never keep (the new entry's parent; only a cache smaller than the key's
 * depth could reach it, and then it runs over by a few entries). */
static void make_room(struct s3b_dircache *dc, const struct entry *keep)
{
	while (dc->count >= dc->max) {
		struct entry *e = dc->lru.lru_prev;

		if (e == &dc->lru || e == keep || e->nkids)
			return;
		dc->lost_seq = ++dc->seq;
		remove_entry(dc, e);
	}
}

/* Find or create the entry for key (placeholders for missing ancestors);
 * NULL on ENOMEM.  The entry and its ancestors become the most recent. */
static struct entry *upsert(struct s3b_dircache *dc, unsigned bucket, const char *key, size_t len)
{
	uint64_t h = hash_key(bucket, key, len);
	struct entry **pp = find_slot(dc, bucket, key, len, h), *e, *parent = NULL;

	if (*pp) {
		touch(dc, *pp);
		return *pp;
	}
	if (len) {
		parent = upsert(dc, bucket, key, parent_len(key, len));
		if (!parent)
			return NULL;
	}
	make_room(dc, parent);
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, len);
	e->key[len] = '\0';
	e->klen = len;
	e->hash = h;
	e->bucket = bucket;
	e->put_seq = ++dc->seq;
	pp = find_slot(dc, bucket, key, len, h); /* eviction may have changed the chain */
	*pp = e;
	lru_front(dc, e);
	if (parent) {
		kid_link(parent, e);
		touch(dc, parent);
	}
	dc->count++;
	return e;
}

/* ---- the interface ---- */

enum s3b_lookup s3b_dircache_get(struct s3b_dircache *dc, unsigned bucket, const char *key,
				 struct s3b_node *out)
{
	enum s3b_lookup r = S3B_LK_UNKNOWN;
	size_t len = strlen(key);
	struct entry *e;
	uint64_t now;

	pthread_mutex_lock(&dc->lock);
	now = dc->now();
	e = find(dc, bucket, key, len);
	if (e && e->expires > now) {
		if (e->absent) {
			r = S3B_LK_ABSENT;
		} else {
			*out = e->node;
			r = S3B_LK_FOUND;
		}
		touch(dc, e);
	} else if (!e && len) {
		/* not known: a complete, fresh parent proves absence */
		struct entry *p = find(dc, bucket, key, parent_len(key, len));

		if (p && p->complete_until > now)
			r = S3B_LK_ABSENT;
	}
	pthread_mutex_unlock(&dc->lock);
	return r;
}

void s3b_dircache_put(struct s3b_dircache *dc, unsigned bucket, const char *key,
		      const struct s3b_node *n, bool merge_dir)
{
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	e = upsert(dc, bucket, key, strlen(key));
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
		e->expires = dc->now() + dc->ttl_ms;
		e->put_seq = ++dc->seq;
	}
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_put_absent(struct s3b_dircache *dc, unsigned bucket, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	e = upsert(dc, bucket, key, strlen(key));
	if (e) {
		memset(&e->node, 0, sizeof(e->node));
		e->absent = true;
		e->complete_until = 0;
		e->expires = dc->now() + dc->ttl_ms;
		e->put_seq = ++dc->seq;
	}
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_forget(struct s3b_dircache *dc, unsigned bucket, const char *key)
{
	size_t len = strlen(key);
	struct entry *e, *p;

	pthread_mutex_lock(&dc->lock);
	e = find(dc, bucket, key, len);
	if (e && e->nkids) {
		/* its children stay known: e becomes a placeholder */
		memset(&e->node, 0, sizeof(e->node));
		e->absent = false;
		e->expires = 0;
		e->complete_until = 0;
		e->claimed_until = 0;
		p = e->parent;
	} else if (e) {
		p = e->parent;
		remove_entry(dc, e);
	} else {
		/* a listing of the parent may be under way: it must learn that
		 * this name is unknown (the parent is created if need be) */
		p = len ? upsert(dc, bucket, key, parent_len(key, len)) : NULL;
		if (len && !p)
			dc->lost_seq = ++dc->seq;
	}
	if (p) {
		p->complete_until = 0;
		p->dirty_seq = ++dc->seq;
	}
	pthread_mutex_unlock(&dc->lock);
}

void s3b_dircache_forget_tree(struct s3b_dircache *dc, unsigned bucket, const char *dirkey)
{
	size_t len = strlen(dirkey);
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	dc->lost_seq = ++dc->seq;
	e = find(dc, bucket, dirkey, len);
	if (e) {
		remove_subtree(dc, e);
	} else if (len) {
		struct entry *p = find(dc, bucket, dirkey, parent_len(dirkey, len));

		if (p)
			p->complete_until = 0;
	}
	pthread_mutex_unlock(&dc->lock);
}

uint64_t s3b_dircache_generation(struct s3b_dircache *dc)
{
	uint64_t g;

	pthread_mutex_lock(&dc->lock);
	g = dc->seq;
	pthread_mutex_unlock(&dc->lock);
	return g;
}

void s3b_dircache_set_complete(struct s3b_dircache *dc, unsigned bucket, const char *dirkey,
			       bool complete, uint64_t since_generation)
{
	size_t len = strlen(dirkey);
	struct entry *e, *k, *next;
	uint64_t now;

	pthread_mutex_lock(&dc->lock);
	now = dc->now();
	if (!complete) {
		e = find(dc, bucket, dirkey, len);
		if (e)
			e->complete_until = 0;
		goto out;
	}
	if (dc->lost_seq > since_generation)
		goto out;
	e = upsert(dc, bucket, dirkey, len);
	if (!e || e->dirty_seq > since_generation)
		goto out;
	if (e->absent || !e->expires) {
		memset(&e->node, 0, sizeof(e->node));
		e->node.is_dir = true;
		e->absent = false;
		e->expires = now + dc->ttl_ms;
		e->put_seq = ++dc->seq;
	}
	/* children known from before the listing that it did not confirm are
	 * gone (deleted by another client since the cache learned them) */
	for (k = e->kids; k; k = next) {
		next = k->sib_next;
		if (k->put_seq <= since_generation)
			remove_subtree(dc, k);
	}
	e->complete_until = now + dc->listing_ttl_ms;
out:
	pthread_mutex_unlock(&dc->lock);
}

bool s3b_dircache_claim_listing(struct s3b_dircache *dc, unsigned bucket, const char *dirkey)
{
	size_t len = strlen(dirkey);
	struct entry *e;
	bool claim = false;
	uint64_t now;

	pthread_mutex_lock(&dc->lock);
	now = dc->now();
	if (!dc->listing_ttl_ms)
		goto out;
	e = find(dc, bucket, dirkey, len);
	if (e && (e->complete_until > now || e->claimed_until > now))
		goto out;
	e = upsert(dc, bucket, dirkey, len);
	if (e) {
		e->claimed_until = now + dc->listing_ttl_ms;
		e->meta_batches = 0;
		claim = true;
	}
out:
	pthread_mutex_unlock(&dc->lock);
	return claim;
}

unsigned s3b_dircache_meta_batch(struct s3b_dircache *dc, unsigned bucket, const char *dirkey)
{
	struct entry *e;
	unsigned n = 0;

	pthread_mutex_lock(&dc->lock);
	e = find(dc, bucket, dirkey, strlen(dirkey));
	if (e)
		n = e->meta_batches++;
	pthread_mutex_unlock(&dc->lock);
	return n;
}

int s3b_dircache_list(struct s3b_dircache *dc, unsigned bucket, const char *dirkey, bool whole,
		      struct s3b_dircache_item **items, size_t *n)
{
	size_t len = strlen(dirkey), skip = len ? len + 1 : 0, count = 0, bytes = 0, i = 0;
	struct s3b_dircache_item *out = NULL;
	const struct entry *e, *k;
	char *names;
	uint64_t now;
	int rc = 0;

	pthread_mutex_lock(&dc->lock);
	now = dc->now();
	e = find(dc, bucket, dirkey, len);
	if (whole && (!e || e->complete_until <= now)) {
		rc = ENOENT;
		goto out;
	}
	for (k = e ? e->kids : NULL; k; k = k->sib_next) {
		if (k->expires <= now) {
			if (!whole)
				continue;
			rc = ENOENT; /* stale or a placeholder: not vouched for */
			goto out;
		}
		if (k->absent || !(k->node.is_file || k->node.is_dir))
			continue;
		count++;
		bytes += k->klen - skip + 1;
	}
	out = malloc(count * sizeof(*out) + bytes + 1);
	if (!out) {
		rc = ENOMEM;
		goto out;
	}
	names = (char *)(out + count);
	for (k = e ? e->kids : NULL; k; k = k->sib_next) {
		size_t nl = k->klen - skip;

		if (k->expires <= now || k->absent || !(k->node.is_file || k->node.is_dir))
			continue;
		memcpy(names, k->key + skip, nl + 1);
		out[i].name = names;
		out[i].node = k->node;
		names += nl + 1;
		i++;
	}
	*items = out;
	*n = count;
out:
	pthread_mutex_unlock(&dc->lock);
	return rc;
}
