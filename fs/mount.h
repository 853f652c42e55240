/*
 * fs/mount.h — one mount: its configuration (plain data, parsed once in
 * cli.c), its buckets (each with its own client), and the shared parts
 * (listing cache, memory budget, worker pool).  Internal to fs/.
 *
 * Per-mount state hangs off the FUSE context (fuse_get_context()->
 * private_data); nothing here is a file-static global.
 *
 * Lock order: s3b_fh.lock, then s3b_mount.open_lock, then the dircache's
 * lock (taken inside dircache.c).  No lock is held across an S3 request
 * except s3b_fh.lock, which serialises the requests of one open file.
 */
#ifndef S3B_MOUNT_H
#define S3B_MOUNT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bridge.h"
#include "bucketspec.h"
#include "config.h"
#include "dircache.h"
#include "journal.h"
#include "membudget.h"
#include "pool.h"
#include "reader.h"
#include "s3.h"
#include "store.h"
#include "writer.h"

enum s3b_verify_mode { S3B_VERIFY_STREAM, S3B_VERIFY_READBACK };

/* Everything the command line sets (cli.c).  Strings are owned. */
struct s3b_mount_conf {
	char **bucket_args;        /* BUCKET... as given */
	size_t n_buckets;
	char *mountpoint;
	/* global defaults for buckets */
	char *endpoint, *region, *profile;
	bool path_style;
	/* tuning */
	uint64_t part_size;        /* 0: automatic */
	unsigned parallel;         /* parts or ranges in flight per file */
	uint64_t max_memory;       /* data buffers, whole mount */
	uint64_t read_chunk;       /* bytes per ranged GET */
	enum s3b_verify_mode verify;
	char *journal;
	char *log_level, *log_file;
	unsigned cache_ttl_ms;     /* listing/attribute cache */
	double attr_timeout;       /* kernel attribute/entry cache, seconds */
	char *spool_dir;
	uint64_t keep_sent;        /* writer.h: copy of sent parts up to this size */
	unsigned async_close;      /* bridge copies whose close may return early */
	/* FUSE side */
	bool foreground, debug, allow_other, allow_root;
	long uid, gid;             /* -1: the mounting user's */
	long umask;                /* -1: 022 */
	unsigned max_threads;
	/* transport */
	bool tls_no_verify;
	char *ca_bundle;
	bool probe_etag;           /* probe the multipart ETag style at mount */
};

struct s3b_bucket {
	unsigned index;
	struct s3b_bucketspec spec; /* name, bucket, prefix, ro, ... */
	struct s3b_config cfg;      /* resolved endpoint, region, credentials */
	struct s3_client *client;
	struct s3b_store store;
	struct s3b_store_journaled jstore; /* the store's instance */
};

/* An open file. */
struct s3b_fh {
	pthread_mutex_t lock;      /* serialises this file's operations */
	struct s3b_bucket *b;
	char *key;                 /* object key (prefix included) */
	char *path;                /* mount path, for the open table */
	struct s3b_reader *reader; /* read side, made on first read */
	struct s3b_writer *writer; /* write side, when opened for writing */
	uint64_t size;             /* object size at open (read side) */
	char etag[S3B_ETAG_MAX];
	bool writable;
	bool dirty;                /* written since the last commit */
	int sticky_err;            /* a failed commit: every later flush reports it */
	struct s3_meta meta;       /* metadata to store with the object */
	bool published;            /* read stream given to the pairing registry */
	uint64_t served;           /* bytes read through this handle */
	/* a copy_file_range from a file of the mount, done at flush */
	bool bridge_pending;
	struct s3b_bucket *bsrc;
	char *bsrc_key;
	uint64_t bsrc_size;
	char bsrc_etag[S3B_ETAG_MAX];
	bool deferred;             /* its close returned; the copy runs at release */
	bool bridged;              /* the writer holds bsrc's bytes: its own digests
				    * are the source stream's (checked at commit) */
	char *final_key;           /* rsync's temporary file: the key it will be renamed to */
	uint64_t opened_ms;        /* monotonic, when opened */
	int64_t jid;               /* journal record (0: none yet) */
	bool suspect;              /* open while a source stream failed its check
				    * (protected by the mount's open_lock) */
	bool integrity;            /* a file of .integrity/: reads come from ifd */
	int ifd;
	struct timespec started;   /* when the record began */
	pid_t writer_pgid;         /* process group of the first write (0: none) */
	struct s3b_fh *next;       /* open table, protected by mount open_lock */
	unsigned refs;             /* protected by mount open_lock */
};

/* A closed rsync temporary file whose data is uploaded (and verified part
 * by part) but not committed: the commit happens at its rename, under the
 * final key with the final metadata, so the object lands once. */
struct s3b_parked {
	char *path;                /* the temporary name */
	struct s3b_bucket *b;
	char *final_key;           /* the multipart upload's key */
	struct s3b_writer *writer;
	struct s3_meta meta;
	uint64_t size;
	uint64_t parked_ms;        /* monotonic */
	uint64_t opened_ms;
	pid_t writer_pgid;
	int64_t jid;
	struct timespec started;
	bool suspect;              /* protected by open_lock */
	struct s3b_parked *next;
};

struct s3b_mount {
	struct s3b_mount_conf conf;
	struct s3b_bucket *buckets;
	size_t n_buckets;
	struct s3b_dircache *dc;
	struct s3b_membudget *budget;
	struct s3b_pool *pool;
	struct s3b_pairing *pairing;
	struct s3b_journal *journal;
	char *journal_path;
	uid_t uid;
	gid_t gid;
	mode_t umask;
	struct timespec started;
	pthread_mutex_t open_lock;
	struct s3b_fh *open_files; /* protected by open_lock */
	struct s3b_parked *parked; /* protected by open_lock */
	unsigned deferred;         /* fhs with deferred set (protected by open_lock) */
	/* process groups that were served a source stream that did not match
	 * its object: what they write meanwhile is refused (protected by
	 * open_lock) */
	struct { pid_t pgid; uint64_t ms; } taint[64];
	unsigned taint_next;
	/* .integrity/ renders: one snapshot serves getattr and the open that
	 * follows it (protected by ilock) */
	pthread_mutex_t ilock;
	struct { char name[1100]; int fd; off_t size; uint64_t ms; bool opened; } irender[8];
};

/* ---- integrity.c: the .integrity/ directory ---- */
/* rel: the path below .integrity/ ("" for the directory itself). */
int s3b_integrity_getattr(struct s3b_mount *m, const char *rel, struct stat *st);
int s3b_integrity_list(struct s3b_mount *m, const char *rel,
		       int (*cb)(void *ctx, const char *name, bool is_dir), void *ctx);
/* A read-only snapshot of the file at rel: *fd is the caller's. */
int s3b_integrity_open(struct s3b_mount *m, const char *rel, int *fd);
void s3b_integrity_cleanup(struct s3b_mount *m);

/* ---- cli.c ---- */
/* Parse `mount` arguments (argv[0] is "mount").  0, or EINVAL with the
 * reason printed; 1 when --help/--version was handled. */
int s3b_cli_parse_mount(int argc, char **argv, struct s3b_mount_conf *conf);
void s3b_mount_conf_free(struct s3b_mount_conf *conf);
void s3b_cli_usage(FILE *out);
/* Parse "8M", "1G", "4096" into bytes.  0 or EINVAL. */
int s3b_parse_size(const char *s, uint64_t *out);

/* ---- mount.c ---- */
/* Everything from config resolution to unmount; returns the exit status. */
int s3b_mount_main(struct s3b_mount_conf *conf);

/* ---- fsops.c ---- */
struct fuse_operations;
const struct fuse_operations *s3b_fuse_operations(void);

#endif
