/*
 * db/journal_impl.h — INTERNAL to db/ (journal.c, report.c), to
 * fs/cmd_report.c (`s3bridge report` needs the totals for its exit status)
 * and to the db unit tests and benchmark.  Nothing else should include it.
 *
 * What it is for: the read side of the journal as row iterators, so that
 * every SQL statement stays in journal.c while report.c only formats; and
 * the writer's test seams (queue size, pausing the writer).
 *
 * A view is one read-only connection holding one read transaction: every
 * call on it sees the same snapshot, taken by s3b_jview_open, however much
 * the mount commits meanwhile (WAL readers never block the writer).  A view
 * is used by one thread at a time and runs one scan at a time.
 */
#ifndef S3B_JOURNAL_IMPL_H
#define S3B_JOURNAL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"

#define S3B_JOURNAL_NSTATUS 5 /* enum s3b_obj_status values, 0..4 */

/* Writer tuning.  Zero fields take the defaults. */
struct s3b_journal_tuning {
	size_t queue_cap;  /* operations queued before producers block (4096) */
	size_t batch_cap;  /* most operations in one transaction (queue_cap) */
	bool sync_normal;  /* PRAGMA synchronous=NORMAL: benchmark only, a
			    * power cut may then lose records a sync returned for */
};

int s3b_journal_open_tuned(const char *path, const struct s3b_journal_tuning *t,
			   struct s3b_journal **out, char *why, size_t whylen);
/* Test hook: while paused the writer takes nothing off the queue (so a
 * test can fill it and watch a producer block).  close() overrides it. */
void s3b_journal_pause(struct s3b_journal *j, bool paused);

/* PRAGMA integrity_check of the file at path (no writer needed): 0 when it
 * says "ok", EIO with its first complaint in why, or the open errors of
 * s3b_jview_open. */
int s3b_jfile_integrity(const char *path, char *why, size_t whylen);

/* Store the result of a completeness check (report.h's
 * s3b_report_store_check).  Its own short write transaction. */
int s3b_jfile_store_check(const char *path, const char *text, uint64_t missing,
			  uint64_t extra, uint64_t differ, uint64_t unverified);

/* What a view knows without scanning. */
struct s3b_jtotals {
	/* by status, counting the latest record of each path only */
	uint64_t objects[S3B_JOURNAL_NSTATUS];
	uint64_t bytes[S3B_JOURNAL_NSTATUS];
	uint64_t paths;      /* sum of objects[] */
	uint64_t records;    /* every record, re-copies included */
	uint64_t uploads;    /* multipart uploads begun and not ended */
	uint64_t runs;       /* how many times a mount opened the journal */
	struct timespec first_start, last_end; /* over all records; 0 if none */
	bool has_check;      /* a completeness check was stored */
	struct timespec check_ran;
	uint64_t check_missing, check_extra, check_differ, check_unverified;
};

/* One record.  Every pointer (the strings of rec and the hex texts) is
 * borrowed from the view and valid until the next call on it.  Times that
 * were never set are {0, 0}; src_size is -1 when unpaired.  The digests
 * are given only as the stored hex (NULL when the stream was not hashed):
 * rec.has_digests is false and rec.md5/sha256/crc32c are not filled. */
struct s3b_jrow {
	int64_t id;
	struct s3b_obj_record rec;
	const char *md5_hex, *sha256_hex, *crc32c_hex; /* NULL without digests */
};

enum s3b_jscan {
	S3B_JSCAN_ALL,       /* every record, in id order (journal.csv) */
	S3B_JSCAN_VERIFIED,  /* latest record of each path, verified, in id order */
	S3B_JSCAN_DIGESTS,   /* the same with digests, but only id, rec.path and
			      * the hex filled (the SUMS files) */
	S3B_JSCAN_BAD,       /* latest, failed/mismatch/interrupted, by status then id */
	S3B_JSCAN_PENDING,   /* latest, pending, in id order */
	S3B_JSCAN_LAST_BAD,  /* latest, failed/mismatch/interrupted, newest first, `limit` rows */
	S3B_JSCAN_PATH,      /* the latest record of exactly `path` (0 or 1 row) */
};

struct s3b_jview;

/* Open a view of the journal at path.  0; ENOENT (no such file); EINVAL
 * (not an s3bridge journal); ENOTSUP (written by a newer s3bridge); EIO.
 * why gets a one-line reason for every error.  Only EIO is logged. */
int s3b_jview_open(const char *path, struct s3b_jview **out, char *why, size_t whylen);
void s3b_jview_close(struct s3b_jview *v);
const struct s3b_jtotals *s3b_jview_totals(const struct s3b_jview *v);

/* Start a scan (ending any scan in progress); path is for S3B_JSCAN_PATH,
 * limit for S3B_JSCAN_LAST_BAD.  Then call next until *got is false.
 * 0 or EIO. */
int s3b_jview_scan(struct s3b_jview *v, enum s3b_jscan what, const char *path, unsigned limit);
int s3b_jview_next(struct s3b_jview *v, struct s3b_jrow *row, bool *got);

/* The text of the last stored check (borrowed until the next call on the
 * view), or NULL when none.  0 or EIO. */
int s3b_jview_check_text(struct s3b_jview *v, const char **text);

/* The names directly under the directory rel ("" for the root; no leading
 * or trailing '/') among all recorded paths, in byte order; cb gets each
 * with is_dir (a name that is both a file and a directory comes twice).
 * A non-zero return from cb stops the walk and is returned.  0 or EIO. */
int s3b_jview_children(struct s3b_jview *v, const char *rel,
		       int (*cb)(void *ctx, const char *name, bool is_dir), void *ctx);

#endif
