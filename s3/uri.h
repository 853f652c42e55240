/*
 * s3/uri.h — percent-encoding for S3 paths, queries and listings.
 * Internal to s3/.  Pure functions.
 */
#ifndef S3B_URI_H
#define S3B_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Append the SigV4 URI-encoding of in[0..len) to out: A-Z a-z 0-9 - . _ ~
 * are kept, '/' is kept when keep_slash, every other byte becomes %XX with
 * upper-case hex.  0, ENOMEM or EFBIG. */
int s3b_uri_encode(struct s3b_buf *out, const char *in, size_t len, bool keep_slash);
/* Decode %XX (and, when plus_is_space, '+' as space) into a malloc'd
 * NUL-terminated string in *out with its length in *outlen.  Malformed
 * escapes and embedded NUL are EINVAL. */
int s3b_uri_decode(const char *in, size_t len, bool plus_is_space, char **out, size_t *outlen);

#endif
