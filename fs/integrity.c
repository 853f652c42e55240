/*
 * fs/integrity.c — the read-only .integrity/ directory: the journal's
 * reports (db/report.h) rendered as files.  Each file is a consistent
 * snapshot taken when it is looked at: the render goes to an unlinked
 * temporary file (on disk, not in memory: SHA256SUMS of a million objects
 * is large), whose size getattr reports and whose bytes the open that
 * follows reads.  A render is reused for a second, so `ls -l` then `cat`
 * see one snapshot.  Nothing here can be written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mount.h"
#include "nodes.h"
#include "report.h"

#define REUSE_MS 1000
#define N_RENDERS (sizeof(((struct s3b_mount *)0)->irender) / sizeof(((struct s3b_mount *)0)->irender[0]))

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool is_report(const char *rel)
{
	for (size_t i = 0; s3b_report_names[i]; i++)
		if (strcmp(rel, s3b_report_names[i]) == 0)
			return true;
	return false;
}

/* The mount's live numbers for `metrics`. */
static void live_stats(struct s3b_mount *m, struct s3b_live_stats *ls)
{
	static const char *names[17];

	unsigned n = 0;

	memset(ls, 0, sizeof(*ls));
	while (n < 16 && strcmp(s3_op_name(n), "?") != 0) {
		names[n] = s3_op_name(n);
		n++;
	}
	names[n] = NULL;
	ls->op_names = names;
	for (size_t b = 0; b < m->n_buckets; b++) {
		struct s3_stats st;

		if (!m->buckets[b].client)
			continue;
		s3_client_stats(m->buckets[b].client, &st);
		ls->retries += st.retries;
		for (unsigned i = 0; i < 16; i++)
			ls->requests_by_op[i] += st.by_op[i];
	}
	ls->bytes_in_flight = s3b_membudget_used(m->budget);
}

static int render(struct s3b_mount *m, const char *name, int *fd, off_t *size)
{
	const char *dir = m->conf.spool_dir ? m->conf.spool_dir
			  : getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	struct s3b_live_stats ls;
	struct stat st;
	int f, rc;

	f = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f < 0) {
		rc = errno;
		LOG_E(".integrity: cannot make a temporary file in %s: %s", dir, strerror(rc));
		return rc;
	}
	live_stats(m, &ls);
	rc = s3b_report_render(m->journal_path, name, &ls, f);
	if (!rc && fstat(f, &st) != 0)
		rc = errno;
	if (rc) {
		close(f);
		return rc;
	}
	*fd = f;
	*size = st.st_size;
	return 0;
}

/* A snapshot of name: reused when taken less than REUSE_MS ago.  *fd is a
 * new descriptor the caller closes (may be NULL). */
static int snapshot(struct s3b_mount *m, const char *name, int *fd, off_t *size)
{
	uint64_t now = now_ms();
	int rc = 0, f = -1;
	size_t oldest = 0;

	pthread_mutex_lock(&m->ilock);
	for (size_t i = 0; i < N_RENDERS; i++) {
		/* a render made for a lookup serves the open that follows it,
		 * once: every open sees the journal as it is then */
		if (m->irender[i].name[0] && strcmp(m->irender[i].name, name) == 0 &&
		    now - m->irender[i].ms < REUSE_MS && !m->irender[i].opened) {
			*size = m->irender[i].size;
			if (fd) {
				*fd = dup(m->irender[i].fd);
				m->irender[i].opened = true;
			}
			pthread_mutex_unlock(&m->ilock);
			return fd && *fd < 0 ? errno : 0;
		}
		if (m->irender[i].ms < m->irender[oldest].ms)
			oldest = i;
	}
	pthread_mutex_unlock(&m->ilock);
	rc = render(m, name, &f, size);
	if (rc)
		return rc;
	if (fd)
		*fd = dup(f);
	pthread_mutex_lock(&m->ilock);
	if (m->irender[oldest].name[0])
		close(m->irender[oldest].fd);
	snprintf(m->irender[oldest].name, sizeof(m->irender[oldest].name), "%s", name);
	m->irender[oldest].fd = f;
	m->irender[oldest].size = *size;
	m->irender[oldest].ms = now;
	m->irender[oldest].opened = fd != NULL;
	pthread_mutex_unlock(&m->ilock);
	return fd && *fd < 0 ? errno : 0;
}

void s3b_integrity_cleanup(struct s3b_mount *m)
{
	for (size_t i = 0; i < N_RENDERS; i++)
		if (m->irender[i].name[0]) {
			close(m->irender[i].fd);
			m->irender[i].name[0] = '\0';
		}
}

struct any_ctx {
	bool any;
};

static int any_cb(void *ctx, const char *name, bool is_dir)
{
	(void)name, (void)is_dir;
	((struct any_ctx *)ctx)->any = true;
	return 1; /* one is enough */
}

int s3b_integrity_getattr(struct s3b_mount *m, const char *rel, struct stat *st)
{
	off_t size;
	int rc;

	if (!*rel || strcmp(rel, "objects") == 0) {
		s3b_dir_stat(m, 0555, st);
		return 0;
	}
	if (strncmp(rel, "objects/", 8) != 0 && !is_report(rel))
		return ENOENT;
	rc = snapshot(m, rel, NULL, &size);
	if (rc == ENOENT && strncmp(rel, "objects/", 8) == 0) {
		/* not an object's record: a directory of them? */
		struct any_ctx a = { false };

		rc = s3b_report_objects_list(m->journal_path, rel + 8, any_cb, &a);
		if (rc == 1 || (!rc && a.any)) {
			s3b_dir_stat(m, 0555, st);
			return 0;
		}
		return ENOENT;
	}
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_size = size;
	st->st_blksize = 1 << 20;
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_ctim = st->st_atim = st->st_mtim;
	return 0;
}

int s3b_integrity_list(struct s3b_mount *m, const char *rel,
		       int (*cb)(void *ctx, const char *name, bool is_dir), void *ctx)
{
	if (!*rel) {
		for (size_t i = 0; s3b_report_names[i]; i++)
			if (cb(ctx, s3b_report_names[i], false))
				return 0;
		cb(ctx, "objects", true);
		return 0;
	}
	if (strcmp(rel, "objects") == 0)
		return s3b_report_objects_list(m->journal_path, "", cb, ctx);
	if (strncmp(rel, "objects/", 8) == 0)
		return s3b_report_objects_list(m->journal_path, rel + 8, cb, ctx);
	return ENOTDIR;
}

int s3b_integrity_open(struct s3b_mount *m, const char *rel, int *fd)
{
	off_t size;

	if (!*rel || strcmp(rel, "objects") == 0)
		return EISDIR;
	if (strncmp(rel, "objects/", 8) != 0 && !is_report(rel))
		return ENOENT;
	return snapshot(m, rel, fd, &size);
}
