/*
 * s3/s3.h — the S3 client.
 *
 * One client per bucket mounted: an endpoint, a region, an addressing style,
 * a credential set and a pool of HTTP connections that many threads use at
 * once.  There is no process-wide client state: two buckets on two endpoints
 * with two credential sets live side by side in one process.
 *
 * Every operation returns 0 or a positive errno, and fills *err (when not
 * NULL) with what the server or the transport said.  Every operation goes
 * through the one request/retry loop in client.c: transient failures (5xx,
 * SlowDown, RequestTimeout, 429, resets, stalls) are retried with
 * exponential backoff and full jitter, bounded in attempts and total time;
 * failures that cannot succeed (403, 404, BadDigest, EntityTooSmall, ...)
 * are returned at once.  Request bodies are memory buffers, so a retry
 * re-sends them from the start.
 *
 * Keys are raw UTF-8 (up to 1024 bytes); the client encodes them.
 * Credentials never appear in an s3_error or a log line.
 */
#ifndef S3B_S3_H
#define S3B_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "etag.h"

#define S3_MAX_KEY 1024
#define S3_MAX_PARTS 10000
#define S3_MIN_PART_SIZE (5ull << 20)
#define S3_MAX_PART_SIZE (5ull << 30)
#define S3_MAX_COPY_SIZE (5ull << 30)

struct s3_client;

/* Plain data, parsed in one place (config.c) and passed in const. */
struct s3_client_conf {
	const char *endpoint;      /* "http://127.0.0.1:4630", "https://s3.eu-west-1.amazonaws.com" */
	const char *region;        /* "us-east-1" */
	const char *bucket;
	bool path_style;           /* false: virtual-hosted (bucket.host) */
	const char *access_key;    /* NULL: anonymous (unsigned requests) */
	const char *secret_key;
	const char *session_token; /* NULL unless temporary credentials */
	bool tls_no_verify;        /* explicit opt-out; logged as a warning */
	const char *ca_bundle;     /* NULL: system default */
	unsigned max_connections;  /* pool size; 0: default 16 */
	unsigned max_attempts;     /* 0: default 16 */
	unsigned max_retry_ms;     /* total time budget for one operation; 0: default 120000 */
	unsigned connect_timeout_ms; /* 0: default 10000 */
	unsigned low_speed_secs;   /* stall detection window; 0: default 30 */
	const char *user_agent;    /* NULL: "s3bridge/VERSION" */
};

/* What the server or transport said about the last attempt of a request. */
struct s3_error {
	int http_status;          /* 0: no HTTP response (transport failure) */
	char code[64];            /* S3 error Code ("NoSuchKey"), "" if none */
	char message[256];        /* S3 Message, or the transport's words */
	char request_id[128];     /* x-amz-request-id / RequestId */
	unsigned attempts;        /* how many attempts were made */
};

/* A user metadata pair (x-amz-meta-NAME: VALUE), name without the prefix,
 * lower case. */
struct s3_meta_kv {
	char *name;
	char *value;
};

/* Object metadata carried in headers, both ways. */
struct s3_meta {
	char *content_type;         /* NULL: none / default */
	struct s3_meta_kv *kv;
	size_t n;
};

/* What HeadObject / GetObject / a listing entry tells about an object. */
struct s3_object_info {
	uint64_t size;
	char etag[S3B_ETAG_MAX];    /* quotes stripped */
	struct timespec mtime;      /* Last-Modified */
	char storage_class[32];
	struct s3_meta meta;        /* HEAD/GET only */
	char checksum_crc32c[16];   /* x-amz-checksum-crc32c (base64) if the server kept one */
	char checksum_sha256[48];
	char checksum_crc32[16];
	char checksum_crc64nvme[16];
};

struct s3_list_entry {
	char *key;
	uint64_t size;
	char etag[S3B_ETAG_MAX];
	struct timespec mtime;
	char storage_class[32];
};

struct s3_list_page {
	struct s3_list_entry *entries;
	size_t n_entries;
	char **prefixes;            /* CommonPrefixes, each ending in the delimiter */
	size_t n_prefixes;
	bool truncated;
	char *next_token;           /* NULL when not truncated */
};

struct s3_list_params {
	const char *prefix;         /* NULL or "" */
	const char *delimiter;      /* NULL: flat listing */
	const char *continuation;   /* NULL on the first page */
	const char *start_after;    /* NULL */
	unsigned max_keys;          /* 0: server default (1000) */
};

struct s3_upload {
	char *key;
	char *upload_id;
	struct timespec initiated;
};

struct s3_upload_list {
	struct s3_upload *uploads;
	size_t n;
	bool truncated;
	char *next_key_marker;
	char *next_upload_id_marker;
};

struct s3_part {
	unsigned number;            /* 1..10000 */
	char etag[S3B_ETAG_MAX];
};

struct s3_delete_failure {
	char *key;
	char code[64];
	char message[256];
};

/* ---- lifecycle ---- */

/* Returns 0, EINVAL (bad conf; the reason is logged) or ENOMEM. */
int s3_client_create(const struct s3_client_conf *conf, struct s3_client **out);
void s3_client_destroy(struct s3_client *c);
const char *s3_client_bucket(const struct s3_client *c);
/* Requests made so far by operation name (for metrics and tests). */
struct s3_stats {
	uint64_t requests;         /* every attempt sent */
	uint64_t retries;
	uint64_t by_op[16];
};
void s3_client_stats(struct s3_client *c, struct s3_stats *out);
const char *s3_op_name(unsigned op);

/* The errno for an S3 error code / HTTP status (one table, errmap.c). */
int s3_errno_of(int http_status, const char *code);
/* A sentence a user can act on for an error ("access denied: check the
 * credentials of profile X" is the caller's; this gives "AccessDenied
 * (HTTP 403): Access Denied"). */
void s3_error_format(const struct s3_error *err, char *out, size_t outlen);

/* ---- buckets ---- */
int s3_head_bucket(struct s3_client *c, struct s3_error *err);

/* ---- objects ---- */
int s3_head_object(struct s3_client *c, const char *key, struct s3_object_info *info,
		   struct s3_error *err);
/* Read [offset, offset+len) into buf (len bytes of room).  The response must
 * cover exactly that range (or up to the object's end, reported in *got);
 * a short body is retried, never returned.  If if_match is not NULL the
 * request carries If-Match (412 -> ESTALE: the object changed).  info may
 * be NULL. */
int s3_get_object(struct s3_client *c, const char *key, uint64_t offset, size_t len,
		  void *buf, size_t *got, const char *if_match,
		  struct s3_object_info *info, struct s3_error *err);
/* Single PUT with Content-MD5 (computed here) and metadata.  etag_out may
 * be NULL. */
int s3_put_object(struct s3_client *c, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta, char etag_out[S3B_ETAG_MAX],
		  struct s3_error *err);
int s3_delete_object(struct s3_client *c, const char *key, struct s3_error *err);
/* Delete up to 1000 keys in one request.  Keys the server could not delete
 * are returned in *failures (caller frees with s3_delete_failures_free). */
int s3_delete_objects(struct s3_client *c, const char *const *keys, size_t n,
		      struct s3_delete_failure **failures, size_t *n_failures,
		      struct s3_error *err);
/* Server-side copy (<= 5 GiB) of src_bucket/src_key (same endpoint) to key.
 * meta NULL: copy the source's metadata; otherwise replace it. */
int s3_copy_object(struct s3_client *c, const char *src_bucket, const char *src_key,
		   const char *key, const struct s3_meta *meta,
		   char etag_out[S3B_ETAG_MAX], struct s3_error *err);

/* ---- listings ---- */
int s3_list_objects(struct s3_client *c, const struct s3_list_params *p,
		    struct s3_list_page *page, struct s3_error *err);
void s3_list_page_free(struct s3_list_page *page);

/* ---- multipart ---- */
/* *upload_id is the caller's to free. */
int s3_create_multipart(struct s3_client *c, const char *key, const struct s3_meta *meta,
			char **upload_id, struct s3_error *err);
/* Content-MD5 is computed here unless md5 is given. */
int s3_upload_part(struct s3_client *c, const char *key, const char *upload_id,
		   unsigned part_number, const void *data, size_t len,
		   const uint8_t *md5, char etag_out[S3B_ETAG_MAX], struct s3_error *err);
int s3_upload_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			unsigned part_number, const char *src_bucket, const char *src_key,
			uint64_t offset, uint64_t len, char etag_out[S3B_ETAG_MAX],
			struct s3_error *err);
/* Parts must be in ascending order (checked: EINVAL otherwise).  etag_out
 * gets the ETag from the response body, or "" when the server sent an empty
 * one (RGW): read it with HEAD then. */
int s3_complete_multipart(struct s3_client *c, const char *key, const char *upload_id,
			  const struct s3_part *parts, size_t n,
			  char etag_out[S3B_ETAG_MAX], struct s3_error *err);
int s3_abort_multipart(struct s3_client *c, const char *key, const char *upload_id,
		       struct s3_error *err);
/* One page of in-progress uploads under prefix (NULL: all).  key_marker and
 * upload_id_marker continue a truncated page. */
int s3_list_multipart(struct s3_client *c, const char *prefix, const char *key_marker,
		      const char *upload_id_marker, struct s3_upload_list *out,
		      struct s3_error *err);
void s3_upload_list_free(struct s3_upload_list *l);

/* ---- helpers ---- */
void s3_meta_free(struct s3_meta *m);
void s3_object_info_free(struct s3_object_info *info);
void s3_delete_failures_free(struct s3_delete_failure *f, size_t n);
/* Find a user metadata value by (lower-case) name, or NULL. */
const char *s3_meta_get(const struct s3_meta *m, const char *name);
/* Add or replace a pair (copies both strings).  0 or ENOMEM. */
int s3_meta_set(struct s3_meta *m, const char *name, const char *value);

#endif
