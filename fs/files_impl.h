/*
 * fs/files_impl.h — INTERNAL to fs/files.c, fs/bridgecopy.c and fs/parked.c.
 *
 * What it is for: the few functions the three parts of the open-file code
 * need from each other.  files.c owns the open files (struct s3b_fh, the
 * mount's open_files), the taint table, the journal records of what is
 * written and the commit; bridgecopy.c runs a pending bridge copy
 * (copy_file_range) into an open file; parked.c owns the mount's parked
 * list (struct s3b_parked) from an rsync temporary file's close to its
 * rename.  The FUSE-facing functions of all three are in fsint.h; nothing
 * outside these three files should include this one.
 *
 * Locks (mount.h gives the order): a function taking a struct s3b_fh says
 * whether its caller holds fh->lock; the open table, the parked list, the
 * taint table and a file's suspect flag are under the mount's open_lock,
 * taken inside these functions, never held across an S3 request.
 */
#ifndef S3B_FILES_IMPL_H
#define S3B_FILES_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mount.h"

/* ---- files.c ---- */

/* Milliseconds on the monotonic clock (open, taint and parking times). */
uint64_t s3b_files_mono_ms(void);

/* *wc from the mount's configuration (part size, parallelism, budget, pool,
 * spool directory), everything else zero; spool: the writer keeps every
 * byte (to be modified).  The caller adds size_hint, keep_sent... */
void s3b_files_writer_conf(const struct s3b_mount *m, struct s3b_writer_conf *wc, bool spool);

/* The journal record of fh begins (pending) with its first change: sets
 * fh->jid and fh->started; nothing when there is no journal or the record
 * exists.  Caller holds fh->lock (or is alone with a new fh). */
void s3b_files_jbegin(struct s3b_mount *m, struct s3b_fh *fh);
/* The outcome of record jid (0: none, nothing done); sets r->ended.  A
 * verified record is durable before this returns (close() reports success
 * only after it): 0, or EIO when the journal cannot make it so.  The
 * journal copies what it keeps of r; jid is finished (drop it). */
int s3b_files_jfinish(struct s3b_mount *m, int64_t jid, struct s3b_obj_record *r);
/* *r from a write result and its paired source (res, src may be NULL).
 * r points into path, key, res and src: they must outlive its use. */
void s3b_files_record_from(struct s3b_obj_record *r, struct s3b_mount *m, const char *path,
			   struct s3b_bucket *b, const char *key, struct timespec started,
			   const struct s3b_write_result *res,
			   const struct s3b_source_stream *src, enum s3b_obj_status st);

/* The state of s3b_files_precommit for one commit; on the committer's
 * stack, filled by it (m, key, suspect, pgid, since; direct and src for a
 * bridge copy), read after the commit (refused, paired, src). */
struct s3b_precommit_ctx {
	struct s3b_mount *m;
	const char *key;              /* the destination's key */
	const bool *suspect;          /* the file's suspect flag (read under open_lock) */
	pid_t pgid;                   /* who wrote it */
	uint64_t since;               /* opened at */
	bool refused;                 /* nothing became visible */
	bool direct;                  /* a bridge copy: src is known, d is its stream */
	bool paired;
	struct s3b_source_stream src; /* when paired (or direct: all but d) */
};

/* The writer's precommit hook (s3b_precommit_fn, writer.h; vctx is a
 * struct s3b_precommit_ctx): before the object becomes visible, find the
 * source stream its bytes came from and refuse them (EIO, why filled) if
 * that stream did not match its object, or the file is suspect or its
 * writer's process group was served such a stream since it opened it. */
int s3b_files_precommit(void *vctx, const struct s3b_digests *d, uint64_t size,
			const char *composite, char *why, size_t whylen);
/* --verify=readback: read fh->key of fh->b back (size bytes, ETag etag)
 * and compare its SHA-256 with want.  Uses only fh->b and fh->key (a
 * struct s3b_fh on the caller's stack will do).  0, EBADMSG when the bytes
 * differ, or ENOMEM or the read's errno. */
int s3b_files_readback(struct s3b_mount *m, struct s3b_fh *fh, uint64_t size, const char *etag,
		       const uint8_t want[32]);

/* ---- bridgecopy.c ---- */

/* Run fh's pending bridge copy at commit: a small source with one GET, a
 * larger one server-side where both buckets share an endpoint and the
 * copy's ETag can be checked against the source's, otherwise through the
 * daemon; all but the server-side copy end in fh's writer.  -1 when the
 * object is done, verified and journaled (server-side); 0 when the writer
 * holds it for the usual commit; EIO when it failed (fh->sticky_err set).
 * Caller holds fh->lock. */
int s3b_bridge_run(struct s3b_mount *m, struct s3b_fh *fh);
/* Turn fh's pending bridge copy into data in its writer (a write or a
 * truncate came before the commit).  0, or EIO with fh->sticky_err set.
 * Caller holds fh->lock. */
int s3b_bridge_materialize(struct s3b_mount *m, struct s3b_fh *fh);

/* ---- parked.c ---- */

/* Close of an rsync temporary file (fh->final_key set, its writer dirty):
 * upload everything and park the file until its rename, which commits it
 * (s3b_parked_rename).  On success the parked entry has taken fh's
 * writer, final_key and journal record (fh keeps none of them).  0, or an
 * errno (EIO with fh->sticky_err set when the upload failed).  Caller
 * holds fh->lock. */
int s3b_park_locked(struct s3b_mount *m, struct s3b_fh *fh);

#endif
