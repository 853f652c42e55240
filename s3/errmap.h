/*
 * s3/errmap.h — the one table from HTTP status and S3 error code to errno
 * and to "retry or not", and the one from libcurl's transport errors.
 * Internal to s3/.
 */
#ifndef S3B_ERRMAP_H
#define S3B_ERRMAP_H

#include <stdbool.h>

#include <curl/curl.h>

struct s3b_errclass {
	int err;     /* positive errno */
	bool retry;  /* worth another attempt */
};

/* Classify an S3 error response.  code may be "" (HEAD responses carry
 * no body).  Unknown 5xx retry; unknown 4xx do not. */
struct s3b_errclass s3b_classify_http(int status, const char *code);
/* Classify a libcurl transport failure. */
struct s3b_errclass s3b_classify_curl(CURLcode cc);

#endif
