/*
 * fs/meta.h — POSIX attributes <-> S3 object metadata.
 *
 * Read: x-amz-meta-mode (decimal st_mode, s3fs; type bits optional),
 * x-amz-meta-uid, x-amz-meta-gid, x-amz-meta-mtime as "SECONDS[.FRACTION]"
 * (s3fs writes SECONDS.NANOSECONDS, rclone float seconds; both parse).
 * Write: the same names, mtime as SECONDS.NANOSECONDS (9 digits), which
 * s3fs and rclone both read.  Anything missing falls back to the listing's
 * LastModified and the mount's defaults.  Pure functions.
 */
#ifndef S3B_META_H
#define S3B_META_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "s3.h"

/* The POSIX view of an object's metadata; has_* say what was present. */
struct s3b_posix_meta {
	bool has_mode, has_uid, has_gid, has_mtime;
	mode_t mode;          /* with type bits when the metadata had them */
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

/* Parse from user metadata (names without the x-amz-meta- prefix). */
void s3b_meta_parse(const struct s3_meta *m, struct s3b_posix_meta *out);
/* Set mode/uid/gid/mtime pairs in m for what has_* says (others kept).
 * 0 or ENOMEM. */
int s3b_meta_apply(struct s3_meta *m, const struct s3b_posix_meta *pm);
/* Parse "SECONDS[.FRACTION]"; 0 or EINVAL. */
int s3b_meta_parse_time(const char *s, struct timespec *out);
/* Deep copy (dst must be empty).  0 or ENOMEM. */
int s3b_meta_copy(struct s3_meta *dst, const struct s3_meta *src);

#endif
