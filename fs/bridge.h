/*
 * fs/bridge.h — pairing destination files with the source streams they
 * were copied from, and checking those source streams.
 *
 * Every read stream that the mount serves whole and in order (a reader
 * whose digests are complete) is published here with its digests and the
 * verdict of comparing it with the source object's own checksum (its ETag,
 * when that is an MD5 or a composite whose part layout we can reproduce).
 * When a destination object is about to be committed, its stream digests
 * find the source stream it came from: equal SHA-256 and size.  If that
 * source stream did not match its object (a bit flipped on the way in),
 * the destination is refused before it becomes visible.
 *
 * The registry is bounded (oldest entries go first) and thread-safe.
 */
#ifndef S3B_BRIDGE_H
#define S3B_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "etag.h"
#include "hash.h"

struct s3b_source_stream {
	unsigned bucket;                  /* index of the source bucket */
	char key[1025];
	char etag[S3B_ETAG_MAX];
	uint64_t size;
	struct s3b_digests d;
	enum s3b_etag_verdict verdict;    /* stream vs. the source object's checksum */
};

struct s3b_pairing;

int s3b_pairing_create(unsigned capacity, struct s3b_pairing **out);
void s3b_pairing_destroy(struct s3b_pairing *p);
void s3b_pairing_publish(struct s3b_pairing *p, const struct s3b_source_stream *s);
/* The source stream with these digests and size, false if none: among
 * several (files with equal content), one whose key has the same last
 * component as dst_key, else the most recent. */
bool s3b_pairing_find(struct s3b_pairing *p, const struct s3b_digests *d, uint64_t size,
		      const char *dst_key, struct s3b_source_stream *out);

/* Compare a served stream with the source object's ETag: a plain MD5
 * compares with the stream's MD5; a composite "md5-N" only when the caller
 * has the composite of the same part layout (composite may be NULL). */
enum s3b_etag_verdict s3b_source_check(const char *src_etag, const struct s3b_digests *d,
				       const char *composite);

/* A part size that reproduces a multipart source's layout: for "md5-N" of
 * size bytes, the most likely part size (whole MiB, 8 MiB preferred, as
 * aws-cli, s3fs and s3bridge use), or 0 when no whole-MiB size fits. */
uint64_t s3b_guess_part_size(const char *src_etag, uint64_t size);

#endif
