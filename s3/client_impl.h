/*
 * s3/client_impl.h — the client's insides, shared by client.c (the one
 * request/retry loop) and ops.c (the operations).  Internal to s3/.
 */
#ifndef S3B_CLIENT_IMPL_H
#define S3B_CLIENT_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "s3.h"
#include "sigv4.h"

/* Operations, for the request counters (s3_op_name gives the text). */
enum s3b_op {
	S3B_OP_HEAD_BUCKET,
	S3B_OP_LIST_OBJECTS,
	S3B_OP_HEAD_OBJECT,
	S3B_OP_GET_OBJECT,
	S3B_OP_PUT_OBJECT,
	S3B_OP_COPY_OBJECT,
	S3B_OP_DELETE_OBJECT,
	S3B_OP_DELETE_OBJECTS,
	S3B_OP_CREATE_MULTIPART,
	S3B_OP_UPLOAD_PART,
	S3B_OP_UPLOAD_PART_COPY,
	S3B_OP_COMPLETE_MULTIPART,
	S3B_OP_ABORT_MULTIPART,
	S3B_OP_LIST_MULTIPART,
	S3B_OP__COUNT
};
_Static_assert(S3B_OP__COUNT <= 16, "s3_stats.by_op has 16 slots");

struct s3_client {
	char *endpoint_scheme;   /* "http" or "https" */
	char *endpoint_host;     /* authority: "127.0.0.1:4630" (default port dropped) */
	char *endpoint_base_path;/* "" or "/some/path" (no trailing '/') */
	char *region;
	char *bucket;
	bool path_style;
	char *access_key;        /* NULL: anonymous */
	char *secret_key;
	char *session_token;
	bool tls_no_verify;
	char *ca_bundle;
	char *user_agent;
	unsigned max_attempts;
	unsigned max_retry_ms;
	unsigned connect_timeout_ms;
	unsigned low_speed_secs;
	struct s3b_http_pool *pool;
	_Atomic uint64_t n_requests;
	_Atomic uint64_t n_retries;
	_Atomic uint64_t by_op[S3B_OP__COUNT];
	_Atomic uint64_t rng;    /* jitter source; seeded at create */
};

struct s3b_resp;

#define S3B_REQ_MAX_QUERY 8
#define S3B_REQ_MAX_HEADERS 48

/* A request, described as plain data; the loop builds, signs and sends it
 * anew for every attempt. */
struct s3b_req {
	enum s3b_op op;
	const char *method;
	const char *key;                  /* NULL: a bucket-level request */
	struct s3b_sigv4_kv query[S3B_REQ_MAX_QUERY];
	size_t nquery;
	struct s3b_sigv4_kv headers[S3B_REQ_MAX_HEADERS]; /* extra headers */
	size_t nheaders;
	const void *body;                 /* NULL: no body */
	size_t body_len;
	bool body_sha256;                 /* sign the body's SHA-256 instead of UNSIGNED-PAYLOAD */
	/* response body destination: sink (fixed buffer) or resp->body */
	void *sink;
	size_t sink_cap;
	size_t max_body;                  /* cap for resp->body; 0: 1 MiB */
	/* Called after a 2xx response: 0 accepts, EAGAIN retries (err
	 * filled), anything else fails with that errno. */
	int (*check)(const struct s3b_req *req, struct s3b_resp *resp, struct s3_error *err);
	void *check_ctx;
};

/* What came back (one attempt; reset before each). */
struct s3b_resp {
	long status;
	struct s3b_buf body;
	size_t sink_len;
	bool sink_overflow;
	char etag[S3B_ETAG_MAX];
	bool etag_too_long;
	int64_t content_length;           /* -1: absent */
	char content_range[96];
	char last_modified[64];
	char request_id[128];
	char storage_class[32];
	struct s3_meta meta;              /* Content-Type and x-amz-meta-* */
	char checksum_crc32c[16];
	char checksum_crc32[16];
	char checksum_sha256[48];
	char checksum_crc64nvme[16];
};

void s3b_resp_free(struct s3b_resp *r);

/* Add a header / query pair to a request; the strings must outlive it. */
void s3b_req_header(struct s3b_req *r, const char *name, const char *value);
void s3b_req_query(struct s3b_req *r, const char *name, const char *value);

/* The one request/retry loop.  0 (resp filled with the final, successful
 * attempt; caller frees it with s3b_resp_free) or a positive errno (err
 * filled; resp freed). */
int s3b_perform(struct s3_client *c, const struct s3b_req *req, struct s3b_resp *resp,
		struct s3_error *err);

/* Backoff before attempt n+1 (n >= 1): full jitter in [0, min(cap, base*2^(n-1))]. */
unsigned s3b_backoff_ms(uint64_t *rng, unsigned attempt, unsigned base_ms, unsigned cap_ms);

#endif
