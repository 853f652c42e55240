/*
 * fs/bridgecopy.c — bridge copies: copy_file_range between two files of
 * the mount (cp) records the source in the destination's handle, and the
 * copy runs when the destination is committed (so that metadata set before
 * close is stored with it), or earlier when the destination is written or
 * truncated.  A small source comes with one GET checked against its MD5
 * ETag; a larger one is copied server-side where both buckets share an
 * endpoint and the copy's ETag can be checked against the source's
 * (servercopy.h), else piped through the daemon with the source's part
 * layout.
 *
 * What it does not do: no commit of the piped bytes (files.c commits
 * them, with the usual verification), no partial copies (those go through
 * the kernel as reads and writes), no locks of its own: everything runs
 * under the destination's fh->lock (s3b_file_copy_range takes it, the
 * others' callers hold it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files_impl.h"
#include "fsint.h"
#include "log.h"
#include "servercopy.h"

#define BRIDGE_CHUNK (1u << 20)
#define BRIDGE_SMALL (8u << 20)   /* copied with one GET, never server-side */
#define BRIDGE_MAX_MATCHED_PART (16u << 20)

/* fh->meta becomes the source's Content-Type and user metadata, with the
 * POSIX attributes (mode, owner, times) that the destination has now. */
static int merge_source_meta(struct s3b_fh *fh)
{
	struct s3_object_info info;
	struct s3_error err;
	struct s3b_posix_meta own;
	struct s3_meta merged;
	int rc;

	rc = s3_head_object(fh->bsrc->client, fh->bsrc_key, &info, &err);
	if (rc) {
		LOG_E("%s/%s: cannot read the source's metadata: %s (HTTP %d)", fh->bsrc->spec.name,
		      fh->bsrc_key, err.code, err.http_status);
		return rc;
	}
	if (strcmp(info.etag, fh->bsrc_etag) != 0 || info.size != fh->bsrc_size) {
		LOG_E("%s/%s: the source changed while it was being copied", fh->bsrc->spec.name,
		      fh->bsrc_key);
		s3_object_info_free(&info);
		return ESTALE;
	}
	s3b_meta_parse(&fh->meta, &own);
	rc = s3b_meta_copy(&merged, &info.meta);
	if (!rc)
		rc = s3b_meta_apply(&merged, &own);
	s3_object_info_free(&info);
	if (rc)
		return rc;
	s3_meta_free(&fh->meta);
	fh->meta = merged;
	return 0;
}

/* A bridge copy's data is in the writer (or it failed: rc, logged here). */
static int bridge_done(struct s3b_fh *fh, int rc)
{
	fh->bridge_pending = false;
	if (rc) {
		LOG_E("%s/%s: bridge copy from %s/%s failed: %s", fh->b->spec.name, fh->key,
		      fh->bsrc->spec.name, fh->bsrc_key, strerror(rc));
		fh->sticky_err = EIO; /* nothing of it may be committed later */
		return rc;
	}
	fh->dirty = true;
	fh->bridged = true;
	return 0;
}

/* Pipe the pending source through a reader into a writer sized for it
 * (part layout like the source's when it is multipart, so that its ETag
 * can be reproduced).  No commit.  Caller holds fh->lock. */
static int bridge_pipe(struct s3b_mount *m, struct s3b_fh *fh)
{
	/* the bytes go from the reader to the writer unchanged: the writer's
	 * digests are the source stream's, hashing them twice would be waste */
	struct s3b_reader_conf rcf = { .chunk = m->conf.read_chunk, .parallel = m->conf.parallel,
				       .budget = m->budget, .pool = m->pool, .no_digests = true };
	struct s3b_writer_conf wc;
	struct s3b_reader *r = NULL;
	uint8_t *buf = NULL;
	uint64_t off = 0, guess;
	int rc;

	rc = merge_source_meta(fh);
	if (rc)
		return rc;
	s3b_files_writer_conf(m, &wc, false);
	wc.size_hint = fh->bsrc_size;
	guess = s3b_guess_part_size(fh->bsrc_etag, fh->bsrc_size);
	/* reproduce the source's part layout (so its multipart ETag checks the
	 * stream) when its parts are of the usual sizes; huge parts would cost
	 * (parallel + 1) times their size in memory */
	if (guess && guess <= BRIDGE_MAX_MATCHED_PART && !m->conf.part_size)
		wc.part_size = guess;
	if (fh->writer)
		s3b_writer_close(fh->writer);
	fh->writer = NULL;
	rc = s3b_writer_open(&fh->b->store, fh->key, &fh->meta, &wc, &fh->writer);
	if (!rc)
		rc = s3b_reader_open(&fh->bsrc->store, fh->bsrc_key, fh->bsrc_size, fh->bsrc_etag,
				     &rcf, &r);
	if (!rc && !(buf = malloc(BRIDGE_CHUNK)))
		rc = ENOMEM;
	while (!rc && off < fh->bsrc_size) {
		size_t got = 0;

		rc = s3b_reader_read(r, off, buf, BRIDGE_CHUNK, &got);
		if (!rc && got == 0)
			rc = EIO; /* shorter than listed: the source changed */
		if (!rc)
			rc = s3b_writer_write(fh->writer, off, buf, got);
		off += got;
	}
	free(buf);
	if (r)
		s3b_reader_close(r);
	return bridge_done(fh, rc);
}

/* A small source (one GET) through the daemon: the GET's own headers
 * carry its metadata (no HEAD), its body is checked against an MD5 ETag
 * before a byte is used, and the destination gets every digest.  Two
 * requests per object.  Caller holds fh->lock. */
static int bridge_small(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_writer_conf wc;
	struct s3_object_info info;
	struct s3b_posix_meta own;
	struct s3_meta merged;
	struct s3_error err;
	struct s3b_etag e;
	uint8_t *buf = malloc(fh->bsrc_size);
	size_t got = 0;
	int rc = buf ? 0 : ENOMEM;

	s3b_etag_parse(fh->bsrc_etag, &e);
	for (unsigned tries = 0; !rc; tries++) {
		uint8_t md5[16];

		memset(&info, 0, sizeof(info));
		rc = s3_get_object(fh->bsrc->client, fh->bsrc_key, 0, fh->bsrc_size, buf, &got,
				   fh->bsrc_etag[0] ? fh->bsrc_etag : NULL, &info, &err);
		if (!rc && got != fh->bsrc_size)
			rc = ESTALE; /* changed since it was listed */
		if (rc || e.kind != S3B_ETAG_MD5)
			break;
		s3b_md5(buf, got, md5);
		if (memcmp(md5, e.md5, 16) == 0)
			break;
		s3_object_info_free(&info);
		if (tries == 2) {
			LOG_E("%s/%s: the source's bytes do not match its ETag, three times",
			      fh->bsrc->spec.name, fh->bsrc_key);
			rc = EIO;
			break;
		}
		LOG_W("%s/%s: the source's bytes do not match its ETag (damaged in transit); "
		      "reading it again", fh->bsrc->spec.name, fh->bsrc_key);
	}
	if (!rc) {
		s3b_meta_parse(&fh->meta, &own);
		rc = s3b_meta_copy(&merged, &info.meta);
		if (!rc && !(rc = s3b_meta_apply(&merged, &own))) {
			s3_meta_free(&fh->meta);
			fh->meta = merged;
		} else if (!rc) {
			s3_meta_free(&merged);
		}
		s3_object_info_free(&info);
	}
	if (!rc) {
		s3b_files_writer_conf(m, &wc, false);
		wc.size_hint = fh->bsrc_size;
		if (fh->writer)
			s3b_writer_close(fh->writer);
		fh->writer = NULL;
		rc = s3b_writer_open(&fh->b->store, fh->key, &fh->meta, &wc, &fh->writer);
	}
	if (!rc)
		rc = s3b_writer_write(fh->writer, 0, buf, got);
	free(buf);
	return bridge_done(fh, rc);
}

/* Turn a pending bridge copy into data in the writer (a write came). */
int s3b_bridge_materialize(struct s3b_mount *m, struct s3b_fh *fh)
{
	int rc = bridge_pipe(m, fh);

	if (rc)
		fh->sticky_err = EIO;
	return rc ? EIO : 0;
}

/* The pending bridge copy done server-side (servercopy.h).  -1 when the
 * object is done and journaled; ENOTSUP or EAGAIN: copy the bytes instead;
 * another errno: failed for good.  Caller holds fh->lock. */
static int bridge_server(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_server_copy_result res;
	struct s3b_obj_record r;
	struct s3b_node n;
	char why[160];
	int rc;

	rc = merge_source_meta(fh);
	if (!rc)
		rc = s3b_server_copy_run(&(struct s3b_server_copy){
			.src = fh->bsrc, .src_key = fh->bsrc_key, .src_etag = fh->bsrc_etag,
			.size = fh->bsrc_size, .dst = fh->b, .key = fh->key, .meta = &fh->meta,
			.parallel = m->conf.parallel }, &res);
	if (rc == ENOTSUP || rc == EAGAIN)
		return rc;
	if (rc) {
		s3b_dircache_forget(m->dc, fh->b->index, fh->key);
		fh->bridge_pending = false;
		fh->sticky_err = EIO;
		return EIO;
	}
	s3b_node_written(&n, fh->bsrc_size, res.etag, &fh->meta);
	s3b_dircache_put(m->dc, fh->b->index, fh->key, &n, true);
	if (fh->writer)
		s3b_writer_close(fh->writer);
	fh->writer = NULL;
	fh->bridge_pending = false;
	fh->dirty = false;
	fh->size = fh->bsrc_size;
	memcpy(fh->etag, res.etag, sizeof(fh->etag));
	if (res.parts)
		snprintf(why, sizeof(why), "server-side copy in %u parts of the source's layout: no "
			 "bytes crossed the bridge; ETag equal to the source's", res.parts);
	else
		snprintf(why, sizeof(why), "server-side copy: no bytes crossed the bridge; ETag "
			 "equal to the source's");
	LOG_I("%s/%s: verified, %llu bytes, %s %s/%s, ETag %s", fh->b->spec.name, fh->key,
	      (unsigned long long)fh->bsrc_size, res.parts ? "server-side multipart copy of" :
	      "server-side copy of", fh->bsrc->spec.name, fh->bsrc_key, res.etag);
	memset(&r, 0, sizeof(r));
	r.path = fh->path + 1;
	r.src_bucket = fh->bsrc->spec.bucket;
	r.src_key = fh->bsrc_key;
	r.src_etag = fh->bsrc_etag;
	r.src_size = (int64_t)fh->bsrc_size;
	r.dst_bucket = fh->b->spec.bucket;
	r.dst_key = fh->key;
	r.dst_etag = res.etag;
	r.size = fh->bsrc_size;
	r.parts = res.parts;
	r.status = S3B_ST_VERIFIED;
	s3b_record_set_posix(&r, &n.pm);
	r.error = why;
	r.attempts = res.attempts;
	r.started = fh->started;
	rc = s3b_files_jfinish(m, fh->jid, &r);
	fh->jid = 0;
	if (rc) {
		fh->sticky_err = EIO;
		return EIO;
	}
	return -1;
}

/* Run a pending bridge copy at commit: server-side where both buckets share
 * an endpoint and the copy's ETag can be checked against the source's
 * (servercopy.h); otherwise piped through the daemon.  Returns -1 when the object is done
 * (server-side), 0 when the writer holds it for the usual commit, or an
 * errno.  Caller holds fh->lock. */
int s3b_bridge_run(struct s3b_mount *m, struct s3b_fh *fh)
{
	int rc;

	if (fh->bsrc_size <= BRIDGE_SMALL) {
		/* one GET and one PUT, every digest known: cheaper than a
		 * server-side copy's HEAD and copy, and fully verified */
		rc = bridge_small(m, fh);
		if (rc) {
			fh->sticky_err = EIO;
			return EIO;
		}
		return 0;
	}
	if (s3b_same_endpoint(fh->b, fh->bsrc)) {
		rc = bridge_server(m, fh);
		if (rc != ENOTSUP && rc != EAGAIN)
			return rc;
		/* not possible server-side, or not verifiable (the copy was
		 * deleted): the data goes through the daemon instead */
	}
	rc = bridge_pipe(m, fh);
	if (rc) {
		fh->sticky_err = EIO;
		return EIO;
	}
	return 0;
}

int s3b_file_copy_range(struct s3b_mount *m, struct s3b_fh *src, off_t off_in,
			struct s3b_fh *dst, off_t off_out, size_t len, size_t *copied)
{
	int rc = 0;

	*copied = 0;
	if (!src || !dst || !dst->writable || src->writable)
		return EOPNOTSUPP;
	if (off_in < 0 || off_out < 0)
		return EINVAL;
	pthread_mutex_lock(&dst->lock);
	if (dst->bridge_pending) {
		/* cp asks again after the whole file: nothing left */
		if (dst->bsrc == src->b && strcmp(dst->bsrc_key, src->key) == 0 &&
		    (uint64_t)off_in >= dst->bsrc_size && (uint64_t)off_out == dst->bsrc_size)
			rc = 0;
		else
			rc = EIO;
	} else if (off_in != 0 || off_out != 0 || (dst->writer && s3b_writer_size(dst->writer)) ||
		   len < src->size) {
		rc = EOPNOTSUPP; /* partial copies go through the kernel */
	} else if (src->size > 0) {
		free(dst->bsrc_key);
		dst->bsrc_key = strdup(src->key);
		if (!dst->bsrc_key) {
			rc = ENOMEM;
		} else {
			dst->bsrc = src->b;
			dst->bsrc_size = src->size;
			memcpy(dst->bsrc_etag, src->etag, sizeof(dst->bsrc_etag));
			dst->bridge_pending = true;
			dst->dirty = true;
			s3b_files_jbegin(m, dst);
			*copied = (size_t)src->size;
		}
	}
	pthread_mutex_unlock(&dst->lock);
	return rc;
}
