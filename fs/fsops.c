/*
 * fs/fsops.c — the FUSE callbacks (libfuse high-level API).  Each is a thin
 * adapter in the manner of libfuse's passthrough examples: unpack the
 * request, call a helper of files.c, objops.c or nodes.c that returns 0
 * or a positive errno, and negate it here, the one place where errno
 * becomes a FUSE reply.
 */
#define FUSE_USE_VERSION 35
#include <fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fsint.h"
#include "log.h"

static struct s3b_mount *mnt(void)
{
	return fuse_get_context()->private_data;
}

static struct s3b_fh *fh_of(const struct fuse_file_info *fi)
{
	return fi ? (struct s3b_fh *)(uintptr_t)fi->fh : NULL;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct s3b_mount *m = mnt();

	cfg->use_ino = 0;
	cfg->nullpath_ok = 0;
	cfg->hard_remove = 1;       /* no .fuse_hidden copies of unlinked open files */
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->entry_timeout = m->conf.attr_timeout;
	cfg->attr_timeout = m->conf.attr_timeout;
	cfg->negative_timeout = m->conf.attr_timeout;
	/* absence and whole listings are trusted no longer than the kernel
	 * trusts a negative entry (another client's new object shows up as
	 * soon as it would without the listing cache) */
	s3b_dircache_set_listing_ttl(m->dc, (unsigned)(m->conf.attr_timeout * 1000.0));
	conn->max_write = 1u << 20;
	conn->max_read = 1u << 20; /* must equal the max_read mount option */
	conn->max_readahead = 1u << 20;
	conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE; /* correctness first */
	return m;
}

static void op_destroy(void *private_data)
{
	s3b_parked_abort_all(private_data);
	s3b_integrity_cleanup(private_data);
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct s3b_mount *m = mnt();
	struct s3b_fh *fh = fh_of(fi);
	struct s3b_path p;
	struct s3b_node n;
	int rc;

	if (fh && fh->integrity)
		return fstat(fh->ifd, st) == 0 ? (st->st_mode = S_IFREG | 0444, 0) : -errno;
	if (fh)
		return -s3b_file_getattr(m, fh, st);
	rc = s3b_path_resolve(m, path, &p);
	if (rc)
		return -rc;
	switch (p.kind) {
	case S3B_P_ROOT:
	case S3B_P_BUCKET:
		s3b_dir_stat(m, 0755, st);
		break;
	case S3B_P_INTEGRITY:
		rc = s3b_integrity_getattr(m, p.rel, st);
		break;
	case S3B_P_OBJECT:
		if (s3b_parked_getattr(m, path, st) == 0)
			break;
		fh = s3b_file_find(m, path);
		if (fh) {
			rc = s3b_file_getattr(m, fh, st);
			s3b_file_unref(m, fh);
			break;
		}
		rc = s3b_node_lookup(m, p.b, p.key, &n);
		if (!rc)
			s3b_node_stat(m, &n, n.is_dir, st);
		break;
	}
	s3b_path_free(&p);
	return -rc;
}

/* ---- directories ---- */

struct dirh {
	enum s3b_path_kind kind;
	struct s3b_dirstream *ds;
	char *irel;                 /* below .integrity/ */
};

/* Is the caller one of s3bridge's own commands (check, status)?  They
 * prove completeness against the server: their listings never come from
 * the cache (cmd_status.c relies on readdir asking the server). */
static bool caller_is_s3bridge(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "s3bridge\n") == 0;
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct s3b_mount *m = mnt();
	struct s3b_path p;
	struct dirh *d;
	struct s3b_node n;
	int rc = s3b_path_resolve(m, path, &p);

	if (rc)
		return -rc;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = ENOMEM;
		goto out;
	}
	d->kind = p.kind;
	if (p.kind == S3B_P_INTEGRITY) {
		struct stat st;

		rc = s3b_integrity_getattr(m, p.rel, &st);
		if (!rc && !S_ISDIR(st.st_mode))
			rc = ENOTDIR;
		if (!rc && !(d->irel = strdup(p.rel)))
			rc = ENOMEM;
	} else if (p.kind == S3B_P_OBJECT || p.kind == S3B_P_BUCKET) {
		if (p.kind == S3B_P_OBJECT) {
			rc = s3b_node_lookup(m, p.b, p.key, &n);
			if (!rc && !n.is_dir)
				rc = ENOTDIR;
		}
		if (!rc)
			rc = s3b_dirstream_open(m, p.b, p.key,
						caller_is_s3bridge(fuse_get_context()->pid), &d->ds);
	}
	if (rc) {
		free(d);
		goto out;
	}
	fi->fh = (uintptr_t)d;
out:
	s3b_path_free(&p);
	return -rc;
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	(void)path;
	if (d) {
		s3b_dirstream_close(d->ds);
		free(d->irel);
		free(d);
	}
	return 0;
}

/* readdir of .integrity/: names from the journal, offsets counted here */
struct ifill {
	void *buf;
	fuse_fill_dir_t fill;
	struct s3b_mount *m;
	size_t skip;      /* items already returned */
	off_t next;       /* offset after the next item */
	enum fuse_fill_dir_flags ff;
};

static int ifill_cb(void *ctx, const char *name, bool is_dir)
{
	struct ifill *f = ctx;
	struct stat st;

	if (f->skip) {
		f->skip--;
		return 0;
	}
	memset(&st, 0, sizeof(st));
	st.st_mode = is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
	if (f->fill(f->buf, name, &st, f->next, 0))
		return 1;
	f->next++;
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct s3b_mount *m = mnt();
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	/* with allow_other, attributes come from a lookup (stored mode bits),
	 * never from a listing's defaults */
	enum fuse_fill_dir_flags ff = (flags & FUSE_READDIR_PLUS) && !m->conf.allow_other
				      ? FUSE_FILL_DIR_PLUS : 0;
	struct stat st;

	(void)path;
	if (off < 0)
		return -EINVAL;
	/* offsets: 1 after ".", 2 after "..", 3+i after item i */
	if (off == 0) {
		s3b_dir_stat(m, 0755, &st);
		if (fill(buf, ".", &st, 1, ff))
			return 0;
		off = 1;
	}
	if (off == 1) {
		s3b_dir_stat(m, 0755, &st);
		if (fill(buf, "..", &st, 2, ff))
			return 0;
		off = 2;
	}
	if (d->kind == S3B_P_ROOT) {
		size_t n_items = m->n_buckets + 1;

		for (size_t i = (size_t)off - 2; i < n_items; i++) {
			const char *name = i < m->n_buckets ? m->buckets[i].spec.name : S3B_INTEGRITY_DIR;

			s3b_dir_stat(m, i < m->n_buckets ? 0755 : 0555, &st);
			if (fill(buf, name, &st, (off_t)i + 3, ff))
				break;
		}
		return 0;
	}
	if (d->kind == S3B_P_INTEGRITY) {
		struct ifill f = { .buf = buf, .fill = fill, .m = m, .skip = (size_t)off - 2,
				   .next = (off_t)off + 1, .ff = ff };

		return -s3b_integrity_list(m, d->irel, ifill_cb, &f);
	}
	if (!d->ds)
		return 0;
	for (size_t i = (size_t)off - 2;; i++) {
		const char *name;
		int rc = s3b_dirstream_item(d->ds, i, &name, &st);

		if (rc == ENOENT)
			break;
		if (rc)
			return -rc;
		if (fill(buf, name, &st, (off_t)i + 3, ff))
			break;
	}
	return 0;
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct fuse_context *c = fuse_get_context();

	return -s3b_obj_mkdir(mnt(), path, mode, c->uid, c->gid);
}

static int op_rmdir(const char *path)
{
	return -s3b_obj_rmdir(mnt(), path);
}

/* ---- names ---- */

static int op_unlink(const char *path)
{
	return -s3b_obj_unlink(mnt(), path);
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	return -s3b_obj_rename(mnt(), from, to, flags);
}

static int op_symlink(const char *target, const char *path)
{
	struct fuse_context *c = fuse_get_context();

	return -s3b_obj_symlink(mnt(), target, path, c->uid, c->gid);
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	return -s3b_obj_readlink(mnt(), path, buf, size);
}

/* ---- attributes ---- */

static int set_posix(const char *path, struct fuse_file_info *fi, const struct s3b_posix_meta *pm)
{
	struct s3b_fh *fh = fh_of(fi);

	if (fh && fh->writable)
		return -s3b_file_set_posix(mnt(), fh, pm);
	return -s3b_obj_set_posix(mnt(), path, pm);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct s3b_posix_meta pm = { .has_mode = true, .mode = mode };

	return set_posix(path, fi, &pm);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct s3b_posix_meta pm = { .has_uid = uid != (uid_t)-1, .uid = uid,
				     .has_gid = gid != (gid_t)-1, .gid = gid };

	if (!pm.has_uid && !pm.has_gid)
		return 0;
	return set_posix(path, fi, &pm);
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct s3b_posix_meta pm = { .has_mtime = true };

	/* only the modification time is stored; atime is not kept */
	if (!tv || tv[1].tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &pm.mtime);
	else if (tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	else
		pm.mtime = tv[1];
	return set_posix(path, fi, &pm);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct s3b_fh *fh = fh_of(fi);

	if (fh)
		return -s3b_file_truncate(mnt(), fh, size);
	return -s3b_obj_truncate(mnt(), path, size);
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 1u << 20;
	sv->f_frsize = 1u << 20;
	sv->f_blocks = 1ull << 30; /* object stores have no meaningful capacity: 1 PiB */
	sv->f_bfree = sv->f_blocks;
	sv->f_bavail = sv->f_blocks;
	sv->f_files = 1ull << 32;
	sv->f_ffree = sv->f_files;
	sv->f_favail = sv->f_files;
	sv->f_namemax = 255;
	return 0;
}

/* ---- files ---- */

static int integrity_open(struct s3b_mount *m, const char *rel, struct fuse_file_info *fi)
{
	struct s3b_fh *fh;
	int fd, rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	rc = s3b_integrity_open(m, rel, &fd);
	if (rc)
		return -rc;
	fh = calloc(1, sizeof(*fh));
	if (!fh) {
		close(fd);
		return -ENOMEM;
	}
	fh->integrity = true;
	fh->ifd = fd;
	fi->fh = (uintptr_t)fh;
	fi->direct_io = 1; /* the snapshot's size is what counts, not a cached one */
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct s3b_fh *fh;
	struct s3b_path p;
	int rc;

	if (s3b_path_resolve(mnt(), path, &p) == 0) {
		if (p.kind == S3B_P_INTEGRITY) {
			rc = integrity_open(mnt(), p.rel, fi);
			s3b_path_free(&p);
			return rc;
		}
		s3b_path_free(&p);
	}
	rc = s3b_file_open(mnt(), path, fi->flags, &fh);

	if (!rc)
		fi->fh = (uintptr_t)fh;
	return -rc;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_context *c = fuse_get_context();
	struct s3b_fh *fh;
	int rc = s3b_file_create(mnt(), path, fi->flags, mode, c->uid, c->gid, c->pid, &fh);

	if (!rc)
		fi->fh = (uintptr_t)fh;
	return -rc;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct s3b_fh *fh = fh_of(fi);
	size_t got;
	int rc;

	(void)path;
	if (fh->integrity) {
		ssize_t n = pread(fh->ifd, buf, size, off);

		return n < 0 ? -errno : (int)n;
	}
	rc = s3b_file_read(mnt(), fh, buf, size, off, fuse_get_context()->pid, &got);
	return rc ? -rc : (int)got;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	int rc = s3b_file_write(mnt(), fh_of(fi), buf, size, off, fuse_get_context()->pid);

	(void)path;
	return rc ? -rc : (int)size;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	if (fh_of(fi)->integrity)
		return 0;
	return -s3b_file_flush(mnt(), fh_of(fi));
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	if (fh_of(fi)->integrity)
		return 0;
	return -s3b_file_fsync(mnt(), fh_of(fi));
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct s3b_fh *fh = fh_of(fi);

	(void)path;
	if (fh->integrity) {
		close(fh->ifd);
		free(fh);
		return 0;
	}
	s3b_file_release(mnt(), fh);
	return 0;
}

static ssize_t op_copy_file_range(const char *in, struct fuse_file_info *fi_in, off_t off_in,
				  const char *out, struct fuse_file_info *fi_out, off_t off_out,
				  size_t len, int flags)
{
	size_t copied = 0;
	int rc;

	(void)in, (void)out;
	if (flags)
		return -EINVAL;
	if (fh_of(fi_in)->integrity || fh_of(fi_out)->integrity)
		return -EOPNOTSUPP;
	/* never ENOSYS: that would make the kernel stop asking for the mount's life */
	rc = s3b_file_copy_range(mnt(), fh_of(fi_in), off_in, fh_of(fi_out), off_out, len, &copied);
	return rc ? -rc : (ssize_t)copied;
}

/* ---- extended attributes ---- */

/* Only the user namespace holds attributes here (user.s3.*, and the
 * root's user.s3bridge.journal).  ACLs, security labels and trusted
 * attributes are not supported, and setxattr says so with ENOTSUP: so does
 * getxattr.  ENODATA instead would mean "supported, not set", and ls -l
 * would then ask twice per file (security.selinux, system.posix_acl_access:
 * two FUSE round trips each, most of the time of an ls -l of a large
 * directory), where ENOTSUP lets it stop asking for the rest of the mount
 * (coreutils caches "unsupported" per device; cp and rsync treat it as
 * "no ACL"). */
static bool xattr_namespace_supported(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	size_t len = 0;
	int rc;

	if (!xattr_namespace_supported(name))
		return -ENOTSUP;
	rc = s3b_obj_getxattr(mnt(), path, name, value, size, &len);

	return rc ? -rc : (int)len;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	size_t len = 0;
	int rc = s3b_obj_listxattr(mnt(), path, list, size, &len);

	return rc ? -rc : (int)len;
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	return -s3b_obj_setxattr(mnt(), path, name, value, size, flags);
}

static int op_removexattr(const char *path, const char *name)
{
	return -s3b_obj_removexattr(mnt(), path, name);
}

static const struct fuse_operations s3b_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.rename = op_rename,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.truncate = op_truncate,
	.statfs = op_statfs,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.copy_file_range = op_copy_file_range,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};

const struct fuse_operations *s3b_fuse_operations(void)
{
	return &s3b_ops;
}
