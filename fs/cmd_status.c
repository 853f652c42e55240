/*
 * fs/cmd_status.c — `s3bridge status MOUNTPOINT` (progress from the
 * mount's .integrity/summary.json; a live line on a terminal) and
 * `s3bridge check SRC_DIR DST_DIR` (completeness: every source object has
 * a verified counterpart).  Both work through the mount's files only, as
 * any user with access to the mount could.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "etag.h"
#include "report.h"

/* ---- status ---- */

/* A number field of a flat JSON object ("key":123.4), or -1. */
static double json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	if (*p == 'n') /* null */
		return -1;
	return strtod(p, NULL);
}

static int read_file(const char *path, struct s3b_buf *out)
{
	FILE *f = fopen(path, "re");
	char tmp[4096];
	size_t n;

	if (!f)
		return errno;
	s3b_buf_reset(out);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (s3b_buf_append(out, tmp, n)) {
			fclose(f);
			return ENOMEM;
		}
	fclose(f);
	return 0;
}

static void human(double bytes, char *out, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int i = 0;

	while (bytes >= 1024 && i < 5)
		bytes /= 1024, i++;
	snprintf(out, len, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
}

static volatile sig_atomic_t stop;

static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

static int status_line(const char *json, bool tty, double *bad)
{
	double v = json_num(json, "verified"), f = json_num(json, "failed"),
	       mm = json_num(json, "mismatch"), p = json_num(json, "pending"),
	       in = json_num(json, "interrupted"), b = json_num(json, "bytes"),
	       rate = json_num(json, "rate"), el = json_num(json, "elapsed"),
	       fl = json_num(json, "uploads_in_flight");
	char hb[32], hr[32];

	if (v < 0)
		return EPROTO;
	human(b, hb, sizeof(hb));
	human(rate > 0 ? rate : 0, hr, sizeof(hr));
	*bad = f + mm + in;
	printf("%s%.0f verified, %.0f failed, %.0f mismatch, %.0f pending, %.0f interrupted | "
	       "%s at %s/s | %.0f s | %.0f upload(s) in flight%s",
	       tty ? "\r\033[K" : "", v, f, mm, p, in, hb, hr, el > 0 ? el : 0, fl > 0 ? fl : 0,
	       tty ? "" : "\n");
	fflush(stdout);
	return 0;
}

int s3b_cmd_status(int argc, char **argv)
{
	struct s3b_buf json = S3B_BUF_INIT;
	char path[PATH_MAX];
	bool tty, once = false;
	double bad = 0;
	int rc;

	for (int i = 1; i < argc - 1; i++)
		once |= strcmp(argv[i], "--once") == 0;
	if (argc < 2 || argv[argc - 1][0] == '-') {
		fprintf(stderr, "usage: s3bridge status [--once] MOUNTPOINT\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/.integrity/summary.json", argv[argc - 1]);
	tty = isatty(STDOUT_FILENO) && !once;
	signal(SIGINT, on_int);
	do {
		rc = read_file(path, &json);
		if (rc) {
			fprintf(stderr, "%ss3bridge: %s: %s (is an s3bridge mount there?)\n",
				tty ? "\n" : "", path, strerror(rc));
			s3b_buf_free(&json);
			return 2;
		}
		if (status_line(json.data, tty, &bad)) {
			fprintf(stderr, "s3bridge: %s is not a summary\n", path);
			s3b_buf_free(&json);
			return 2;
		}
		if (tty)
			sleep(1);
	} while (tty && !stop);
	if (tty)
		putchar('\n');
	s3b_buf_free(&json);
	return bad > 0 ? 1 : 0;
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
