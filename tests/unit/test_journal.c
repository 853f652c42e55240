/*
 * tests/unit/test_journal.c — the journal's writer and recovery: schema
 * and reopen, round trip, group commit, backpressure, kill -9 durability,
 * orphans, latest-per-path bookkeeping against an independent model,
 * version and format refusal, one mount per journal, snapshot views; the
 * stored attributes (mode, uid, gid, mtime) and their probes, and the
 * upgrade of a version-1 journal (whose schema is copied below as it was).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "journal.h"
#include "journal_impl.h"
#include "log.h"

static char tmpdir[] = "/tmp/s3b_test_journal.XXXXXX";

static void jpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};

	nanosleep(&ts, NULL);
}

static struct s3b_obj_record mkrec(const char *path, enum s3b_obj_status st, uint64_t size)
{
	return (struct s3b_obj_record){
		.path = path,
		.dst_bucket = "dst",
		.dst_key = path,
		.src_size = -1,
		.size = size,
		.status = st,
		.attempts = 1,
		.started = {.tv_sec = 1700000000},
		.ended = {.tv_sec = 1700000001},
	};
}

static struct s3b_journal *jopen(const char *path, const struct s3b_journal_tuning *t)
{
	struct s3b_journal *j = NULL;
	char why[256];
	int rc = s3b_journal_open_tuned(path, t, &j, why, sizeof(why));

	if (rc)
		fprintf(stderr, "open %s: %d %s\n", path, rc, why);
	CHECK_INT(rc, 0);
	return j;
}

/* Status of the latest record of path, via a fresh view; -1 when none. */
static int status_of(const char *jp, const char *path)
{
	struct s3b_jview *v;
	struct s3b_jrow row;
	char why[256];
	bool got = false;
	int st = -1;

	if (s3b_jview_open(jp, &v, why, sizeof(why)) != 0)
		return -2;
	if (s3b_jview_scan(v, S3B_JSCAN_PATH, path, 0) == 0 && s3b_jview_next(v, &row, &got) == 0 &&
	    got)
		st = (int)row.rec.status;
	s3b_jview_close(v);
	return st;
}

static void test_create_reopen(void)
{
	char p[256], why[256];
	struct s3b_journal *j;
	struct s3b_jview *v;
	struct stat sb;
	int64_t a, b, c;

	jpath(p, sizeof(p), "create.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	CHECK(stat(p, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0600); /* it names every object: owner only */
	struct s3b_obj_record r = mkrec("dst/one", S3B_ST_PENDING, 1);
	a = s3b_journal_begin(j, &r);
	b = s3b_journal_begin(j, &r);
	CHECK_INT(a, 1);
	CHECK_INT(b, 2);
	r.status = S3B_ST_VERIFIED;
	s3b_journal_finish(j, b, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	s3b_journal_close(j);

	/* reopen: ids continue after the largest, records are there, and the
	 * record left pending became interrupted */
	j = jopen(p, NULL);
	if (!j)
		return;
	c = s3b_journal_begin(j, &r);
	CHECK_INT(c, 3);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), 0);
	if (v) {
		const struct s3b_jtotals *t = s3b_jview_totals(v);
		struct s3b_jrow row;
		bool got;
		int n = 0;

		CHECK_INT(t->records, 3);
		CHECK_INT(t->runs, 2);
		CHECK_INT(t->paths, 1); /* one path, three records */
		CHECK_INT(t->objects[S3B_ST_PENDING], 1);
		CHECK_INT(s3b_jview_scan(v, S3B_JSCAN_ALL, NULL, 0), 0);
		while (s3b_jview_next(v, &row, &got) == 0 && got) {
			n++;
			if (row.id == 1) {
				CHECK_INT(row.rec.status, S3B_ST_INTERRUPTED);
				CHECK_STR(row.rec.error,
					  "interrupted: the mount stopped before the object was finished");
			}
			if (row.id == 2)
				CHECK_INT(row.rec.status, S3B_ST_VERIFIED);
			if (row.id == 3)
				CHECK_INT(row.rec.status, S3B_ST_PENDING);
		}
		CHECK_INT(n, 3);
		s3b_jview_close(v);
	}
	s3b_journal_close(j);
	CHECK_INT(s3b_jfile_integrity(p, why, sizeof(why)), 0);
}

static void test_round_trip(void)
{
	static const uint8_t md5[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
					0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
	char p[256];
	struct s3b_journal *j;
	struct s3b_obj_record r = {
		.path = "dst/dir/file.bin",
		.src_bucket = "old", .src_key = "dir/file.bin", .src_etag = "abc-2",
		.src_size = 12345,
		.dst_bucket = "new", .dst_key = "dir/file.bin", .dst_etag = "def-2",
		.size = 12345,
		.has_digests = true,
		.crc32c = 0x364b3fb7,
		.part_size = 8388608, .parts = 2,
		.status = S3B_ST_PENDING,
		.attempts = 0,
		.started = {.tv_sec = 1700000000, .tv_nsec = 123456789},
	};
	struct s3b_obj_record out;
	int64_t id;

	memcpy(r.md5, md5, 16);
	for (int i = 0; i < 32; i++)
		r.sha256[i] = (uint8_t)(i * 7 + 1);
	jpath(p, sizeof(p), "roundtrip.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	id = s3b_journal_begin(j, &r);
	CHECK(id > 0);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_lookup(j, "new", "dir/file.bin", &out), 0);
	CHECK_INT(out.status, S3B_ST_PENDING);
	CHECK_INT(out.ended.tv_sec, 0);
	s3b_obj_record_free_strings(&out);

	r.status = S3B_ST_VERIFIED;
	r.attempts = 2;
	r.ended = (struct timespec){.tv_sec = 1700000009, .tv_nsec = 5};
	r.error = NULL;
	s3b_journal_finish(j, id, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	memset(&out, 0, sizeof(out));
	CHECK_INT(s3b_journal_lookup(j, "new", "dir/file.bin", &out), 0);
	CHECK_STR(out.path, "dst/dir/file.bin");
	CHECK_STR(out.src_bucket, "old");
	CHECK_STR(out.src_key, "dir/file.bin");
	CHECK_STR(out.src_etag, "abc-2");
	CHECK_INT(out.src_size, 12345);
	CHECK_STR(out.dst_bucket, "new");
	CHECK_STR(out.dst_etag, "def-2");
	CHECK_INT(out.size, 12345);
	CHECK(out.has_digests);
	CHECK(memcmp(out.md5, md5, 16) == 0);
	CHECK(memcmp(out.sha256, r.sha256, 32) == 0);
	CHECK_INT(out.crc32c, 0x364b3fb7);
	CHECK_INT(out.part_size, 8388608);
	CHECK_INT(out.parts, 2);
	CHECK_INT(out.status, S3B_ST_VERIFIED);
	CHECK(out.error == NULL);
	CHECK_INT(out.attempts, 2);
	CHECK_INT(out.started.tv_sec, 1700000000);
	CHECK_INT(out.started.tv_nsec, 123456789);
	CHECK_INT(out.ended.tv_sec, 1700000009);
	CHECK_INT(out.ended.tv_nsec, 5);
	s3b_obj_record_free_strings(&out);
	CHECK_INT(s3b_journal_lookup(j, "new", "no/such", &out), ENOENT);
	CHECK_INT(s3b_journal_lookup(j, "old", "dir/file.bin", &out), ENOENT);
	s3b_journal_close(j);
}

static void test_group_commit(void)
{
	char p[256];
	struct s3b_journal *j;
	struct s3b_journal_counts c;
	char path[64];

	jpath(p, sizeof(p), "group.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	for (int i = 0; i < 10000; i++) {
		struct s3b_obj_record r;
		int64_t id;

		snprintf(path, sizeof(path), "dst/g%05d", i);
		r = mkrec(path, S3B_ST_PENDING, (uint64_t)i);
		id = s3b_journal_begin(j, &r);
		r.status = S3B_ST_VERIFIED;
		s3b_journal_finish(j, id, &r);
	}
	CHECK_INT(s3b_journal_sync(j), 0);
	s3b_journal_counts(j, &c);
	CHECK_INT(c.queued, 20000);
	CHECK_INT(c.committed, 20000);
	printf("group commit: 20000 operations in %llu transactions\n",
	       (unsigned long long)c.transactions);
	CHECK(c.transactions >= 1);
	CHECK(c.transactions * 20 <= 10000); /* far fewer than records */
	s3b_journal_close(j);
	CHECK_INT(status_of(p, "dst/g09999"), S3B_ST_VERIFIED);
}

struct producer {
	struct s3b_journal *j;
	int n;
	atomic_int done;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;

	for (int i = 0; i < pr->n; i++) {
		struct s3b_obj_record r = mkrec("dst/blocked", S3B_ST_PENDING, 1);

		s3b_journal_begin(pr->j, &r);
		atomic_fetch_add(&pr->done, 1);
	}
	return NULL;
}

static void test_full_queue_blocks(void)
{
	struct s3b_journal_tuning t = {.queue_cap = 8};
	struct s3b_journal_counts c;
	struct producer pr = {.n = 20};
	pthread_t th;
	char p[256];

	jpath(p, sizeof(p), "blocks.db");
	pr.j = jopen(p, &t);
	if (!pr.j)
		return;
	s3b_journal_pause(pr.j, true);
	pthread_create(&th, NULL, produce, &pr);
	sleep_ms(300);
	s3b_journal_counts(pr.j, &c);
	CHECK_INT(c.queued, 8);               /* the queue holds its capacity... */
	CHECK_INT(atomic_load(&pr.done), 8);  /* ...and the producer waits, not grows it */
	CHECK_INT(c.committed, 0);
	s3b_journal_pause(pr.j, false);
	pthread_join(th, NULL);
	CHECK_INT(atomic_load(&pr.done), 20);
	CHECK_INT(s3b_journal_sync(pr.j), 0);
	s3b_journal_counts(pr.j, &c);
	CHECK_INT(c.committed, 20);
	s3b_journal_close(pr.j);
}

/* The child writes records forever, finishing 6 of every 7, syncing every
 * 10 and reporting the last id the sync covered; the parent kills it. */
static void durability_child(const char *p, int fd)
{
	struct s3b_journal *j;
	char why[256], line[32], path[64];

	if (s3b_journal_open(p, &j, why, sizeof(why)) != 0)
		_exit(3);
	for (int i = 1;; i++) {
		struct s3b_obj_record r;
		int64_t id;
		int n;

		snprintf(path, sizeof(path), "dst/d%07d", i);
		r = mkrec(path, S3B_ST_PENDING, 100);
		id = s3b_journal_begin(j, &r);
		if (id != i)
			_exit(4);
		if (i % 7 != 0) {
			r.status = S3B_ST_VERIFIED;
			s3b_journal_finish(j, id, &r);
		}
		if (i % 10 == 0) {
			if (s3b_journal_sync(j) != 0)
				_exit(5);
			n = snprintf(line, sizeof(line), "%d\n", i);
			if (write(fd, line, (size_t)n) != n)
				_exit(6);
		}
	}
}

static void test_kill9_durability(void)
{
	char p[256], why[256], buf[4096], path[64];
	struct s3b_journal *j;
	struct s3b_jview *v;
	int fds[2], status, synced = 0, lines = 0;
	size_t have = 0;
	pid_t pid;

	jpath(p, sizeof(p), "kill9.db");
	CHECK_INT(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		durability_child(p, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	/* read sync reports until 40 syncs returned, then kill mid-stream */
	while (lines < 40) {
		ssize_t n = read(fds[0], buf + have, sizeof(buf) - 1 - have);
		char *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			synced = (int)strtol(buf, NULL, 10);
			lines++;
			memmove(buf, nl + 1, have - (size_t)(nl + 1 - buf) + 1);
			have -= (size_t)(nl + 1 - buf);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fds[0]);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(synced >= 400);
	printf("kill -9 after the sync of record %d\n", synced);

	/* the file as the crash left it: intact */
	CHECK_INT(s3b_jfile_integrity(p, why, sizeof(why)), 0);
	/* the next mount recovers */
	j = jopen(p, NULL);
	if (!j)
		return;
	s3b_journal_close(j);
	CHECK_INT(s3b_jfile_integrity(p, why, sizeof(why)), 0);
	CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), 0);
	if (!v)
		return;
	{
		const struct s3b_jtotals *t = s3b_jview_totals(v);
		int missing = 0, wrong = 0;

		CHECK_INT(t->objects[S3B_ST_PENDING], 0);
		CHECK(t->records >= (uint64_t)synced);
		for (int i = 1; i <= synced; i++) {
			struct s3b_jrow row;
			bool got = false;

			snprintf(path, sizeof(path), "dst/d%07d", i);
			if (s3b_jview_scan(v, S3B_JSCAN_PATH, path, 0) || s3b_jview_next(v, &row, &got) ||
			    !got) {
				missing++;
				continue;
			}
			if (row.rec.status != (i % 7 ? S3B_ST_VERIFIED : S3B_ST_INTERRUPTED))
				wrong++;
		}
		CHECK_INT(missing, 0);
		CHECK_INT(wrong, 0);
	}
	s3b_jview_close(v);
}

static int find_upload(struct s3b_journal_upload *u, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(u[i].upload_id, id) == 0)
			return (int)i;
	return -1;
}

static void test_orphans(void)
{
	struct s3b_journal_upload *u = NULL;
	struct s3b_journal *j;
	char p[256];
	size_t n = 0;
	int k;

	jpath(p, sizeof(p), "orphans.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	s3b_journal_upload_begun(j, "http://127.0.0.1:9000", "b1", "k/one", "UP1");
	s3b_journal_upload_begun(j, NULL, "b2", "k/two", "UP2");
	s3b_journal_upload_begun(j, "http://h", "b3", "k/three", "UP3");
	s3b_journal_upload_ended(j, "UP3");
	CHECK_INT(s3b_journal_sync(j), 0);
	/* this run's uploads are not orphans */
	CHECK_INT(s3b_journal_orphans(j, &u, &n), 0);
	CHECK_INT(n, 0);
	s3b_journal_uploads_free(u, n);
	s3b_journal_close(j);

	j = jopen(p, NULL);
	if (!j)
		return;
	s3b_journal_upload_begun(j, "http://h", "b4", "k/four", "UP4"); /* this run */
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_orphans(j, &u, &n), 0);
	CHECK_INT(n, 2);
	k = find_upload(u, n, "UP1");
	CHECK(k >= 0);
	if (k >= 0) {
		CHECK_STR(u[k].endpoint, "http://127.0.0.1:9000");
		CHECK_STR(u[k].bucket, "b1");
		CHECK_STR(u[k].key, "k/one");
	}
	k = find_upload(u, n, "UP2");
	CHECK(k >= 0);
	if (k >= 0)
		CHECK(u[k].endpoint == NULL);
	s3b_journal_uploads_free(u, n);
	/* the mount aborted UP1 on the server */
	s3b_journal_upload_ended(j, "UP1");
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_orphans(j, &u, &n), 0);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(u[0].upload_id, "UP2");
	s3b_journal_uploads_free(u, n);
	s3b_journal_close(j);

	/* next run: UP2 (never ended) and UP4 (the last run's) */
	j = jopen(p, NULL);
	if (!j)
		return;
	CHECK_INT(s3b_journal_orphans(j, &u, &n), 0);
	CHECK_INT(n, 2);
	CHECK(find_upload(u, n, "UP2") >= 0);
	CHECK(find_upload(u, n, "UP4") >= 0);
	s3b_journal_uploads_free(u, n);
	s3b_journal_close(j);
}

/* ---- latest-per-path against a model the test keeps itself ----------- */

#define MPATHS 12
struct model_rec {
	int path;
	enum s3b_obj_status st;
	uint64_t size;
};

static void test_latest_model(void)
{
	static struct model_rec recs[3000];
	int64_t ids[3000];
	char names[MPATHS][16], p[256], why[256];
	struct s3b_journal *j;
	struct s3b_jview *v;
	unsigned seed = 12345;
	int n = 0;

	for (int i = 0; i < MPATHS; i++)
		snprintf(names[i], sizeof(names[i]), "dst/m%02d", i);
	jpath(p, sizeof(p), "model.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	for (int step = 0; step < 4000; step++) {
		seed = seed * 1103515245 + 12345;
		unsigned x = seed >> 8;

		if (n < 3000 && (x % 3 == 0 || n == 0)) {
			struct s3b_obj_record r;

			recs[n] = (struct model_rec){.path = (int)(x / 3 % MPATHS), .st = S3B_ST_PENDING,
						     .size = x % 1000};
			r = mkrec(names[recs[n].path], S3B_ST_PENDING, recs[n].size);
			ids[n] = s3b_journal_begin(j, &r);
			CHECK_INT(ids[n], n + 1);
			n++;
		} else {
			/* finish (again) some record, sometimes under another path */
			int k = (int)(x / 3 % (unsigned)n);
			struct s3b_obj_record r;

			recs[k].st = (enum s3b_obj_status)(1 + x / 7 % 3); /* verified/failed/mismatch */
			recs[k].size = x / 11 % 5000;
			if (x % 10 == 1)
				recs[k].path = (int)(x / 13 % MPATHS);
			r = mkrec(names[recs[k].path], recs[k].st, recs[k].size);
			s3b_journal_finish(j, ids[k], &r);
		}
		if (step % 97 == 0)
			s3b_journal_sync(j);
	}
	CHECK_INT(s3b_journal_sync(j), 0);
	s3b_journal_close(j);

	/* expected: for each path, the record with the highest id */
	uint64_t want_n[S3B_JOURNAL_NSTATUS] = {0}, want_b[S3B_JOURNAL_NSTATUS] = {0};
	int latest[MPATHS], want_verified = 0;

	for (int i = 0; i < MPATHS; i++)
		latest[i] = -1;
	for (int i = 0; i < n; i++)
		latest[recs[i].path] = i; /* ids ascend with i */
	for (int i = 0; i < MPATHS; i++) {
		if (latest[i] < 0)
			continue;
		/* reopen turned pending into interrupted */
		enum s3b_obj_status st = recs[latest[i]].st == S3B_ST_PENDING ? S3B_ST_INTERRUPTED
									 : recs[latest[i]].st;

		want_n[st]++;
		want_b[st] += recs[latest[i]].size;
		want_verified += st == S3B_ST_VERIFIED;
	}
	j = jopen(p, NULL); /* recovery: pending -> interrupted */
	s3b_journal_close(j);
	CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), 0);
	if (!v)
		return;
	const struct s3b_jtotals *t = s3b_jview_totals(v);
	struct s3b_jrow row;
	bool got;
	int scanned = 0;

	for (int s = 0; s < S3B_JOURNAL_NSTATUS; s++) {
		CHECK_INT(t->objects[s], want_n[s]);
		CHECK_INT(t->bytes[s], want_b[s]);
	}
	CHECK_INT(t->records, n);
	CHECK_INT(s3b_jview_scan(v, S3B_JSCAN_VERIFIED, NULL, 0), 0);
	while (s3b_jview_next(v, &row, &got) == 0 && got) {
		int pi = (int)strtol(row.rec.path + 5, NULL, 10);

		scanned++;
		CHECK_INT(row.id, latest[pi] + 1);
	}
	CHECK_INT(scanned, want_verified);
	s3b_jview_close(v);
	CHECK_INT(s3b_jfile_integrity(p, why, sizeof(why)), 0);
}

/* ---- refusals ---------------------------------------------------------- */

static void put_be32(const char *p, off_t off, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	int fd = open(p, O_WRONLY);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(pwrite(fd, b, 4, off), 4);
	close(fd);
}

static void test_refusals(void)
{
	char p[256], q[256], why[256];
	struct s3b_journal *j, *j2 = NULL;
	struct s3b_jview *v = NULL;
	FILE *f;

	/* one mount per journal */
	jpath(p, sizeof(p), "version.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	CHECK_INT(s3b_journal_open(p, &j2, why, sizeof(why)), EBUSY);
	CHECK(strstr(why, "in use") != NULL);
	s3b_journal_close(j);

	/* a newer schema (user_version at offset 60 of the header, written
	 * behind SQLite's back after a clean close) */
	put_be32(p, 60, 3);
	CHECK_INT(s3b_journal_open(p, &j2, why, sizeof(why)), ENOTSUP);
	CHECK(strstr(why, "newer") != NULL);
	CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), ENOTSUP);
	/* another program's database (application_id at offset 68) */
	put_be32(p, 60, 2);
	put_be32(p, 68, 0x12345678);
	CHECK_INT(s3b_journal_open(p, &j2, why, sizeof(why)), EINVAL);
	CHECK(strstr(why, "not an s3bridge journal") != NULL);
	put_be32(p, 68, 0x5333424a);
	j = jopen(p, NULL);
	s3b_journal_close(j);

	/* not a database at all */
	jpath(q, sizeof(q), "text.db");
	f = fopen(q, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("this is not a journal, just some text that is long enough to have a header\n", f);
		fclose(f);
	}
	CHECK_INT(s3b_journal_open(q, &j2, why, sizeof(why)), EINVAL);
	CHECK(strstr(why, "not an s3bridge journal") != NULL);
	CHECK_INT(s3b_jview_open(q, &v, why, sizeof(why)), EINVAL);
	/* missing */
	jpath(q, sizeof(q), "missing.db");
	CHECK_INT(s3b_jview_open(q, &v, why, sizeof(why)), ENOENT);
	CHECK(access(q, F_OK) != 0); /* a view never creates */
}

/* ---- snapshots --------------------------------------------------------- */

struct busy_writer {
	struct s3b_journal *j;
	atomic_int stop;
	int written;
};

static void *keep_writing(void *arg)
{
	struct busy_writer *w = arg;
	char path[64];

	while (!atomic_load(&w->stop)) {
		struct s3b_obj_record r;
		int64_t id;

		snprintf(path, sizeof(path), "dst/s%07d", w->written++);
		r = mkrec(path, S3B_ST_PENDING, 10);
		id = s3b_journal_begin(w->j, &r);
		r.status = S3B_ST_VERIFIED;
		s3b_journal_finish(w->j, id, &r);
		if (w->written % 5 == 0)
			s3b_journal_sync(w->j);
	}
	return NULL;
}

static void test_snapshot(void)
{
	struct busy_writer w = {0};
	char p[256], why[256];
	pthread_t th;
	int consistent = 0, rounds = 0, grew = 0;
	uint64_t last = 0;

	jpath(p, sizeof(p), "snapshot.db");
	w.j = jopen(p, NULL);
	if (!w.j)
		return;
	pthread_create(&th, NULL, keep_writing, &w);
	sleep_ms(50);
	for (; rounds < 30; rounds++) {
		struct s3b_jview *v;
		struct s3b_jrow row;
		uint64_t n = 0, bytes = 0;
		bool got;

		if (s3b_jview_open(p, &v, why, sizeof(why)) != 0)
			continue;
		const struct s3b_jtotals *t = s3b_jview_totals(v);

		sleep_ms(5); /* let the writer commit between totals and scan */
		s3b_jview_scan(v, S3B_JSCAN_VERIFIED, NULL, 0);
		while (s3b_jview_next(v, &row, &got) == 0 && got) {
			n++;
			bytes += row.rec.size;
		}
		if (n == t->objects[S3B_ST_VERIFIED] && bytes == t->bytes[S3B_ST_VERIFIED])
			consistent++;
		else
			fprintf(stderr, "snapshot: totals %llu, scan %llu\n",
				(unsigned long long)t->objects[S3B_ST_VERIFIED], (unsigned long long)n);
		grew += n > last;
		last = n;
		s3b_jview_close(v);
	}
	atomic_store(&w.stop, 1);
	pthread_join(th, NULL);
	s3b_journal_close(w.j);
	CHECK_INT(consistent, rounds);
	CHECK(grew >= 10); /* the writer really was committing meanwhile */
}

/* ---- stored attributes ------------------------------------------------- */

static const struct timespec T1 = {.tv_sec = 1600000000, .tv_nsec = 123456789};
static const struct timespec T2 = {.tv_sec = 1700000000, .tv_nsec = 987654321};

/* A record of dst/KEY in bucket "dst" with the given attributes; flags is
 * a set of 'm' (mode 0100644), 'u' (uid 1000), 'g' (gid 1001), 't' (mtime t). */
static struct s3b_obj_record arec(const char *path, const char *key, enum s3b_obj_status st,
				  const char *flags, struct timespec t)
{
	struct s3b_obj_record r = mkrec(path, st, 42);

	r.dst_key = key;
	r.dst_etag = "\"0123456789abcdef0123456789abcdef\"";
	if (strchr(flags, 'm'))
		r.has_mode = true, r.mode = 0100644;
	if (strchr(flags, 'u'))
		r.has_uid = true, r.uid = 1000;
	if (strchr(flags, 'g'))
		r.has_gid = true, r.gid = 1001;
	if (strchr(flags, 't'))
		r.has_mtime = true, r.mtime = t;
	return r;
}

/* Record r as its status says (begin always records pending). */
static int64_t put(struct s3b_journal *j, const struct s3b_obj_record *r)
{
	int64_t id = s3b_journal_begin(j, r);

	if (r->status != S3B_ST_PENDING)
		s3b_journal_finish(j, id, r);
	return id;
}

static void test_attrs_round_trip(void)
{
	/* each combination of the four, through begin and through finish */
	static const char *const combos[] = {"", "m", "u", "g", "t", "mt", "ug", "mugt"};
	struct s3b_obj_record r, out;
	struct s3b_journal *j;
	char p[256], key[32];

	jpath(p, sizeof(p), "attrs.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	for (size_t i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		const char *f = combos[i];
		int64_t id;

		snprintf(key, sizeof(key), "k%zu", i);
		/* begun with all four, finished with the combination: finish
		 * replaces them (NULL where the flag is off) */
		r = arec(key, key, S3B_ST_PENDING, "mugt", T1);
		id = s3b_journal_begin(j, &r);
		CHECK_INT(s3b_journal_sync(j), 0);
		CHECK_INT(s3b_journal_lookup(j, "dst", key, &out), 0);
		CHECK(out.has_mode && out.has_uid && out.has_gid && out.has_mtime);
		CHECK_INT(out.mode, 0100644);
		CHECK_INT(out.uid, 1000);
		CHECK_INT(out.gid, 1001);
		CHECK_INT(out.mtime.tv_sec, 1600000000);
		CHECK_INT(out.mtime.tv_nsec, 123456789);
		s3b_obj_record_free_strings(&out);

		r = arec(key, key, S3B_ST_VERIFIED, f, T2);
		s3b_journal_finish(j, id, &r);
		CHECK_INT(s3b_journal_sync(j), 0);
		CHECK_INT(s3b_journal_lookup(j, "dst", key, &out), 0);
		CHECK_INT(out.has_mode, strchr(f, 'm') != NULL);
		CHECK_INT(out.has_uid, strchr(f, 'u') != NULL);
		CHECK_INT(out.has_gid, strchr(f, 'g') != NULL);
		CHECK_INT(out.has_mtime, strchr(f, 't') != NULL);
		CHECK_INT(out.mode, strchr(f, 'm') ? 0100644 : 0);
		CHECK_INT(out.uid, strchr(f, 'u') ? 1000 : 0);
		CHECK_INT(out.gid, strchr(f, 'g') ? 1001 : 0);
		CHECK_INT(out.mtime.tv_sec, strchr(f, 't') ? 1700000000 : 0);
		CHECK_INT(out.mtime.tv_nsec, strchr(f, 't') ? 987654321 : 0);
		s3b_obj_record_free_strings(&out);
	}

	/* values at the edges: the epoch itself is a stored mtime (not
	 * "unknown"), 1969 reads back as 1969, a mode with every bit, ids
	 * above 2^31; an mtime past 2262 cannot be held and reads as absent */
	r = arec("edge", "edge", S3B_ST_VERIFIED, "mugt", (struct timespec){0, 0});
	r.mode = 0xffffffffu;
	r.uid = 4000000000u;
	r.gid = 0;
	put(j, &r);
	r = arec("past", "past", S3B_ST_VERIFIED, "t", (struct timespec){-2, 500000000});
	put(j, &r);
	r = arec("far", "far", S3B_ST_VERIFIED, "mt", (struct timespec){10000000000, 0});
	put(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_lookup(j, "dst", "edge", &out), 0);
	CHECK(out.has_mtime && out.has_mode && out.has_uid && out.has_gid);
	CHECK_INT(out.mtime.tv_sec, 0);
	CHECK_INT(out.mtime.tv_nsec, 0);
	CHECK_INT(out.mode, 0xffffffffu);
	CHECK_INT(out.uid, 4000000000u);
	CHECK_INT(out.gid, 0);
	s3b_obj_record_free_strings(&out);
	CHECK_INT(s3b_journal_lookup(j, "dst", "past", &out), 0);
	CHECK(out.has_mtime);
	CHECK_INT(out.mtime.tv_sec, -2);
	CHECK_INT(out.mtime.tv_nsec, 500000000);
	s3b_obj_record_free_strings(&out);
	CHECK_INT(s3b_journal_lookup(j, "dst", "far", &out), 0);
	CHECK(!out.has_mtime);
	CHECK(out.has_mode);
	s3b_obj_record_free_strings(&out);
	s3b_journal_close(j);

	/* views read them too (journal.csv and friends come from these rows) */
	{
		struct s3b_jview *v;
		struct s3b_jrow row;
		char why[256];
		bool got = false;

		CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), 0);
		if (!v)
			return;
		CHECK_INT(s3b_jview_scan(v, S3B_JSCAN_PATH, "past", 0), 0);
		CHECK_INT(s3b_jview_next(v, &row, &got), 0);
		CHECK(got);
		if (got) {
			CHECK(row.rec.has_mtime && !row.rec.has_mode);
			CHECK_INT(row.rec.mtime.tv_sec, -2);
		}
		s3b_jview_close(v);
	}
}

static void test_stored_attrs(void)
{
	struct s3b_journal_attrs a;
	struct s3b_obj_record r;
	struct s3b_journal *j;
	char p[256], longtag[120];
	int64_t id;

	jpath(p, sizeof(p), "stored.db");
	j = jopen(p, NULL);
	if (!j)
		return;
	memset(&a, 0x5a, sizeof(a));
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), ENOENT); /* empty journal */
	CHECK_INT(a.has_mode, 0);                                       /* cleared */
	CHECK(!s3b_journal_has_bucket(j, "dst"));

	r = arec("dst/a", "a", S3B_ST_VERIFIED, "mt", T1);   /* verified, mode + mtime */
	put(j, &r);
	r = arec("dst/b", "b", S3B_ST_VERIFIED, "", T1);     /* verified, nothing stored */
	put(j, &r);
	r = arec("dst/c", "c", S3B_ST_FAILED, "mugt", T1);   /* stored, but failed */
	put(j, &r);
	r = arec("dst/d", "d", S3B_ST_VERIFIED, "u", T1);    /* only the uid, no ETag */
	r.dst_etag = NULL;
	r.src_bucket = "srcbucket";
	put(j, &r);
	memset(longtag, 'e', sizeof(longtag) - 1);           /* an ETag that does not fit */
	longtag[sizeof(longtag) - 1] = '\0';
	r = arec("dst/e", "e", S3B_ST_VERIFIED, "g", T1);
	r.dst_etag = longtag;
	put(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);

	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), 0);
	CHECK_STR(a.etag, "\"0123456789abcdef0123456789abcdef\"");
	CHECK_INT(a.size, 42);
	CHECK(a.has_mode && a.has_mtime && !a.has_uid && !a.has_gid);
	CHECK_INT(a.mode, 0100644);
	CHECK_INT(a.mtime.tv_sec, 1600000000);
	CHECK_INT(a.mtime.tv_nsec, 123456789);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "b", &a), ENOENT);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "c", &a), ENOENT);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "d", &a), 0);
	CHECK_STR(a.etag, "");
	CHECK(a.has_uid && !a.has_mode && !a.has_gid && !a.has_mtime);
	CHECK_INT(a.uid, 1000);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "e", &a), 0);
	CHECK_STR(a.etag, "");
	CHECK(a.has_gid);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "nope", &a), ENOENT);
	CHECK_INT(s3b_journal_stored_attrs(j, "other", "a", &a), ENOENT);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "A", &a), ENOENT); /* exact key */

	/* a key written again: the latest record wins, whatever it says */
	r = arec("dst/a", "a", S3B_ST_VERIFIED, "m", T2);
	r.mode = 0100600;
	r.size = 7;
	r.dst_etag = "\"second\"";
	put(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), 0);
	CHECK_STR(a.etag, "\"second\"");
	CHECK_INT(a.size, 7);
	CHECK(a.has_mode && !a.has_mtime); /* not the older record's mtime */
	CHECK_INT(a.mode, 0100600);
	/* a newer copy in progress hides the verified one... */
	r = arec("dst/a", "a", S3B_ST_PENDING, "mt", T2);
	id = s3b_journal_begin(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), ENOENT);
	/* ...until it is verified */
	r.status = S3B_ST_VERIFIED;
	r.mode = 0100755;
	s3b_journal_finish(j, id, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), 0);
	CHECK_INT(a.mode, 0100755);
	CHECK_INT(a.mtime.tv_sec, 1700000000);
	CHECK_INT(a.mtime.tv_nsec, 987654321);
	/* and a failed rewrite hides it again: the object there is unknown */
	r = arec("dst/a", "a", S3B_ST_FAILED, "mt", T1);
	put(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), ENOENT);
	/* the same key in another bucket is another object */
	r = arec("dst2/a", "a", S3B_ST_VERIFIED, "g", T1);
	r.dst_bucket = "dst2";
	put(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst2", "a", &a), 0);
	CHECK(a.has_gid && !a.has_mode);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), ENOENT);

	/* attributes changed in place (chmod/touch: a copy onto itself) */
	memset(&r, 0, sizeof(r));
	r.dst_bucket = "dst2";
	r.dst_key = "a";
	r.dst_etag = "\"restamped\"";
	r.has_mode = r.has_mtime = true;
	r.mode = 0100640;
	r.mtime = (struct timespec){ .tv_sec = 1234567890, .tv_nsec = 5 };
	s3b_journal_set_attrs(j, &r);
	r.dst_bucket = "dst"; /* its latest record failed: nothing to update */
	s3b_journal_set_attrs(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst2", "a", &a), 0);
	CHECK_STR(a.etag, "\"restamped\"");
	CHECK(a.has_mode && a.has_mtime && !a.has_gid); /* replaced, not merged */
	CHECK_INT(a.mode, 0100640);
	CHECK_INT(a.mtime.tv_sec, 1234567890);
	CHECK_INT(a.mtime.tv_nsec, 5);
	CHECK_INT(s3b_journal_stored_attrs(j, "dst", "a", &a), ENOENT);

	CHECK(s3b_journal_has_bucket(j, "dst"));
	CHECK(s3b_journal_has_bucket(j, "dst2"));
	CHECK(!s3b_journal_has_bucket(j, "ds"));        /* no prefix match */
	CHECK(!s3b_journal_has_bucket(j, "srcbucket")); /* a source is not a destination */
	CHECK(!s3b_journal_has_bucket(j, NULL));
	s3b_journal_close(j);
}

/* ---- version 1 ---------------------------------------------------------- */

/* The schema of version 1, exactly as s3bridge created it. */
static const char schema_v1[] =
	"CREATE TABLE objects ("
	" id INTEGER PRIMARY KEY,"
	" run INTEGER NOT NULL,"
	" path TEXT NOT NULL,"
	" src_bucket TEXT, src_key TEXT, src_etag TEXT, src_size INTEGER,"
	" dst_bucket TEXT, dst_key TEXT, dst_etag TEXT,"
	" size INTEGER NOT NULL,"
	" md5 TEXT, sha256 TEXT, crc32c TEXT,"
	" part_size INTEGER NOT NULL, parts INTEGER NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN"
	"  ('pending','verified','failed','mismatch','interrupted')),"
	" error TEXT, attempts INTEGER NOT NULL,"
	" started INTEGER, ended INTEGER,"
	" latest INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX objects_path ON objects(path, id);"
	"CREATE INDEX objects_dst ON objects(dst_bucket, dst_key, id);"
	"CREATE INDEX objects_latest ON objects(status, id) WHERE latest = 1;"
	"CREATE INDEX objects_pending ON objects(id) WHERE status = 'pending';"
	"CREATE TABLE uploads ("
	" id INTEGER PRIMARY KEY, run INTEGER NOT NULL, endpoint TEXT,"
	" bucket TEXT NOT NULL, key TEXT NOT NULL, upload_id TEXT NOT NULL,"
	" begun INTEGER NOT NULL);"
	"CREATE INDEX uploads_upload_id ON uploads(upload_id);"
	"CREATE TABLE counters (status TEXT PRIMARY KEY,"
	" objects INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO counters VALUES ('pending',0,0),('verified',0,0),"
	" ('failed',0,0),('mismatch',0,0),('interrupted',0,0);"
	"CREATE TABLE totals (one INTEGER PRIMARY KEY CHECK (one = 1),"
	" runs INTEGER NOT NULL, records INTEGER NOT NULL,"
	" first_start INTEGER, last_end INTEGER);"
	"INSERT INTO totals VALUES (1, 0, 0, NULL, NULL);"
	"CREATE TABLE checks (id INTEGER PRIMARY KEY, ran INTEGER NOT NULL,"
	" missing INTEGER NOT NULL, extra INTEGER NOT NULL, differ INTEGER NOT NULL,"
	" unverified INTEGER NOT NULL, text TEXT NOT NULL);"
	"CREATE TRIGGER objects_ai AFTER INSERT ON objects BEGIN"
	" UPDATE counters SET objects = objects + 1, bytes = bytes + NEW.size"
	"  WHERE NEW.latest = 1 AND status = NEW.status;"
	" UPDATE totals SET records = records + 1,"
	"  first_start = CASE WHEN NEW.started IS NOT NULL AND"
	"   (first_start IS NULL OR NEW.started < first_start)"
	"   THEN NEW.started ELSE first_start END,"
	"  last_end = CASE WHEN NEW.ended IS NOT NULL AND"
	"   (last_end IS NULL OR NEW.ended > last_end)"
	"   THEN NEW.ended ELSE last_end END;"
	"END;"
	"CREATE TRIGGER objects_au AFTER UPDATE ON objects BEGIN"
	" UPDATE counters SET objects = objects - 1, bytes = bytes - OLD.size"
	"  WHERE OLD.latest = 1 AND status = OLD.status;"
	" UPDATE counters SET objects = objects + 1, bytes = bytes + NEW.size"
	"  WHERE NEW.latest = 1 AND status = NEW.status;"
	" UPDATE totals SET"
	"  first_start = CASE WHEN NEW.started IS NOT NULL AND"
	"   (first_start IS NULL OR NEW.started < first_start)"
	"   THEN NEW.started ELSE first_start END,"
	"  last_end = CASE WHEN NEW.ended IS NOT NULL AND"
	"   (last_end IS NULL OR NEW.ended > last_end)"
	"   THEN NEW.ended ELSE last_end END"
	"  WHERE NEW.started IS NOT OLD.started OR NEW.ended IS NOT OLD.ended;"
	"END;"
	"CREATE TRIGGER objects_ad AFTER DELETE ON objects BEGIN"
	" UPDATE counters SET objects = objects - 1, bytes = bytes - OLD.size"
	"  WHERE OLD.latest = 1 AND status = OLD.status;"
	" UPDATE totals SET records = records - 1;"
	"END;"
	"PRAGMA application_id = 1395868234;"
	"PRAGMA user_version = 1;";

/* A version-1 journal of one earlier run: a verified record of
 * dst/old.bin (bucket "b", key "old.bin", 1234 bytes) with digests, and a
 * multipart upload that run never ended.  Written with SQLite directly. */
static int make_v1(const char *p)
{
	static const char rows[] =
		"PRAGMA journal_mode = WAL;"
		"UPDATE totals SET runs = 1;"
		"INSERT INTO objects (id, run, path, src_bucket, src_key, src_etag, src_size,"
		" dst_bucket, dst_key, dst_etag, size, md5, sha256, crc32c, part_size, parts,"
		" status, error, attempts, started, ended, latest) VALUES (1, 1, 'dst/old.bin',"
		" NULL, NULL, NULL, NULL, 'b', 'old.bin', '\"e1\"', 1234,"
		" '900150983cd24fb0d6963f7d28e17f72',"
		" 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',"
		" '364b3fb7', 0, 0, 'verified', NULL, 1, 1600000000000000000,"
		" 1600000001000000000, 1);"
		"INSERT INTO uploads (run, endpoint, bucket, key, upload_id, begun)"
		" VALUES (1, 'http://h', 'b', 'big', 'UPV1', 1600000000000000000);";
	sqlite3 *db = NULL;
	char *err = NULL;
	int rc = sqlite3_open(p, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_v1, NULL, NULL, &err);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, rows, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "make_v1: %s\n", err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_close(db);
	return rc;
}

/* PRAGMA user_version and the number of columns of objects, read with
 * SQLite directly; -1 on error. */
static void file_schema(const char *p, int *version, int *columns)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	*version = *columns = -1;
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('objects')", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		*columns = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
out:
	sqlite3_close(db);
}

/* Lines of the log file at p that contain s. */
static int count_lines(const char *p, const char *s)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(p, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

/* Reports read a version-1 file that no mount upgraded, and leave it so. */
static void test_v1_read_only(void)
{
	char p[256], why[256];
	struct s3b_jview *v = NULL;
	struct s3b_jrow row;
	int ver, cols, n = 0;
	bool got;

	jpath(p, sizeof(p), "v1ro.db");
	CHECK_INT(make_v1(p), SQLITE_OK);
	CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), 0);
	if (!v)
		return;
	CHECK_INT(s3b_jview_totals(v)->records, 1);
	CHECK_INT(s3b_jview_totals(v)->objects[S3B_ST_VERIFIED], 1);
	CHECK_INT(s3b_jview_totals(v)->bytes[S3B_ST_VERIFIED], 1234);
	CHECK_INT(s3b_jview_totals(v)->uploads, 1);
	static const enum s3b_jscan scans[] = {S3B_JSCAN_ALL, S3B_JSCAN_VERIFIED, S3B_JSCAN_PATH};
	for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		CHECK_INT(s3b_jview_scan(v, scans[i], "dst/old.bin", 0), 0);
		while (s3b_jview_next(v, &row, &got) == 0 && got) {
			n++;
			CHECK_INT(row.id, 1);
			CHECK_STR(row.rec.path, "dst/old.bin");
			CHECK_STR(row.rec.dst_etag, "\"e1\"");
			CHECK_STR(row.sha256_hex,
				  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
			CHECK(!row.rec.has_mode && !row.rec.has_uid && !row.rec.has_gid &&
			      !row.rec.has_mtime);
		}
	}
	CHECK_INT(n, 3);
	for (enum s3b_jscan s = S3B_JSCAN_BAD; s <= S3B_JSCAN_LAST_BAD; s++) {
		CHECK_INT(s3b_jview_scan(v, s, NULL, 10), 0);
		CHECK_INT(s3b_jview_next(v, &row, &got), 0);
		CHECK(!got);
	}
	s3b_jview_close(v);
	CHECK_INT(s3b_jfile_integrity(p, why, sizeof(why)), 0);
	CHECK_INT(s3b_jfile_store_check(p, "ok\n", 0, 0, 0, 0), 0);
	file_schema(p, &ver, &cols);
	CHECK_INT(ver, 1); /* readers never upgrade */
	CHECK_INT(cols, 22);
}

static void test_v1_upgrade(void)
{
	char p[256], logp[256], why[256];
	struct s3b_journal_upload *u = NULL;
	struct s3b_journal_attrs a;
	struct s3b_obj_record r, out;
	struct s3b_journal *j;
	struct s3b_jview *v = NULL;
	size_t n = 0;
	int ver, cols;

	jpath(p, sizeof(p), "v1.db");
	jpath(logp, sizeof(logp), "v1.log");
	CHECK_INT(make_v1(p), SQLITE_OK);
	CHECK_INT(s3b_log_open(S3B_LOG_FILE, logp), 0);
	j = jopen(p, NULL);
	s3b_log_close();
	if (!j)
		return;
	CHECK_INT(count_lines(logp, "schema upgraded from version 1 to 2"), 1);
	file_schema(p, &ver, &cols);
	CHECK_INT(ver, 2);
	CHECK_INT(cols, 26);

	/* the old row reads back whole, with nothing stored */
	CHECK_INT(s3b_journal_lookup(j, "b", "old.bin", &out), 0);
	CHECK_STR(out.path, "dst/old.bin");
	CHECK_INT(out.status, S3B_ST_VERIFIED);
	CHECK_INT(out.size, 1234);
	CHECK(out.has_digests);
	CHECK_INT(out.crc32c, 0x364b3fb7);
	CHECK_INT(out.started.tv_sec, 1600000000);
	CHECK(!out.has_mode && !out.has_uid && !out.has_gid && !out.has_mtime);
	s3b_obj_record_free_strings(&out);
	CHECK_INT(s3b_journal_stored_attrs(j, "b", "old.bin", &a), ENOENT);
	CHECK(s3b_journal_has_bucket(j, "b"));
	/* the earlier run's upload is an orphan, as before */
	CHECK_INT(s3b_journal_orphans(j, &u, &n), 0);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(u[0].upload_id, "UPV1");
	s3b_journal_uploads_free(u, n);

	/* new records store attributes; ids go on after the old ones */
	r = arec("dst/new.bin", "new.bin", S3B_ST_VERIFIED, "mugt", T2);
	r.dst_bucket = "b";
	CHECK_INT(put(j, &r), 2);
	CHECK_INT(s3b_journal_sync(j), 0);
	CHECK_INT(s3b_journal_stored_attrs(j, "b", "new.bin", &a), 0);
	CHECK(a.has_mode && a.has_uid && a.has_gid && a.has_mtime);
	CHECK_INT(a.mode, 0100644);
	CHECK_INT(a.mtime.tv_nsec, 987654321);
	s3b_journal_close(j);

	/* a version-2 file opens again (twice), without another upgrade */
	for (int i = 0; i < 2; i++) {
		CHECK_INT(s3b_log_open(S3B_LOG_FILE, logp), 0);
		j = jopen(p, NULL);
		s3b_log_close();
		if (!j)
			return;
		CHECK_INT(s3b_journal_stored_attrs(j, "b", "new.bin", &a), 0);
		CHECK_INT(a.uid, 1000);
		s3b_journal_close(j);
	}
	CHECK_INT(count_lines(logp, "schema upgraded"), 1);
	file_schema(p, &ver, &cols);
	CHECK_INT(ver, 2);
	CHECK_INT(cols, 26);

	CHECK_INT(s3b_jview_open(p, &v, why, sizeof(why)), 0);
	if (v) {
		CHECK_INT(s3b_jview_totals(v)->records, 2);
		CHECK_INT(s3b_jview_totals(v)->runs, 4);
		CHECK_INT(s3b_jview_totals(v)->objects[S3B_ST_VERIFIED], 2);
		s3b_jview_close(v);
	}
	CHECK_INT(s3b_jfile_integrity(p, why, sizeof(why)), 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_create_reopen();
	test_round_trip();
	test_group_commit();
	test_full_queue_blocks();
	test_kill9_durability();
	test_orphans();
	test_latest_model();
	test_refusals();
	test_snapshot();
	test_attrs_round_trip();
	test_stored_attrs();
	test_v1_read_only();
	test_v1_upgrade();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return check_report();
}
