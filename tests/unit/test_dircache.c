/*
 * tests/unit/test_dircache.c — the listing cache (fs/dircache.c) with a
 * pinned clock: positive, negative and placeholder entries, TTLs, directory
 * completeness (what proves a name absent, what a cached listing holds,
 * what takes completeness away: the mount's own changes, evictions, a
 * forget during a listing, time), metadata kept per ETag, the lookup
 * listing claim, and a threaded stress run of the LRU and the tree under a
 * tiny bound.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dircache.h"

#define TTL 1000u

static uint64_t fake_now = 1000000;

static uint64_t fake_clock(void)
{
	return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static struct s3b_dircache *make(unsigned ttl, size_t max)
{
	struct s3b_dircache *dc = NULL;

	CHECK_INT(s3b_dircache_create(ttl, max, &dc), 0);
	if (dc)
		s3b_dircache_set_clock(dc, fake_clock);
	return dc;
}

static struct s3b_node file_node(uint64_t size, const char *etag)
{
	struct s3b_node n = { .is_file = true, .size = size };

	snprintf(n.etag, sizeof(n.etag), "%s", etag);
	return n;
}

static struct s3b_node dir_node(void)
{
	struct s3b_node n = { .is_dir = true };

	return n;
}

static enum s3b_lookup get(struct s3b_dircache *dc, const char *key)
{
	struct s3b_node n;

	return s3b_dircache_get(dc, 0, key, &n);
}

/* The cached listing of dirkey as "name:F|D|FD" items sorted and joined
 * by spaces, "ENOENT" when the cache does not vouch for it. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *listing(struct s3b_dircache *dc, const char *dirkey)
{
	static char out[4096];
	struct s3b_dircache_item *items;
	char *parts[64];
	size_t n, used = 0;
	int rc = s3b_dircache_list(dc, 0, dirkey, true, &items, &n);

	if (rc)
		return rc == ENOENT ? "ENOENT" : "error";
	if (n > 64) {
		free(items);
		return "too many";
	}
	for (size_t i = 0; i < n; i++) {
		char buf[300];

		snprintf(buf, sizeof(buf), "%s:%s%s", items[i].name,
			 items[i].node.is_file ? "F" : "", items[i].node.is_dir ? "D" : "");
		parts[i] = strdup(buf);
	}
	qsort(parts, n, sizeof(*parts), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", i ? " " : "",
					 parts[i]);
		free(parts[i]);
	}
	free(items);
	return out;
}

static void test_entries_and_ttl(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_node n = file_node(42, "e1"), got;

	s3b_dircache_put(dc, 0, "a/b", &n, false);
	CHECK_INT(s3b_dircache_get(dc, 0, "a/b", &got), S3B_LK_FOUND);
	CHECK_INT(got.size, 42);
	CHECK_STR(got.etag, "e1");
	CHECK(got.is_file && !got.is_dir);
	/* the parent exists only as a placeholder: nothing is known of it */
	CHECK_INT(get(dc, "a"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "a/c"), S3B_LK_UNKNOWN);
	/* buckets are separate namespaces */
	CHECK_INT(s3b_dircache_get(dc, 1, "a/b", &got), S3B_LK_UNKNOWN);

	s3b_dircache_put_absent(dc, 0, "gone");
	CHECK_INT(get(dc, "gone"), S3B_LK_ABSENT);

	fake_now += TTL - 1;
	CHECK_INT(get(dc, "a/b"), S3B_LK_FOUND);
	CHECK_INT(get(dc, "gone"), S3B_LK_ABSENT);
	fake_now += 1;
	CHECK_INT(get(dc, "a/b"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "gone"), S3B_LK_UNKNOWN);
	s3b_dircache_destroy(dc);

	/* TTL 0 caches nothing, and never claims a lookup listing */
	dc = make(0, 0);
	s3b_dircache_put(dc, 0, "x", &n, false);
	CHECK_INT(get(dc, "x"), S3B_LK_UNKNOWN);
	CHECK(!s3b_dircache_claim_listing(dc, 0, ""));
	s3b_dircache_destroy(dc);
}

static void test_metadata_per_etag(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_node n = file_node(10, "e1"), got;

	n.has_meta = true;
	n.pm.has_mtime = true;
	n.pm.mtime.tv_sec = 981173106;
	s3b_dircache_put(dc, 0, "f", &n, true);
	/* a listing of the same object (same ETag, no metadata) keeps it */
	n = file_node(10, "e1");
	n.need_meta = true;
	s3b_dircache_put(dc, 0, "f", &n, true);
	CHECK_INT(s3b_dircache_get(dc, 0, "f", &got), S3B_LK_FOUND);
	CHECK(got.has_meta && got.pm.has_mtime);
	CHECK_INT(got.pm.mtime.tv_sec, 981173106);
	CHECK(got.need_meta);
	/* another ETag: another object, its metadata is unknown */
	n = file_node(11, "e2");
	s3b_dircache_put(dc, 0, "f", &n, true);
	CHECK_INT(s3b_dircache_get(dc, 0, "f", &got), S3B_LK_FOUND);
	CHECK(!got.has_meta);
	CHECK_INT(got.size, 11);

	/* a directory sighting of the same name keeps the file */
	n = dir_node();
	s3b_dircache_put(dc, 0, "f", &n, true);
	CHECK_INT(s3b_dircache_get(dc, 0, "f", &got), S3B_LK_FOUND);
	CHECK(got.is_file && got.is_dir);
	CHECK_INT(got.size, 11);
	/* without merge, a put replaces */
	s3b_dircache_put(dc, 0, "f", &n, false);
	CHECK_INT(s3b_dircache_get(dc, 0, "f", &got), S3B_LK_FOUND);
	CHECK(!got.is_file && got.is_dir);
	s3b_dircache_destroy(dc);
}

/* A directory listed in full: "d" with f1, f2 (files), sub (directory). */
static void list_d(struct s3b_dircache *dc)
{
	uint64_t gen = s3b_dircache_generation(dc);
	struct s3b_node f = file_node(1, "e"), d = dir_node();

	s3b_dircache_put(dc, 0, "d/f1", &f, true);
	s3b_dircache_put(dc, 0, "d/f2", &f, true);
	s3b_dircache_put(dc, 0, "d/sub", &d, true);
	s3b_dircache_set_complete(dc, 0, "d", true, gen);
}

static void test_completeness(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_node f = file_node(5, "n"), got;

	CHECK_STR(listing(dc, "d"), "ENOENT");
	list_d(dc);
	CHECK_STR(listing(dc, "d"), "f1:F f2:F sub:D");
	CHECK_INT(get(dc, "d/nope"), S3B_LK_ABSENT);
	CHECK_INT(get(dc, "d/f1"), S3B_LK_FOUND);
	/* completeness says nothing about grandchildren */
	CHECK_INT(get(dc, "d/sub/x"), S3B_LK_UNKNOWN);
	/* the directory itself is known as a directory */
	CHECK_INT(s3b_dircache_get(dc, 0, "d", &got), S3B_LK_FOUND);
	CHECK(got.is_dir);

	/* the mount's own changes keep the cached listing right */
	s3b_dircache_put(dc, 0, "d/new", &f, true);
	CHECK_STR(listing(dc, "d"), "f1:F f2:F new:F sub:D");
	s3b_dircache_put_absent(dc, 0, "d/f1");
	CHECK_STR(listing(dc, "d"), "f2:F new:F sub:D");
	CHECK_INT(get(dc, "d/f1"), S3B_LK_ABSENT);
	/* a name the mount no longer knows: the directory must be listed again */
	s3b_dircache_forget(dc, 0, "d/f2");
	CHECK_STR(listing(dc, "d"), "ENOENT");
	CHECK_INT(get(dc, "d/f2"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "d/nope"), S3B_LK_UNKNOWN);
	/* listed again: "new" is not on the server any more (another client
	 * deleted it), so the cache drops it */
	list_d(dc);
	CHECK_STR(listing(dc, "d"), "f1:F f2:F sub:D");
	CHECK_INT(get(dc, "d/new"), S3B_LK_ABSENT);
	/* explicitly not complete */
	s3b_dircache_set_complete(dc, 0, "d", false, 0);
	CHECK_STR(listing(dc, "d"), "ENOENT");
	CHECK_INT(get(dc, "d/nope"), S3B_LK_UNKNOWN);
	s3b_dircache_destroy(dc);
}

static void test_completeness_in_time(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_node f = file_node(1, "e");
	struct s3b_dircache_item *items = NULL;
	size_t n = 0;
	uint64_t gen;

	/* the listing took 300 ms: its first children expire before the mark */
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "t/early", &f, true);
	fake_now += 300;
	s3b_dircache_put(dc, 0, "t/late", &f, true);
	s3b_dircache_set_complete(dc, 0, "t", true, gen);
	CHECK_STR(listing(dc, "t"), "early:F late:F");
	fake_now += TTL - 300; /* early expired, the mark not */
	CHECK_STR(listing(dc, "t"), "ENOENT");
	CHECK_INT(get(dc, "t/early"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "t/other"), S3B_LK_ABSENT);
	/* what is known, whole or not */
	CHECK_INT(s3b_dircache_list(dc, 0, "t", false, &items, &n), 0);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(items[0].name, "late");
	free(items);
	fake_now += 300;
	CHECK_INT(get(dc, "t/other"), S3B_LK_UNKNOWN);
	CHECK_INT(s3b_dircache_list(dc, 0, "t", false, &items, &n), 0);
	CHECK_INT(n, 0);
	free(items);
	CHECK_INT(s3b_dircache_list(dc, 0, "never-seen", false, &items, &n), 0);
	CHECK_INT(n, 0);
	free(items);
	s3b_dircache_destroy(dc);

	/* completeness trusted for a shorter time than entries (the kernel's
	 * negative entry timeout): names stay known, absence and the whole
	 * listing do not */
	dc = make(TTL, 0);
	s3b_dircache_set_listing_ttl(dc, 400);
	list_d(dc);
	CHECK_STR(listing(dc, "d"), "f1:F f2:F sub:D");
	CHECK_INT(get(dc, "d/nope"), S3B_LK_ABSENT);
	fake_now += 400;
	CHECK_STR(listing(dc, "d"), "ENOENT");
	CHECK_INT(get(dc, "d/nope"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "d/f1"), S3B_LK_FOUND);
	/* a lookup listing may be claimed again after the listing TTL */
	CHECK(s3b_dircache_claim_listing(dc, 0, "d"));
	CHECK(!s3b_dircache_claim_listing(dc, 0, "d"));
	fake_now += 399;
	CHECK(!s3b_dircache_claim_listing(dc, 0, "d"));
	fake_now += 1;
	CHECK(s3b_dircache_claim_listing(dc, 0, "d"));
	/* longer than the entries' TTL: clamped */
	s3b_dircache_set_listing_ttl(dc, 10 * TTL);
	list_d(dc);
	fake_now += TTL;
	CHECK_INT(get(dc, "d/nope"), S3B_LK_UNKNOWN);
	/* 0: completeness is never trusted, no lookup listing is claimed */
	s3b_dircache_set_listing_ttl(dc, 0);
	list_d(dc);
	CHECK_INT(get(dc, "d/nope"), S3B_LK_UNKNOWN);
	CHECK_STR(listing(dc, "d"), "ENOENT");
	CHECK(!s3b_dircache_claim_listing(dc, 0, "x"));
	s3b_dircache_destroy(dc);
}

static void test_listing_races(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_node f = file_node(1, "e"), d = dir_node();
	uint64_t gen;

	/* children learned before the listing that it did not confirm are
	 * gone (another client deleted them) */
	s3b_dircache_put(dc, 0, "s/old", &f, true);
	s3b_dircache_put(dc, 0, "s/old-dir/deep", &f, true);
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "s/kept", &f, true);
	s3b_dircache_set_complete(dc, 0, "s", true, gen);
	CHECK_STR(listing(dc, "s"), "kept:F");
	CHECK_INT(get(dc, "s/old"), S3B_LK_ABSENT);
	CHECK_INT(get(dc, "s/old-dir/deep"), S3B_LK_UNKNOWN);

	/* a forget in the directory while it is listed: not complete */
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "r/a", &f, true);
	s3b_dircache_forget(dc, 0, "r/b");
	s3b_dircache_put(dc, 0, "r/c", &f, true);
	s3b_dircache_set_complete(dc, 0, "r", true, gen);
	CHECK_STR(listing(dc, "r"), "ENOENT");
	CHECK_INT(get(dc, "r/b"), S3B_LK_UNKNOWN);
	/* ... even when the directory had no entry yet */
	gen = s3b_dircache_generation(dc);
	s3b_dircache_forget(dc, 0, "q/b");
	s3b_dircache_put(dc, 0, "q/a", &f, true);
	s3b_dircache_set_complete(dc, 0, "q", true, gen);
	CHECK_STR(listing(dc, "q"), "ENOENT");
	/* a forget elsewhere does not matter */
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "p/a", &f, true);
	s3b_dircache_forget(dc, 0, "elsewhere/b");
	s3b_dircache_set_complete(dc, 0, "p", true, gen);
	CHECK_STR(listing(dc, "p"), "a:F");
	/* a directory dropped as a tree (rename) while another is listed */
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "o/a", &f, true);
	s3b_dircache_forget_tree(dc, 0, "elsewhere");
	s3b_dircache_set_complete(dc, 0, "o", true, gen);
	CHECK_STR(listing(dc, "o"), "ENOENT");

	/* an empty directory just made (mkdir) */
	s3b_dircache_put_absent(dc, 0, "m/stale-negative");
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "m", &d, true);
	s3b_dircache_set_complete(dc, 0, "m", true, gen);
	CHECK_STR(listing(dc, "m"), "");
	CHECK_INT(get(dc, "m/anything"), S3B_LK_ABSENT);
	s3b_dircache_destroy(dc);
}

static void test_forget(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_node f = file_node(1, "e"), d = dir_node();
	uint64_t gen;

	/* forgetting a directory that has known children keeps the children */
	s3b_dircache_put(dc, 0, "k", &d, true);
	s3b_dircache_put(dc, 0, "k/child", &f, true);
	s3b_dircache_forget(dc, 0, "k");
	CHECK_INT(get(dc, "k"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "k/child"), S3B_LK_FOUND);

	/* forget_tree drops the directory and all below it, and the parent's
	 * completeness */
	gen = s3b_dircache_generation(dc);
	s3b_dircache_put(dc, 0, "t", &d, true);
	s3b_dircache_put(dc, 0, "t/a", &f, true);
	s3b_dircache_put(dc, 0, "t/b/c", &f, true);
	s3b_dircache_put(dc, 0, "top", &f, true);
	s3b_dircache_set_complete(dc, 0, "", true, gen);
	CHECK_INT(get(dc, "nothing-here"), S3B_LK_ABSENT);
	s3b_dircache_forget_tree(dc, 0, "t");
	CHECK_INT(get(dc, "t"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "t/a"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "t/b/c"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "top"), S3B_LK_FOUND);
	CHECK_INT(get(dc, "nothing-here"), S3B_LK_UNKNOWN);
	CHECK_STR(listing(dc, ""), "ENOENT");
	/* the whole bucket */
	s3b_dircache_forget_tree(dc, 0, "");
	CHECK_INT(get(dc, "top"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "k/child"), S3B_LK_UNKNOWN);
	s3b_dircache_destroy(dc);
}

static void test_eviction(void)
{
	struct s3b_dircache *dc = make(TTL, 16);
	struct s3b_node f = file_node(1, "e");
	uint64_t gen;
	char key[64];

	list_d(dc); /* d, d/f1, d/f2, d/sub, and the root placeholder */
	CHECK_STR(listing(dc, "d"), "f1:F f2:F sub:D");
	/* a listing elsewhere that evicts: the LRU drops d's children, and
	 * then neither d nor the other directory may claim completeness */
	gen = s3b_dircache_generation(dc);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "big/%02d", i);
		s3b_dircache_put(dc, 0, key, &f, true);
	}
	s3b_dircache_set_complete(dc, 0, "big", true, gen);
	CHECK_STR(listing(dc, "big"), "ENOENT");
	CHECK_INT(get(dc, "big/00"), S3B_LK_UNKNOWN); /* evicted: unknown, never absent */
	CHECK_INT(get(dc, "big/39"), S3B_LK_FOUND);
	CHECK_INT(get(dc, "big/99"), S3B_LK_UNKNOWN);
	CHECK_STR(listing(dc, "d"), "ENOENT");
	CHECK_INT(get(dc, "d/f1"), S3B_LK_UNKNOWN);
	CHECK_INT(get(dc, "d/nope"), S3B_LK_UNKNOWN);
	CHECK_INT(s3b_dircache_count(dc), 16);
	/* many directories, one file each: still within the bound */
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "dir%03d/sub/file", i);
		s3b_dircache_put(dc, 0, key, &f, true);
	}
	CHECK(s3b_dircache_count(dc) <= 16);
	CHECK_INT(get(dc, "dir199/sub/file"), S3B_LK_FOUND);

	/* a deep key in a tiny cache: its ancestors are never the victims */
	s3b_dircache_put(dc, 0, "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", &f, true);
	CHECK_INT(get(dc, "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s"), S3B_LK_FOUND);
	CHECK(s3b_dircache_count(dc) <= 16 + 20);
	s3b_dircache_put(dc, 0, "z", &f, true);
	CHECK_INT(get(dc, "z"), S3B_LK_FOUND);
	CHECK(s3b_dircache_count(dc) <= 16);
	s3b_dircache_destroy(dc);
}

static void test_claim_and_batches(void)
{
	struct s3b_dircache *dc = make(TTL, 0);

	CHECK(s3b_dircache_claim_listing(dc, 0, "c"));
	CHECK(!s3b_dircache_claim_listing(dc, 0, "c"));
	CHECK(s3b_dircache_claim_listing(dc, 1, "c"));
	CHECK_INT(s3b_dircache_meta_batch(dc, 0, "c"), 0);
	CHECK_INT(s3b_dircache_meta_batch(dc, 0, "c"), 1);
	CHECK_INT(s3b_dircache_meta_batch(dc, 0, "c"), 2);
	CHECK_INT(s3b_dircache_meta_batch(dc, 0, "unknown-dir"), 0);
	fake_now += TTL;
	CHECK(s3b_dircache_claim_listing(dc, 0, "c"));
	CHECK_INT(s3b_dircache_meta_batch(dc, 0, "c"), 0);
	/* a complete, fresh directory needs no lookup listing */
	list_d(dc);
	CHECK(!s3b_dircache_claim_listing(dc, 0, "d"));
	s3b_dircache_destroy(dc);
}

static void test_large_listing(void)
{
	struct s3b_dircache *dc = make(TTL, 0);
	struct s3b_dircache_item *items;
	uint64_t gen = s3b_dircache_generation(dc);
	struct s3b_node f = file_node(0, "e");
	static bool seen[5000];
	char key[64];
	size_t n = 0;
	bool names_ok = true;

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "pre/fix/big/f%06d", i);
		f.size = (uint64_t)i;
		s3b_dircache_put(dc, 0, key, &f, true);
	}
	s3b_dircache_put_absent(dc, 0, "pre/fix/big/absent");
	s3b_dircache_set_complete(dc, 0, "pre/fix/big", true, gen);
	CHECK_INT(s3b_dircache_list(dc, 0, "pre/fix/big", true, &items, &n), 0);
	CHECK_INT(n, 5000);
	for (size_t i = 0; i < n; i++) {
		int v = -1;

		if (sscanf(items[i].name, "f%d", &v) != 1 || v < 0 || v >= 5000 || seen[v] ||
		    (uint64_t)v != items[i].node.size || strlen(items[i].name) != 7)
			names_ok = false;
		else
			seen[v] = true;
	}
	CHECK(names_ok);
	if (n)
		free(items);
	s3b_dircache_destroy(dc);
}

/* ---- threads: puts, gets, forgets, listings under a tiny bound ---- */

struct stress_arg {
	struct s3b_dircache *dc;
	unsigned seed;
};

static void *stress(void *p)
{
	struct stress_arg *a = p;
	struct s3b_node f = file_node(1, "e"), got;
	unsigned r = a->seed;

	for (int i = 0; i < 20000; i++) {
		char key[64];
		unsigned op;

		r = r * 1103515245u + 12345u;
		op = (r >> 16) % 8;
		snprintf(key, sizeof(key), "d%u/s%u/f%u", (r >> 8) % 4, (r >> 12) % 3, (r >> 20) % 50);
		switch (op) {
		case 0:
		case 1:
			s3b_dircache_put(a->dc, 0, key, &f, true);
			break;
		case 2:
			s3b_dircache_put_absent(a->dc, 0, key);
			break;
		case 3:
			s3b_dircache_forget(a->dc, 0, key);
			break;
		case 4: {
			struct s3b_dircache_item *items;
			size_t n;

			key[strlen("dX/sY")] = '\0';
			if (s3b_dircache_list(a->dc, 0, key, (r >> 4) & 1, &items, &n) == 0)
				free(items);
			break;
		}
		case 5: {
			uint64_t gen = s3b_dircache_generation(a->dc);

			key[strlen("dX/sY")] = '\0';
			s3b_dircache_set_complete(a->dc, 0, key, true, gen);
			break;
		}
		case 6:
			if ((r >> 24) % 64 == 0) {
				key[2] = '\0';
				s3b_dircache_forget_tree(a->dc, 0, key);
			} else {
				s3b_dircache_claim_listing(a->dc, 0, key);
			}
			break;
		default:
			(void)s3b_dircache_get(a->dc, 0, key, &got);
			break;
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct s3b_dircache *dc = make(TTL, 64);
	struct stress_arg args[4];
	pthread_t t[4];

	for (unsigned i = 0; i < 4; i++) {
		args[i] = (struct stress_arg){ .dc = dc, .seed = 7 + i };
		CHECK_INT(pthread_create(&t[i], NULL, stress, &args[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(s3b_dircache_count(dc) <= 64);
	/* still consistent: a fresh complete listing reads back exactly */
	s3b_dircache_forget_tree(dc, 0, "");
	list_d(dc);
	CHECK_STR(listing(dc, "d"), "f1:F f2:F sub:D");
	s3b_dircache_destroy(dc);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_entries_and_ttl();
	test_metadata_per_etag();
	test_completeness();
	test_completeness_in_time();
	test_listing_races();
	test_forget();
	test_eviction();
	test_claim_and_batches();
	test_large_listing();
	test_threads();
	return check_report();
}
