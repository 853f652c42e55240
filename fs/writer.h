/*
 * fs/writer.h — the write path of one file: the streaming bridge into a
 * multipart upload, with verification.
 *
 * Streaming: writes fill a part buffer; a full part is handed to the worker
 * pool and uploaded (Content-MD5 always) while the next part fills; up to
 * conf.parallel parts are in flight.  Part buffers come from the mount's
 * memory budget: a writer that outruns the network blocks (backpressure).
 * A file that never fills one part becomes a single PutObject at commit.
 *
 * Part size: with a size hint, chosen up front (at least 8 MiB, and large
 * enough for the hint to fit in 10,000 parts); without one, it grows with
 * the part number so any object up to the S3 maximum fits: 8 MiB for parts
 * 1-1000, then doubling every 1,000 parts.  Every part but the last is at
 * least 5 MiB.
 *
 * Non-sequential writes: a write into the unsent part buffer, or at or
 * after the end (a hole is zero-filled), is handled in memory.  A write
 * that goes back into data already handed to an upload switches the file
 * to the local spool: the parts not yet sent are copied out, and the parts
 * already sent come from the writer's local copy of them (conf.keep_sent:
 * each part is also written to the spool file as it is handed to the
 * upload, while the file is at most keep_sent bytes).  The upload is then
 * aborted and the whole file goes up again at commit.  Without that copy
 * (keep_sent 0, a larger file, a local write error) such a write fails
 * with EIO (the object is never corrupt; logged with the reason).  A writer
 * opened in spool mode (an existing object being modified) keeps the whole
 * file in a temporary file (bounded by conf.spool_max: EFBIG beyond) and
 * uploads it at commit.
 *
 * Hashing: the bytes of the object (in offset order) are hashed once as
 * they are sealed into parts: MD5, SHA-256 and CRC32C of the whole object,
 * and each part's MD5 for its Content-MD5 and the composite ETag.
 *
 * Commit: flush (everything uploaded, every part acknowledged), then
 * PutObject or CompleteMultipartUpload (parts in order), then the server's
 * ETag is checked against the local value for the store's ETag style
 * (a HEAD when the Complete body's ETag is empty, as on RGW).  A failed or
 * mismatching upload is aborted or reported; no half object is visible.
 *
 * Threads: one writer is used by one FUSE request at a time (the caller
 * serialises); its upload jobs run on the pool.
 */
#ifndef S3B_WRITER_H
#define S3B_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "membudget.h"
#include "pool.h"
#include "store.h"

struct s3b_writer_conf {
	size_t part_size;      /* 0: automatic (see above); else fixed, >= 5 MiB */
	unsigned parallel;     /* parts in flight; 0: 4 */
	uint64_t size_hint;    /* final size when known, 0 when not */
	struct s3b_membudget *budget;
	struct s3b_pool *pool;
	const char *spool_dir; /* where spool files go; NULL: $TMPDIR or /var/tmp */
	uint64_t spool_max;    /* bytes per spooled file; 0: 64 GiB */
	uint64_t keep_sent;    /* keep a local copy of sent parts while the
				* file is at most this large; 0: none */
	bool spool;            /* start in spool mode */
};

/* What happened to one object. */
struct s3b_write_result {
	uint64_t size;
	struct s3b_digests digests;       /* of the bytes sent */
	char etag[S3B_ETAG_MAX];          /* the server's, after commit */
	char expected_etag[S3B_ETAG_MAX]; /* ours */
	unsigned parts;                   /* 0: single PUT */
	size_t part_size;                 /* of the first part */
	unsigned attempts;                /* request attempts, all requests */
	enum s3b_etag_verdict verdict;
	char error[256];                  /* why it is not verified, for the log/journal */
};

struct s3b_writer;

/* key: where a multipart upload is created if the file outgrows one part.
 * meta: the object's metadata as known now (copied; may be NULL).
 * 0 or ENOMEM. */
int s3b_writer_open(const struct s3b_store *st, const char *key, const struct s3_meta *meta,
		    const struct s3b_writer_conf *conf, struct s3b_writer **out);
/* Replace the metadata (copied).  Before the upload is created it goes into
 * CreateMultipartUpload / PutObject; afterwards it is only remembered and
 * s3b_writer_meta_stale() becomes true (the caller fixes it after commit). */
int s3b_writer_set_meta(struct s3b_writer *w, const struct s3_meta *meta);
bool s3b_writer_meta_stale(const struct s3b_writer *w);
/* 0, EIO (an earlier part failed, or an impossible rewrite), ENOSPC/EFBIG
 * (spool), ENOMEM. */
int s3b_writer_write(struct s3b_writer *w, uint64_t off, const void *data, size_t len);
int s3b_writer_truncate(struct s3b_writer *w, uint64_t size);
uint64_t s3b_writer_size(const struct s3b_writer *w);
/* Read back written data (spool mode, bytes still in the part buffer, or
 * sent bytes from the local copy); EIO for sent bytes without a copy. */
int s3b_writer_read(struct s3b_writer *w, uint64_t off, void *buf, size_t len, size_t *got);
/* True once a multipart upload exists (its key can no longer change). */
bool s3b_writer_started(const struct s3b_writer *w);
/* Upload everything still buffered and wait for every part (not the
 * commit).  0 or the first error. */
int s3b_writer_flush(struct s3b_writer *w);
/* Commit under key (which must equal the open key once started; a
 * single-PUT object may still land anywhere).  Verifies; res is always
 * filled.  0 only for a complete, verified object (verdict MATCH, or
 * UNCOMPARABLE with an opaque ETag, said in res->error); otherwise an errno
 * (EIO for a mismatch, EXDEV for a key change after start) and the upload
 * is aborted. */
int s3b_writer_commit(struct s3b_writer *w, const char *key, struct s3b_write_result *res);
/* Called once the whole stream's digests are final and before the object
 * becomes visible (before PutObject or CompleteMultipartUpload).
 * composite is the "md5-of-part-md5s-N" text of a multipart upload (NULL
 * for a single PUT).  A non-zero return stops the commit: the upload is
 * aborted, nothing becomes visible, and commit returns that errno with the
 * reason (why) in res->error.  The bridge checks the paired source here. */
typedef int (*s3b_precommit_fn)(void *ctx, const struct s3b_digests *d, uint64_t size,
				const char *composite, char *why, size_t whylen);
void s3b_writer_set_precommit(struct s3b_writer *w, s3b_precommit_fn fn, void *ctx);
/* Abort any upload and free; safe on a committed writer (then only frees). */
void s3b_writer_close(struct s3b_writer *w);

#endif
