/*
 * fs/reader.h — the read path of one open file: sequential reads stream
 * with read-ahead (several ranged GETs in flight into a bounded window),
 * random reads fetch only what they need.  Memory per reader is bounded by
 * the conf, and every buffer is taken from the mount's budget.  A read
 * never returns bytes it did not get from the server: short or failed
 * responses are retried by the client or become an error.  Every ranged GET
 * carries If-Match with the ETag seen at open, so an object replaced
 * mid-read gives ESTALE, never a mix of two versions.
 *
 * The reader also hashes the bytes it serves when they are served in
 * order from offset 0 (the bridge compares this stream with what it
 * uploads): s3b_reader_digests tells whether the whole object went out in
 * one sequential pass and, if so, its digests.
 */
#ifndef S3B_READER_H
#define S3B_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "membudget.h"
#include "pool.h"
#include "store.h"

struct s3b_reader_conf {
	size_t chunk;          /* bytes per ranged GET; 0: 8 MiB */
	unsigned parallel;     /* GETs in flight per reader; 0: 4 */
	struct s3b_membudget *budget;
	struct s3b_pool *pool;
	bool no_digests;       /* the caller hashes what it reads: no stream digests */
};

struct s3b_reader;

/* size and etag are the object's as listed/HEADed (etag may be "" to skip
 * If-Match).  0 or ENOMEM. */
int s3b_reader_open(const struct s3b_store *st, const char *key, uint64_t size,
		    const char *etag, const struct s3b_reader_conf *conf,
		    struct s3b_reader **out);
/* Read up to len bytes at off into buf; *got < len only at end of object.
 * Safe to call from several threads at once on one reader.  0 or errno
 * (EIO, ESTALE, ...). */
int s3b_reader_read(struct s3b_reader *r, uint64_t off, void *buf, size_t len, size_t *got);
/* True when every byte 0..size-1 was served exactly in order; then *out
 * holds the digests of that stream (MD5, SHA-256, CRC32C). */
bool s3b_reader_digests(struct s3b_reader *r, struct s3b_digests *out);
/* True once the stream can no longer be hashed in order (a re-read, a gap
 * given up): its digests will never come. */
bool s3b_reader_hash_lost(struct s3b_reader *r);
/* Cancels read-ahead, waits for in-flight GETs, frees everything. */
void s3b_reader_close(struct s3b_reader *r);

#endif
