/*
 * fs/servercopy.h — verified server-side copies for the bridge: an object
 * copied between two buckets of one endpoint without its bytes crossing
 * the daemon, checked by the one thing the server gives back, the ETag.
 *
 * A single-PUT source (its ETag is the MD5 of its bytes, up to 5 GiB) is
 * one CopyObject.  A multipart source is copied with UploadPartCopy in the
 * source's own part layout (guessed from its size and "-N", see bridge.h),
 * so the copy's ETag, MD5 of the part MD5s the server computed over the
 * copied ranges, must equal the source's: any size, 5 GiB and beyond.  The
 * parts go `parallel` at a time.  The upload is created and finished
 * through the destination's journaled store, so a crash leaves no orphan.
 *
 * Not here: deciding whether to copy server-side (bridgecopy.c), renames
 * (objops.c), the journal record of the result.
 */
#ifndef S3B_SERVERCOPY_H
#define S3B_SERVERCOPY_H

#include <stdint.h>

#include "etag.h"
#include "mount.h"

struct s3b_server_copy {
	struct s3b_bucket *src;
	const char *src_key;
	const char *src_etag;
	uint64_t size;
	struct s3b_bucket *dst;
	const char *key;
	const struct s3_meta *meta; /* the destination's metadata */
	unsigned parallel;          /* part copies in flight; 0: 4 */
};

struct s3b_server_copy_result {
	char etag[S3B_ETAG_MAX];    /* the copy's, equal to the source's on success */
	unsigned parts;             /* 0: CopyObject */
	unsigned attempts;          /* request attempts, all requests */
};

/*
 * 0: the copy exists under key and its ETag equals the source's.
 * ENOTSUP: not possible here (an opaque source ETag, a part layout that
 *   cannot be told, a server without UploadPartCopy): nothing was left;
 *   copy the bytes instead.
 * EAGAIN: the copy's ETag differs from the source's (a layout guessed
 *   wrong, or a damaged copy): it was deleted; copy the bytes instead.
 * Any other errno: the copy failed (logged; nothing left visible).
 */
int s3b_server_copy_run(const struct s3b_server_copy *c, struct s3b_server_copy_result *res);

#endif
