/*
 * fs/fsint.h — the helpers behind the FUSE callbacks (files.c, bridgecopy.c,
 * parked.c, objops.c).
 * Each returns 0 or a positive errno; fsops.c negates at the one place.
 * Internal to fs/.
 */
#ifndef S3B_FSINT_H
#define S3B_FSINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "mount.h"
#include "nodes.h"

/* ---- files.c: open files (bridgecopy.c and parked.c where said) ---- */
int s3b_file_open(struct s3b_mount *m, const char *path, int flags, struct s3b_fh **out);
/* open(O_CREAT): a new object, or the existing one opened as open(2) would.
 * pid: the caller (rsync's temporary files are recognised by name and
 * program). */
int s3b_file_create(struct s3b_mount *m, const char *path, int flags, mode_t mode, uid_t uid,
		    gid_t gid, pid_t pid, struct s3b_fh **out);

/* parked.c: rsync's temporary files (see struct s3b_parked).  Each returns
 * ENOENT when path is not parked, so callers fall through to the normal
 * path. */
int s3b_parked_getattr(struct s3b_mount *m, const char *path, struct stat *st);
int s3b_parked_set_posix(struct s3b_mount *m, const char *path, const struct s3b_posix_meta *pm);
int s3b_parked_rename(struct s3b_mount *m, const char *from, struct s3b_bucket *to_b,
		      const char *to_key);
int s3b_parked_unlink(struct s3b_mount *m, const char *path);
/* Abort every parked upload (unmount). */
void s3b_parked_abort_all(struct s3b_mount *m);
/* pid: the reading or writing process (for the taint rule in files.c). */
int s3b_file_read(struct s3b_mount *m, struct s3b_fh *fh, char *buf, size_t size, off_t off,
		  pid_t pid, size_t *got);
int s3b_file_write(struct s3b_mount *m, struct s3b_fh *fh, const char *buf, size_t size,
		   off_t off, pid_t pid);
/* Commit a written file (verification included); 0 only when verified. */
int s3b_file_flush(struct s3b_mount *m, struct s3b_fh *fh);
int s3b_file_fsync(struct s3b_mount *m, struct s3b_fh *fh);
void s3b_file_release(struct s3b_mount *m, struct s3b_fh *fh);
/* After the FUSE loop: finish the deferred copies (--async-close) whose
 * release never came (the kernel drops pending releases at unmount). */
void s3b_files_finish(struct s3b_mount *m);
int s3b_file_truncate(struct s3b_mount *m, struct s3b_fh *fh, off_t size);
/* Attributes of an open file (size of what was written so far). */
int s3b_file_getattr(struct s3b_mount *m, struct s3b_fh *fh, struct stat *st);
/* The open file at path, if any, with a reference (s3b_file_unref). */
struct s3b_fh *s3b_file_find(struct s3b_mount *m, const char *path);
void s3b_file_unref(struct s3b_mount *m, struct s3b_fh *fh);
/* bridgecopy.c: copy_file_range between two files of the mount, a bridge copy inside the
 * daemon, done when the destination is flushed (so that metadata set
 * before close is stored with it).  *copied is what the caller may count
 * as copied; EOPNOTSUPP makes cp fall back to read and write. */
int s3b_file_copy_range(struct s3b_mount *m, struct s3b_fh *src, off_t off_in,
			struct s3b_fh *dst, off_t off_out, size_t len, size_t *copied);
/* The attributes stored with an object, into its journal record (so that
 * a later listing can show them without a HEAD). */
void s3b_record_set_posix(struct s3b_obj_record *r, const struct s3b_posix_meta *pm);
/* Metadata change on an open file (cp -p sets times before close). */
int s3b_file_set_posix(struct s3b_mount *m, struct s3b_fh *fh, const struct s3b_posix_meta *pm);

/* ---- objops.c: names and metadata of stored objects ---- */
int s3b_obj_unlink(struct s3b_mount *m, const char *path);
int s3b_obj_mkdir(struct s3b_mount *m, const char *path, mode_t mode, uid_t uid, gid_t gid);
int s3b_obj_rmdir(struct s3b_mount *m, const char *path);
int s3b_obj_rename(struct s3b_mount *m, const char *from, const char *to, unsigned flags);
int s3b_obj_symlink(struct s3b_mount *m, const char *target, const char *path, uid_t uid,
		    gid_t gid);
int s3b_obj_readlink(struct s3b_mount *m, const char *path, char *buf, size_t size);
/* chmod/chown/utimens of a closed object or directory: the fields set in
 * pm replace the stored ones. */
int s3b_obj_set_posix(struct s3b_mount *m, const char *path, const struct s3b_posix_meta *pm);
int s3b_obj_truncate(struct s3b_mount *m, const char *path, off_t size);
int s3b_obj_getxattr(struct s3b_mount *m, const char *path, const char *name, char *value,
		     size_t size, size_t *len);
int s3b_obj_listxattr(struct s3b_mount *m, const char *path, char *list, size_t size,
		      size_t *len);
int s3b_obj_setxattr(struct s3b_mount *m, const char *path, const char *name,
		     const char *value, size_t size, int flags);
int s3b_obj_removexattr(struct s3b_mount *m, const char *path, const char *name);

/* Server-side copy of any size (CopyObject up to 5 GiB, UploadPartCopy
 * above).  meta NULL copies the source's metadata.  etag_out may be NULL. */
int s3b_obj_copy(struct s3b_bucket *src, const char *src_key, struct s3b_bucket *dst,
		 const char *dst_key, uint64_t size, const struct s3_meta *meta,
		 char etag_out[S3B_ETAG_MAX]);
/* Same endpoint (and so server-side copies between them work)? */
bool s3b_same_endpoint(const struct s3b_bucket *a, const struct s3b_bucket *b);

/* A fresh node for an object just written by the mount. */
void s3b_node_written(struct s3b_node *n, uint64_t size, const char *etag,
		      const struct s3_meta *meta);

#endif
