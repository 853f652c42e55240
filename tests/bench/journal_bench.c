/*
 * tests/bench/journal_bench.c — a benchmark, not a test: builds a journal
 * of N records through the public API (T producer threads, each syncing
 * every 100 of its records, as close() of verified files does), then
 * times the reports a user reads at the end of a migration.
 *
 *   journal_bench [-n RECORDS] [-t THREADS] [-s SYNC_EVERY] [--normal]
 *                 [--scatter] [DIR]
 *
 * Defaults: 1,000,000 records, 4 threads, sync every 100, DIR /tmp.
 * Paths are dst/dNNN/fNNNNNNN.bin, 1000 files a directory, each thread
 * walking its own range in order, as cp -r and rsync do; --scatter puts
 * consecutive records in 1000 different directories instead (the worst
 * case for the path indexes).  --normal uses synchronous=NORMAL (not
 * power-safe) to show what FULL costs.  1% of the records fail, the rest
 * verify with digests.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "journal_impl.h"
#include "report.h"

struct bench {
	struct s3b_journal *j;
	unsigned long records, threads, sync_every;
	bool scatter; /* consecutive records in 1000 different directories */
};

struct worker {
	struct bench *b;
	unsigned long first, count;
	int err;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *produce(void *arg)
{
	struct worker *w = arg;
	char path[64], key[64];

	for (unsigned long i = w->first; i < w->first + w->count; i++) {
		struct timespec t0;
		struct s3b_obj_record r;
		int64_t id;

		unsigned long d = w->b->scatter ? i % 1000 : i / 1000 % 1000;

		snprintf(path, sizeof(path), "dst/d%03lu/f%07lu.bin", d, i);
		snprintf(key, sizeof(key), "d%03lu/f%07lu.bin", d, i);
		clock_gettime(CLOCK_REALTIME, &t0);
		r = (struct s3b_obj_record){
			.path = path,
			.src_bucket = "src", .src_key = key, .src_etag = "0123456789abcdef0123456789abcdef",
			.src_size = (int64_t)(i % 100000),
			.dst_bucket = "dst", .dst_key = key,
			.size = i % 100000,
			.status = S3B_ST_PENDING,
			.started = t0,
		};
		id = s3b_journal_begin(w->b->j, &r);
		if (!id) {
			w->err = ENOMEM;
			return NULL;
		}
		r.has_digests = true;
		for (int k = 0; k < 16; k++)
			r.md5[k] = (uint8_t)(i >> (k % 8) ^ (unsigned long)k);
		for (int k = 0; k < 32; k++)
			r.sha256[k] = (uint8_t)(i >> (k % 8) ^ (unsigned long)(k * 3));
		r.crc32c = (uint32_t)(i * 2654435761u);
		r.dst_etag = r.src_etag;
		r.attempts = 1;
		clock_gettime(CLOCK_REALTIME, &r.ended);
		if (i % 100 == 7) {
			r.status = S3B_ST_FAILED;
			r.error = "PUT 503 SlowDown (retries exhausted)";
			r.has_digests = false;
		} else {
			r.status = S3B_ST_VERIFIED;
		}
		s3b_journal_finish(w->b->j, id, &r);
		if ((i - w->first + 1) % w->b->sync_every == 0 && s3b_journal_sync(w->b->j)) {
			w->err = EIO;
			return NULL;
		}
	}
	if (s3b_journal_sync(w->b->j))
		w->err = EIO;
	return NULL;
}

/* Render report name into file out (or /dev/null); seconds, bytes. */
static int time_render(const char *jp, const char *name, const char *out, double *secs,
		       off_t *bytes)
{
	struct stat sb;
	double t0;
	int fd, rc;

	fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return errno;
	t0 = now_s();
	rc = s3b_report_render(jp, name, NULL, fd);
	*secs = now_s() - t0;
	*bytes = fstat(fd, &sb) == 0 ? sb.st_size : 0;
	close(fd);
	return rc;
}

static int count_entry(void *ctx, const char *name, bool is_dir)
{
	(void)name;
	(void)is_dir;
	++*(unsigned long *)ctx;
	return 0;
}

static unsigned long parse_ul(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0) {
		fprintf(stderr, "journal_bench: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct bench b = {.records = 1000000, .threads = 4, .sync_every = 100};
	struct s3b_journal_tuning tune = {0};
	struct s3b_journal_counts counts;
	const char *dir = "/tmp";
	char jp[512], out[600], why[256];
	struct worker *w;
	pthread_t *th;
	struct stat sb;
	double t0, dt;
	off_t bytes;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			b.records = parse_ul(argv[++i], "record count");
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			b.threads = parse_ul(argv[++i], "thread count");
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			b.sync_every = parse_ul(argv[++i], "sync interval");
		else if (strcmp(argv[i], "--normal") == 0)
			tune.sync_normal = true;
		else if (strcmp(argv[i], "--scatter") == 0)
			b.scatter = true;
		else if (argv[i][0] != '-')
			dir = argv[i];
		else {
			fprintf(stderr, "usage: journal_bench [-n N] [-t T] [-s S] [--normal] [--scatter] [DIR]\n");
			return 2;
		}
	}
	snprintf(jp, sizeof(jp), "%s/journal_bench.%ld.db", dir, (long)getpid());

	/* 1. build */
	rc = s3b_journal_open_tuned(jp, &tune, &b.j, why, sizeof(why));
	if (rc) {
		fprintf(stderr, "journal_bench: %s\n", why);
		return 1;
	}
	w = calloc(b.threads, sizeof(*w));
	th = calloc(b.threads, sizeof(*th));
	if (!w || !th)
		return 1;
	t0 = now_s();
	for (unsigned long i = 0; i < b.threads; i++) {
		w[i] = (struct worker){.b = &b, .first = i * (b.records / b.threads),
				       .count = b.records / b.threads};
		if (i == b.threads - 1)
			w[i].count = b.records - w[i].first;
		pthread_create(&th[i], NULL, produce, &w[i]);
	}
	for (unsigned long i = 0; i < b.threads; i++) {
		pthread_join(th[i], NULL);
		if (w[i].err)
			fprintf(stderr, "journal_bench: producer %lu: %s\n", i, strerror(w[i].err));
	}
	dt = now_s() - t0;
	s3b_journal_counts(b.j, &counts);
	printf("build: %lu records (begin+finish), %lu threads, sync every %lu, synchronous=%s%s\n",
	       b.records, b.threads, b.sync_every, tune.sync_normal ? "NORMAL" : "FULL",
	       b.scatter ? ", scattered paths" : "");
	printf("build: %.2f s, %.0f records/s, %llu transactions (%.1f operations each)\n", dt,
	       (double)b.records / dt, (unsigned long long)counts.transactions,
	       (double)counts.committed / (double)(counts.transactions ? counts.transactions : 1));
	t0 = now_s();
	s3b_journal_close(b.j);
	printf("close: %.2f s\n", now_s() - t0);
	if (stat(jp, &sb) == 0)
		printf("journal: %s, %.1f MB\n", jp, (double)sb.st_size / 1e6);

	/* 2. reports */
	static const char *const names[] = {"summary", "summary.json", "metrics", "failed",
					    "SHA256SUMS", "MD5SUMS", "journal.csv"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(out, sizeof(out), "%s.%s", jp, names[i]);
		rc = time_render(jp, names[i], out, &dt, &bytes);
		if (rc) {
			fprintf(stderr, "journal_bench: %s: %s\n", names[i], strerror(rc));
			continue;
		}
		printf("render %-13s %8.3f s  %10lld bytes  %7.1f MB/s\n", names[i], dt,
		       (long long)bytes, (double)bytes / 1e6 / (dt > 0 ? dt : 1e-9));
		unlink(out);
	}
	snprintf(out, sizeof(out), "objects/dst/d%03lu/f%07lu.bin",
		 b.scatter ? (b.records / 2) % 1000 : b.records / 2 / 1000 % 1000, b.records / 2);
	rc = time_render(jp, out, NULL, &dt, &bytes);
	printf("render objects/<one>     %8.3f s  (%s)\n", dt, rc ? strerror(rc) : "ok");
	{
		unsigned long n = 0;

		t0 = now_s();
		rc = s3b_report_objects_list(jp, "dst", count_entry, &n);
		printf("list   objects/dst/      %8.3f s  %lu names (%s)\n", now_s() - t0, n,
		       rc ? strerror(rc) : "ok");
		n = 0;
		t0 = now_s();
		rc = s3b_report_objects_list(jp, "dst/d500", count_entry, &n);
		printf("list   objects/dst/d500/ %8.3f s  %lu names (%s)\n", now_s() - t0, n,
		       rc ? strerror(rc) : "ok");
	}
	t0 = now_s();
	rc = s3b_journal_open(jp, &b.j, why, sizeof(why));
	printf("reopen (recovery)        %8.3f s  (%s)\n", now_s() - t0, rc ? why : "ok");
	if (!rc)
		s3b_journal_close(b.j);

	unlink(jp);
	snprintf(out, sizeof(out), "%s-lock", jp);
	unlink(out);
	snprintf(out, sizeof(out), "%s-wal", jp);
	unlink(out);
	snprintf(out, sizeof(out), "%s-shm", jp);
	unlink(out);
	free(w);
	free(th);
	return 0;
}
