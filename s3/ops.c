/*
 * s3/ops.c — the S3 operations: each builds an s3b_req, hands it to the
 * one retry loop (client.c) and reads the answer.  Response checks that
 * decide "retry or not" for a 2xx answer (short GET bodies, 200 responses
 * that carry an <Error>) are the ops' check hooks; the loop applies them.
 *
 * What it does not do: no retries of its own, no verification policy
 * (comparing ETags with local digests is verify/'s and the bridge's job).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "errmap.h"
#include "hash.h"
#include "log.h"
#include "uri.h"
#include "xml.h"

#define LIST_MAX_BODY (16u << 20)

/* Header names and values built for one request (x-amz-meta-*, ...). */
struct hdr_store {
	char *strings[2 * S3B_REQ_MAX_HEADERS];
	size_t n;
};

static const char *store_keep(struct hdr_store *s, char *str)
{
	if (!str)
		return NULL;
	if (s->n == sizeof(s->strings) / sizeof(s->strings[0])) {
		free(str);
		return NULL;
	}
	s->strings[s->n++] = str;
	return str;
}

static void store_free(struct hdr_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->strings[i]);
	s->n = 0;
}

/* Add Content-Type and x-amz-meta-* headers for meta.  0, ENOMEM or E2BIG. */
static int add_meta_headers(struct s3b_req *r, struct hdr_store *s, const struct s3_meta *meta)
{
	if (!meta)
		return 0;
	if (meta->content_type)
		s3b_req_header(r, "content-type", meta->content_type);
	if (meta->n + r->nheaders + 8 > S3B_REQ_MAX_HEADERS)
		return E2BIG;
	for (size_t i = 0; i < meta->n; i++) {
		struct s3b_buf b = S3B_BUF_INIT;
		const char *name;

		if (s3b_buf_printf(&b, "x-amz-meta-%s", meta->kv[i].name))
			return ENOMEM;
		name = store_keep(s, s3b_buf_detach(&b));
		if (!name)
			return ENOMEM;
		s3b_req_header(r, name, meta->kv[i].value);
	}
	return 0;
}

static void md5_b64(const void *data, size_t len, const uint8_t *given, char out[25])
{
	uint8_t d[S3B_MD5_LEN];

	if (given)
		memcpy(d, given, sizeof(d));
	else
		s3b_md5(data, len, d);
	s3b_base64(d, sizeof(d), out);
}

/* "/bucket/key" with the key URI-encoded, for x-amz-copy-source. */
static char *copy_source(const char *bucket, const char *key)
{
	struct s3b_buf b = S3B_BUF_INIT;

	if (s3b_buf_putc(&b, '/') || s3b_uri_encode(&b, bucket, strlen(bucket), false) ||
	    s3b_buf_putc(&b, '/') || s3b_uri_encode(&b, key, strlen(key), true)) {
		s3b_buf_free(&b);
		return NULL;
	}
	return s3b_buf_detach(&b);
}

static void info_from_resp(struct s3_object_info *info, struct s3b_resp *r, uint64_t size)
{
	memset(info, 0, sizeof(*info));
	info->size = size;
	memcpy(info->etag, r->etag, sizeof(info->etag));
	if (r->last_modified[0])
		s3b_parse_time(r->last_modified, &info->mtime);
	memcpy(info->storage_class, r->storage_class, sizeof(info->storage_class));
	memcpy(info->checksum_crc32c, r->checksum_crc32c, sizeof(info->checksum_crc32c));
	memcpy(info->checksum_crc32, r->checksum_crc32, sizeof(info->checksum_crc32));
	memcpy(info->checksum_sha256, r->checksum_sha256, sizeof(info->checksum_sha256));
	memcpy(info->checksum_crc64nvme, r->checksum_crc64nvme, sizeof(info->checksum_crc64nvme));
	info->meta = r->meta; /* moved */
	memset(&r->meta, 0, sizeof(r->meta));
}

/* A 2xx whose body is an <Error> (CopyObject, UploadPartCopy, Complete). */
static int check_embedded_error(const struct s3b_req *req, struct s3b_resp *resp,
				struct s3_error *err)
{
	struct s3_error x = { 0 };
	struct s3b_errclass ec;

	(void)req;
	if (!resp->body.len || s3b_xml_parse_error(resp->body.data, resp->body.len, &x) != 0)
		return 0;
	memcpy(err->code, x.code, sizeof(err->code));
	memcpy(err->message, x.message, sizeof(err->message));
	ec = s3b_classify_http(500, x.code);
	return ec.retry ? EAGAIN : ec.err;
}

/* ---- buckets ---- */

int s3_head_bucket(struct s3_client *c, struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_HEAD_BUCKET, .method = "HEAD" };
	struct s3b_resp resp;
	int rc = s3b_perform(c, &req, &resp, err);

	s3b_resp_free(&resp);
	return rc;
}

/* ---- objects ---- */

static int check_head(const struct s3b_req *req, struct s3b_resp *resp, struct s3_error *err)
{
	(void)req;
	if (resp->content_length < 0) {
		snprintf(err->message, sizeof(err->message),
			 "HEAD response without a valid Content-Length");
		return EAGAIN;
	}
	return 0;
}

int s3_head_object(struct s3_client *c, const char *key, struct s3_object_info *info,
		   struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_HEAD_OBJECT, .method = "HEAD", .key = key,
			       .check = check_head };
	struct s3b_resp resp;
	int rc;

	s3b_req_header(&req, "x-amz-checksum-mode", "ENABLED");
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0)
		info_from_resp(info, &resp, (uint64_t)resp.content_length);
	s3b_resp_free(&resp);
	return rc;
}

struct get_ctx {
	uint64_t offset;
	size_t len;
	uint64_t total;  /* object size, from Content-Range or Content-Length */
};

/* Parse "bytes FIRST-LAST/TOTAL" ("*" total accepted as unknown). */
static int parse_content_range(const char *s, uint64_t *first, uint64_t *last, uint64_t *total)
{
	char *end;

	if (strncmp(s, "bytes ", 6) != 0)
		return EPROTO;
	s += 6;
	errno = 0;
	*first = strtoull(s, &end, 10);
	if (errno || end == s || *end != '-')
		return EPROTO;
	s = end + 1;
	*last = strtoull(s, &end, 10);
	if (errno || end == s || *end != '/' || *last < *first)
		return EPROTO;
	s = end + 1;
	if (strcmp(s, "*") == 0) {
		*total = UINT64_MAX;
		return 0;
	}
	*total = strtoull(s, &end, 10);
	if (errno || end == s || *end || *total <= *last)
		return EPROTO;
	return 0;
}

/* The body must be exactly the range asked for (or up to the end). */
static int check_get(const struct s3b_req *req, struct s3b_resp *resp, struct s3_error *err)
{
	struct get_ctx *g = req->check_ctx;
	uint64_t first, last, total;

	if (resp->content_length >= 0 && (uint64_t)resp->content_length != resp->sink_len) {
		snprintf(err->message, sizeof(err->message),
			 "short body: %zu of %" PRId64 " bytes", resp->sink_len, resp->content_length);
		return EAGAIN;
	}
	if (resp->status == 206) {
		if (parse_content_range(resp->content_range, &first, &last, &total)) {
			snprintf(err->message, sizeof(err->message), "bad Content-Range '%s'",
				 resp->content_range);
			return EPROTO;
		}
		if (first != g->offset || last - first + 1 != resp->sink_len ||
		    resp->sink_len > g->len) {
			snprintf(err->message, sizeof(err->message),
				 "Content-Range '%s' does not match the %zu bytes received for "
				 "offset %" PRIu64,
				 resp->content_range, resp->sink_len, g->offset);
			return EAGAIN;
		}
		if (resp->sink_len < g->len && total != UINT64_MAX && last + 1 != total) {
			snprintf(err->message, sizeof(err->message), "short range before the end");
			return EAGAIN;
		}
		g->total = total;
		return 0;
	}
	/* 200: the whole object; fine only when we asked from the start */
	if (g->offset != 0) {
		snprintf(err->message, sizeof(err->message), "server ignored the Range header");
		return EPROTO;
	}
	if (resp->content_length < 0) {
		snprintf(err->message, sizeof(err->message), "GET without Content-Length");
		return EAGAIN;
	}
	g->total = (uint64_t)resp->content_length;
	return 0;
}

int s3_get_object(struct s3_client *c, const char *key, uint64_t offset, size_t len,
		  void *buf, size_t *got, const char *if_match,
		  struct s3_object_info *info, struct s3_error *err)
{
	struct get_ctx g = { .offset = offset, .len = len };
	struct s3b_req req = { .op = S3B_OP_GET_OBJECT, .method = "GET", .key = key,
			       .sink = buf, .sink_cap = len, .check = check_get, .check_ctx = &g };
	struct s3b_resp resp;
	char range[64];
	int rc;

	*got = 0;
	if (len == 0)
		return 0;
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, offset,
		 offset + (uint64_t)len - 1);
	s3b_req_header(&req, "range", range);
	if (if_match)
		s3b_req_header(&req, "if-match", if_match);
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == ERANGE) {
		/* at or past the end of the object */
		return 0;
	}
	if (rc == 0) {
		*got = resp.sink_len;
		if (info)
			info_from_resp(info, &resp, g.total);
	}
	s3b_resp_free(&resp);
	return rc;
}

static int check_etag_present(const struct s3b_req *req, struct s3b_resp *resp,
			      struct s3_error *err)
{
	(void)req;
	if (!resp->etag[0]) {
		snprintf(err->message, sizeof(err->message), "response without an ETag");
		return EPROTO;
	}
	return 0;
}

int s3_put_object(struct s3_client *c, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta, char etag_out[S3B_ETAG_MAX],
		  struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_PUT_OBJECT, .method = "PUT", .key = key,
			       .body = data ? data : "", .body_len = len,
			       .check = check_etag_present };
	struct hdr_store store = { 0 };
	struct s3b_resp resp;
	char md5[25];
	int rc;

	md5_b64(data, len, NULL, md5);
	s3b_req_header(&req, "content-md5", md5);
	rc = add_meta_headers(&req, &store, meta);
	if (rc)
		goto out;
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0 && etag_out)
		memcpy(etag_out, resp.etag, S3B_ETAG_MAX);
	s3b_resp_free(&resp);
out:
	store_free(&store);
	return rc;
}

int s3_delete_object(struct s3_client *c, const char *key, struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_DELETE_OBJECT, .method = "DELETE", .key = key };
	struct s3b_resp resp;
	int rc = s3b_perform(c, &req, &resp, err);

	s3b_resp_free(&resp);
	return rc;
}

int s3_delete_objects(struct s3_client *c, const char *const *keys, size_t n,
		      struct s3_delete_failure **failures, size_t *n_failures,
		      struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_DELETE_OBJECTS, .method = "POST",
			       .body_sha256 = true, .max_body = LIST_MAX_BODY,
			       .check = check_embedded_error };
	struct s3b_buf body = S3B_BUF_INIT;
	struct s3b_resp resp;
	char md5[25];
	int rc;

	*failures = NULL;
	*n_failures = 0;
	if (n == 0)
		return 0;
	if (n > 1000)
		return EINVAL;
	rc = s3b_xml_build_delete(&body, keys, n);
	if (rc)
		goto out;
	md5_b64(body.data, body.len, NULL, md5);
	s3b_req_query(&req, "delete", "");
	s3b_req_header(&req, "content-md5", md5);
	s3b_req_header(&req, "content-type", "application/xml");
	req.body = body.data;
	req.body_len = body.len;
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0) {
		rc = s3b_xml_parse_delete(resp.body.data ? resp.body.data : "", resp.body.len,
					  failures, n_failures);
		if (rc && err)
			snprintf(err->message, sizeof(err->message), "malformed DeleteResult");
	}
	s3b_resp_free(&resp);
out:
	s3b_buf_free(&body);
	return rc;
}

static int check_copy(const struct s3b_req *req, struct s3b_resp *resp, struct s3_error *err)
{
	int rc = check_embedded_error(req, resp, err);

	if (rc)
		return rc;
	if (s3b_xml_parse_copy(resp->body.data ? resp->body.data : "", resp->body.len,
			       resp->etag) != 0) {
		snprintf(err->message, sizeof(err->message), "malformed copy result");
		return EAGAIN;
	}
	return 0;
}

int s3_copy_object(struct s3_client *c, const char *src_bucket, const char *src_key,
		   const char *key, const struct s3_meta *meta,
		   char etag_out[S3B_ETAG_MAX], struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_COPY_OBJECT, .method = "PUT", .key = key,
			       .check = check_copy };
	struct hdr_store store = { 0 };
	struct s3b_resp resp;
	const char *src = store_keep(&store, copy_source(src_bucket, src_key));
	int rc = ENOMEM;

	if (!src)
		goto out;
	s3b_req_header(&req, "x-amz-copy-source", src);
	s3b_req_header(&req, "x-amz-metadata-directive", meta ? "REPLACE" : "COPY");
	rc = add_meta_headers(&req, &store, meta);
	if (rc)
		goto out;
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0 && etag_out)
		memcpy(etag_out, resp.etag, S3B_ETAG_MAX);
	s3b_resp_free(&resp);
out:
	store_free(&store);
	return rc;
}

/* ---- listings ---- */

int s3_list_objects(struct s3_client *c, const struct s3_list_params *p,
		    struct s3_list_page *page, struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_LIST_OBJECTS, .method = "GET",
			       .max_body = LIST_MAX_BODY };
	struct s3b_resp resp;
	char maxkeys[16];
	int rc;

	memset(page, 0, sizeof(*page));
	s3b_req_query(&req, "list-type", "2");
	s3b_req_query(&req, "encoding-type", "url");
	if (p->prefix && *p->prefix)
		s3b_req_query(&req, "prefix", p->prefix);
	if (p->delimiter && *p->delimiter)
		s3b_req_query(&req, "delimiter", p->delimiter);
	if (p->continuation && *p->continuation)
		s3b_req_query(&req, "continuation-token", p->continuation);
	if (p->start_after && *p->start_after)
		s3b_req_query(&req, "start-after", p->start_after);
	if (p->max_keys) {
		snprintf(maxkeys, sizeof(maxkeys), "%u", p->max_keys);
		s3b_req_query(&req, "max-keys", maxkeys);
	}
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0) {
		rc = s3b_xml_parse_list_v2(resp.body.data ? resp.body.data : "", resp.body.len,
					   page);
		if (rc && err)
			snprintf(err->message, sizeof(err->message),
				 "malformed ListObjectsV2 response");
	}
	s3b_resp_free(&resp);
	return rc;
}

/* ---- multipart ---- */

int s3_create_multipart(struct s3_client *c, const char *key, const struct s3_meta *meta,
			char **upload_id, struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_CREATE_MULTIPART, .method = "POST", .key = key };
	struct hdr_store store = { 0 };
	struct s3b_resp resp;
	int rc;

	*upload_id = NULL;
	s3b_req_query(&req, "uploads", "");
	rc = add_meta_headers(&req, &store, meta);
	if (rc)
		goto out;
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0) {
		rc = s3b_xml_parse_initiate(resp.body.data ? resp.body.data : "", resp.body.len,
					    upload_id);
		if (rc && err)
			snprintf(err->message, sizeof(err->message),
				 "malformed InitiateMultipartUploadResult");
	}
	s3b_resp_free(&resp);
out:
	store_free(&store);
	return rc;
}

int s3_upload_part(struct s3_client *c, const char *key, const char *upload_id,
		   unsigned part_number, const void *data, size_t len,
		   const uint8_t *md5, char etag_out[S3B_ETAG_MAX], struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_UPLOAD_PART, .method = "PUT", .key = key,
			       .body = data ? data : "", .body_len = len,
			       .check = check_etag_present };
	struct s3b_resp resp;
	char num[12], md5s[25];
	int rc;

	if (part_number < 1 || part_number > S3_MAX_PARTS)
		return EINVAL;
	snprintf(num, sizeof(num), "%u", part_number);
	s3b_req_query(&req, "partNumber", num);
	s3b_req_query(&req, "uploadId", upload_id);
	md5_b64(data, len, md5, md5s);
	s3b_req_header(&req, "content-md5", md5s);
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0)
		memcpy(etag_out, resp.etag, S3B_ETAG_MAX);
	s3b_resp_free(&resp);
	return rc;
}

int s3_upload_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			unsigned part_number, const char *src_bucket, const char *src_key,
			uint64_t offset, uint64_t len, char etag_out[S3B_ETAG_MAX],
			struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_UPLOAD_PART_COPY, .method = "PUT", .key = key,
			       .check = check_copy };
	struct hdr_store store = { 0 };
	struct s3b_resp resp;
	char num[12], range[64];
	const char *src = store_keep(&store, copy_source(src_bucket, src_key));
	int rc = ENOMEM;

	if (part_number < 1 || part_number > S3_MAX_PARTS || len == 0)
		return store_free(&store), EINVAL;
	if (!src)
		goto out;
	snprintf(num, sizeof(num), "%u", part_number);
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, offset, offset + len - 1);
	s3b_req_query(&req, "partNumber", num);
	s3b_req_query(&req, "uploadId", upload_id);
	s3b_req_header(&req, "x-amz-copy-source", src);
	s3b_req_header(&req, "x-amz-copy-source-range", range);
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0)
		memcpy(etag_out, resp.etag, S3B_ETAG_MAX);
	s3b_resp_free(&resp);
out:
	store_free(&store);
	return rc;
}

static int check_complete(const struct s3b_req *req, struct s3b_resp *resp,
			  struct s3_error *err)
{
	int rc = check_embedded_error(req, resp, err);

	if (rc)
		return rc;
	if (s3b_xml_parse_complete(resp->body.data ? resp->body.data : "", resp->body.len,
				   resp->etag) != 0) {
		snprintf(err->message, sizeof(err->message),
			 "malformed CompleteMultipartUploadResult");
		return EPROTO;
	}
	return 0;
}

int s3_complete_multipart(struct s3_client *c, const char *key, const char *upload_id,
			  const struct s3_part *parts, size_t n,
			  char etag_out[S3B_ETAG_MAX], struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_COMPLETE_MULTIPART, .method = "POST", .key = key,
			       .body_sha256 = true, .check = check_complete };
	struct s3b_buf body = S3B_BUF_INIT;
	struct s3b_resp resp;
	int rc;

	if (n == 0 || n > S3_MAX_PARTS)
		return EINVAL;
	for (size_t i = 1; i < n; i++)
		if (parts[i].number <= parts[i - 1].number)
			return EINVAL; /* S3 wants ascending part numbers */
	rc = s3b_xml_build_complete(&body, parts, n);
	if (rc)
		goto out;
	s3b_req_query(&req, "uploadId", upload_id);
	s3b_req_header(&req, "content-type", "application/xml");
	req.body = body.data;
	req.body_len = body.len;
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0)
		memcpy(etag_out, resp.etag, S3B_ETAG_MAX);
	s3b_resp_free(&resp);
out:
	s3b_buf_free(&body);
	return rc;
}

int s3_abort_multipart(struct s3_client *c, const char *key, const char *upload_id,
		       struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_ABORT_MULTIPART, .method = "DELETE", .key = key };
	struct s3b_resp resp;
	int rc;

	s3b_req_query(&req, "uploadId", upload_id);
	rc = s3b_perform(c, &req, &resp, err);
	s3b_resp_free(&resp);
	return rc;
}

int s3_list_multipart(struct s3_client *c, const char *prefix, const char *key_marker,
		      const char *upload_id_marker, struct s3_upload_list *out,
		      struct s3_error *err)
{
	struct s3b_req req = { .op = S3B_OP_LIST_MULTIPART, .method = "GET",
			       .max_body = LIST_MAX_BODY };
	struct s3b_resp resp;
	int rc;

	memset(out, 0, sizeof(*out));
	s3b_req_query(&req, "uploads", "");
	if (prefix && *prefix)
		s3b_req_query(&req, "prefix", prefix);
	if (key_marker && *key_marker)
		s3b_req_query(&req, "key-marker", key_marker);
	if (upload_id_marker && *upload_id_marker)
		s3b_req_query(&req, "upload-id-marker", upload_id_marker);
	rc = s3b_perform(c, &req, &resp, err);
	if (rc == 0) {
		rc = s3b_xml_parse_list_uploads(resp.body.data ? resp.body.data : "",
						resp.body.len, out);
		if (rc && err)
			snprintf(err->message, sizeof(err->message),
				 "malformed ListMultipartUploadsResult");
	}
	s3b_resp_free(&resp);
	return rc;
}
