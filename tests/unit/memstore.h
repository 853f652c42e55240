/*
 * tests/unit/memstore.h — an in-process object store behind the
 * s3b_store_ops table (fs/store.h), for unit tests of the reader and the
 * writer.  Thread-safe.  It behaves like S3 (or like s3rver, by etag_style):
 * single PUT ETag = MD5; multipart ETag = md5(part md5s)-N (COMPOSITE) or
 * the whole MD5 (WHOLE_MD5); Content-MD5 checked (BadDigest/EBADMSG); the
 * 5 MiB minimum for every part but the last enforced at complete
 * (EntityTooSmall/EINVAL) unless min_part is set to 0; parts listed in
 * ascending order required.
 *
 * Faults are scripted and seeded, so a test is reproducible:
 *   - fail_next(op, errno, n): the next n calls of op fail with errno
 *   - flip_put / flip_get: probability of one flipped bit in stored part
 *     data (as if corrupted before the checksum was taken: the server
 *     stores a wrong byte and reports the MD5 of what it stored) or in
 *     data returned by get
 *   - short_get: probability that get returns fewer bytes than asked
 *     before the end (the client contract forbids that; tests check the
 *     reader catches it)
 *   - latency_us: sleep per call (to create concurrency)
 * Counters per operation let tests assert requests per object.
 */
#ifndef S3B_TEST_MEMSTORE_H
#define S3B_TEST_MEMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum memstore_op {
	MS_PUT, MS_CREATE, MS_PART, MS_COMPLETE, MS_ABORT, MS_HEAD, MS_GET, MS__COUNT
};

struct memstore;

struct memstore *memstore_new(enum s3b_multipart_etag style, uint64_t seed);
void memstore_free(struct memstore *m);
/* The store table + instance to hand to readers and writers. */
void memstore_store(struct memstore *m, struct s3b_store *out);

void memstore_fail_next(struct memstore *m, enum memstore_op op, int err, unsigned n);
void memstore_set_flip_put(struct memstore *m, double p);
void memstore_set_flip_get(struct memstore *m, double p);
void memstore_set_short_get(struct memstore *m, double p);
void memstore_set_latency_us(struct memstore *m, unsigned us);
void memstore_set_min_part(struct memstore *m, size_t bytes); /* default 5 MiB */

/* Put an object directly (no counters), with its metadata (may be NULL). */
int memstore_seed(struct memstore *m, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta);
/* A copy of an object's bytes (caller frees) or NULL if absent. */
uint8_t *memstore_get_copy(struct memstore *m, const char *key, size_t *len,
			   char etag[S3B_ETAG_MAX]);
/* Metadata of a stored object (caller frees with s3_meta_free); ENOENT. */
int memstore_meta(struct memstore *m, const char *key, struct s3_meta *out);
unsigned memstore_calls(struct memstore *m, enum memstore_op op);
unsigned memstore_open_uploads(struct memstore *m);
size_t memstore_objects(struct memstore *m);

#endif
