/*
 * verify/etag.h — S3 ETags and the rules for comparing them.
 *
 * An ETag is one of: the MD5 of the body (single PUT, and s3rver's multipart),
 * the MD5 of the concatenated binary part MD5s followed by "-N" (AWS and RGW
 * multipart), or opaque (SSE-KMS, SSE-C, other servers).  This file builds
 * the expected value from part digests and parses what a server returned.
 * Pure functions; no I/O.
 */
#ifndef S3B_VERIFY_ETAG_H
#define S3B_VERIFY_ETAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Longest ETag text we keep: 32 hex + "-" + 5 digits, quotes stripped. */
#define S3B_ETAG_MAX 64

/* How a server forms the ETag of a multipart upload. */
enum s3b_multipart_etag {
	S3B_METAG_COMPOSITE,   /* md5(part md5s)-N: AWS, RGW, MinIO */
	S3B_METAG_WHOLE_MD5,   /* md5 of the whole object: s3rver */
};

/* A parsed ETag. */
struct s3b_etag {
	enum { S3B_ETAG_MD5, S3B_ETAG_MULTIPART, S3B_ETAG_OPAQUE } kind;
	uint8_t md5[S3B_MD5_LEN];  /* MD5 and MULTIPART kinds */
	unsigned parts;            /* MULTIPART kind: N */
};

/* Parse a server ETag (with or without surrounding quotes, any hex case).
 * Never fails: anything that is not an MD5 or md5-N is OPAQUE. */
void s3b_etag_parse(const char *text, struct s3b_etag *out);

/* Composite ETag accumulator: feed each part's MD5 in part order. */
struct s3b_etag_builder {
	void *ctx;       /* EVP_MD_CTX, owned */
	unsigned parts;
};
int s3b_etag_builder_init(struct s3b_etag_builder *b);   /* 0 or ENOMEM */
void s3b_etag_builder_add(struct s3b_etag_builder *b, const uint8_t part_md5[S3B_MD5_LEN]);
/* Write "hex-N" (no quotes) into out[S3B_ETAG_MAX]; frees the context. */
void s3b_etag_builder_final(struct s3b_etag_builder *b, char out[S3B_ETAG_MAX]);
void s3b_etag_builder_dispose(struct s3b_etag_builder *b);

/* Format a plain MD5 ETag (hex, no quotes). */
void s3b_etag_from_md5(const uint8_t md5[S3B_MD5_LEN], char out[S3B_ETAG_MAX]);

/* The verdict of comparing a server ETag with what we computed. */
enum s3b_etag_verdict {
	S3B_ETAG_MATCH,        /* proven equal */
	S3B_ETAG_MISMATCH,     /* proven different: the object is wrong */
	S3B_ETAG_UNCOMPARABLE, /* opaque ETag (e.g. SSE-KMS): cannot prove either way */
};

/* Compare a server's ETag with our own values for an upload.
 * parts == 0 means a single PUT (expect the plain MD5 of the body);
 * parts >= 1 means a multipart upload of that many parts, and style says
 * which form the server produces.  whole_md5 is the MD5 of the whole
 * stream, composite the "hex-N" text from the builder (may be NULL when
 * parts == 0). */
enum s3b_etag_verdict s3b_etag_check(const char *server_etag, unsigned parts,
				     enum s3b_multipart_etag style,
				     const uint8_t whole_md5[S3B_MD5_LEN],
				     const char *composite);

#endif
