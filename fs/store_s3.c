/*
 * fs/store_s3.c — the real store: the s3b_store_ops table over an
 * s3_client (see store.h).
 *
 * What it is for: letting the reader and the writer talk to S3 through the
 * same table the unit tests fill with an in-process store.  Each hook is a
 * direct call into s3/; retries, error mapping and Content-MD5 live there.
 *
 * What it does not do: no caching, no retries of its own, no ownership of
 * the client (the caller keeps it alive longer than the store).
 */
#include "store.h"

static int st_put(void *inst, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta, char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	return s3_put_object(inst, key, data, len, meta, etag, err);
}

static int st_create_mp(void *inst, const char *key, const struct s3_meta *meta,
			char **upload_id, struct s3_error *err)
{
	return s3_create_multipart(inst, key, meta, upload_id, err);
}

static int st_upload_part(void *inst, const char *key, const char *upload_id, unsigned number,
			  const void *data, size_t len, const uint8_t md5[16],
			  char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	return s3_upload_part(inst, key, upload_id, number, data, len, md5, etag, err);
}

static int st_complete(void *inst, const char *key, const char *upload_id,
		       const struct s3_part *parts, size_t n, char etag[S3B_ETAG_MAX],
		       struct s3_error *err)
{
	return s3_complete_multipart(inst, key, upload_id, parts, n, etag, err);
}

static int st_abort(void *inst, const char *key, const char *upload_id, struct s3_error *err)
{
	return s3_abort_multipart(inst, key, upload_id, err);
}

static int st_head(void *inst, const char *key, struct s3_object_info *info,
		   struct s3_error *err)
{
	return s3_head_object(inst, key, info, err);
}

static int st_get(void *inst, const char *key, uint64_t off, size_t len, void *buf,
		  size_t *got, const char *if_match, struct s3_error *err)
{
	return s3_get_object(inst, key, off, len, buf, got, if_match, NULL, err);
}

static const struct s3b_store_ops s3_store_ops = {
	.put = st_put,
	.create_mp = st_create_mp,
	.upload_part = st_upload_part,
	.complete = st_complete,
	.abort = st_abort,
	.head = st_head,
	.get = st_get,
};

void s3b_store_s3(struct s3_client *c, enum s3b_multipart_etag style, struct s3b_store *out)
{
	*out = (struct s3b_store){ .ops = &s3_store_ops, .inst = c, .etag_style = style };
}
