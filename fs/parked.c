/*
 * fs/parked.c — rsync's parked temporary files.  rsync's receiver writes
 * ".NAME.XXXXXX" and renames it to NAME; files.c uploads such a file of
 * rsync's straight to NAME's key.  At its close the upload is finished but
 * not committed: the file is parked (struct s3b_parked, in the mount's
 * parked list) until the rename, which commits it under the name it gets,
 * with the usual verification and journal record.  Until then getattr, chmod/chown/
 * utimens and unlink of the temporary name are answered from here.  A file
 * unlinked, found parked for over 10 minutes when another is parked, or
 * still parked at unmount is abandoned (its upload aborted, its journal
 * record failed).
 *
 * What it does not do: no recognising of rsync's files (files.c decides at
 * create), no other renames (objops.c), no data writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files_impl.h"
#include "fsint.h"
#include "log.h"

static void parked_free(struct s3b_parked *p)
{
	if (p->writer)
		s3b_writer_close(p->writer); /* aborts an uncommitted upload */
	s3_meta_free(&p->meta);
	free(p->path);
	free(p->final_key);
	free(p);
}

/* A parked file that will never be committed: recorded, aborted, freed. */
static void parked_abandon(struct s3b_mount *m, struct s3b_parked *p, const char *why)
{
	struct s3b_obj_record r;

	s3b_files_record_from(&r, m, p->path + 1, p->b, p->final_key, p->started, NULL, NULL,
			      S3B_ST_FAILED);
	r.error = why;
	s3b_files_jfinish(m, p->jid, &r);
	parked_free(p);
}

/* Close of an rsync temporary file: upload everything, keep the commit for
 * the rename.  Caller holds fh->lock. */
int s3b_park_locked(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_parked *p, *stale = NULL, **pp;
	struct s3b_node n;
	uint64_t now = s3b_files_mono_ms();
	int rc = s3b_writer_flush(fh->writer);

	if (rc) {
		LOG_E("%s/%s: upload failed: %s", fh->b->spec.name, fh->key, strerror(rc));
		fh->sticky_err = EIO;
		return EIO;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(fh->path)) || s3b_meta_copy(&p->meta, &fh->meta)) {
		if (p)
			parked_free(p);
		return ENOMEM;
	}
	rc = s3b_writer_set_meta(fh->writer, &p->meta);
	if (rc) {
		parked_free(p);
		return rc;
	}
	p->b = fh->b;
	pthread_mutex_lock(&m->open_lock);
	p->suspect = fh->suspect;
	pthread_mutex_unlock(&m->open_lock);
	p->jid = fh->jid;
	p->started = fh->started;
	fh->jid = 0;
	p->opened_ms = fh->opened_ms;
	p->writer_pgid = fh->writer_pgid;
	p->final_key = fh->final_key;
	fh->final_key = NULL;
	p->writer = fh->writer;
	p->size = s3b_writer_size(fh->writer);
	p->parked_ms = now;
	fh->writer = NULL;
	fh->dirty = false;
	pthread_mutex_lock(&m->open_lock);
	/* rsync renames at once; one parked for 10 minutes was abandoned */
	for (pp = &m->parked; *pp;) {
		if (now - (*pp)->parked_ms > 600000) {
			struct s3b_parked *old = *pp;

			*pp = old->next;
			old->next = stale;
			stale = old;
		} else {
			pp = &(*pp)->next;
		}
	}
	p->next = m->parked;
	m->parked = p;
	pthread_mutex_unlock(&m->open_lock);
	while (stale) {
		struct s3b_parked *next = stale->next;

		LOG_W("%s: %s was never renamed; its upload is aborted", stale->b->spec.name,
		      stale->path);
		parked_abandon(m, stale, "never renamed");
		stale = next;
	}
	s3b_node_written(&n, p->size, "", &p->meta);
	s3b_dircache_put(m->dc, fh->b->index, fh->key, &n, true);
	return 0;
}

/* Take path's parked entry out of the table (caller owns it), or NULL. */
static struct s3b_parked *parked_take(struct s3b_mount *m, const char *path)
{
	struct s3b_parked **pp, *p = NULL;

	pthread_mutex_lock(&m->open_lock);
	for (pp = &m->parked; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0) {
			p = *pp;
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&m->open_lock);
	return p;
}

static void parked_put_back(struct s3b_mount *m, struct s3b_parked *p)
{
	pthread_mutex_lock(&m->open_lock);
	p->next = m->parked;
	m->parked = p;
	pthread_mutex_unlock(&m->open_lock);
}

int s3b_parked_getattr(struct s3b_mount *m, const char *path, struct stat *st)
{
	struct s3b_node n;
	int rc = ENOENT;

	if (!m->parked)
		return ENOENT;
	pthread_mutex_lock(&m->open_lock);
	for (struct s3b_parked *p = m->parked; p; p = p->next)
		if (strcmp(p->path, path) == 0) {
			memset(&n, 0, sizeof(n));
			n.is_file = true;
			n.size = p->size;
			s3b_meta_parse(&p->meta, &n.pm);
			n.has_meta = true;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&m->open_lock);
	if (!rc)
		s3b_node_stat(m, &n, false, st);
	return rc;
}

int s3b_parked_set_posix(struct s3b_mount *m, const char *path, const struct s3b_posix_meta *pm)
{
	struct s3b_parked *p = m->parked ? parked_take(m, path) : NULL;
	struct s3b_posix_meta cur;
	int rc;

	if (!p)
		return ENOENT;
	s3b_meta_parse(&p->meta, &cur);
	if (pm->has_mode)
		cur.has_mode = true, cur.mode = S_IFREG | (pm->mode & 07777);
	if (pm->has_uid)
		cur.has_uid = true, cur.uid = pm->uid;
	if (pm->has_gid)
		cur.has_gid = true, cur.gid = pm->gid;
	if (pm->has_mtime)
		cur.has_mtime = true, cur.mtime = pm->mtime;
	rc = s3b_meta_apply(&p->meta, &cur);
	if (!rc)
		rc = s3b_writer_set_meta(p->writer, &p->meta);
	parked_put_back(m, p);
	return rc;
}

int s3b_parked_unlink(struct s3b_mount *m, const char *path)
{
	struct s3b_parked *p = m->parked ? parked_take(m, path) : NULL;
	struct s3b_path pp;

	if (!p)
		return ENOENT;
	if (s3b_path_resolve(m, path, &pp) == 0) {
		/* the temporary name never existed on the server: absent, and
		 * the directory's cached listing stays complete */
		s3b_dircache_put_absent(m->dc, p->b->index, pp.key);
		s3b_path_free(&pp);
	}
	parked_abandon(m, p, "the temporary file was removed before its rename");
	return 0;
}

/* The mount path (without the leading '/') of key in bucket b. */
static void sprintf_path(char *out, const struct s3b_bucket *b, const char *key)
{
	size_t pl = strlen(b->spec.prefix), nl = strlen(b->spec.name);
	const char *rel = strncmp(key, b->spec.prefix, pl) == 0 ? key + pl : key;

	memcpy(out, b->spec.name, nl);
	out[nl] = '/';
	memcpy(out + nl + 1, rel, strlen(rel) + 1);
}

int s3b_parked_rename(struct s3b_mount *m, const char *from, struct s3b_bucket *to_b,
		      const char *to_key)
{
	struct s3b_parked *p = m->parked ? parked_take(m, from) : NULL;
	struct s3b_precommit_ctx pc = { .m = m, .key = to_key };
	struct s3b_write_result res;
	struct s3b_path fp;
	struct s3b_node n;
	const char *key;
	int rc;

	if (!p)
		return ENOENT;
	pc.pgid = p->writer_pgid;
	pc.since = p->opened_ms;
	pc.suspect = &p->suspect;
	/* the upload was created under the predicted name; a single PUT can go
	 * anywhere in the same bucket */
	key = (to_b == p->b && (!s3b_writer_started(p->writer) || strcmp(to_key, p->final_key) == 0))
		      ? to_key : p->final_key;
	memset(&res, 0, sizeof(res));
	s3b_writer_set_precommit(p->writer, s3b_files_precommit, &pc);
	rc = s3b_writer_commit(p->writer, key, &res);
	if (!rc && s3b_writer_meta_stale(p->writer))
		rc = s3b_obj_copy(p->b, key, p->b, key, res.size, &p->meta, res.etag);
	if (!rc && m->conf.verify == S3B_VERIFY_READBACK) {
		struct s3b_fh tmp = { .b = p->b, .key = (char *)key };

		rc = s3b_files_readback(m, &tmp, res.size, res.etag, res.digests.sha256);
		if (rc)
			res.verdict = S3B_ETAG_MISMATCH;
	}
	if (!rc && (to_b != p->b || strcmp(key, to_key) != 0)) {
		/* renamed elsewhere than rsync's pattern says: move it there */
		rc = s3b_obj_copy(p->b, key, to_b, to_key, res.size, NULL, res.etag);
		if (!rc)
			rc = s3_delete_object(p->b->client, key, NULL);
	}
	if (s3b_path_resolve(m, from, &fp) == 0) {
		s3b_dircache_put_absent(m->dc, p->b->index, fp.key); /* as in unlink */
		s3b_path_free(&fp);
	}
	char *to_path = malloc(strlen(to_b->spec.name) + strlen(to_key) + 2);
	struct s3b_obj_record r;

	if (to_path)
		sprintf_path(to_path, to_b, to_key);
	if (rc) {
		LOG_E("%s/%s: NOT verified, the write failed: %s", to_b->spec.name, to_key,
		      res.error[0] ? res.error : strerror(rc));
		if (res.verdict == S3B_ETAG_MISMATCH && !pc.refused)
			s3_delete_object(p->b->client, key, NULL);
		s3b_dircache_forget(m->dc, to_b->index, to_key);
		if (!res.error[0])
			snprintf(res.error, sizeof(res.error), "%s", strerror(rc));
		s3b_files_record_from(&r, m, to_path ? to_path : p->path + 1, to_b, to_key,
				      p->started, &res, pc.paired ? &pc.src : NULL,
				      res.verdict == S3B_ETAG_MISMATCH ? S3B_ST_MISMATCH
								       : S3B_ST_FAILED);
		s3b_files_jfinish(m, p->jid, &r);
		free(to_path);
		parked_free(p);
		return EIO;
	}
	s3b_node_written(&n, res.size, res.etag, &p->meta);
	s3b_dircache_put(m->dc, to_b->index, to_key, &n, true);
	s3b_files_record_from(&r, m, to_path ? to_path : p->path + 1, to_b, to_key, p->started,
			      &res, pc.paired ? &pc.src : NULL, S3B_ST_VERIFIED);
	s3b_record_set_posix(&r, &n.pm);
	rc = s3b_files_jfinish(m, p->jid, &r);
	free(to_path);
	if (rc) {
		parked_free(p);
		return EIO;
	}
	LOG_I("%s/%s: verified, %llu bytes, %u part(s), ETag %s (rsync)%s%s", to_b->spec.name,
	      to_key, (unsigned long long)res.size, res.parts, res.etag,
	      pc.paired ? ", source " : "", pc.paired ? pc.src.key : "");
	parked_free(p);
	return 0;
}

void s3b_parked_abort_all(struct s3b_mount *m)
{
	struct s3b_parked *p;

	pthread_mutex_lock(&m->open_lock);
	p = m->parked;
	m->parked = NULL;
	pthread_mutex_unlock(&m->open_lock);
	while (p) {
		struct s3b_parked *next = p->next;

		LOG_W("%s: %s was never renamed; its upload is aborted", p->b->spec.name, p->path);
		parked_abandon(m, p, "never renamed before the unmount");
		p = next;
	}
}
