/*
 * fs/objops.c — operations on stored objects by name: unlink, mkdir,
 * rmdir, rename (server-side copy then delete), symlinks (s3fs format: the
 * body is the target), metadata changes (a copy onto itself with the new
 * metadata), truncate of a closed object, and the user.s3.* extended
 * attributes.  Buckets mounted ro=1 refuse every change with EROFS before
 * any request is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

#include "buf.h"
#include "fsint.h"
#include "log.h"

#define XATTR_PREFIX "user.s3."
#define XATTR_META "user.s3.meta."

/* Resolve to an object path inside a writable (or any) bucket. */
static int resolve_obj(struct s3b_mount *m, const char *path, bool write, struct s3b_path *p)
{
	int rc = s3b_path_resolve(m, path, p);

	if (rc)
		return rc;
	if (p->kind == S3B_P_INTEGRITY)
		rc = write ? EROFS : ENOTSUP;
	else if (p->kind != S3B_P_OBJECT)
		rc = write ? EPERM : 0;
	else if (write && p->b->spec.ro)
		rc = EROFS;
	if (rc)
		s3b_path_free(p);
	return rc;
}

bool s3b_same_endpoint(const struct s3b_bucket *a, const struct s3b_bucket *b)
{
	return strcmp(a->cfg.endpoint, b->cfg.endpoint) == 0 &&
	       ((a->cfg.access_key == NULL && b->cfg.access_key == NULL) ||
		(a->cfg.access_key && b->cfg.access_key &&
		 strcmp(a->cfg.access_key, b->cfg.access_key) == 0));
}

static void log_s3_error(const struct s3b_bucket *b, const char *what, const char *key,
			 const struct s3_error *err)
{
	char text[512];

	s3_error_format(err, text, sizeof(text));
	LOG_E("%s/%s: %s failed: %s", b->spec.name, key, what, text);
}

int s3b_obj_copy(struct s3b_bucket *src, const char *src_key, struct s3b_bucket *dst,
		 const char *dst_key, uint64_t size, const struct s3_meta *meta,
		 char etag_out[S3B_ETAG_MAX])
{
	struct s3_error err;
	char *upload = NULL, etag[S3B_ETAG_MAX];
	struct s3_part *parts = NULL;
	const uint64_t psz = 1ull << 30; /* 1 GiB per UploadPartCopy */
	size_t n;
	int rc;

	if (size <= S3_MAX_COPY_SIZE) {
		rc = s3_copy_object(dst->client, src->spec.bucket, src_key, dst_key, meta,
				    etag_out ? etag_out : etag, &err);
		if (rc)
			log_s3_error(dst, "CopyObject", dst_key, &err);
		return rc;
	}
	/* multipart copy: the source's metadata must be passed explicitly */
	struct s3_object_info info;
	const struct s3_meta *use = meta;

	memset(&info, 0, sizeof(info));
	if (!use) {
		rc = s3_head_object(src->client, src_key, &info, &err);
		if (rc) {
			log_s3_error(src, "HeadObject", src_key, &err);
			return rc;
		}
		use = &info.meta;
	}
	n = (size_t)((size + psz - 1) / psz);
	parts = calloc(n, sizeof(*parts));
	rc = parts ? s3_create_multipart(dst->client, dst_key, use, &upload, &err) : ENOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		uint64_t off = i * psz, len = size - off < psz ? size - off : psz;

		parts[i].number = (unsigned)i + 1;
		rc = s3_upload_part_copy(dst->client, dst_key, upload, parts[i].number,
					 src->spec.bucket, src_key, off, len, parts[i].etag, &err);
	}
	if (!rc)
		rc = s3_complete_multipart(dst->client, dst_key, upload, parts, n,
					   etag_out ? etag_out : etag, &err);
	if (rc) {
		log_s3_error(dst, "multipart copy", dst_key, &err);
		if (upload)
			s3_abort_multipart(dst->client, dst_key, upload, NULL);
	}
	free(upload);
	free(parts);
	s3_object_info_free(&info);
	return rc;
}

int s3b_obj_unlink(struct s3b_mount *m, const char *path)
{
	struct s3b_path p;
	struct s3b_node n;
	struct s3_error err;
	int rc = s3b_parked_unlink(m, path);

	if (rc != ENOENT)
		return rc;
	rc = resolve_obj(m, path, true, &p);
	if (rc)
		return rc;
	rc = s3b_node_lookup(m, p.b, p.key, &n);
	if (!rc && !n.is_file)
		rc = EISDIR;
	if (!rc) {
		rc = s3_delete_object(p.b->client, p.key, &err);
		if (rc == ENOENT)
			rc = 0;
		if (rc) {
			log_s3_error(p.b, "DeleteObject", p.key, &err);
			s3b_dircache_forget(m->dc, p.b->index, p.key);
		} else {
			/* gone: the directory's cached listing stays complete */
			s3b_dircache_put_absent(m->dc, p.b->index, p.key);
		}
	}
	s3b_path_free(&p);
	return rc;
}

/* PUT a directory marker "key/" carrying pm (s3fs style: mode without
 * type bits, Content-Type application/x-directory). */
static int put_marker(struct s3b_bucket *b, const char *key, const struct s3b_posix_meta *pm)
{
	struct s3_meta meta = { 0 };
	struct s3b_posix_meta mpm = *pm;
	struct s3_error err;
	char *mk = s3b_dir_prefix(key);
	int rc;

	if (!mk)
		return ENOMEM;
	mpm.mode &= 07777;
	meta.content_type = strdup("application/x-directory");
	rc = meta.content_type ? s3b_meta_apply(&meta, &mpm) : ENOMEM;
	if (!rc)
		rc = s3_put_object(b->client, mk, "", 0, &meta, NULL, &err);
	if (rc)
		log_s3_error(b, "PutObject (directory marker)", mk, &err);
	s3_meta_free(&meta);
	free(mk);
	return rc;
}

int s3b_obj_mkdir(struct s3b_mount *m, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct s3b_posix_meta pm = { .has_mode = true, .has_uid = true, .has_gid = true,
				     .has_mtime = true, .mode = mode & 07777, .uid = uid,
				     .gid = gid };
	struct s3b_path p;
	struct s3b_node n;
	int rc = resolve_obj(m, path, true, &p);

	if (rc)
		return rc == EPERM ? EEXIST : rc;
	if (s3b_node_lookup(m, p.b, p.key, &n) == 0 && n.is_dir) {
		rc = EEXIST;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &pm.mtime);
	rc = put_marker(p.b, p.key, &pm);
	if (!rc) {
		struct s3b_node d;
		uint64_t gen = s3b_dircache_generation(m->dc);

		if (s3b_dircache_get(m->dc, p.b->index, p.key, &d) != S3B_LK_FOUND)
			memset(&d, 0, sizeof(d));
		d.is_dir = true;
		s3b_dircache_put(m->dc, p.b->index, p.key, &d, true);
		/* a new directory is empty: its listing is known */
		s3b_dircache_set_complete(m->dc, p.b->index, p.key, true, gen);
	}
out:
	s3b_path_free(&p);
	return rc;
}

int s3b_obj_rmdir(struct s3b_mount *m, const char *path)
{
	struct s3b_path p;
	struct s3_list_params lp = { .max_keys = 2 };
	struct s3_list_page page;
	struct s3_error err;
	char *prefix = NULL;
	int rc = resolve_obj(m, path, true, &p);

	if (rc)
		return rc == EPERM ? EBUSY : rc;
	prefix = s3b_dir_prefix(p.key);
	if (!prefix) {
		rc = ENOMEM;
		goto out;
	}
	lp.prefix = prefix;
	rc = s3_list_objects(p.b->client, &lp, &page, &err);
	if (rc)
		goto out;
	for (size_t i = 0; i < page.n_entries; i++)
		if (strcmp(page.entries[i].key, prefix) != 0)
			rc = ENOTEMPTY;
	bool had_marker = false;
	for (size_t i = 0; i < page.n_entries; i++)
		had_marker |= strcmp(page.entries[i].key, prefix) == 0;
	s3_list_page_free(&page);
	if (!rc && !had_marker) {
		struct s3b_node n;

		/* nothing under it: it exists only if the cache thinks so */
		if (s3b_node_lookup(m, p.b, p.key, &n) != 0 || !n.is_dir)
			rc = ENOENT;
	}
	if (!rc && had_marker) {
		rc = s3_delete_object(p.b->client, prefix, &err);
		if (rc == ENOENT)
			rc = 0;
		if (rc)
			log_s3_error(p.b, "DeleteObject (directory marker)", prefix, &err);
	}
	if (!rc) {
		s3b_dircache_forget_tree(m->dc, p.b->index, p.key);
		s3b_dircache_put_absent(m->dc, p.b->index, p.key);
	}
out:
	free(prefix);
	s3b_path_free(&p);
	return rc;
}

/* Rename every object under a directory (not atomic: copy all, then
 * delete all; a failure midway leaves both trees, never a lost object). */
static int rename_tree(struct s3b_mount *m, struct s3b_bucket *sb, const char *skey,
		       struct s3b_bucket *db, const char *dkey)
{
	char *sp = s3b_dir_prefix(skey), *dp = s3b_dir_prefix(dkey), *token = NULL;
	size_t spl = sp ? strlen(sp) : 0;
	struct s3_list_params lp = { .prefix = sp };
	struct s3_list_page page;
	struct s3_error err;
	char **done = NULL;
	size_t n_done = 0, cap = 0;
	int rc = sp && dp ? 0 : ENOMEM;

	while (!rc) {
		lp.continuation = token;
		rc = s3_list_objects(sb->client, &lp, &page, &err);
		if (rc)
			break;
		for (size_t i = 0; !rc && i < page.n_entries; i++) {
			const struct s3_list_entry *e = &page.entries[i];
			struct s3b_buf nk = S3B_BUF_INIT;

			if (s3b_buf_puts(&nk, dp) || s3b_buf_puts(&nk, e->key + spl)) {
				rc = ENOMEM;
			} else {
				rc = s3b_obj_copy(sb, e->key, db, nk.data, e->size, NULL, NULL);
			}
			s3b_buf_free(&nk);
			if (!rc) {
				if (n_done == cap) {
					char **nd = realloc(done, (cap = cap ? cap * 2 : 64) * sizeof(*nd));

					if (!nd) {
						rc = ENOMEM;
						break;
					}
					done = nd;
				}
				if (!(done[n_done] = strdup(e->key)))
					rc = ENOMEM;
				else
					n_done++;
			}
		}
		free(token);
		token = page.truncated && page.next_token ? strdup(page.next_token) : NULL;
		bool more = page.truncated;
		s3_list_page_free(&page);
		if (!more || (!token && !rc)) {
			if (more)
				rc = ENOMEM;
			break;
		}
	}
	/* delete the sources only when every copy succeeded */
	for (size_t i = 0; !rc && i < n_done; i += 1000) {
		size_t cnt = n_done - i < 1000 ? n_done - i : 1000;
		struct s3_delete_failure *f = NULL;
		size_t nf = 0;

		rc = s3_delete_objects(sb->client, (const char *const *)done + i, cnt, &f, &nf, &err);
		if (!rc && nf) {
			LOG_E("%s/%s: %zu object(s) could not be deleted after the rename (first: %s "
			      "%s)",
			      sb->spec.name, skey, nf, f[0].key, f[0].code);
			rc = EIO;
		}
		s3_delete_failures_free(f, nf);
	}
	for (size_t i = 0; i < n_done; i++)
		free(done[i]);
	free(done);
	free(token);
	free(sp);
	free(dp);
	s3b_dircache_forget_tree(m->dc, sb->index, skey);
	s3b_dircache_forget_tree(m->dc, db->index, dkey);
	return rc;
}

int s3b_obj_rename(struct s3b_mount *m, const char *from, const char *to, unsigned flags)
{
	struct s3b_path a, b;
	struct s3b_node sn, dn;
	struct s3b_fh *open_fh;
	struct s3_error err;
	char etag[S3B_ETAG_MAX];
	int rc;

	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return EINVAL;
	rc = resolve_obj(m, from, true, &a);
	if (rc)
		return rc;
	rc = resolve_obj(m, to, true, &b);
	if (rc) {
		s3b_path_free(&a);
		return rc;
	}
	rc = s3b_parked_rename(m, from, b.b, b.key);
	if (rc != ENOENT)
		goto out; /* an rsync temporary file: committed under its final name */
	rc = 0;
	if (a.b != b.b && !s3b_same_endpoint(a.b, b.b)) {
		rc = EXDEV; /* mv falls back to copy and delete */
		goto out;
	}
	/* an open, written file is committed first */
	open_fh = s3b_file_find(m, from);
	if (open_fh) {
		rc = s3b_file_flush(m, open_fh);
		s3b_file_unref(m, open_fh);
		if (rc)
			goto out;
	}
	rc = s3b_node_lookup(m, a.b, a.key, &sn);
	if (rc)
		goto out;
	int drc = s3b_node_lookup(m, b.b, b.key, &dn);
	if (drc == 0 && (flags & RENAME_NOREPLACE)) {
		rc = EEXIST;
		goto out;
	}
	if (sn.is_file) {
		if (drc == 0 && dn.is_dir && !dn.is_file) {
			rc = EISDIR;
			goto out;
		}
		rc = s3b_obj_copy(a.b, a.key, b.b, b.key, sn.size, NULL, etag);
		if (rc)
			goto out;
		rc = s3_delete_object(a.b->client, a.key, &err);
		if (rc == ENOENT)
			rc = 0;
		if (rc)
			log_s3_error(a.b, "DeleteObject (rename source)", a.key, &err);
		s3b_dircache_forget(m->dc, a.b->index, a.key);
		s3b_dircache_put_absent(m->dc, a.b->index, a.key);
		sn.is_dir = false;
		snprintf(sn.etag, sizeof(sn.etag), "%s", etag);
		s3b_dircache_forget(m->dc, b.b->index, b.key);
		s3b_dircache_put(m->dc, b.b->index, b.key, &sn, true);
	} else {
		if (drc == 0 && dn.is_file && !dn.is_dir) {
			rc = ENOTDIR;
			goto out;
		}
		rc = rename_tree(m, a.b, a.key, b.b, b.key);
	}
out:
	s3b_path_free(&a);
	s3b_path_free(&b);
	return rc;
}

int s3b_obj_symlink(struct s3b_mount *m, const char *target, const char *path, uid_t uid,
		    gid_t gid)
{
	struct s3b_posix_meta pm = { .has_mode = true, .has_uid = true, .has_gid = true,
				     .has_mtime = true, .mode = S_IFLNK | 0777, .uid = uid,
				     .gid = gid };
	struct s3_meta meta = { 0 };
	struct s3b_path p;
	struct s3b_node n;
	struct s3_error err;
	char etag[S3B_ETAG_MAX];
	int rc = resolve_obj(m, path, true, &p);

	if (rc)
		return rc == EPERM ? EEXIST : rc;
	if (s3b_node_lookup(m, p.b, p.key, &n) == 0) {
		rc = EEXIST;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &pm.mtime);
	rc = s3b_meta_apply(&meta, &pm);
	if (!rc)
		rc = s3_put_object(p.b->client, p.key, target, strlen(target), &meta, etag, &err);
	if (rc) {
		log_s3_error(p.b, "PutObject (symlink)", p.key, &err);
	} else {
		s3b_node_written(&n, strlen(target), etag, &meta);
		s3b_dircache_put(m->dc, p.b->index, p.key, &n, true);
	}
out:
	s3_meta_free(&meta);
	s3b_path_free(&p);
	return rc;
}

int s3b_obj_readlink(struct s3b_mount *m, const char *path, char *buf, size_t size)
{
	struct s3b_path p;
	struct s3b_node n;
	struct s3_error err;
	size_t got = 0;
	int rc = resolve_obj(m, path, false, &p);

	if (rc)
		return rc;
	if (p.kind != S3B_P_OBJECT) {
		rc = EINVAL;
		goto out;
	}
	rc = s3b_node_lookup(m, p.b, p.key, &n);
	if (!rc && (!n.is_file || !n.has_meta || (n.pm.mode & S_IFMT) != S_IFLNK))
		rc = EINVAL;
	if (!rc && size == 0)
		rc = EINVAL;
	if (!rc)
		rc = s3_get_object(p.b->client, p.key, 0, size - 1, buf, &got, NULL, NULL, &err);
	if (!rc)
		buf[got] = '\0';
out:
	s3b_path_free(&p);
	return rc;
}

/* Store new metadata on a closed object: a copy onto itself. */
/* The journal's record of key (when the mount wrote it) takes the new
 * attributes, so that a later listing shows them, not the old ones. */
static void journal_restamped(struct s3b_mount *m, struct s3b_bucket *b, const char *key,
			      const char *etag, const struct s3b_posix_meta *pm)
{
	struct s3b_obj_record r;

	if (!m->journal)
		return;
	memset(&r, 0, sizeof(r));
	r.dst_bucket = b->spec.bucket;
	r.dst_key = key;
	r.dst_etag = etag;
	s3b_record_set_posix(&r, pm);
	s3b_journal_set_attrs(m->journal, &r);
}

static int restamp(struct s3b_mount *m, struct s3b_bucket *b, const char *key,
		   const struct s3b_posix_meta *pm, const char *xname, const char *xvalue,
		   size_t xlen, bool xremove, struct s3b_fh *open_fh)
{
	struct s3_object_info info;
	struct s3_error err;
	struct s3b_posix_meta cur;
	struct s3b_node n;
	char etag[S3B_ETAG_MAX];
	int rc;

	rc = s3_head_object(b->client, key, &info, &err);
	if (rc)
		return rc;
	s3b_meta_parse(&info.meta, &cur);
	if (pm) {
		if (pm->has_mode) {
			mode_t type = cur.has_mode && (cur.mode & S_IFMT) ? cur.mode & S_IFMT : S_IFREG;

			cur.has_mode = true;
			cur.mode = type | (pm->mode & 07777);
		}
		if (pm->has_uid)
			cur.has_uid = true, cur.uid = pm->uid;
		if (pm->has_gid)
			cur.has_gid = true, cur.gid = pm->gid;
		if (pm->has_mtime)
			cur.has_mtime = true, cur.mtime = pm->mtime;
		rc = s3b_meta_apply(&info.meta, &cur);
	}
	if (!rc && xname) {
		if (strcmp(xname, "content-type") == 0) {
			free(info.meta.content_type);
			info.meta.content_type = xremove ? NULL : strndup(xvalue, xlen);
		} else if (xremove) {
			for (size_t i = 0; i < info.meta.n; i++)
				if (strcmp(info.meta.kv[i].name, xname) == 0) {
					free(info.meta.kv[i].name);
					free(info.meta.kv[i].value);
					info.meta.kv[i] = info.meta.kv[--info.meta.n];
					break;
				}
		} else {
			char *v = strndup(xvalue, xlen);

			rc = v ? s3_meta_set(&info.meta, xname, v) : ENOMEM;
			free(v);
		}
	}
	if (!rc)
		rc = s3b_obj_copy(b, key, b, key, info.size, &info.meta, etag);
	if (!rc) {
		s3b_node_written(&n, info.size, etag, &info.meta);
		s3b_dircache_put(m->dc, b->index, key, &n, true);
		journal_restamped(m, b, key, etag, &n.pm);
		if (open_fh) {
			/* an open handle (touch, futimens) must see the new values */
			struct s3_meta copy;

			pthread_mutex_lock(&open_fh->lock);
			if (s3b_meta_copy(&copy, &info.meta) == 0) {
				s3_meta_free(&open_fh->meta);
				open_fh->meta = copy;
			}
			memcpy(open_fh->etag, etag, sizeof(open_fh->etag));
			pthread_mutex_unlock(&open_fh->lock);
		}
	}
	s3_object_info_free(&info);
	return rc;
}

int s3b_obj_set_posix(struct s3b_mount *m, const char *path, const struct s3b_posix_meta *pm)
{
	struct s3b_path p;
	struct s3b_node n;
	struct s3b_fh *fh;
	int rc;

	rc = s3b_parked_set_posix(m, path, pm);
	if (rc != ENOENT)
		return rc;
	fh = s3b_file_find(m, path);
	if (fh) {
		bool open_writer;

		pthread_mutex_lock(&fh->lock);
		open_writer = fh->writer != NULL || fh->dirty;
		pthread_mutex_unlock(&fh->lock);
		if (open_writer) {
			rc = s3b_file_set_posix(m, fh, pm);
			s3b_file_unref(m, fh);
			return rc;
		}
	}
	rc = resolve_obj(m, path, true, &p);
	if (rc) {
		if (fh)
			s3b_file_unref(m, fh);
		return rc == EPERM ? 0 : rc; /* the root and bucket tops keep theirs */
	}
	rc = s3b_node_lookup(m, p.b, p.key, &n);
	if (!rc && n.is_file) {
		/* nothing to do when the stored values are already these */
		bool same = n.has_meta && (!pm->has_mode || (n.pm.has_mode &&
				(n.pm.mode & 07777) == (pm->mode & 07777))) &&
			    (!pm->has_uid || (n.pm.has_uid && n.pm.uid == pm->uid)) &&
			    (!pm->has_gid || (n.pm.has_gid && n.pm.gid == pm->gid)) &&
			    (!pm->has_mtime || (n.pm.has_mtime &&
				n.pm.mtime.tv_sec == pm->mtime.tv_sec &&
				n.pm.mtime.tv_nsec == pm->mtime.tv_nsec));

		if (!same)
			rc = restamp(m, p.b, p.key, pm, NULL, NULL, 0, false, fh);
	} else if (!rc) {
		/* a directory: (re)write its marker with the new attributes */
		struct s3b_posix_meta d = *pm;

		d.has_mode = true;
		if (!pm->has_mode)
			d.mode = 0777 & ~m->umask;
		if (!d.has_mtime) {
			d.has_mtime = true;
			clock_gettime(CLOCK_REALTIME, &d.mtime);
		}
		rc = put_marker(p.b, p.key, &d);
	}
	if (fh)
		s3b_file_unref(m, fh);
	s3b_path_free(&p);
	return rc;
}

int s3b_obj_truncate(struct s3b_mount *m, const char *path, off_t size)
{
	struct s3b_fh *fh = s3b_file_find(m, path);
	int rc;

	if (fh) {
		rc = s3b_file_truncate(m, fh, size);
		if (!rc)
			rc = s3b_file_flush(m, fh);
		s3b_file_unref(m, fh);
		return rc;
	}
	rc = s3b_file_open(m, path, O_WRONLY | (size == 0 ? O_TRUNC : 0), &fh);
	if (rc)
		return rc;
	rc = s3b_file_truncate(m, fh, size);
	if (!rc)
		rc = s3b_file_flush(m, fh);
	s3b_file_release(m, fh);
	return rc;
}

/* ---- extended attributes: user.s3.* ---- */

static const char *const ro_attrs[] = { "etag", "storage-class" };

int s3b_obj_getxattr(struct s3b_mount *m, const char *path, const char *name, char *value,
		     size_t size, size_t *len)
{
	struct s3_object_info info;
	struct s3_error err;
	struct s3b_path p;
	const char *v = NULL;
	int rc;

	if (strcmp(name, "user.s3bridge.journal") == 0 && strcmp(path, "/") == 0) {
		/* where the mount's journal is (s3bridge check records its result) */
		v = m->journal_path;
		*len = strlen(v);
		if (size && size < *len)
			return ERANGE;
		if (size)
			memcpy(value, v, *len);
		return 0;
	}
	if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0)
		return ENODATA;
	rc = resolve_obj(m, path, false, &p);
	if (rc)
		return rc == ENOTSUP ? ENODATA : rc;
	if (p.kind != S3B_P_OBJECT) {
		s3b_path_free(&p);
		return ENODATA;
	}
	if (strcmp(name, XATTR_PREFIX "etag") == 0) {
		/* the listing knows it: no request (s3bridge check asks for every object) */
		struct s3b_node n;

		if (s3b_dircache_get(m->dc, p.b->index, p.key, &n) == S3B_LK_FOUND && n.is_file &&
		    n.etag[0]) {
			s3b_path_free(&p);
			*len = strlen(n.etag);
			if (size && size < *len)
				return ERANGE;
			if (size)
				memcpy(value, n.etag, *len);
			return 0;
		}
	}
	rc = s3_head_object(p.b->client, p.key, &info, &err);
	s3b_path_free(&p);
	if (rc)
		return rc == ENOENT ? ENODATA : rc;
	name += strlen(XATTR_PREFIX);
	if (strcmp(name, "etag") == 0)
		v = info.etag;
	else if (strcmp(name, "storage-class") == 0)
		v = info.storage_class[0] ? info.storage_class : "STANDARD";
	else if (strcmp(name, "content-type") == 0)
		v = info.meta.content_type;
	else if (strncmp(name, "meta.", 5) == 0)
		v = s3_meta_get(&info.meta, name + 5);
	if (!v) {
		rc = ENODATA;
	} else {
		*len = strlen(v);
		if (size && size < *len)
			rc = ERANGE;
		else if (size)
			memcpy(value, v, *len);
	}
	s3_object_info_free(&info);
	return rc;
}

int s3b_obj_listxattr(struct s3b_mount *m, const char *path, char *list, size_t size,
		      size_t *len)
{
	struct s3_object_info info;
	struct s3_error err;
	struct s3b_path p;
	struct s3b_buf out = S3B_BUF_INIT;
	int rc = resolve_obj(m, path, false, &p);

	*len = 0;
	if (rc)
		return rc == ENOTSUP ? 0 : rc;
	if (p.kind != S3B_P_OBJECT) {
		s3b_path_free(&p);
		return 0;
	}
	rc = s3_head_object(p.b->client, p.key, &info, &err);
	s3b_path_free(&p);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(ro_attrs) / sizeof(ro_attrs[0]); i++)
		rc |= s3b_buf_printf(&out, "%s%s", XATTR_PREFIX, ro_attrs[i]) ||
		      s3b_buf_putc(&out, '\0');
	if (info.meta.content_type)
		rc |= s3b_buf_printf(&out, "%scontent-type", XATTR_PREFIX) ||
		      s3b_buf_putc(&out, '\0');
	for (size_t i = 0; i < info.meta.n; i++)
		rc |= s3b_buf_printf(&out, "%s%s", XATTR_META, info.meta.kv[i].name) ||
		      s3b_buf_putc(&out, '\0');
	s3_object_info_free(&info);
	if (rc) {
		s3b_buf_free(&out);
		return ENOMEM;
	}
	*len = out.len;
	if (size && size < out.len)
		rc = ERANGE;
	else if (size)
		memcpy(list, out.data, out.len);
	s3b_buf_free(&out);
	return rc;
}

static int xattr_target(const char *name, const char **s3name)
{
	if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0)
		return ENOTSUP; /* ACLs and other namespaces: not stored (cp -a copes) */
	name += strlen(XATTR_PREFIX);
	if (strcmp(name, "content-type") == 0) {
		*s3name = name;
		return 0;
	}
	if (strncmp(name, "meta.", 5) == 0 && name[5]) {
		for (const char *c = name + 5; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '_'))
				return EINVAL;
		*s3name = name + 5;
		return 0;
	}
	return EPERM; /* etag, storage-class: read-only */
}

int s3b_obj_setxattr(struct s3b_mount *m, const char *path, const char *name,
		     const char *value, size_t size, int flags)
{
	const char *s3name;
	struct s3b_path p;
	int rc = xattr_target(name, &s3name);

	(void)flags;
	if (rc)
		return rc;
	rc = resolve_obj(m, path, true, &p);
	if (rc)
		return rc;
	rc = restamp(m, p.b, p.key, NULL, s3name, value, size, false, NULL);
	s3b_path_free(&p);
	return rc;
}

int s3b_obj_removexattr(struct s3b_mount *m, const char *path, const char *name)
{
	const char *s3name;
	struct s3b_path p;
	int rc = xattr_target(name, &s3name);

	if (rc)
		return rc;
	rc = resolve_obj(m, path, true, &p);
	if (rc)
		return rc;
	rc = restamp(m, p.b, p.key, NULL, s3name, NULL, 0, true, NULL);
	s3b_path_free(&p);
	return rc;
}
