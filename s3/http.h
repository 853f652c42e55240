/*
 * s3/http.h — a pool of libcurl easy handles shared by many threads.
 * Internal to s3/.
 *
 * Each easy handle keeps its own live connection, so taking a handle from
 * the pool is taking a warm connection.  DNS and TLS sessions are shared
 * through one CURLSH.  The pool bounds concurrency: acquire blocks while all
 * handles are out.  A handle whose transfer failed at the transport level is
 * released with `fresh` so that its connection is not reused.
 */
#ifndef S3B_HTTP_H
#define S3B_HTTP_H

#include <stdbool.h>

#include <curl/curl.h>

struct s3b_http_pool;

/* 0 or ENOMEM/EIO. */
int s3b_http_pool_create(unsigned size, struct s3b_http_pool **out);
/* All handles must have been released. */
void s3b_http_pool_destroy(struct s3b_http_pool *p);
/* A handle reset to defaults (curl_easy_reset), with the share attached.
 * Never NULL (blocks). */
CURL *s3b_http_acquire(struct s3b_http_pool *p);
/* Give it back.  forget_connection: close its connection first. */
void s3b_http_release(struct s3b_http_pool *p, CURL *h, bool forget_connection);

/* Process-wide libcurl init, once (thread-safe). */
void s3b_http_global_init(void);

#endif
