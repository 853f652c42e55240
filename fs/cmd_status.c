/*
 * fs/cmd_status.c — `s3bridge status MOUNTPOINT [SOURCE_DIR]` (progress
 * from the mount's .integrity/summary.json, against the totals of one walk
 * of the source when given; a line redrawn on a terminal, plain lines
 * otherwise) and `s3bridge check SRC_DIR DST_DIR` (completeness: every
 * source object has a verified counterpart).  Both work through the
 * mount's files only, as any user with access to the mount could.
 *
 * What it does not do: no formatting of its own for status (status_fmt.c
 * holds the pure parts: parsing, rates, the line), no journal access.
 */
#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "etag.h"
#include "report.h"
#include "status_fmt.h"

/* ---- status ---- */

#define RATE_SPAN 10.0  /* seconds of history for the rates */
#define RATE_MIN_DT 2.0 /* .integrity/ reuses a render for a second: wait for two */
#define MAX_INTERVAL 86400.0

static int read_file(const char *path, struct s3b_buf *out)
{
	FILE *f = fopen(path, "re");
	char tmp[4096];
	size_t n;
	int rc = 0;

	if (!f)
		return errno;
	s3b_buf_reset(out);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (s3b_buf_append(out, tmp, n)) {
			rc = ENOMEM;
			break;
		}
	if (!rc && ferror(f))
		rc = EIO;
	fclose(f);
	return rc;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void status_usage(FILE *f)
{
	fprintf(f, "usage: s3bridge status [--once] [--interval SECS] [--source DIR] MOUNTPOINT "
		   "[SOURCE_DIR]\n"
		   "  Progress of the mount from .integrity/summary.json; with a source directory\n"
		   "  (relative to MOUNTPOINT, else to the current directory) also the totals, a\n"
		   "  bar and the ETA.  On a terminal one line redrawn every second until the mount\n"
		   "  goes away or ^C; otherwise a plain line every SECS seconds (default 10).\n"
		   "  Exit status: 1 when an object failed, 2 on errors.\n");
}

struct status_args {
	const char *mountpoint, *source;
	bool once;
	double interval; /* 0: the default */
};

/* 0, or 2 (the exit status) after a message; 1 for --help. */
static int status_parse_args(int argc, char **argv, struct status_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i], *val = NULL;

		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			status_usage(stdout);
			return 1;
		} else if (strcmp(s, "--once") == 0) {
			a->once = true;
			continue;
		} else if (strcmp(s, "--interval") == 0 || strcmp(s, "--source") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "s3bridge status: %s needs a value\n", s);
				return 2;
			}
			val = argv[++i];
		} else if (strncmp(s, "--interval=", 11) == 0 || strncmp(s, "--source=", 9) == 0) {
			val = strchr(s, '=') + 1;
		} else if (s[0] == '-' && s[1] != '\0') {
			fprintf(stderr, "s3bridge status: unknown option %s\n", s);
			status_usage(stderr);
			return 2;
		} else if (!a->mountpoint) {
			a->mountpoint = s;
			continue;
		} else if (!a->source) {
			a->source = s;
			continue;
		} else {
			fprintf(stderr, "s3bridge status: one mount point and one source only\n");
			return 2;
		}
		if (s[2] == 's') { /* --source */
			if (a->source) {
				fprintf(stderr, "s3bridge status: one source only\n");
				return 2;
			}
			a->source = val;
		} else {
			char *end;

			errno = 0;
			a->interval = strtod(val, &end);
			if (errno || end == val || *end || !(a->interval >= 0.1) ||
			    a->interval > MAX_INTERVAL) {
				fprintf(stderr, "s3bridge status: --interval %s: give seconds, 0.1 to "
						"86400\n", val);
				return 2;
			}
		}
	}
	if (!a->mountpoint) {
		status_usage(stderr);
		return 2;
	}
	return 0;
}

/* The objects (regular files) under dir and their bytes, one walk that
 * stays on dir's filesystem and skips skip (the mount's .integrity). */
static int count_tree(const char *dir, const char *skip, uint64_t *objects, uint64_t *bytes)
{
	char *roots[] = {(char *)dir, NULL};
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	FTSENT *e;
	int rc = 0;

	*objects = *bytes = 0;
	if (!fts)
		return errno;
	while (!rc && (errno = 0, e = fts_read(fts))) {
		switch (e->fts_info) {
		case FTS_D:
			if (strcmp(e->fts_path, skip) == 0)
				fts_set(fts, e, FTS_SKIP);
			break;
		case FTS_F:
			(*objects)++;
			*bytes += (uint64_t)e->fts_statp->st_size;
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			if (e->fts_errno == ENOENT) /* gone since it was listed */
				break;
			fprintf(stderr, "s3bridge status: %s: %s\n", e->fts_path,
				strerror(e->fts_errno));
			rc = e->fts_errno ? e->fts_errno : EIO;
			break;
		default: /* FTS_DP, FTS_SL, ...: nothing to count */
			break;
		}
	}
	if (!rc && errno)
		rc = errno;
	fts_close(fts);
	return rc;
}

/* SOURCE as given: a relative one is taken relative to MOUNTPOINT if it is
 * there, else to the current directory.  out is PATH_MAX long. */
static int resolve_source(const char *mp, const char *src, char *out)
{
	char p[PATH_MAX * 2];

	if (src[0] != '/') {
		snprintf(p, sizeof(p), "%s/%s", mp, src);
		if (realpath(p, out))
			return 0;
	}
	return realpath(src, out) ? 0 : errno;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Wait up to seconds; false when stdout's reader went away (a pipe whose
 * reader exited, a hung-up terminal). */
static bool wait_interval(double seconds)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};
	int n = poll(&p, 1, (int)(seconds * 1000));

	return !(n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)));
}

int s3b_cmd_status(int argc, char **argv)
{
	struct status_args a = {0};
	struct s3b_buf json = S3B_BUF_INIT;
	struct s3b_rate_window win;
	struct s3b_status_view v = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	char path[PATH_MAX * 2], root[PATH_MAX], src[PATH_MAX], line[512];
	bool tty, live, shown = false;
	int rc;

	rc = status_parse_args(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : rc;
	tty = isatty(STDOUT_FILENO);
	live = tty && !a.once; /* redraw with \r */
	if (!a.interval)
		a.interval = tty ? 1 : 10;
	snprintf(path, sizeof(path), "%s/.integrity/summary.json", a.mountpoint);
	if ((rc = read_file(path, &json)) != 0) {
		fprintf(stderr, "s3bridge status: %s: %s (is an s3bridge mount there?)\n", path,
			strerror(rc));
		goto out;
	}
	if (a.source) {
		if ((rc = resolve_source(a.mountpoint, a.source, src)) != 0) {
			fprintf(stderr, "s3bridge status: source %s: %s\n", a.source, strerror(rc));
			goto out;
		}
		if (!realpath(a.mountpoint, root)) {
			rc = errno;
			fprintf(stderr, "s3bridge status: %s: %s\n", a.mountpoint, strerror(rc));
			goto out;
		}
		snprintf(path, sizeof(path), "%s/.integrity", root);
		if (live) {
			printf("%.*s", (int)term_width() - 1, "counting the objects to copy ...");
			fflush(stdout);
		}
		if ((rc = count_tree(src, path, &v.total_objects, &v.total_bytes)) != 0) {
			fprintf(stderr, "%ss3bridge status: cannot count the objects of %s\n",
				live ? "\n" : "", src);
			goto out;
		}
		v.have_source = true;
		snprintf(path, sizeof(path), "%s/.integrity/summary.json", a.mountpoint);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll returns at once */
	sigaction(SIGTERM, &sa, NULL);
	s3b_rate_init(&win, RATE_SPAN, RATE_MIN_DT);
	for (;;) {
		if (shown && (rc = read_file(path, &json)) != 0) {
			/* the mount went away: the last line stands */
			if (live)
				putchar('\n');
			fprintf(stderr, "s3bridge status: %s: %s: the mount is gone\n", a.mountpoint,
				strerror(rc));
			rc = 0;
			break;
		}
		if (s3b_status_parse(json.data ? json.data : "", &v.sum)) {
			fprintf(stderr, "%ss3bridge status: %s is not a summary\n",
				live && shown ? "\n" : "", path);
			rc = EPROTO;
			goto out;
		}
		s3b_rate_add(&win, now_s(), v.sum.bytes, s3b_status_finished(&v.sum));
		v.have_rate = s3b_rate_get(&win, &v.bytes_per_s, &v.objects_per_s);
		if (!v.have_rate && v.sum.elapsed > 0) {
			/* until the window fills: the journal's own average */
			v.have_rate = true;
			v.bytes_per_s = v.sum.rate;
			v.objects_per_s = (double)s3b_status_finished(&v.sum) / v.sum.elapsed;
		}
		if (tty) {
			size_t w = term_width();

			s3b_status_format(&v, w, line, sizeof(line));
			if (live) /* padded: a shorter line covers the last one */
				printf("\r%-*s", (int)(w - 1), line);
			else
				printf("%s\n", line);
		} else {
			s3b_status_format(&v, 0, line, sizeof(line));
			printf("%s\n", line);
		}
		fflush(stdout);
		shown = true;
		if (a.once || stop || !wait_interval(a.interval) || stop) {
			if (live)
				putchar('\n');
			break;
		}
	}
out:
	s3b_buf_free(&json);
	if (rc)
		return 2;
	return s3b_status_bad(&v.sum) ? 1 : 0;
}

/* ---- check ---- */

struct check {
	char root[PATH_MAX];      /* the mount's root */
	char src[PATH_MAX], dst[PATH_MAX];
	size_t dst_rel_off;       /* dst relative to root starts here */
	uint64_t files, missing, extra, differ, unverified;
	struct s3b_buf text;
};

static void note(struct check *c, const char *what, const char *rel)
{
	s3b_buf_printf(&c->text, "%s\t%s\n", what, rel);
}

static bool etag_of(const char *path, char *out, size_t len)
{
	ssize_t n = getxattr(path, "user.s3.etag", out, len - 1);

	if (n < 0)
		return false;
	out[n] = '\0';
	return true;
}

/* The journal's word on dst: verified or not. */
static bool verified(struct check *c, const char *dst_path)
{
	char p[PATH_MAX * 4];
	struct s3b_buf js = S3B_BUF_INIT;
	bool ok;

	snprintf(p, sizeof(p), "%s/.integrity/objects/%s", c->root, dst_path + c->dst_rel_off);
	ok = read_file(p, &js) == 0 && js.data && strstr(js.data, "\"status\":\"verified\"");
	s3b_buf_free(&js);
	return ok;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, from a fresh listing (readdir asks the server;
 * a stat could be answered by a cache): sorted, for bsearch. */
static char **list_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		if (!(v[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int walk(struct check *c, const char *rel, bool from_src)
{
	char sp[PATH_MAX * 2], dp[PATH_MAX * 3];
	DIR *d;
	struct dirent *e;
	char **other;
	size_t n_other;
	int rc = 0;

	snprintf(sp, sizeof(sp), "%s%s%s", from_src ? c->dst : c->src, *rel ? "/" : "", rel);
	other = list_names(sp, &n_other);
	snprintf(sp, sizeof(sp), "%s%s%s", from_src ? c->src : c->dst, *rel ? "/" : "", rel);
	d = opendir(sp);
	if (!d) {
		rc = errno;
		fprintf(stderr, "s3bridge: check: %s: %s\n", sp, strerror(rc));
		free_names(other, n_other);
		return rc;
	}
	while (!rc && (e = readdir(d))) {
		char r[PATH_MAX * 2], a[PATH_MAX * 3], b[PATH_MAX * 3];
		struct stat sa, sb;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(a, sizeof(a), "%s/%s", from_src ? c->src : c->dst, r);
		snprintf(b, sizeof(b), "%s/%s", from_src ? c->dst : c->src, r);
		if (lstat(a, &sa) != 0)
			continue;
		if (S_ISDIR(sa.st_mode)) {
			rc = walk(c, r, from_src);
			continue;
		}
		const char *name = e->d_name;
		bool there = n_other && bsearch(&name, other, n_other, sizeof(*other), cmp_str) &&
			     lstat(b, &sb) == 0;

		if (!from_src) {
			if (!there) {
				c->extra++;
				note(c, "extra", r);
			}
			continue;
		}
		c->files++;
		if (!there) {
			c->missing++;
			note(c, "missing", r);
			continue;
		}
		if (sa.st_size != sb.st_size) {
			c->differ++;
			note(c, "size differs", r);
			continue;
		}
		char ea[S3B_ETAG_MAX + 8], eb[S3B_ETAG_MAX + 8];
		struct s3b_etag pa, pb;

		if (etag_of(a, ea, sizeof(ea)) && etag_of(b, eb, sizeof(eb))) {
			s3b_etag_parse(ea, &pa);
			s3b_etag_parse(eb, &pb);
			if (pa.kind == S3B_ETAG_MD5 && pb.kind == S3B_ETAG_MD5 &&
			    memcmp(pa.md5, pb.md5, 16) != 0) {
				c->differ++;
				note(c, "content differs (MD5)", r);
				continue;
			}
		}
		snprintf(dp, sizeof(dp), "%s", b);
		if (!verified(c, dp)) {
			c->unverified++;
			note(c, "not verified by the journal", r);
		}
	}
	closedir(d);
	free_names(other, n_other);
	return rc;
}

/* The root of the s3bridge mount holding dir (the one with .integrity/). */
static int find_root(const char *dir, char *root)
{
	char p[PATH_MAX * 2];
	struct stat st;

	if (!realpath(dir, root))
		return errno;
	for (;;) {
		snprintf(p, sizeof(p), "%s/.integrity/summary.json", root);
		if (stat(p, &st) == 0)
			return 0;
		char *slash = strrchr(root, '/');

		if (!slash || slash == root)
			return ENOENT;
		*slash = '\0';
	}
}

int s3b_cmd_check(int argc, char **argv)
{
	struct check c;
	char root2[PATH_MAX], journal[PATH_MAX];
	ssize_t jl;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: s3bridge check SRC_DIR DST_DIR\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	if (find_root(argv[1], c.root) || find_root(argv[2], root2) || strcmp(c.root, root2)) {
		fprintf(stderr, "s3bridge: check: both directories must be inside one s3bridge "
				"mount\n");
		return 2;
	}
	if (!realpath(argv[1], c.src) || !realpath(argv[2], c.dst)) {
		fprintf(stderr, "s3bridge: check: %s\n", strerror(errno));
		return 2;
	}
	c.dst_rel_off = strlen(c.root) + 1;
	rc = walk(&c, "", true);
	if (!rc)
		rc = walk(&c, "", false);
	if (rc)
		return 2;
	s3b_buf_printf(&c.text, "%s -> %s: %" PRIu64 " source objects, %" PRIu64 " missing, %"
		       PRIu64 " extra, %" PRIu64 " differ, %" PRIu64 " not verified\n",
		       c.src + strlen(c.root), c.dst + strlen(c.root), c.files, c.missing, c.extra,
		       c.differ, c.unverified);
	fputs(c.text.data, stdout);
	jl = getxattr(c.root, "user.s3bridge.journal", journal, sizeof(journal) - 1);
	if (jl > 0) {
		journal[jl] = '\0';
		if (s3b_report_store_check(journal, c.text.data, c.missing, c.extra, c.differ,
					   c.unverified))
			fprintf(stderr, "s3bridge: check: could not record the result in %s\n",
				journal);
	}
	s3b_buf_free(&c.text);
	return c.missing || c.unverified || c.differ ? 1 : 0;
}
