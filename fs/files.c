/*
 * fs/files.c — open files: the read side (a reader per handle, made on the
 * first read) and the write side (a writer: the streaming bridge), and the
 * commit at flush, where verification happens.  close(2) returns what
 * flush returns, so a file's close fails unless its object is complete and
 * verified.
 *
 * What it does not do: no namespace changes other than the object being
 * written (objops.c), no S3 requests of its own except reading an existing
 * object into a writer that modifies it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsint.h"
#include "log.h"

#define SEED_CHUNK (8u << 20)

static void fh_table_add(struct s3b_mount *m, struct s3b_fh *fh)
{
	pthread_mutex_lock(&m->open_lock);
	fh->refs = 1;
	fh->next = m->open_files;
	m->open_files = fh;
	pthread_mutex_unlock(&m->open_lock);
}

static void fh_free(struct s3b_fh *fh)
{
	if (fh->reader)
		s3b_reader_close(fh->reader);
	if (fh->writer)
		s3b_writer_close(fh->writer);
	s3_meta_free(&fh->meta);
	free(fh->key);
	free(fh->path);
	pthread_mutex_destroy(&fh->lock);
	free(fh);
}

struct s3b_fh *s3b_file_find(struct s3b_mount *m, const char *path)
{
	struct s3b_fh *fh;

	pthread_mutex_lock(&m->open_lock);
	for (fh = m->open_files; fh; fh = fh->next)
		if (fh->writable && strcmp(fh->path, path) == 0) {
			fh->refs++;
			break;
		}
	pthread_mutex_unlock(&m->open_lock);
	return fh;
}

void s3b_file_unref(struct s3b_mount *m, struct s3b_fh *fh)
{
	bool last;

	pthread_mutex_lock(&m->open_lock);
	last = --fh->refs == 0;
	if (last) {
		struct s3b_fh **pp;

		for (pp = &m->open_files; *pp; pp = &(*pp)->next)
			if (*pp == fh) {
				*pp = fh->next;
				break;
			}
	}
	pthread_mutex_unlock(&m->open_lock);
	if (last)
		fh_free(fh);
}

static struct s3b_fh *fh_new(struct s3b_bucket *b, const char *key, const char *path)
{
	struct s3b_fh *fh = calloc(1, sizeof(*fh));

	if (!fh)
		return NULL;
	pthread_mutex_init(&fh->lock, NULL);
	fh->b = b;
	fh->key = strdup(key);
	fh->path = strdup(path);
	if (!fh->key || !fh->path) {
		fh_free(fh);
		return NULL;
	}
	return fh;
}

static void writer_conf(const struct s3b_mount *m, struct s3b_writer_conf *wc, bool spool)
{
	memset(wc, 0, sizeof(*wc));
	wc->part_size = m->conf.part_size;
	wc->parallel = m->conf.parallel;
	wc->budget = m->budget;
	wc->pool = m->pool;
	wc->spool_dir = m->conf.spool_dir;
	wc->spool = spool;
}

/* Copy the stored object into a spool-mode writer (to modify it). */
static int seed_writer(struct s3b_fh *fh, uint64_t size)
{
	const struct s3b_store *st = &fh->b->store;
	uint8_t *buf = size ? malloc(size < SEED_CHUNK ? size : SEED_CHUNK) : NULL;
	uint64_t off = 0;
	int rc = 0;

	if (size && !buf)
		return ENOMEM;
	while (off < size) {
		size_t want = size - off < SEED_CHUNK ? (size_t)(size - off) : SEED_CHUNK, got = 0;
		struct s3_error err;

		rc = st->ops->get(st->inst, fh->key, off, want, buf, &got, fh->etag[0] ? fh->etag : NULL,
				  &err);
		if (!rc && got != want)
			rc = EIO;
		if (!rc)
			rc = s3b_writer_write(fh->writer, off, buf, got);
		if (rc)
			break;
		off += got;
	}
	free(buf);
	return rc;
}

/* Give fh a writer: streaming for new or truncated content, spool mode
 * seeded with the stored bytes otherwise. */
static int attach_writer(struct s3b_mount *m, struct s3b_fh *fh, bool keep_content)
{
	struct s3b_writer_conf wc;
	int rc;

	writer_conf(m, &wc, keep_content && fh->size > 0);
	rc = s3b_writer_open(&fh->b->store, fh->key, &fh->meta, &wc, &fh->writer);
	if (rc)
		return rc;
	if (keep_content && fh->size > 0) {
		rc = seed_writer(fh, fh->size);
		if (rc) {
			LOG_E("%s/%s: cannot load the object to modify it: %s", fh->b->spec.name,
			      fh->key, strerror(rc));
			s3b_writer_close(fh->writer);
			fh->writer = NULL;
			return rc;
		}
	}
	return 0;
}

/* Metadata of a stored object, for keeping it across a rewrite. */
static void load_meta(struct s3b_fh *fh)
{
	struct s3_object_info info;
	struct s3_error err;

	if (s3_head_object(fh->b->client, fh->key, &info, &err) == 0) {
		s3_meta_free(&fh->meta);
		fh->meta = info.meta;
		memset(&info.meta, 0, sizeof(info.meta));
		memcpy(fh->etag, info.etag, sizeof(fh->etag));
		fh->size = info.size;
		s3_object_info_free(&info);
	}
}

int s3b_file_open(struct s3b_mount *m, const char *path, int flags, struct s3b_fh **out)
{
	struct s3b_path p;
	struct s3b_node n;
	struct s3b_fh *fh;
	int acc = flags & O_ACCMODE, rc;

	rc = s3b_path_resolve(m, path, &p);
	if (rc)
		return rc;
	if (p.kind != S3B_P_OBJECT) {
		rc = p.kind == S3B_P_INTEGRITY ? (acc == O_RDONLY ? ENOENT : EROFS) : EISDIR;
		goto out;
	}
	rc = s3b_node_lookup(m, p.b, p.key, &n);
	if (rc)
		goto out;
	if (!n.is_file) {
		rc = EISDIR;
		goto out;
	}
	if (acc != O_RDONLY && p.b->spec.ro) {
		rc = EROFS;
		goto out;
	}
	fh = fh_new(p.b, p.key, path);
	if (!fh) {
		rc = ENOMEM;
		goto out;
	}
	fh->size = n.size;
	memcpy(fh->etag, n.etag, sizeof(fh->etag));
	if (acc != O_RDONLY) {
		bool trunc = (flags & O_TRUNC) || n.size == 0;

		fh->writable = true;
		load_meta(fh); /* keep mode, times and user metadata across the rewrite */
		if (trunc) {
			fh->size = 0;
			rc = attach_writer(m, fh, false);
			if (rc) {
				fh_free(fh);
				goto out;
			}
			fh->dirty = n.size != 0; /* O_TRUNC alone changes the object */
		}
		/* otherwise the writer comes with the first write or truncate:
		 * opening to change only metadata (touch, futimens) costs no copy */
	}
	fh_table_add(m, fh);
	*out = fh;
out:
	s3b_path_free(&p);
	return rc;
}

int s3b_file_create(struct s3b_mount *m, const char *path, int flags, mode_t mode, uid_t uid,
		    gid_t gid, struct s3b_fh **out)
{
	struct s3b_posix_meta pm = { .has_mode = true, .has_uid = true, .has_gid = true,
				     .has_mtime = true };
	struct s3b_path p;
	struct s3b_fh *fh = NULL;
	struct s3b_node n;
	int rc;

	rc = s3b_path_resolve(m, path, &p);
	if (rc)
		return rc;
	if (p.kind != S3B_P_OBJECT) {
		rc = p.kind == S3B_P_INTEGRITY ? EROFS : EEXIST;
		goto out;
	}
	if (p.b->spec.ro) {
		rc = EROFS;
		goto out;
	}
	/* the kernel asks to create after a negative lookup, but the object may
	 * have appeared since: never truncate what exists unless asked to */
	if (s3b_node_lookup(m, p.b, p.key, &n) == 0) {
		if (flags & O_EXCL)
			rc = EEXIST;
		else if (n.is_dir && !n.is_file)
			rc = EISDIR;
		else
			rc = s3b_file_open(m, path, flags, out);
		goto out;
	}
	fh = fh_new(p.b, p.key, path);
	if (!fh) {
		rc = ENOMEM;
		goto out;
	}
	fh->writable = true;
	fh->dirty = true; /* even an empty file becomes an object */
	pm.mode = S_IFREG | (mode & 07777);
	pm.uid = uid;
	pm.gid = gid;
	clock_gettime(CLOCK_REALTIME, &pm.mtime);
	rc = s3b_meta_apply(&fh->meta, &pm);
	if (!rc)
		rc = attach_writer(m, fh, false);
	if (rc)
		goto out;
	/* visible to getattr right away, as an empty file */
	memset(&n, 0, sizeof(n));
	n.is_file = true;
	n.mtime = pm.mtime;
	n.has_meta = true;
	n.pm = pm;
	s3b_dircache_put(m->dc, p.b->index, p.key, &n, true);
	fh_table_add(m, fh);
	*out = fh;
	fh = NULL;
out:
	if (fh)
		fh_free(fh);
	s3b_path_free(&p);
	return rc;
}

int s3b_file_read(struct s3b_mount *m, struct s3b_fh *fh, char *buf, size_t size, off_t off,
		  size_t *got)
{
	int rc;

	*got = 0;
	if (off < 0)
		return EINVAL;
	pthread_mutex_lock(&fh->lock);
	if (fh->writer) {
		rc = s3b_writer_read(fh->writer, (uint64_t)off, buf, size, got);
		pthread_mutex_unlock(&fh->lock);
		return rc;
	}
	if (!fh->reader) {
		struct s3b_reader_conf rc_conf = {
			.chunk = m->conf.read_chunk, .parallel = m->conf.parallel,
			.budget = m->budget, .pool = m->pool,
		};

		rc = s3b_reader_open(&fh->b->store, fh->key, fh->size, fh->etag, &rc_conf,
				     &fh->reader);
		if (rc) {
			pthread_mutex_unlock(&fh->lock);
			return rc;
		}
	}
	pthread_mutex_unlock(&fh->lock);
	/* the reader is safe for concurrent reads: no lock held across GETs */
	rc = s3b_reader_read(fh->reader, (uint64_t)off, buf, size, got);
	if (rc)
		LOG_E("%s/%s: read at %lld failed: %s", fh->b->spec.name, fh->key, (long long)off,
		      strerror(rc));
	return rc;
}

int s3b_file_write(struct s3b_mount *m, struct s3b_fh *fh, const char *buf, size_t size,
		   off_t off)
{
	int rc = 0;

	if (off < 0)
		return EINVAL;
	pthread_mutex_lock(&fh->lock);
	if (!fh->writable) {
		rc = EBADF;
	} else if (!fh->writer) {
		/* written again after a commit: start from the stored object */
		rc = attach_writer(m, fh, true);
	}
	if (!rc) {
		rc = s3b_writer_write(fh->writer, (uint64_t)off, buf, size);
		if (!rc)
			fh->dirty = true;
	}
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

void s3b_node_written(struct s3b_node *n, uint64_t size, const char *etag,
		      const struct s3_meta *meta)
{
	memset(n, 0, sizeof(*n));
	n->is_file = true;
	n->size = size;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	snprintf(n->etag, sizeof(n->etag), "%s", etag);
	s3b_meta_parse(meta, &n->pm);
	n->has_meta = true;
}

/* Commit fh's writer.  Caller holds fh->lock. */
static int commit_locked(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_write_result res;
	struct s3b_node n;
	bool stale;
	int rc;

	if (!fh->writer || !fh->dirty)
		return fh->sticky_err;
	memset(&res, 0, sizeof(res));
	rc = s3b_writer_commit(fh->writer, fh->key, &res);
	stale = s3b_writer_meta_stale(fh->writer);
	s3b_writer_close(fh->writer);
	fh->writer = NULL;
	fh->dirty = false;
	if (rc) {
		LOG_E("%s/%s: NOT verified, the write failed: %s", fh->b->spec.name, fh->key,
		      res.error[0] ? res.error : strerror(rc));
		s3b_dircache_forget(m->dc, fh->b->index, fh->key);
		fh->sticky_err = EIO;
		return EIO;
	}
	if (stale) {
		/* metadata changed after the upload began: store it now */
		rc = s3b_obj_copy(fh->b, fh->key, fh->b, fh->key, res.size, &fh->meta, res.etag);
		if (rc) {
			LOG_E("%s/%s: data verified but its metadata could not be stored: %s",
			      fh->b->spec.name, fh->key, strerror(rc));
			fh->sticky_err = EIO;
			return EIO;
		}
	}
	fh->size = res.size;
	memcpy(fh->etag, res.etag, sizeof(fh->etag));
	s3b_node_written(&n, res.size, res.etag, &fh->meta);
	s3b_dircache_put(m->dc, fh->b->index, fh->key, &n, true);
	LOG_I("%s/%s: verified, %llu bytes, %u part(s), ETag %s%s%s", fh->b->spec.name, fh->key,
	      (unsigned long long)res.size, res.parts, res.etag, res.error[0] ? "; " : "",
	      res.error);
	return 0;
}

int s3b_file_flush(struct s3b_mount *m, struct s3b_fh *fh)
{
	int rc;

	if (!fh->writable)
		return 0;
	pthread_mutex_lock(&fh->lock);
	rc = commit_locked(m, fh);
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

int s3b_file_fsync(struct s3b_mount *m, struct s3b_fh *fh)
{
	int rc = 0;

	(void)m;
	pthread_mutex_lock(&fh->lock);
	if (fh->writer)
		rc = s3b_writer_flush(fh->writer);
	pthread_mutex_unlock(&fh->lock);
	return rc ? rc : fh->sticky_err;
}

void s3b_file_release(struct s3b_mount *m, struct s3b_fh *fh)
{
	if (fh->writable) {
		pthread_mutex_lock(&fh->lock);
		if (fh->writer && fh->dirty) {
			/* no flush came (the process died?): commit anyway */
			if (commit_locked(m, fh) == 0)
				LOG_N("%s/%s: committed at release", fh->b->spec.name, fh->key);
		}
		pthread_mutex_unlock(&fh->lock);
	}
	s3b_file_unref(m, fh);
}

int s3b_file_truncate(struct s3b_mount *m, struct s3b_fh *fh, off_t size)
{
	int rc = 0;

	if (size < 0)
		return EINVAL;
	pthread_mutex_lock(&fh->lock);
	if (!fh->writable)
		rc = EBADF;
	else if (!fh->writer)
		rc = attach_writer(m, fh, size > 0);
	if (!rc)
		rc = s3b_writer_truncate(fh->writer, (uint64_t)size);
	if (!rc)
		fh->dirty = true;
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

int s3b_file_getattr(struct s3b_mount *m, struct s3b_fh *fh, struct stat *st)
{
	struct s3b_node n;

	memset(&n, 0, sizeof(n));
	pthread_mutex_lock(&fh->lock);
	n.is_file = true;
	n.size = fh->writer ? s3b_writer_size(fh->writer) : fh->size;
	clock_gettime(CLOCK_REALTIME, &n.mtime);
	s3b_meta_parse(&fh->meta, &n.pm);
	n.has_meta = true;
	pthread_mutex_unlock(&fh->lock);
	if (!fh->writable) {
		struct s3b_node cached;

		if (s3b_dircache_get(m->dc, fh->b->index, fh->key, &cached) == S3B_LK_FOUND &&
		    cached.is_file)
			n = cached;
	}
	s3b_node_stat(m, &n, false, st);
	return 0;
}

int s3b_file_set_posix(struct s3b_mount *m, struct s3b_fh *fh, const struct s3b_posix_meta *pm)
{
	struct s3b_posix_meta cur;
	int rc;

	(void)m;
	pthread_mutex_lock(&fh->lock);
	s3b_meta_parse(&fh->meta, &cur);
	if (pm->has_mode)
		cur.has_mode = true, cur.mode = (cur.mode & S_IFMT ? cur.mode & S_IFMT : S_IFREG) |
						 (pm->mode & 07777);
	if (pm->has_uid)
		cur.has_uid = true, cur.uid = pm->uid;
	if (pm->has_gid)
		cur.has_gid = true, cur.gid = pm->gid;
	if (pm->has_mtime)
		cur.has_mtime = true, cur.mtime = pm->mtime;
	rc = s3b_meta_apply(&fh->meta, &cur);
	if (!rc && fh->writer)
		rc = s3b_writer_set_meta(fh->writer, &fh->meta);
	if (!rc && !fh->writer && !fh->dirty) {
		/* already committed: the stored object must change too */
		pthread_mutex_unlock(&fh->lock);
		return s3b_obj_set_posix(m, fh->path, pm);
	}
	if (!rc) {
		struct s3b_node n;

		if (s3b_dircache_get(m->dc, fh->b->index, fh->key, &n) == S3B_LK_FOUND) {
			n.pm = cur;
			n.has_meta = true;
			s3b_dircache_put(m->dc, fh->b->index, fh->key, &n, false);
		}
	}
	pthread_mutex_unlock(&fh->lock);
	return rc;
}
