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

#include <errno.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "log.h"

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

/* ---- journaled: multipart uploads recorded as they begin and end ---- */

static int sj_put(void *inst, const char *key, const void *data, size_t len,
		  const struct s3_meta *meta, char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;

	return st_put(j->client, key, data, len, meta, etag, err);
}

/* A CreateMultipartUpload whose answer was lost and that was sent again
 * (by libcurl or by the retry loop) left an upload nobody knows the id of: find the uploads of this key
 * begun since our first attempt (give or take clock skew) and abort all
 * but ours.  Best effort: servers without ListMultipartUploads (s3rver)
 * keep it. */
static void abort_lost_creates(struct s3b_store_journaled *j, const char *key, const char *ours,
			       time_t since)
{
	struct s3_upload_list ul;
	struct s3_error e;

	if (s3_list_multipart(j->client, key, NULL, NULL, &ul, &e) != 0)
		return;
	for (size_t i = 0; i < ul.n; i++) {
		const struct s3_upload *u = &ul.uploads[i];

		if (strcmp(u->key, key) != 0 || strcmp(u->upload_id, ours) == 0 ||
		    u->initiated.tv_sec < since - 60)
			continue;
		if (s3_abort_multipart(j->client, key, u->upload_id, &e) == 0)
			LOG_N("%s/%s: aborted an upload whose CreateMultipartUpload answer was lost",
			      j->bucket, key);
	}
	s3_upload_list_free(&ul);
}

static int sj_create_mp(void *inst, const char *key, const struct s3_meta *meta,
			char **upload_id, struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;
	struct s3_error local;
	time_t start = time(NULL);
	int rc;

	if (!err)
		err = &local;
	rc = st_create_mp(j->client, key, meta, upload_id, err);
	if (!rc && j->journal)
		s3b_journal_upload_begun(j->journal, j->endpoint, j->bucket, key, *upload_id);
	/* libcurl itself re-sends a request whose reused connection died before
	 * any answer, so a lost first Create does not even show as a retry
	 * here: look every time (one listing per multipart object) */
	if (!rc)
		abort_lost_creates(j, key, *upload_id, start);
	return rc;
}

static int sj_upload_part(void *inst, const char *key, const char *upload_id, unsigned number,
			  const void *data, size_t len, const uint8_t md5[16],
			  char etag[S3B_ETAG_MAX], struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;

	return st_upload_part(j->client, key, upload_id, number, data, len, md5, etag, err);
}

static int sj_complete(void *inst, const char *key, const char *upload_id,
		       const struct s3_part *parts, size_t n, char etag[S3B_ETAG_MAX],
		       struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;
	int rc = st_complete(j->client, key, upload_id, parts, n, etag, err);

	if (!rc && j->journal)
		s3b_journal_upload_ended(j->journal, upload_id);
	return rc;
}

static int sj_abort(void *inst, const char *key, const char *upload_id, struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;
	int rc = st_abort(j->client, key, upload_id, err);

	/* gone either way; a failed abort stays recorded for the next mount */
	if ((rc == 0 || rc == ENOENT) && j->journal)
		s3b_journal_upload_ended(j->journal, upload_id);
	return rc;
}

static int sj_head(void *inst, const char *key, struct s3_object_info *info,
		   struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;

	return st_head(j->client, key, info, err);
}

static int sj_get(void *inst, const char *key, uint64_t off, size_t len, void *buf,
		  size_t *got, const char *if_match, struct s3_error *err)
{
	struct s3b_store_journaled *j = inst;

	return st_get(j->client, key, off, len, buf, got, if_match, err);
}

static const struct s3b_store_ops s3_journaled_ops = {
	.put = sj_put,
	.create_mp = sj_create_mp,
	.upload_part = sj_upload_part,
	.complete = sj_complete,
	.abort = sj_abort,
	.head = sj_head,
	.get = sj_get,
};

void s3b_store_s3_journaled(struct s3b_store_journaled *ctx, enum s3b_multipart_etag style,
			    struct s3b_store *out)
{
	*out = (struct s3b_store){ .ops = &s3_journaled_ops, .inst = ctx, .etag_style = style };
}
