/*
 * fs/servercopy.c — see servercopy.h.  Part copies run on a few threads of
 * their own (each request is one blocking call to the client, which is
 * thread-safe): a copy is rare and long next to the pool's part jobs.
 */
#include "servercopy.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "log.h"

#define SC_DEFAULT_PARALLEL 4u
#define SC_MAX_PARALLEL 16u

/* The part copies of one multipart copy. */
struct sc_parts {
	const struct s3b_server_copy *c;
	const char *upload_id;
	uint64_t part_size;
	struct s3_part *parts;
	size_t n;

	pthread_mutex_t lock;
	size_t next;        /* protected by lock */
	int err;            /* protected by lock: the first failure */
	struct s3_error fail;
	unsigned attempts;  /* protected by lock */
};

static void *sc_worker(void *arg)
{
	struct sc_parts *p = arg;
	const struct s3b_server_copy *c = p->c;

	for (;;) {
		struct s3_error e = { 0 };
		uint64_t off, len;
		size_t i;
		int rc;

		pthread_mutex_lock(&p->lock);
		if (p->err || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);

		off = (uint64_t)i * p->part_size;
		len = c->size - off < p->part_size ? c->size - off : p->part_size;
		p->parts[i].number = (unsigned)i + 1;
		rc = s3_upload_part_copy(c->dst->client, c->key, p->upload_id, (unsigned)i + 1,
					 c->src->spec.bucket, c->src_key, off, len, p->parts[i].etag,
					 &e);
		pthread_mutex_lock(&p->lock);
		p->attempts += e.attempts;
		if (rc && !p->err) {
			p->err = rc;
			p->fail = e;
		}
		pthread_mutex_unlock(&p->lock);
	}
}

/* UploadPartCopy of every part, up to parallel at once.  0 or the first
 * error (its details in p->fail). */
static int copy_parts(struct sc_parts *p, unsigned parallel)
{
	pthread_t tids[SC_MAX_PARALLEL];
	unsigned started = 0;

	if (parallel > p->n)
		parallel = (unsigned)p->n;
	for (unsigned i = 1; i < parallel; i++) {
		if (pthread_create(&tids[started], NULL, sc_worker, p) != 0)
			break;
		started++;
	}
	sc_worker(p); /* the caller's thread works too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	return p->err;
}

static bool etag_equal(const char *a, const char *b)
{
	struct s3b_etag x, y;

	s3b_etag_parse(a, &x);
	s3b_etag_parse(b, &y);
	if (x.kind == S3B_ETAG_OPAQUE || x.kind != y.kind)
		return false;
	return memcmp(x.md5, y.md5, S3B_MD5_LEN) == 0 &&
	       (x.kind != S3B_ETAG_MULTIPART || x.parts == y.parts);
}

static void log_failure(const struct s3b_server_copy *c, const char *what,
			const struct s3_error *e)
{
	char why[256];

	s3_error_format(e, why, sizeof(why));
	LOG_E("%s/%s: server-side copy of %s/%s: %s failed: %s", c->dst->spec.name, c->key,
	      c->src->spec.name, c->src_key, what, why);
}

/* The multipart copy in the source's layout.  ENOTSUP when the server has
 * no UploadPartCopy (s3rver: 501), nothing left behind. */
static int copy_multipart(const struct s3b_server_copy *c, uint64_t part_size,
			  struct s3b_server_copy_result *res)
{
	const struct s3b_store *st = &c->dst->store;
	struct sc_parts p = {
		.c = c,
		.part_size = part_size,
		.n = (size_t)((c->size + part_size - 1) / part_size),
	};
	struct s3_error e = { 0 };
	char *upload_id = NULL;
	int rc;

	p.parts = calloc(p.n, sizeof(*p.parts));
	if (!p.parts)
		return ENOMEM;
	pthread_mutex_init(&p.lock, NULL);
	rc = st->ops->create_mp(st->inst, c->key, c->meta, &upload_id, &e);
	res->attempts += e.attempts;
	if (rc) {
		log_failure(c, "CreateMultipartUpload", &e);
		goto out;
	}
	p.upload_id = upload_id;
	rc = copy_parts(&p, c->parallel ? c->parallel : SC_DEFAULT_PARALLEL);
	res->attempts += p.attempts;
	if (!rc) {
		e = (struct s3_error){ 0 };
		rc = st->ops->complete(st->inst, c->key, upload_id, p.parts, p.n, res->etag, &e);
		res->attempts += e.attempts;
		if (rc)
			log_failure(c, "CompleteMultipartUpload", &e);
	} else if (rc != ENOTSUP) {
		log_failure(c, "UploadPartCopy", &p.fail);
	}
	if (rc) {
		e = (struct s3_error){ 0 };
		st->ops->abort(st->inst, c->key, upload_id, &e);
		res->attempts += e.attempts;
	}
	res->parts = (unsigned)p.n;

out:
	pthread_mutex_destroy(&p.lock);
	free(upload_id);
	free(p.parts);
	return rc;
}

int s3b_server_copy_run(const struct s3b_server_copy *c, struct s3b_server_copy_result *res)
{
	struct s3b_etag se;
	struct s3_error e = { 0 };
	uint64_t part_size = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	s3b_etag_parse(c->src_etag, &se);
	if (se.kind == S3B_ETAG_MD5 && c->size <= S3_MAX_COPY_SIZE) {
		rc = s3_copy_object(c->dst->client, c->src->spec.bucket, c->src_key, c->key,
				    c->meta, res->etag, &e);
		res->attempts += e.attempts;
		if (rc && rc != ENOTSUP && rc != ENOENT)
			log_failure(c, "CopyObject", &e);
	} else if (se.kind == S3B_ETAG_MULTIPART &&
		   (part_size = s3b_guess_part_size(c->src_etag, c->size)) != 0 &&
		   (c->size + part_size - 1) / part_size == se.parts) {
		rc = copy_multipart(c, part_size, res);
	} else {
		return ENOTSUP;
	}
	if (rc == ENOENT && se.kind == S3B_ETAG_MD5)
		rc = ENOTSUP; /* s3rver cannot copy some keys (it mis-decodes the source) */
	if (rc)
		return rc;
	if (!res->etag[0]) {
		/* RGW's CompleteMultipartUpload answer has no ETag */
		struct s3_object_info info = { 0 };

		e = (struct s3_error){ 0 };
		rc = s3_head_object(c->dst->client, c->key, &info, &e);
		res->attempts += e.attempts;
		if (!rc)
			snprintf(res->etag, sizeof(res->etag), "%s", info.etag);
		s3_object_info_free(&info);
		if (rc) {
			log_failure(c, "HeadObject of the copy", &e);
			s3_delete_object(c->dst->client, c->key, NULL);
			return rc;
		}
	}
	if (!etag_equal(res->etag, c->src_etag)) {
		LOG_W("%s/%s: the server-side copy of %s/%s has ETag %s, the source %s%s; the copy "
		      "is deleted and the bytes are copied through the bridge instead",
		      c->dst->spec.name, c->key, c->src->spec.name, c->src_key, res->etag,
		      c->src_etag, res->parts ? " (the source's part layout was guessed)" : "");
		s3_delete_object(c->dst->client, c->key, NULL);
		return EAGAIN;
	}
	return 0;
}
