/*
 * fs/dircache.h — what the mount knows about names, from listings, HEADs
 * and its own changes: a bounded LRU map (bucket, key) -> node, with a TTL,
 * kept as a tree (every entry is linked to its parent directory's entry),
 * so that a directory's children can be enumerated.
 *
 * A key is the object key of a file ("a/b/c") or of a directory without
 * its trailing '/' ("a/b"); the bucket root is "".  Besides positive and
 * negative entries there are placeholders (a directory entry that only
 * holds children; nothing is known of the name itself).  A directory can
 * be marked "complete": a full listing inserted every child, so a child
 * that is not in the cache does not exist, and the children in the cache
 * are the directory's contents (s3b_dircache_list serves readdir from
 * them).  Removing a child (eviction, forget) clears its parent's
 * completeness, so the LRU bound never produces a false "absent".
 *
 * Freshness: a positive or negative entry lasts ttl_ms (the --cache-ttl
 * option: "how long listings are trusted").  Completeness, which answers
 * for names never seen (absent) and for the whole directory (readdir),
 * lasts the listing TTL, no longer than the kernel trusts a negative
 * entry (--attr-timeout): another client's new object shows up as soon as
 * it would without this cache.  The mount's own changes keep the cache
 * right meanwhile: a create or a commit puts the new node (a complete
 * parent stays complete and lists it), a delete or a failed write forgets
 * the name (the parent is listed again next time).
 *
 * Metadata (mode/uid/gid/mtime) learned from a HEAD or written by the mount
 * is kept with the ETag it belongs to: a refresh from a listing with the
 * same ETag keeps it, a different ETag drops it.
 *
 * Thread-safe (one mutex; no I/O under it).  Not here: any S3 request.
 */
#ifndef S3B_DIRCACHE_H
#define S3B_DIRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "etag.h"
#include "meta.h"

struct s3b_node {
	bool is_file;            /* an object with this exact key exists */
	bool is_dir;             /* a prefix "key/" exists (marker or implicit) */
	uint64_t size;
	struct timespec mtime;   /* LastModified */
	char etag[S3B_ETAG_MAX];
	bool has_meta;           /* pm is valid for etag */
	/* learned by a listing that a lookup made in place of a probe: a
	 * lookup must still read the file's metadata (HEAD) before answering,
	 * as the probe would have (a readdir's listing clears it: readdir
	 * shows listing attributes) */
	bool need_meta;
	struct s3b_posix_meta pm;
};

enum s3b_lookup { S3B_LK_UNKNOWN, S3B_LK_ABSENT, S3B_LK_FOUND };

struct s3b_dircache;

/* ttl_ms 0 caches nothing (every entry is stale at once).  max_entries 0:
 * the default (65,536).  0 or ENOMEM. */
int s3b_dircache_create(unsigned ttl_ms, size_t max_entries, struct s3b_dircache **out);
void s3b_dircache_destroy(struct s3b_dircache *dc);
/* How long completeness is trusted (see above): ms, at most ttl_ms
 * (default ttl_ms).  0: never (every miss is probed). */
void s3b_dircache_set_listing_ttl(struct s3b_dircache *dc, unsigned ms);
/* Test seam: the monotonic clock in milliseconds (NULL: CLOCK_MONOTONIC). */
void s3b_dircache_set_clock(struct s3b_dircache *dc, uint64_t (*now_ms)(void));
/* Entries held (placeholders included): at most max_entries, but for a
 * few over while the ancestors of one deep key fill a tiny cache. */
size_t s3b_dircache_count(struct s3b_dircache *dc);

/* FOUND with *out, ABSENT (a fresh negative entry, or no entry in a
 * complete, fresh parent), or UNKNOWN. */
enum s3b_lookup s3b_dircache_get(struct s3b_dircache *dc, unsigned bucket, const char *key,
				 struct s3b_node *out);
/* Insert or refresh.  A file refresh with the same ETag keeps known
 * metadata when n has none.  With merge, existence is combined with what
 * is known (a listing's file item does not disprove a directory of the
 * same name, nor its prefix item the file). */
void s3b_dircache_put(struct s3b_dircache *dc, unsigned bucket, const char *key,
		      const struct s3b_node *n, bool merge);
void s3b_dircache_put_absent(struct s3b_dircache *dc, unsigned bucket, const char *key);
/* Drop what is known of key (and the parent's completeness); children of
 * key stay known. */
void s3b_dircache_forget(struct s3b_dircache *dc, unsigned bucket, const char *key);
/* Drop dirkey and every entry under it (for directory renames). */
void s3b_dircache_forget_tree(struct s3b_dircache *dc, unsigned bucket, const char *dirkey);

/* A listing that wants to mark its directory complete takes a generation
 * before it starts and passes it to set_complete: if anything that could
 * hide a child happened meanwhile (an eviction anywhere, a forget in this
 * directory), the directory is not marked.  Marking drops the children
 * the cache held from before the generation that the listing did not
 * confirm (deleted by another client since).  complete false clears the
 * mark. */
uint64_t s3b_dircache_generation(struct s3b_dircache *dc);
void s3b_dircache_set_complete(struct s3b_dircache *dc, unsigned bucket, const char *dirkey,
			       bool complete, uint64_t since_generation);

/* A lookup that missed may list its parent directory (one page) instead of
 * probing the name.  True when the caller should: the attempt is recorded,
 * so the directory is listed so at most once per listing TTL; false when
 * it is complete already, was claimed within the listing TTL, or that TTL
 * is 0. */
bool s3b_dircache_claim_listing(struct s3b_dircache *dc, unsigned bucket, const char *dirkey);
/* For the metadata read-ahead of lookups (nodes.c): how many batches of
 * HEADs lookups have read in dirkey since its listing was claimed; counts
 * this one. */
unsigned s3b_dircache_meta_batch(struct s3b_dircache *dc, unsigned bucket, const char *dirkey);

/* One name of a cached directory listing. */
struct s3b_dircache_item {
	const char *name;        /* the last component of the child's key */
	struct s3b_node node;    /* may be both a file and a directory */
};
/* The children of dirkey the cache knows, fresh and positive, in no
 * particular order: 0 with *items (one allocation holding the names too;
 * the caller frees it with free()) and *n; ENOMEM.  With whole, only when
 * they are the whole directory (complete, and no child stale or
 * unknown), else ENOENT. */
int s3b_dircache_list(struct s3b_dircache *dc, unsigned bucket, const char *dirkey, bool whole,
		      struct s3b_dircache_item **items, size_t *n);

#endif
