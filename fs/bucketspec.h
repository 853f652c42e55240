/*
 * fs/bucketspec.h — the BUCKET argument of `s3bridge mount`:
 *
 *     [NAME=]s3://bucket[/prefix][?key=value&key=value...]
 *
 * NAME (default: the bucket name) is the top-level directory.  Keys:
 * profile, endpoint, region, style=path|virtual, ro=1|0|true|false.  A value
 * runs to the next '&' and needs no percent-encoding
 * ("s3://b?endpoint=http://10.0.0.5:9000&ro=1").  The prefix, when given,
 * is stored with one trailing '/'.  Bucket names follow the S3 rules (3-63
 * chars of a-z 0-9 . -); NAME must be a valid single path component (no
 * '/', not "." or "..", not ".integrity", no NUL, at most 255 bytes).
 */
#ifndef S3B_BUCKETSPEC_H
#define S3B_BUCKETSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct s3b_bucketspec {
	char *name;      /* directory name */
	char *bucket;
	char *prefix;    /* "" or "dir/sub/" */
	char *profile;   /* NULL when not given */
	char *endpoint;
	char *region;
	enum s3b_style style;
	bool ro;
};

/* 0 or EINVAL with a one-line reason in why; ENOMEM.  On error *out is
 * left zeroed. */
int s3b_bucketspec_parse(const char *arg, struct s3b_bucketspec *out, char *why, size_t whylen);
void s3b_bucketspec_free(struct s3b_bucketspec *s);

#endif
