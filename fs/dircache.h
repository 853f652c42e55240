/*
 * fs/dircache.h — what the mount knows about names, from listings, HEADs
 * and its own changes: a bounded LRU map (bucket, key) -> node, with a TTL.
 *
 * A key is the object key of a file ("a/b/c") or of a directory without
 * its trailing '/' ("a/b"); the bucket root is "".  Besides positive and
 * negative entries, a directory can be marked "complete": every child was
 * inserted by a full listing, so a child that is not in the cache does not
 * exist.  Evicting a child clears its parent's completeness, so the LRU
 * bound never produces a false "absent".
 *
 * Metadata (mode/uid/gid/mtime) learned from a HEAD or written by the mount
 * is kept with the ETag it belongs to: a refresh from a listing with the
 * same ETag keeps it, a different ETag drops it.
 *
 * Thread-safe (one mutex; no I/O under it).
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
	struct s3b_posix_meta pm;
};

enum s3b_lookup { S3B_LK_UNKNOWN, S3B_LK_ABSENT, S3B_LK_FOUND };

struct s3b_dircache;

int s3b_dircache_create(unsigned ttl_ms, size_t max_entries, struct s3b_dircache **out);
void s3b_dircache_destroy(struct s3b_dircache *dc);

enum s3b_lookup s3b_dircache_get(struct s3b_dircache *dc, unsigned bucket, const char *key,
				 struct s3b_node *out);
/* Insert or refresh.  A file refresh with the same ETag keeps known
 * metadata when n has none.  With merge, existence is combined with what
 * is known (a listing's file item does not disprove a directory of the
 * same name, nor its prefix item the file). */
void s3b_dircache_put(struct s3b_dircache *dc, unsigned bucket, const char *key,
		      const struct s3b_node *n, bool merge);
void s3b_dircache_put_absent(struct s3b_dircache *dc, unsigned bucket, const char *key);
/* Drop what is known of key (and the parent's completeness). */
void s3b_dircache_forget(struct s3b_dircache *dc, unsigned bucket, const char *key);
/* Drop every entry under the directory key (for directory renames). */
void s3b_dircache_forget_tree(struct s3b_dircache *dc, unsigned bucket, const char *dirkey);
/* A listing that wants to mark its directory complete takes the eviction
 * generation before it starts and passes it here: if anything was evicted
 * meanwhile, the directory is not marked (a child may be missing). */
uint64_t s3b_dircache_generation(struct s3b_dircache *dc);
void s3b_dircache_set_complete(struct s3b_dircache *dc, unsigned bucket, const char *dirkey,
			       bool complete, uint64_t since_generation);

#endif
