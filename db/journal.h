/*
 * db/journal.h — the SQLite journal of a mount: every object the mount
 * writes (its source, destination, size, checksums, ETags, parts, status,
 * error, attempts, times) and every multipart upload begun and not yet
 * finished, so that a restart can abort orphans.
 *
 * One database per mount, WAL mode.  All writes go through one writer
 * thread fed by a bounded queue, committed in groups (many records per
 * transaction, never one transaction per object on the hot path).  A
 * caller that needs durability (close() of a verified file) waits for the
 * commit that holds its record (s3b_journal_sync).  A full queue blocks the
 * producer (backpressure; never an unbounded queue).
 *
 * The schema and the state machine of an object's record are documented
 * in journal.c, the one file that owns the SQL.  Every statement uses bound
 * parameters.
 */
#ifndef S3B_JOURNAL_H
#define S3B_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum s3b_obj_status {
	S3B_ST_PENDING,     /* being written */
	S3B_ST_VERIFIED,    /* complete and verified */
	S3B_ST_FAILED,      /* the upload failed; nothing (or the old object) is there */
	S3B_ST_MISMATCH,    /* uploaded, but a checksum disagrees */
	S3B_ST_INTERRUPTED, /* pending when the daemon died (set at the next open) */
};
const char *s3b_obj_status_name(enum s3b_obj_status st);

/* One object's record.  Strings may be NULL (stored as NULL). */
struct s3b_obj_record {
	const char *path;        /* mount path relative to the root: "dst/dir/file" */
	const char *src_bucket, *src_key, *src_etag;
	int64_t src_size;        /* -1: not paired with a source */
	const char *dst_bucket, *dst_key, *dst_etag;
	uint64_t size;
	bool has_digests;
	uint8_t md5[16];
	uint8_t sha256[32];
	uint32_t crc32c;
	uint64_t part_size;
	unsigned parts;          /* 0: single PUT */
	enum s3b_obj_status status;
	const char *error;       /* why not verified; never a secret */
	unsigned attempts;
	struct timespec started, ended;
	bool has_mode, has_uid, has_gid, has_mtime; /* what was stored with the object */
	uint32_t mode;           /* st_mode as stored (type bits included when stored) */
	uint32_t uid, gid;
	struct timespec mtime;   /* stored only within +-292 years of 1970 (else as absent) */
};

struct s3b_journal;

/* Open (creating if needed) the journal at path: WAL, schema, the writer
 * thread.  Recovery: records left pending by a previous run become
 * INTERRUPTED.  0, or an errno with a reason in why. */
int s3b_journal_open(const char *path, struct s3b_journal **out, char *why, size_t whylen);
/* Drain the queue, commit, stop the writer, close. */
void s3b_journal_close(struct s3b_journal *j);

/* Record that an object began (status PENDING).  Returns its id (> 0),
 * assigned here without waiting for the database; 0 on ENOMEM. */
int64_t s3b_journal_begin(struct s3b_journal *j, const struct s3b_obj_record *r);
/* Record the outcome (the record replaces the pending one).  Queued. */
void s3b_journal_finish(struct s3b_journal *j, int64_t id, const struct s3b_obj_record *r);
/* Wait until everything queued so far is committed.  0 or EIO. */
int s3b_journal_sync(struct s3b_journal *j);

/* The object dst_bucket/dst_key got new metadata in place (a chmod or
 * touch after it was written: a copy onto itself): its latest record, when
 * verified, takes r's dst_etag and has_mode..mtime fields.  Queued. */
void s3b_journal_set_attrs(struct s3b_journal *j, const struct s3b_obj_record *r);

/* Multipart uploads in flight (queued like the rest). */
void s3b_journal_upload_begun(struct s3b_journal *j, const char *endpoint, const char *bucket,
			      const char *key, const char *upload_id);
void s3b_journal_upload_ended(struct s3b_journal *j, const char *upload_id);

/* Uploads begun by earlier runs and never ended, for the mount to abort
 * (caller frees with s3b_journal_uploads_free).  Call after open. */
struct s3b_journal_upload {
	char *endpoint, *bucket, *key, *upload_id;
};
int s3b_journal_orphans(struct s3b_journal *j, struct s3b_journal_upload **out, size_t *n);
void s3b_journal_uploads_free(struct s3b_journal_upload *u, size_t n);

/* The record of a destination object, if the journal has one (the most
 * recent), for attributes and `check`.  0, ENOENT.  Strings in *out are
 * owned by the caller (s3b_obj_record_free_strings). */
int s3b_journal_lookup(struct s3b_journal *j, const char *dst_bucket, const char *dst_key,
		       struct s3b_obj_record *out);
void s3b_obj_record_free_strings(struct s3b_obj_record *r);

/* What the mount stored with a destination object, for attributes without
 * a HEAD. */
struct s3b_journal_attrs {
	char etag[80];            /* dst_etag of the record, "" if NULL (or longer than 79) */
	uint64_t size;
	bool has_mode, has_uid, has_gid, has_mtime;
	uint32_t mode, uid, gid;
	struct timespec mtime;
};
/* The attributes stored with dst_bucket/dst_key by the latest record of
 * that destination (its highest id), when that record is verified and
 * stored at least one of them.  0, ENOENT, or EIO.  Thread-safe, no
 * allocation of ours: one indexed probe on the lookup connection under
 * its lock.  Records are written asynchronously (queued): one begun or
 * finished but not yet committed is not seen. */
int s3b_journal_stored_attrs(struct s3b_journal *j, const char *dst_bucket, const char *dst_key,
			     struct s3b_journal_attrs *out);
/* Whether any record names dst_bucket as its destination (one indexed
 * probe; false on a database error, which is logged). */
bool s3b_journal_has_bucket(struct s3b_journal *j, const char *dst_bucket);

/* Counters for metrics and status (no database access). */
struct s3b_journal_counts {
	uint64_t queued, committed, transactions;
};
void s3b_journal_counts(struct s3b_journal *j, struct s3b_journal_counts *out);

#endif
