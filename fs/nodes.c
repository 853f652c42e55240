/*
 * fs/nodes.c — paths to keys, lookups, and the streamed listing (see
 * nodes.h).  Requests per operation:
 *  - a lookup served by the cache costs nothing, except a HEAD for a file
 *    whose entry came from a lookup's listing (below) or, with allow_other,
 *    any file whose stored metadata is not known yet;
 *  - a miss first lists the parent directory (one page, at most once per
 *    listing TTL, the attribute timeout, per directory) instead of probing
 *    the name: a directory of up to 1,000 entries is then complete in the
 *    cache and later lookups in it are answered there (a missing name
 *    without a request while the listing is trusted, a present one for the
 *    cache TTL); a file then costs its HEAD (a lookup shows stored
 *    metadata, as rsync's quick check needs), read ahead for the next
 *    names in parallel when lookups walk the directory;
 *  - otherwise one ListObjectsV2 (max-keys 2) for "absent" or "directory",
 *    plus a HEAD for a file (its metadata), plus, rarely, a second listing
 *    when other keys share the name as a prefix;
 *  - a readdir of a directory whose complete listing is cached and trusted
 *    costs nothing (its children in the cache, the mount's own changes
 *    included); otherwise N/1000 listings, which fill the cache.  s3bridge's
 *    own commands (check, status) always list from the server.
 */
#include "nodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "journal.h"
#include "log.h"

#define NAME_MAX_BYTES 255

static bool valid_component(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_BYTES)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	return memchr(s, '/', len) == NULL && memchr(s, '\0', len) == NULL;
}

int s3b_path_resolve(struct s3b_mount *m, const char *path, struct s3b_path *out)
{
	const char *p = path, *slash;
	size_t nlen;

	memset(out, 0, sizeof(*out));
	while (*p == '/')
		p++;
	if (!*p) {
		out->kind = S3B_P_ROOT;
		return 0;
	}
	slash = strchr(p, '/');
	nlen = slash ? (size_t)(slash - p) : strlen(p);
	if (nlen == strlen(S3B_INTEGRITY_DIR) && memcmp(p, S3B_INTEGRITY_DIR, nlen) == 0) {
		out->kind = S3B_P_INTEGRITY;
		out->rel = slash ? slash + 1 : "";
		return 0;
	}
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct s3b_bucket *b = &m->buckets[i];

		if (strlen(b->spec.name) != nlen || memcmp(b->spec.name, p, nlen) != 0)
			continue;
		out->b = b;
		if (!slash || !slash[1]) {
			size_t pl = strlen(b->spec.prefix);

			out->kind = S3B_P_BUCKET;
			out->key = strndup(b->spec.prefix, pl ? pl - 1 : 0);
		} else {
			size_t rl = strlen(slash + 1), pl = strlen(b->spec.prefix);

			out->kind = S3B_P_OBJECT;
			if (pl + rl > S3_MAX_KEY)
				return ENAMETOOLONG;
			out->key = malloc(pl + rl + 1);
			if (out->key) {
				memcpy(out->key, b->spec.prefix, pl);
				memcpy(out->key + pl, slash + 1, rl + 1);
			}
		}
		return out->key ? 0 : ENOMEM;
	}
	return ENOENT;
}

void s3b_path_free(struct s3b_path *p)
{
	free(p->key);
	memset(p, 0, sizeof(*p));
}

char *s3b_dir_prefix(const char *dirkey)
{
	size_t l = strlen(dirkey);
	char *s = malloc(l + 2);

	if (!s)
		return NULL;
	memcpy(s, dirkey, l);
	if (l)
		s[l++] = '/';
	s[l] = '\0';
	return s;
}

void s3b_dir_stat(const struct s3b_mount *m, mode_t perm, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | perm;
	st->st_nlink = 2;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_blksize = 1 << 20;
	st->st_mtim = m->started;
	st->st_ctim = m->started;
	st->st_atim = m->started;
}

void s3b_node_stat(const struct s3b_mount *m, const struct s3b_node *n, bool as_dir,
		   struct stat *st)
{
	if (as_dir) {
		s3b_dir_stat(m, 0777 & ~m->umask, st);
		return;
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | (0666 & ~m->umask);
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_size = (off_t)n->size;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_blksize = 1 << 20;
	st->st_mtim = n->mtime;
	if (n->has_meta) {
		const struct s3b_posix_meta *pm = &n->pm;

		if (pm->has_mode) {
			mode_t type = pm->mode & S_IFMT;

			if (type != S_IFLNK)
				type = S_IFREG; /* only files and links live in objects */
			st->st_mode = type | (pm->mode & 07777);
		}
		if (pm->has_uid)
			st->st_uid = pm->uid;
		if (pm->has_gid)
			st->st_gid = pm->gid;
		if (pm->has_mtime)
			st->st_mtim = pm->mtime;
	}
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void node_from_entry(const struct s3_list_entry *e, struct s3b_node *n)
{
	memset(n, 0, sizeof(*n));
	n->is_file = true;
	n->size = e->size;
	/* whole seconds, as a HEAD's Last-Modified gives them: an object must
	 * show one mtime whichever way it was looked up (rsync compares them
	 * to the nanosecond) */
	n->mtime = (struct timespec){ .tv_sec = e->mtime.tv_sec };
	memcpy(n->etag, e->etag, sizeof(n->etag));
}

static bool has_dir_prefix(const char *s, const char *key, size_t kl)
{
	return strncmp(s, key, kl) == 0 && s[kl] == '/';
}

/* Probe the server for key: is it an object, a prefix, both, neither? */
static int probe(struct s3b_mount *m, struct s3b_bucket *b, const char *key, struct s3b_node *n)
{
	struct s3_list_params lp = { .prefix = key, .max_keys = 2 };
	struct s3_list_page page;
	struct s3_error err;
	size_t kl = strlen(key);
	bool dir_known = false;
	int rc;

	memset(n, 0, sizeof(*n));
	rc = s3_list_objects(b->client, &lp, &page, &err);
	if (rc) {
		LOG_W("%s: listing %s failed: %s (HTTP %d)", b->spec.name, key, err.code,
		      err.http_status);
		return rc;
	}
	for (size_t i = 0; i < page.n_entries; i++) {
		const struct s3_list_entry *e = &page.entries[i];

		if (strcmp(e->key, key) == 0)
			node_from_entry(e, n);
		else if (has_dir_prefix(e->key, key, kl))
			n->is_dir = dir_known = true;
	}
	if (!page.truncated)
		dir_known = true; /* we saw every key starting with key */
	s3_list_page_free(&page);
	if (!dir_known) {
		char *dp = s3b_dir_prefix(key);
		struct s3_list_params lp2 = { .prefix = dp, .max_keys = 1 };

		if (!dp)
			return ENOMEM;
		rc = s3_list_objects(b->client, &lp2, &page, &err);
		free(dp);
		if (rc)
			return rc;
		n->is_dir = page.n_entries > 0;
		s3_list_page_free(&page);
	}
	if (n->is_file) {
		struct s3_object_info info;

		rc = s3_head_object(b->client, key, &info, &err);
		if (rc == 0) {
			n->size = info.size;
			memcpy(n->etag, info.etag, sizeof(n->etag));
			if (info.mtime.tv_sec)
				n->mtime = info.mtime;
			s3b_meta_parse(&info.meta, &n->pm);
			n->has_meta = true;
			s3_object_info_free(&info);
		} else if (rc == ENOENT) {
			n->is_file = false; /* deleted meanwhile */
		} else {
			return rc;
		}
	}
	(void)m;
	return n->is_file || n->is_dir ? 0 : ENOENT;
}

/* ---- the streamed listing ---- */

struct item {
	char *name;      /* owned */
	bool is_dir;
	struct s3b_node node;
};

struct s3b_dirstream {
	struct s3b_mount *m;
	struct s3b_bucket *b;
	char *dirkey;
	char *prefix;           /* dirkey + '/' ("" at the bucket root) */
	struct item *items;     /* the current page (or the cached listing),
				 * merged and filtered */
	size_t n_items;
	size_t base;            /* stream index of items[0] */
	char *token;            /* continuation for the next page */
	bool started, last_page;
	bool from_start;        /* this pass began at index 0 */
	bool for_lookup;        /* a lookup's listing: files get need_meta */
	bool fresh;             /* never from the cache */
	uint64_t generation;
	unsigned skipped;       /* unrepresentable keys seen */
};

static void free_items(struct s3b_dirstream *ds)
{
	for (size_t i = 0; i < ds->n_items; i++)
		free(ds->items[i].name);
	free(ds->items);
	ds->items = NULL;
	ds->n_items = 0;
}

static int dirstream_make(struct s3b_mount *m, struct s3b_bucket *b, const char *dirkey,
			  bool for_lookup, bool fresh, struct s3b_dirstream **out)
{
	struct s3b_dirstream *ds = calloc(1, sizeof(*ds));

	if (!ds)
		return ENOMEM;
	ds->m = m;
	ds->b = b;
	ds->for_lookup = for_lookup;
	ds->fresh = fresh;
	ds->dirkey = strdup(dirkey);
	ds->prefix = s3b_dir_prefix(dirkey);
	if (!ds->dirkey || !ds->prefix) {
		s3b_dirstream_close(ds);
		return ENOMEM;
	}
	*out = ds;
	return 0;
}

int s3b_dirstream_open(struct s3b_mount *m, struct s3b_bucket *b, const char *dirkey, bool fresh,
		       struct s3b_dirstream **out)
{
	return dirstream_make(m, b, dirkey, false, fresh, out);
}

void s3b_dirstream_close(struct s3b_dirstream *ds)
{
	if (!ds)
		return;
	free_items(ds);
	free(ds->dirkey);
	free(ds->prefix);
	free(ds->token);
	free(ds);
}

static int cmp_items(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (int)x->is_dir - (int)y->is_dir;
}

/* Child key of the directory for a name. */
static char *child_key(const struct s3b_dirstream *ds, const char *name, size_t nl)
{
	size_t pl = strlen(ds->prefix);
	char *k = malloc(pl + nl + 1);

	if (k) {
		memcpy(k, ds->prefix, pl);
		memcpy(k + pl, name, nl);
		k[pl + nl] = '\0';
	}
	return k;
}

/* In sorted items, a file followed by a directory of the same name: the
 * file is shown as NAME S3B_CONFLICT_SUFFIX.  0 or ENOMEM. */
static int rename_conflict(struct s3b_dirstream *ds, size_t i, bool say)
{
	struct item *it = &ds->items[i];
	size_t nl, sl = strlen(S3B_CONFLICT_SUFFIX);
	char *renamed;

	if (it->is_dir || i + 1 >= ds->n_items || !ds->items[i + 1].is_dir ||
	    strcmp(it->name, ds->items[i + 1].name) != 0)
		return 0;
	nl = strlen(it->name);
	renamed = malloc(nl + sl + 1);
	if (!renamed)
		return ENOMEM;
	memcpy(renamed, it->name, nl);
	memcpy(renamed + nl, S3B_CONFLICT_SUFFIX, sl + 1);
	if (say)
		LOG_N("%s: '%s%s' is both an object and a directory; the object is shown as '%s'",
		      ds->b->spec.name, ds->prefix, it->name, renamed);
	free(it->name);
	it->name = renamed;
	return 0;
}

/* Fetch the next page into items (merged files and prefixes, sorted,
 * filtered, conflicts renamed) and feed the cache. */
/* A listed object this mount (or an earlier mount with the same journal)
 * wrote: the journal has the mode, owner and mtime stored with it, valid
 * while the object is the one written (same ETag and size).  Saves the HEAD
 * a listing's attributes would otherwise need, and makes them right:
 * rsync -a compares the stored mtime, not LastModified. */
static void journal_meta(struct s3b_mount *m, struct s3b_bucket *b, const char *key,
			 struct s3b_node *n)
{
	struct s3b_journal_attrs a;
	struct s3b_etag x, y;

	if (s3b_journal_stored_attrs(m->journal, b->spec.bucket, key, &a) != 0 ||
	    a.size != n->size)
		return;
	s3b_etag_parse(a.etag, &x);
	s3b_etag_parse(n->etag, &y);
	if (x.kind == S3B_ETAG_OPAQUE || x.kind != y.kind || x.parts != y.parts ||
	    memcmp(x.md5, y.md5, sizeof(x.md5)) != 0)
		return;
	memset(&n->pm, 0, sizeof(n->pm));
	n->pm.has_mode = a.has_mode;
	n->pm.mode = (mode_t)a.mode;
	n->pm.has_uid = a.has_uid;
	n->pm.uid = (uid_t)a.uid;
	n->pm.has_gid = a.has_gid;
	n->pm.gid = (gid_t)a.gid;
	n->pm.has_mtime = a.has_mtime;
	n->pm.mtime = a.mtime;
	n->has_meta = true;
	n->need_meta = false;
}

static int fetch_page(struct s3b_dirstream *ds)
{
	struct s3_list_params lp = { .prefix = ds->prefix, .delimiter = "/",
				     .continuation = ds->token };
	struct s3_list_page page;
	struct s3_error err;
	size_t pl = strlen(ds->prefix), n = 0;
	bool journaled;
	int rc;

	rc = s3_list_objects(ds->b->client, &lp, &page, &err);
	if (rc) {
		LOG_W("%s: listing %s failed: %s (HTTP %d) %s", ds->b->spec.name, ds->prefix,
		      err.code, err.http_status, err.message);
		return rc;
	}
	ds->base += ds->n_items;
	free_items(ds);
	ds->items = calloc(page.n_entries + page.n_prefixes + 1, sizeof(*ds->items));
	if (!ds->items && page.n_entries + page.n_prefixes) {
		s3_list_page_free(&page);
		return ENOMEM;
	}
	for (size_t i = 0; i < page.n_entries; i++) {
		const struct s3_list_entry *e = &page.entries[i];
		const char *name = e->key + pl;
		size_t nl = strlen(e->key) - pl;

		if (strncmp(e->key, ds->prefix, pl) != 0 || nl == 0)
			continue; /* the directory's own marker, or junk */
		if (!valid_component(name, nl)) {
			ds->skipped++;
			continue;
		}
		ds->items[n].name = strndup(name, nl);
		if (!ds->items[n].name)
			goto nomem;
		node_from_entry(e, &ds->items[n].node);
		ds->items[n].node.need_meta = ds->for_lookup;
		n++;
	}
	for (size_t i = 0; i < page.n_prefixes; i++) {
		const char *p = page.prefixes[i];
		size_t nl = strlen(p);

		if (strncmp(p, ds->prefix, pl) != 0 || nl < pl + 1 || p[nl - 1] != '/')
			continue;
		nl -= pl + 1;
		if (!valid_component(p + pl, nl)) {
			ds->skipped++;
			continue;
		}
		ds->items[n].name = strndup(p + pl, nl);
		if (!ds->items[n].name)
			goto nomem;
		ds->items[n].is_dir = true;
		ds->items[n].node.is_dir = true;
		n++;
	}
	ds->n_items = n;
	qsort(ds->items, n, sizeof(*ds->items), cmp_items);
	/* feed the cache, and rename an object hidden by a directory */
	journaled = ds->m->journal && s3b_journal_has_bucket(ds->m->journal, ds->b->spec.bucket);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &ds->items[i];
		char *key = child_key(ds, it->name, strlen(it->name));
		struct s3b_node known;

		if (!key)
			goto nomem;
		/* metadata the cache knows for this very ETag, else what the
		 * journal says this mount stored with it */
		if (!it->is_dir &&
		    s3b_dircache_get(ds->m->dc, ds->b->index, key, &known) == S3B_LK_FOUND &&
		    known.has_meta && strcmp(known.etag, it->node.etag) == 0) {
			it->node.has_meta = true;
			it->node.need_meta = false;
			it->node.pm = known.pm;
		} else if (!it->is_dir && journaled) {
			journal_meta(ds->m, ds->b, key, &it->node);
		}
		s3b_dircache_put(ds->m->dc, ds->b->index, key, &it->node, true);
		free(key);
		if (rename_conflict(ds, i, true))
			goto nomem;
	}
	free(ds->token);
	ds->token = NULL;
	ds->last_page = !page.truncated;
	if (page.truncated) {
		if (!page.next_token) {
			s3_list_page_free(&page);
			return EPROTO;
		}
		ds->token = strdup(page.next_token);
		if (!ds->token)
			goto nomem;
	}
	s3_list_page_free(&page);
	return 0;
nomem:
	ds->n_items = n;
	s3_list_page_free(&page);
	return ENOMEM;
}

/* The whole directory from the cache when it holds a complete listing
 * (younger than the listing TTL, the mount's own changes since included):
 * 0 with items set as one last page; ENOENT when the server must be
 * asked; ENOMEM. */
static int load_cached(struct s3b_dirstream *ds)
{
	struct s3b_dircache_item *ci;
	size_t nc, n = 0;
	int rc;

	if (ds->fresh)
		return ENOENT;
	rc = s3b_dircache_list(ds->m->dc, ds->b->index, ds->dirkey, true, &ci, &nc);
	if (rc)
		return rc;
	ds->items = calloc(2 * nc + 1, sizeof(*ds->items));
	if (!ds->items) {
		free(ci);
		return ENOMEM;
	}
	for (size_t i = 0; i < nc; i++) {
		const struct s3b_node *cn = &ci[i].node;
		size_t nl = strlen(ci[i].name);

		if (!valid_component(ci[i].name, nl))
			continue;
		if (cn->is_file) {
			ds->items[n].name = strndup(ci[i].name, nl);
			if (!ds->items[n].name)
				goto nomem;
			ds->items[n].node = *cn;
			ds->items[n].node.is_dir = false;
			n++;
		}
		if (cn->is_dir) {
			ds->items[n].name = strndup(ci[i].name, nl);
			if (!ds->items[n].name)
				goto nomem;
			ds->items[n].is_dir = true;
			ds->items[n].node.is_dir = true;
			n++;
		}
	}
	free(ci);
	ds->n_items = n;
	qsort(ds->items, n, sizeof(*ds->items), cmp_items);
	for (size_t i = 0; i < n; i++)
		if (rename_conflict(ds, i, false))
			return ENOMEM;
	ds->last_page = true;
	return 0;
nomem:
	free(ci);
	ds->n_items = n;
	return ENOMEM;
}

int s3b_dirstream_item(struct s3b_dirstream *ds, size_t i, const char **name, struct stat *st)
{
	int rc;

	if (!ds->started || i < ds->base) {
		/* (re)start: from the cache, else from the first page */
		free_items(ds);
		free(ds->token);
		ds->token = NULL;
		ds->base = 0;
		ds->last_page = false;
		ds->skipped = 0;
		ds->from_start = false;
		ds->started = true;
		rc = load_cached(ds);
		if (rc == ENOENT) {
			free_items(ds);
			ds->from_start = i == 0;
			ds->generation = s3b_dircache_generation(ds->m->dc);
			rc = fetch_page(ds);
		}
		if (rc) {
			ds->started = false;
			return rc;
		}
		ds->base = 0;
	}
	while (i >= ds->base + ds->n_items) {
		if (ds->last_page) {
			if (ds->from_start) {
				s3b_dircache_set_complete(ds->m->dc, ds->b->index, ds->dirkey, true,
							  ds->generation);
				ds->from_start = false;
				if (ds->skipped)
					LOG_W("%s: %u key(s) under '%s' cannot be shown as names "
					      "(empty, '.', '..' or longer than 255 bytes) and were "
					      "skipped",
					      ds->b->spec.name, ds->skipped, ds->prefix);
			}
			return ENOENT;
		}
		rc = fetch_page(ds);
		if (rc)
			return rc;
	}
	struct item *it = &ds->items[i - ds->base];

	*name = it->name;
	s3b_node_stat(ds->m, &it->node, it->is_dir, st);
	return 0;
}

/* ---- lookups ---- */

/* Read a file's stored metadata (HEAD) into n and the cache.  0; ENOENT
 * when the object is gone (then n may still be a directory: 0 with
 * !n->is_file); or the HEAD's errno. */
static int read_meta(struct s3b_mount *m, struct s3b_bucket *b, const char *key,
		     struct s3b_node *n)
{
	struct s3_object_info info;
	struct s3_error err;
	int rc = s3_head_object(b->client, key, &info, &err);

	if (rc == 0) {
		n->size = info.size;
		memcpy(n->etag, info.etag, sizeof(n->etag));
		if (info.mtime.tv_sec)
			n->mtime = info.mtime;
		s3b_meta_parse(&info.meta, &n->pm);
		n->has_meta = true;
		n->need_meta = false;
		s3_object_info_free(&info);
		s3b_dircache_put(m->dc, b->index, key, n, true);
		return 0;
	}
	if (rc != ENOENT) {
		LOG_W("%s: HEAD %s failed: %s (HTTP %d)", b->spec.name, key, err.code,
		      err.http_status);
		return rc;
	}
	/* deleted since it was listed */
	n->is_file = false;
	n->has_meta = n->need_meta = false;
	if (!n->is_dir) {
		s3b_dircache_put_absent(m->dc, b->index, key);
		return ENOENT;
	}
	s3b_dircache_put(m->dc, b->index, key, n, false);
	return 0;
}

/* A lookup missed: list the first page of key's parent directory into the
 * cache (at most once per listing TTL per directory), marking it complete
 * when the page is the whole directory.  True when a listing was made. */
static bool list_parent(struct s3b_mount *m, struct s3b_bucket *b, const char *key)
{
	const char *slash = strrchr(key, '/');
	char *dirkey = strndup(key, slash ? (size_t)(slash - key) : 0);
	struct s3b_dirstream *ds = NULL;
	bool listed = false;

	if (!dirkey)
		return false;
	if (s3b_dircache_claim_listing(m->dc, b->index, dirkey) &&
	    dirstream_make(m, b, dirkey, true, true, &ds) == 0) {
		uint64_t gen = s3b_dircache_generation(m->dc);

		listed = fetch_page(ds) == 0;
		if (listed && ds->last_page)
			s3b_dircache_set_complete(m->dc, b->index, dirkey, true, gen);
	}
	s3b_dirstream_close(ds);
	free(dirkey);
	return listed;
}

/* ---- the metadata read-ahead ----
 * rsync's quick check lstat()s every name of a directory in order; on a
 * fresh mount each is a listed file whose stored mtime takes a HEAD.  A
 * lookup that must read one also reads the next names' (in key order) on
 * the worker pool, and returns when all are in the cache.  The window
 * grows with the directory's batches (1, 4, 8, 16, then 32 names), so a
 * lone stat costs its one HEAD and a walk through N names about
 * 4 + N/32 round trips instead of N.  Jobs the pool has not started when
 * the lookup's own HEAD is done are run by the lookup itself (a pool busy
 * with uploads never delays it); a job the pool runs late only drops its
 * reference to the batch. */

#define META_AHEAD_MAX 32

enum meta_job_state { MJ_QUEUED, MJ_RUNNING, MJ_DONE };

struct meta_batch;

struct meta_job {
	struct s3b_job job;
	struct meta_batch *batch;
	enum meta_job_state state;  /* protected by batch->lock */
	char *key;                  /* owned */
};

struct meta_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a job the pool ran is done */
	unsigned refs;              /* protected by lock: the lookup's, and one
				     * per job until the pool has called it */
	struct s3b_mount *m;
	struct s3b_bucket *b;
	size_t n;
	struct meta_job jobs[META_AHEAD_MAX];
};

static void batch_unref(struct meta_batch *mb)
{
	bool last;

	pthread_mutex_lock(&mb->lock);
	last = --mb->refs == 0;
	pthread_mutex_unlock(&mb->lock);
	if (!last)
		return;
	for (size_t i = 0; i < mb->n; i++)
		free(mb->jobs[i].key);
	pthread_cond_destroy(&mb->cond);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}

/* The stored metadata of a listed file into the cache, unless known. */
static void meta_fill(struct s3b_mount *m, struct s3b_bucket *b, const char *key)
{
	struct s3b_node n;

	if (s3b_dircache_get(m->dc, b->index, key, &n) == S3B_LK_FOUND && n.is_file &&
	    !n.has_meta)
		(void)read_meta(m, b, key, &n);
}

static void meta_job_run(void *arg)
{
	struct meta_job *j = arg;
	struct meta_batch *mb = j->batch;
	bool mine;

	pthread_mutex_lock(&mb->lock);
	mine = j->state == MJ_QUEUED;
	if (mine)
		j->state = MJ_RUNNING;
	pthread_mutex_unlock(&mb->lock);
	if (mine) {
		meta_fill(mb->m, mb->b, j->key);
		pthread_mutex_lock(&mb->lock);
		j->state = MJ_DONE;
		pthread_cond_broadcast(&mb->cond);
		pthread_mutex_unlock(&mb->lock);
	}
	batch_unref(mb);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names after key's in its directory whose metadata a lookup will
 * want next, as a batch of up to window - 1 jobs (not yet submitted);
 * NULL when there is nothing to read ahead. */
static struct meta_batch *plan_batch(struct s3b_mount *m, struct s3b_bucket *b, const char *key)
{
	const char *slash = strrchr(key, '/'), *name = slash ? slash + 1 : key;
	char *dirkey = strndup(key, slash ? (size_t)(slash - key) : 0), *prefix = NULL;
	struct s3b_dircache_item *items = NULL;
	struct meta_batch *mb = NULL;
	const char **cand = NULL;
	size_t n = 0, nc = 0, window;
	unsigned k;

	if (!dirkey)
		return NULL;
	k = s3b_dircache_meta_batch(m->dc, b->index, dirkey);
	window = k == 0 ? 1 : k >= 4 ? META_AHEAD_MAX : (size_t)2 << k;
	if (window <= 1 || s3b_dircache_list(m->dc, b->index, dirkey, false, &items, &n))
		goto out;
	cand = malloc((n + 1) * sizeof(*cand));
	prefix = s3b_dir_prefix(dirkey);
	if (!cand || !prefix)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct s3b_node *cn = &items[i].node;

		if (cn->is_file && cn->need_meta && !cn->has_meta && strcmp(items[i].name, name) > 0)
			cand[nc++] = items[i].name;
	}
	if (!nc)
		goto out;
	qsort(cand, nc, sizeof(*cand), cmp_names);
	if (nc > window - 1)
		nc = window - 1;
	if (nc > META_AHEAD_MAX)
		nc = META_AHEAD_MAX;
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		goto out;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->cond, NULL);
	mb->m = m;
	mb->b = b;
	mb->refs = 1;
	for (size_t i = 0; i < nc; i++) {
		size_t pl = strlen(prefix), nl = strlen(cand[i]);
		struct meta_job *j = &mb->jobs[mb->n];

		j->key = malloc(pl + nl + 1);
		if (!j->key)
			break;
		memcpy(j->key, prefix, pl);
		memcpy(j->key + pl, cand[i], nl + 1);
		j->batch = mb;
		j->state = MJ_QUEUED;
		j->job.fn = meta_job_run;
		j->job.arg = j;
		mb->n++;
	}
out:
	free(cand);
	free(prefix);
	free(items);
	free(dirkey);
	return mb;
}

/* read_meta() for key, with the read-ahead of its directory's next names. */
static int read_meta_ahead(struct s3b_mount *m, struct s3b_bucket *b, const char *key,
			   struct s3b_node *n)
{
	struct meta_batch *mb = plan_batch(m, b, key);
	int rc;

	if (mb) {
		mb->refs += (unsigned)mb->n;
		for (size_t i = 0; i < mb->n; i++)
			s3b_pool_submit(m->pool, &mb->jobs[i].job);
	}
	rc = read_meta(m, b, key, n);
	if (!mb)
		return rc;
	for (size_t i = 0; i < mb->n; i++) {
		struct meta_job *j = &mb->jobs[i];
		bool mine;

		pthread_mutex_lock(&mb->lock);
		mine = j->state == MJ_QUEUED;
		if (mine)
			j->state = MJ_DONE; /* taken here: the pool's call will skip it */
		pthread_mutex_unlock(&mb->lock);
		if (mine)
			meta_fill(m, b, j->key);
	}
	pthread_mutex_lock(&mb->lock);
	for (size_t i = 0; i < mb->n; i++)
		while (mb->jobs[i].state != MJ_DONE)
			pthread_cond_wait(&mb->cond, &mb->lock);
	pthread_mutex_unlock(&mb->lock);
	batch_unref(mb);
	return rc;
}

int s3b_node_lookup(struct s3b_mount *m, struct s3b_bucket *b, char *key,
		    struct s3b_node *out)
{
	size_t kl = strlen(key), sl = strlen(S3B_CONFLICT_SUFFIX);
	bool listed = false;
	int rc;

again:
	switch (s3b_dircache_get(m->dc, b->index, key, out)) {
	case S3B_LK_FOUND:
		if (out->is_file && !out->has_meta && (out->need_meta || m->conf.allow_other)) {
			/* a lookup shows the stored metadata (rsync compares the
			 * mtime); with allow_other, other users rely on the mode
			 * bits: never the listing's defaults (one HEAD, then cached) */
			rc = out->need_meta ? read_meta_ahead(m, b, key, out)
					    : read_meta(m, b, key, out);
			if (rc && rc != ENOENT && m->conf.allow_other)
				return EIO; /* never guess permissions */
			if (rc == 0)
				return 0;
			break;
		}
		return 0;
	case S3B_LK_ABSENT:
		rc = ENOENT;
		break;
	default:
		if (!listed && list_parent(m, b, key)) {
			listed = true;
			goto again;
		}
		rc = probe(m, b, key, out);
		if (rc == 0)
			s3b_dircache_put(m->dc, b->index, key, out, false);
		else if (rc == ENOENT)
			s3b_dircache_put_absent(m->dc, b->index, key);
		break;
	}
	if (rc == ENOENT && kl > sl && strcmp(key + kl - sl, S3B_CONFLICT_SUFFIX) == 0) {
		/* "x.s3bridge-object": the object x hidden by a directory x */
		char *real = strndup(key, kl - sl);
		struct s3b_node n;

		if (!real)
			return ENOMEM;
		rc = s3b_node_lookup(m, b, real, &n);
		free(real);
		if (rc == 0 && n.is_file && n.is_dir) {
			*out = n;
			out->is_dir = false;
			key[kl - sl] = '\0';
			return 0;
		}
		return ENOENT;
	}
	return rc;
}
