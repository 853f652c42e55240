/*
 * s3/sigv4.h — AWS Signature Version 4, header signing.  Internal to s3/.
 *
 * Pure functions: no I/O, no clock, no globals.  The caller gives the time
 * (as the X-Amz-Date text), so tests pin it.  S3 rules: the path is never
 * normalised ("." , ".." and "//" are kept), each path segment is
 * URI-encoded once ('/' kept), query names and values are encoded and
 * sorted by name then value.  Header names are lower-cased, values trimmed
 * and inner runs of spaces folded to one; repeated headers are joined with
 * ',' in the order given.  Multi-line values (obsolete line folding) fold
 * to one space.
 *
 * Session tokens: put "x-amz-security-token" into the headers before
 * signing (S3 wants it signed).
 */
#ifndef S3B_SIGV4_H
#define S3B_SIGV4_H

#include <stddef.h>
#include <stdint.h>

struct s3b_sigv4_kv {
	const char *name;
	const char *value;
};

struct s3b_sigv4_req {
	const char *method;                   /* "GET" */
	const char *path;                     /* decoded absolute path: "/bucket/a b" */
	const struct s3b_sigv4_kv *query;     /* decoded names and values ("" for none) */
	size_t nquery;
	const struct s3b_sigv4_kv *headers;   /* as sent; must include host and x-amz-date */
	size_t nheaders;
	const char *payload_hash;             /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
};

struct s3b_sigv4_scope {
	const char *amz_date;  /* "20150830T123600Z" */
	const char *region;    /* "us-east-1" */
	const char *service;   /* "s3" */
};

/* Canonical request text.  *out (and *signed_headers when not NULL) are
 * malloc'd, caller frees.  0, EINVAL or ENOMEM. */
int s3b_sigv4_canonical_request(const struct s3b_sigv4_req *r, char **out,
				char **signed_headers);
/* String to sign for a canonical request.  *out caller frees. */
int s3b_sigv4_string_to_sign(const char *canonical_request,
			     const struct s3b_sigv4_scope *scope, char **out);
/* kSigning = HMAC chain over date (first 8 chars of amz_date), region,
 * service, "aws4_request".  Cache it per day and scope. */
void s3b_sigv4_signing_key(const char *secret_key, const struct s3b_sigv4_scope *scope,
			   uint8_t key[32]);
/* The Authorization header value:
 * "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
 *  SignedHeaders=..., Signature=hex".  *out caller frees. */
int s3b_sigv4_authorization(const struct s3b_sigv4_req *r, const char *access_key,
			    const uint8_t signing_key[32],
			    const struct s3b_sigv4_scope *scope, char **out);

#endif
