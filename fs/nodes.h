/*
 * fs/nodes.h — from mount paths to buckets and keys, and what exists
 * there: lookups (cache, then a listing probe, then HEAD for metadata) and
 * the streamed directory listing behind readdir.  Internal to fs/.
 *
 * Name rules (never a path outside the mount): a key maps to a path on
 * '/'.  Keys whose components would be empty ("a//b", a leading '/'), "."
 * or "..", or longer than 255 bytes cannot be names in a directory; they are
 * skipped in listings with a warning (once per directory listing) and are
 * not reachable through the mount.
 *
 * A key that is both an object and a prefix ("x" and "x/..."): the
 * directory is shown as "x" and the object as "x" S3B_CONFLICT_SUFFIX.
 *
 * Attributes: a readdir shows a file's listing attributes (LastModified,
 * the mount's default mode) unless its stored metadata is known; a lookup
 * by name shows the stored metadata (x-amz-meta-mode/mtime), reading it
 * with a HEAD when needed, except for a name a readdir listed within the
 * cache TTL (then the listing's attributes, as readdir showed them).
 */
#ifndef S3B_NODES_H
#define S3B_NODES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "dircache.h"
#include "mount.h"

#define S3B_CONFLICT_SUFFIX ".s3bridge-object"
#define S3B_INTEGRITY_DIR ".integrity"

enum s3b_path_kind {
	S3B_P_ROOT,        /* "/" */
	S3B_P_INTEGRITY,   /* "/.integrity" and below (rel set) */
	S3B_P_BUCKET,      /* a bucket's top directory */
	S3B_P_OBJECT,      /* something inside a bucket */
};

struct s3b_path {
	enum s3b_path_kind kind;
	struct s3b_bucket *b;
	char *key;         /* BUCKET: the prefix without its '/' ("" without
			    * prefix); OBJECT: the key.  Owned. */
	const char *rel;   /* INTEGRITY: path below /.integrity ("" for itself) */
};

/* 0, ENOENT (no such bucket name), ENAMETOOLONG or ENOMEM. */
int s3b_path_resolve(struct s3b_mount *m, const char *path, struct s3b_path *out);
void s3b_path_free(struct s3b_path *p);

/* What exists at key: 0 with *out (is_file and/or is_dir), ENOENT, or an
 * errno from the server.  When key names an object hidden by a directory
 * ("x" S3B_CONFLICT_SUFFIX), key is shortened in place to the object's
 * real key ("x"). */
int s3b_node_lookup(struct s3b_mount *m, struct s3b_bucket *b, char *key,
		    struct s3b_node *out);
/* Fill st for a node (file attributes from metadata when known, else the
 * listing and the mount defaults). */
void s3b_node_stat(const struct s3b_mount *m, const struct s3b_node *n, bool as_dir,
		   struct stat *st);
void s3b_dir_stat(const struct s3b_mount *m, mode_t perm, struct stat *st);

/* The directory prefix to list for a directory key ("" -> "", "a" -> "a/"). */
char *s3b_dir_prefix(const char *dirkey);

/* A readdir stream over one directory: one listing page in memory, or the
 * whole listing from the cache while a complete one is trusted (see
 * dircache.h: no longer than the kernel's attribute timeout), the mount's
 * own changes included.
 * fresh: always ask the server (s3bridge check must see what the server
 * has, not what the mount remembers). */
struct s3b_dirstream;
int s3b_dirstream_open(struct s3b_mount *m, struct s3b_bucket *b, const char *dirkey, bool fresh,
		       struct s3b_dirstream **out);
/* The item at index i (0-based; each call with i >= the previous one, or
 * i == 0 to restart).  Returns 0 with *name (valid until the next call)
 * and *st, ENOENT past the end, or an errno. */
int s3b_dirstream_item(struct s3b_dirstream *ds, size_t i, const char **name, struct stat *st);
void s3b_dirstream_close(struct s3b_dirstream *ds);

#endif
