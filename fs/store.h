/*
 * fs/store.h — what the reader and the writer need from an object store,
 * as a const table of operations plus an instance (s3backer's "store"):
 * the real one wraps an s3_client (store_s3.c); unit tests put an
 * in-process store with scriptable faults behind the same table.
 *
 * Every hook returns 0 or a positive errno and fills *err when not NULL.
 * Hooks may be called from many threads at once.  Call order for one
 * object: put, or create_mp, upload_part* (any order, concurrently),
 * then exactly one of complete or abort.
 */
#ifndef S3B_STORE_H
#define S3B_STORE_H

#include "s3.h"

struct s3b_store_ops {
	int (*put)(void *inst, const char *key, const void *data, size_t len,
		   const struct s3_meta *meta, char etag[S3B_ETAG_MAX], struct s3_error *err);
	int (*create_mp)(void *inst, const char *key, const struct s3_meta *meta,
			 char **upload_id, struct s3_error *err);
	/* md5: the part's MD5, sent as Content-MD5 */
	int (*upload_part)(void *inst, const char *key, const char *upload_id, unsigned number,
			   const void *data, size_t len, const uint8_t md5[16],
			   char etag[S3B_ETAG_MAX], struct s3_error *err);
	int (*complete)(void *inst, const char *key, const char *upload_id,
			const struct s3_part *parts, size_t n, char etag[S3B_ETAG_MAX],
			struct s3_error *err);
	int (*abort)(void *inst, const char *key, const char *upload_id, struct s3_error *err);
	int (*head)(void *inst, const char *key, struct s3_object_info *info, struct s3_error *err);
	/* Ranged read, as s3_get_object. */
	int (*get)(void *inst, const char *key, uint64_t off, size_t len, void *buf, size_t *got,
		   const char *if_match, struct s3_error *err);
};

struct s3b_store {
	const struct s3b_store_ops *ops;
	void *inst;
	/* how this server forms multipart ETags (probed at mount) */
	enum s3b_multipart_etag etag_style;
};

/* The real store over a client (the client stays the caller's). */
void s3b_store_s3(struct s3_client *c, enum s3b_multipart_etag style, struct s3b_store *out);

/* The same, recording every multipart upload begun and ended in a journal
 * (so that a restart can abort what a crash left open).  ctx is the
 * caller's and must outlive the store. */
struct s3b_journal;
struct s3b_store_journaled {
	struct s3_client *client;
	struct s3b_journal *journal;   /* NULL: not recorded */
	const char *endpoint;
	const char *bucket;
};
void s3b_store_s3_journaled(struct s3b_store_journaled *ctx, enum s3b_multipart_etag style,
			    struct s3b_store *out);

#endif
