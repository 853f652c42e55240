/*
 * tests/unit/test_report.c — the reports, byte for byte, for a small
 * journal whose every value the test sets (golden strings written by
 * hand), plus the awkward names: CSV quoting, the coreutils escapes of the
 * SUMS files (and sha256sum -c / md5sum -c run on them when installed),
 * JSON escaping of control bytes and invalid UTF-8, the objects/ tree, and
 * the errors (missing file, unknown report, unknown object).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "commands.h"
#include "journal.h"
#include "journal_impl.h"
#include "report.h"

#define T0 1704067200 /* 2024-01-01T00:00:00Z */

static char tmpdir[] = "/tmp/s3b_test_report.XXXXXX";

/* Known answers: the digests of "abc", "hello" and "". */
#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MD5_HELLO "5d41402abc4b2a76b9719d911017c592"
#define SHA_HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define MD5_EMPTY "d41d8cd98f00b204e9800998ecf8427e"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define ODD "dst/odd, \"name\"\nline.txt"
#define BACK "dst/back\\slash"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b[3] = {hex[2 * i], hex[2 * i + 1], 0};

		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
}

static struct timespec at(long ms)
{
	return (struct timespec){.tv_sec = T0 + ms / 1000, .tv_nsec = ms % 1000 * 1000000};
}

static struct s3b_obj_record rec(const char *path, const char *key, uint64_t size, long start_ms,
				 long end_ms)
{
	return (struct s3b_obj_record){
		.path = path,
		.dst_bucket = "dst",
		.dst_key = key,
		.src_size = -1,
		.size = size,
		.status = S3B_ST_PENDING,
		.started = at(start_ms),
		.ended = end_ms >= 0 ? at(end_ms) : (struct timespec){0},
	};
}

static void digests(struct s3b_obj_record *r, const char *md5, const char *sha, uint32_t crc)
{
	r->has_digests = true;
	unhex(md5, r->md5, 16);
	unhex(sha, r->sha256, 32);
	r->crc32c = crc;
}

static void paired(struct s3b_obj_record *r, const char *key, const char *etag, int64_t size)
{
	r->src_bucket = "src";
	r->src_key = key;
	r->src_etag = etag;
	r->src_size = size;
}

/* begin then finish with st/error/attempts */
static int64_t add(struct s3b_journal *j, struct s3b_obj_record r, enum s3b_obj_status st,
		   const char *error, unsigned attempts)
{
	struct s3b_obj_record b = r;
	int64_t id;

	b.ended = (struct timespec){0};
	b.attempts = 0;
	id = s3b_journal_begin(j, &b);
	r.status = st;
	r.error = error;
	r.attempts = attempts;
	s3b_journal_finish(j, id, &r);
	return id;
}

static int open_j(const char *p, struct s3b_journal **j)
{
	char why[256];
	int rc = s3b_journal_open(p, j, why, sizeof(why));

	if (rc)
		fprintf(stderr, "open: %s\n", why);
	return rc;
}

/* The golden journal (ids in comments). */
static void build_golden(const char *p)
{
	struct s3b_journal *j;
	struct s3b_obj_record r;

	if (open_j(p, &j))
		return;
	r = rec("dst/crash.bin", "crash.bin", 10, 0, -1); /* 1: left pending by a crash */
	s3b_journal_begin(j, &r);
	s3b_journal_close(j);

	if (open_j(p, &j)) /* 1 becomes interrupted */
		return;
	r = rec("dst/a.txt", "a.txt", 3, 100, 200); /* 2 */
	paired(&r, "a.txt", MD5_ABC, 3);
	add(j, r, S3B_ST_FAILED, "timeout", 3);
	r = rec(ODD, "odd, \"name\"\nline.txt", 5, 300, 400); /* 3 */
	digests(&r, MD5_HELLO, SHA_HELLO, 0x9a71bb4c);
	r.dst_etag = MD5_HELLO;
	add(j, r, S3B_ST_VERIFIED, NULL, 1);
	r = rec(BACK, "back\\slash", 0, 500, 600); /* 4 */
	digests(&r, MD5_EMPTY, SHA_EMPTY, 0);
	r.dst_etag = MD5_EMPTY;
	add(j, r, S3B_ST_VERIFIED, NULL, 1);
	r = rec("dst/big.bin", "big.bin", 6291456, 700, 1200); /* 5 */
	r.parts = 2;
	r.part_size = 5242880;
	add(j, r, S3B_ST_FAILED, "PUT 403 AccessDenied", 1);
	r = rec("dst/a.txt", "a.txt", 3, 1300, 1400); /* 6: the re-copy wins */
	paired(&r, "a.txt", MD5_ABC, 3);
	digests(&r, MD5_ABC, SHA_ABC, 0x364b3fb7);
	r.dst_etag = MD5_ABC;
	add(j, r, S3B_ST_VERIFIED, NULL, 1);
	r = rec("dst/c.txt", "c.txt", 5, 1500, 1600); /* 7 */
	digests(&r, MD5_HELLO, SHA_HELLO, 0x9a71bb4c);
	add(j, r, S3B_ST_VERIFIED, NULL, 1);
	r = rec("dst/c.txt", "c.txt", 5, 1700, 2000); /* 8: a later copy mismatched */
	digests(&r, MD5_HELLO, SHA_HELLO, 0x9a71bb4c);
	add(j, r, S3B_ST_MISMATCH, "sha256 differs from the source", 2);
	r = rec("dst/pending.dat", "pending.dat", 0, 2100, -1); /* 9 */
	s3b_journal_begin(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	/* closed without a new open: 9 stays pending in the file */
	s3b_journal_close(j);
}

/* Render into a string (caller frees); returns the render's errno. */
static int render(const char *p, const char *name, const struct s3b_live_stats *live, char **out)
{
	char path[300];
	FILE *f;
	long n;
	int fd, rc;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/render.out", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return errno;
	rc = s3b_report_render(p, name, live, fd);
	close(fd);
	f = fopen(path, "rb");
	if (!f)
		return errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*out = calloc(1, (size_t)n + 1);
	if (*out && fread(*out, 1, (size_t)n, f) != (size_t)n)
		rc = EIO;
	fclose(f);
	return rc;
}

static void check_render(const char *p, const char *name, const struct s3b_live_stats *live,
			 const char *want)
{
	char *got;

	CHECK_INT(render(p, name, live, &got), 0);
	CHECK_STR(got, want);
	free(got);
}

static const char want_summary[] =
	"3 verified, 1 failed, 1 mismatch, 1 pending, 1 interrupted (7 objects, 9 records)\n"
	"verified bytes  8\n"
	"first start     2024-01-01T00:00:00.000Z\n"
	"last end        2024-01-01T00:00:02.000Z\n"
	"elapsed         2.000 s\n"
	"rate            4 B/s\n"
	"last check      none\n"
	"last failures (newest first):\n"
	"  mismatch    dst/c.txt: sha256 differs from the source\n"
	"  failed      dst/big.bin: PUT 403 AccessDenied\n"
	"  interrupted dst/crash.bin: interrupted: the mount stopped before the object was finished\n";

static const char want_summary_json[] =
	"{\"verified\":3,\"failed\":1,\"mismatch\":1,\"pending\":1,\"interrupted\":1,"
	"\"objects\":7,\"records\":9,\"bytes\":8,\"first_start\":1704067200.000,"
	"\"last_end\":1704067202.000,\"elapsed\":2.000,\"rate\":4,\"uploads\":0,\"check\":null}\n";

static const char want_failed[] =
	"dst/big.bin\tfailed\tPUT 403 AccessDenied\n"
	"dst/crash.bin\tinterrupted\tinterrupted: the mount stopped before the object was finished\n"
	"dst/c.txt\tmismatch\tsha256 differs from the source\n";

static const char want_pending[] = "dst/pending.dat\t2024-01-01T00:00:02.100Z\n";

/* verified, latest of each path, in id order: 3, 4, 6 */
static const char want_sha[] =
	"\\" SHA_HELLO "  dst/odd, \"name\"\\nline.txt\n"
	"\\" SHA_EMPTY "  dst/back\\\\slash\n"
	SHA_ABC "  dst/a.txt\n";

static const char want_md5[] =
	"\\" MD5_HELLO "  dst/odd, \"name\"\\nline.txt\n"
	"\\" MD5_EMPTY "  dst/back\\\\slash\n"
	MD5_ABC "  dst/a.txt\n";

static const char want_csv[] =
	"id,path,dst,status,size,md5,sha256,crc32c,src,src_etag,src_size,dst_etag,"
	"parts,part_size,attempts,started,ended,error\r\n"
	"1,dst/crash.bin,dst/crash.bin,interrupted,10,,,,,,,,0,0,0,"
	"2024-01-01T00:00:00.000Z,,interrupted: the mount stopped before the object was finished\r\n"
	"2,dst/a.txt,dst/a.txt,failed,3,,,,src/a.txt," MD5_ABC ",3,,0,0,3,"
	"2024-01-01T00:00:00.100Z,2024-01-01T00:00:00.200Z,timeout\r\n"
	"3,\"dst/odd, \"\"name\"\"\nline.txt\",\"dst/odd, \"\"name\"\"\nline.txt\",verified,5,"
	MD5_HELLO "," SHA_HELLO ",9a71bb4c,,,," MD5_HELLO ",0,0,1,"
	"2024-01-01T00:00:00.300Z,2024-01-01T00:00:00.400Z,\r\n"
	"4,dst/back\\slash,dst/back\\slash,verified,0," MD5_EMPTY "," SHA_EMPTY ",00000000,,,,"
	MD5_EMPTY ",0,0,1,2024-01-01T00:00:00.500Z,2024-01-01T00:00:00.600Z,\r\n"
	"5,dst/big.bin,dst/big.bin,failed,6291456,,,,,,,,2,5242880,1,"
	"2024-01-01T00:00:00.700Z,2024-01-01T00:00:01.200Z,PUT 403 AccessDenied\r\n"
	"6,dst/a.txt,dst/a.txt,verified,3," MD5_ABC "," SHA_ABC ",364b3fb7,src/a.txt," MD5_ABC
	",3," MD5_ABC ",0,0,1,2024-01-01T00:00:01.300Z,2024-01-01T00:00:01.400Z,\r\n"
	"7,dst/c.txt,dst/c.txt,verified,5," MD5_HELLO "," SHA_HELLO ",9a71bb4c,,,,,0,0,1,"
	"2024-01-01T00:00:01.500Z,2024-01-01T00:00:01.600Z,\r\n"
	"8,dst/c.txt,dst/c.txt,mismatch,5," MD5_HELLO "," SHA_HELLO ",9a71bb4c,,,,,0,0,2,"
	"2024-01-01T00:00:01.700Z,2024-01-01T00:00:02.000Z,sha256 differs from the source\r\n"
	"9,dst/pending.dat,dst/pending.dat,pending,0,,,,,,,,0,0,0,2024-01-01T00:00:02.100Z,,\r\n";

static const char want_metrics[] =
	"# HELP s3bridge_objects Objects by status of their latest journal record.\n"
	"# TYPE s3bridge_objects gauge\n"
	"s3bridge_objects{status=\"verified\"} 3\n"
	"s3bridge_objects{status=\"failed\"} 1\n"
	"s3bridge_objects{status=\"mismatch\"} 1\n"
	"s3bridge_objects{status=\"pending\"} 1\n"
	"s3bridge_objects{status=\"interrupted\"} 1\n"
	"# HELP s3bridge_bytes Bytes of objects by status of their latest journal record.\n"
	"# TYPE s3bridge_bytes gauge\n"
	"s3bridge_bytes{status=\"verified\"} 8\n"
	"s3bridge_bytes{status=\"failed\"} 6291456\n"
	"s3bridge_bytes{status=\"mismatch\"} 5\n"
	"s3bridge_bytes{status=\"pending\"} 0\n"
	"s3bridge_bytes{status=\"interrupted\"} 10\n"
	"# HELP s3bridge_journal_records Records in the journal, re-copies included.\n"
	"# TYPE s3bridge_journal_records gauge\n"
	"s3bridge_journal_records 9\n"
	"# HELP s3bridge_uploads_in_flight Multipart uploads begun and not yet completed or aborted.\n"
	"# TYPE s3bridge_uploads_in_flight gauge\n";

static const char want_metrics_live_tail[] =
	"s3bridge_uploads_in_flight 2\n"
	"# HELP s3bridge_bytes_in_flight Bytes accepted from writers and not yet uploaded.\n"
	"# TYPE s3bridge_bytes_in_flight gauge\n"
	"s3bridge_bytes_in_flight 1048576\n"
	"# HELP s3bridge_retries_total S3 requests retried.\n"
	"# TYPE s3bridge_retries_total counter\n"
	"s3bridge_retries_total 7\n"
	"# HELP s3bridge_requests_total S3 requests by operation.\n"
	"# TYPE s3bridge_requests_total counter\n"
	"s3bridge_requests_total{op=\"PutObject\"} 11\n"
	"s3bridge_requests_total{op=\"UploadPart\"} 22\n"
	"s3bridge_requests_total{op=\"we\\\"ird\\\\op\\n\"} 33\n";

static const char want_object_a[] =
	"{\"id\":6,\"path\":\"dst/a.txt\",\"status\":\"verified\",\"size\":3,"
	"\"dst_bucket\":\"dst\",\"dst_key\":\"a.txt\",\"dst_etag\":\"" MD5_ABC "\","
	"\"src_bucket\":\"src\",\"src_key\":\"a.txt\",\"src_etag\":\"" MD5_ABC "\",\"src_size\":3,"
	"\"md5\":\"" MD5_ABC "\",\"sha256\":\"" SHA_ABC "\",\"crc32c\":\"364b3fb7\","
	"\"parts\":0,\"part_size\":0,\"attempts\":1,\"started\":\"2024-01-01T00:00:01.300Z\","
	"\"ended\":\"2024-01-01T00:00:01.400Z\",\"error\":null}\n";

static const char want_object_big[] =
	"{\"id\":5,\"path\":\"dst/big.bin\",\"status\":\"failed\",\"size\":6291456,"
	"\"dst_bucket\":\"dst\",\"dst_key\":\"big.bin\",\"dst_etag\":null,"
	"\"src_bucket\":null,\"src_key\":null,\"src_etag\":null,\"src_size\":null,"
	"\"md5\":null,\"sha256\":null,\"crc32c\":null,"
	"\"parts\":2,\"part_size\":5242880,\"attempts\":1,\"started\":\"2024-01-01T00:00:00.700Z\","
	"\"ended\":\"2024-01-01T00:00:01.200Z\",\"error\":\"PUT 403 AccessDenied\"}\n";

static const char want_object_odd_head[] =
	"{\"id\":3,\"path\":\"dst/odd, \\\"name\\\"\\nline.txt\",\"status\":\"verified\",";

/* Run the coreutils checker on a SUMS file against real files. */
static void coreutils_check(const char *tool, const char *sums)
{
	char cmd[1200], dir[300], path[400];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	if (system(cmd) != 0) {
		printf("%s not installed: skipping the independent check\n", tool);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/tree", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/dst", dir);
	mkdir(path, 0700);
	static const struct {
		const char *name, *body;
	} files[] = {{"dst/a.txt", "abc"}, {BACK, ""}, {ODD, "hello"}};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		f = fopen(path, "wb");
		CHECK(f != NULL);
		if (f) {
			fputs(files[i].body, f);
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/SUMS", tmpdir);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(sums, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s --quiet --strict -c '%s'", dir, tool, path);
	CHECK_INT(system(cmd), 0);
}

static void test_golden(const char *p)
{
	struct s3b_live_stats live = {
		.requests_by_op = {11, 22, 33},
		.op_names = (const char *const[]){"PutObject", "UploadPart", "we\"ird\\op\n", NULL},
		.retries = 7,
		.uploads_in_flight = 2,
		.bytes_in_flight = 1048576,
	};
	char *got, want[4096];

	check_render(p, "summary", NULL, want_summary);
	check_render(p, "summary.json", NULL, want_summary_json);
	check_render(p, "failed", NULL, want_failed);
	check_render(p, "pending", NULL, want_pending);
	check_render(p, "SHA256SUMS", NULL, want_sha);
	check_render(p, "MD5SUMS", NULL, want_md5);
	check_render(p, "journal.csv", NULL, want_csv);
	snprintf(want, sizeof(want), "%ss3bridge_uploads_in_flight 0\n", want_metrics);
	check_render(p, "metrics", NULL, want);
	snprintf(want, sizeof(want), "%s%s", want_metrics, want_metrics_live_tail);
	check_render(p, "metrics", &live, want);
	check_render(p, "check", NULL,
		     "no completeness check has run (s3bridge check SRC_DIR DST_DIR)\n");
	check_render(p, "objects/dst/a.txt", NULL, want_object_a);
	check_render(p, "objects/dst/big.bin", NULL, want_object_big);

	CHECK_INT(render(p, "objects/" ODD, NULL, &got), 0);
	CHECK(got && strncmp(got, want_object_odd_head, strlen(want_object_odd_head)) == 0);
	free(got);

	/* live numbers in the summary */
	CHECK_INT(render(p, "summary", &live, &got), 0);
	CHECK(got && strstr(got, "\nin flight       2 uploads, 1048576 bytes (1.0 MiB)\n"));
	free(got);

	coreutils_check("sha256sum", want_sha);
	coreutils_check("md5sum", want_md5);
}

static void test_check(const char *p)
{
	char *got;

	CHECK_INT(s3b_report_store_check(p, "missing: dst/x\nextra: dst/y", 1, 1, 0, 2), 0);
	CHECK_INT(render(p, "check", NULL, &got), 0);
	CHECK(got && strncmp(got, "check at 20", 11) == 0);
	CHECK(got && strstr(got, "Z: 1 missing, 1 extra, 0 differ, 2 unverified\n"
				 "missing: dst/x\nextra: dst/y\n"));
	free(got);
	CHECK_INT(render(p, "summary.json", NULL, &got), 0);
	CHECK(got && strstr(got, ",\"missing\":1,\"extra\":1,\"differ\":0,\"unverified\":2}}\n"));
	free(got);
	CHECK_INT(render(p, "summary", NULL, &got), 0);
	CHECK(got && strstr(got, "Z: 1 missing, 1 extra, 0 differ, 2 unverified\n"));
	free(got);
}

static void test_errors(const char *p)
{
	char missing[300], *got;

	snprintf(missing, sizeof(missing), "%s/no-such.db", tmpdir);
	CHECK_INT(render(missing, "summary", NULL, &got), ENOENT);
	free(got);
	CHECK_INT(render(p, "no-such-report", NULL, &got), ENOENT);
	free(got);
	CHECK_INT(render(p, "objects/dst/nope", NULL, &got), ENOENT);
	free(got);
	CHECK_INT(render(p, "objects/dst", NULL, &got), ENOENT); /* a directory, no record */
	free(got);
	CHECK_INT(render(p, "objects/", NULL, &got), ENOENT);
	free(got);
	CHECK_INT(s3b_report_store_check(missing, "x", 0, 0, 0, 0), ENOENT);
	CHECK(access(missing, F_OK) != 0);
}

/* ---- escaping of odd names, and the objects/ tree -------------------- */

struct listing {
	char buf[1024];
	size_t len;
};

static int collect(void *ctx, const char *name, bool is_dir)
{
	struct listing *l = ctx;
	int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s%s|", name, is_dir ? "/" : "");

	if (n > 0)
		l->len += (size_t)n;
	return 0;
}

static void check_list(const char *p, const char *rel, const char *want)
{
	struct listing l = {.len = 0};

	l.buf[0] = '\0';
	CHECK_INT(s3b_report_objects_list(p, rel, collect, &l), 0);
	CHECK_STR(l.buf, want);
}

static int stop_at_two(void *ctx, const char *name, bool is_dir)
{
	int *n = ctx;

	(void)name;
	(void)is_dir;
	return ++*n == 2 ? 42 : 0;
}

static void test_odd_names(const char *p)
{
	static const char *const paths[] = {
		"dst/a", "dst/a b", "dst/a/x", "dst/a/y/z", "dst/b", "src/q", "dst//hidden",
		"dst/tab\there", "dst/bad\xff\xfe.bin", "dst/ctl\x01\x1f", "dst/\xc3\xa9t\xc3\xa9",
	};
	struct s3b_journal *j;
	char *got;
	int stopped = 0;

	if (open_j(p, &j))
		return;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct s3b_obj_record r = rec(paths[i], paths[i] + 4, 1, 0, 10);

		add(j, r, S3B_ST_VERIFIED, "ok\ttab\\", 1);
	}
	CHECK_INT(s3b_journal_sync(j), 0);
	s3b_journal_close(j);

	check_list(p, "", "dst/|src/|");
	check_list(p, "dst", "a|a b|a/|b|bad\xff\xfe.bin|ctl\x01\x1f|tab\there|\xc3\xa9t\xc3\xa9|");
	check_list(p, "dst/", "a|a b|a/|b|bad\xff\xfe.bin|ctl\x01\x1f|tab\there|\xc3\xa9t\xc3\xa9|");
	check_list(p, "dst/a", "x|y/|");
	check_list(p, "dst/a/y", "z|");
	check_list(p, "nope", "");
	check_list(p, "dst/a/x", "");
	CHECK_INT(s3b_report_objects_list(p, "dst", stop_at_two, &stopped), 42);

	/* JSON: control bytes as \uXXXX, invalid UTF-8 as U+FFFD, valid kept */
	CHECK_INT(render(p, "objects/dst/bad\xff\xfe.bin", NULL, &got), 0);
	CHECK(got && strstr(got, "\"path\":\"dst/bad\\ufffd\\ufffd.bin\""));
	CHECK(got && strstr(got, "\"error\":\"ok\\ttab\\\\\""));
	free(got);
	CHECK_INT(render(p, "objects/dst/ctl\x01\x1f", NULL, &got), 0);
	CHECK(got && strstr(got, "\"path\":\"dst/ctl\\u0001\\u001f\""));
	free(got);
	CHECK_INT(render(p, "objects/dst/\xc3\xa9t\xc3\xa9", NULL, &got), 0);
	CHECK(got && strstr(got, "\"path\":\"dst/\xc3\xa9t\xc3\xa9\""));
	free(got);
	/* one record a line in failed-style text: tab and controls escaped */
	CHECK_INT(render(p, "SHA256SUMS", NULL, &got), 0); /* no digests: no lines */
	CHECK_STR(got, "");
	free(got);
	CHECK_INT(render(p, "journal.csv", NULL, &got), 0);
	CHECK(got && strstr(got, "\r\n3,dst/a/x,dst/a/x,verified,"));
	CHECK(got && strstr(got, ",ok\ttab\\\r\n")); /* tabs need no CSV quoting */
	free(got);
}

static void test_line_escapes(const char *p)
{
	struct s3b_journal *j;
	char *got;

	if (open_j(p, &j))
		return;
	struct s3b_obj_record r = rec("dst/x\ty\nz\\w\x7f", "k", 1, 0, 10);

	add(j, r, S3B_ST_FAILED, "line1\nline2\r", 1);
	r = rec("dst/p\nq", "k2", 1, 0, -1);
	s3b_journal_begin(j, &r);
	CHECK_INT(s3b_journal_sync(j), 0);
	s3b_journal_close(j);
	CHECK_INT(render(p, "failed", NULL, &got), 0);
	CHECK_STR(got, "dst/x\\ty\\nz\\\\w\\x7f\tfailed\tline1\\nline2\\r\n");
	free(got);
	CHECK_INT(render(p, "pending", NULL, &got), 0);
	CHECK_STR(got, "dst/p\\nq\t2024-01-01T00:00:00.000Z\n");
	free(got);
}

static int run_cmd_argv(char **out, char **err, int argc, char **argv);

static bool starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Run `s3bridge report ARGS` (NULL-terminated) with stdout and stderr
 * captured; the arguments are copied, as main's argv would be writable. */
static int run_cmd(char **out, char **err, const char *const *args)
{
	char *argv[8] = {0};
	int argc = 0, rc;

	while (args[argc] && argc < 7) {
		argv[argc] = strdup(args[argc]);
		argc++;
	}
	rc = run_cmd_argv(out, err, argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

static int run_cmd_argv(char **out, char **err, int argc, char **argv)
{
	char po[300], pe[300];
	int so = dup(1), se = dup(2), fo, fe, rc;

	snprintf(po, sizeof(po), "%s/cmd.out", tmpdir);
	snprintf(pe, sizeof(pe), "%s/cmd.err", tmpdir);
	fflush(stdout);
	fflush(stderr);
	fo = open(po, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fe = open(pe, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	rc = s3b_cmd_report(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	for (int k = 0; k < 2; k++) {
		int fd = k ? fe : fo;
		char **dst = k ? err : out;
		off_t n = lseek(fd, 0, SEEK_END);

		*dst = calloc(1, (size_t)n + 1);
		if (*dst && pread(fd, *dst, (size_t)n, 0) != n)
			(*dst)[0] = '\0';
		close(fd);
	}
	return rc;
}

static void test_command(const char *golden)
{
	char missing[300], text[300], clean[300], *out, *err;
	struct s3b_journal *j;
	FILE *f;

	snprintf(missing, sizeof(missing), "%s/no-such.db", tmpdir);
	snprintf(text, sizeof(text), "%s/text.txt", tmpdir);
	snprintf(clean, sizeof(clean), "%s/clean.db", tmpdir);

	/* default: the summary; failures present: exit 1 */
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", golden, NULL}), 1);
	CHECK(starts(out, "3 verified, 1 failed, 1 mismatch, 1 pending, 1 interrupted"));
	CHECK_STR(err, "");
	free(out);
	free(err);
	CHECK_INT(run_cmd(&out, &err,
			  (const char *const[]){"report", "--format", "SHA256SUMS", golden, NULL}),
		  1);
	CHECK_STR(out, want_sha);
	free(out);
	free(err);
	CHECK_INT(run_cmd(&out, &err,
			  (const char *const[]){"report", "--format=objects/dst/a.txt", golden, NULL}),
		  1);
	CHECK_STR(out, want_object_a);
	free(out);
	free(err);

	/* errors: exit 2 with one clear line */
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", missing, NULL}), 2);
	CHECK(err && strstr(err, "no-such.db: no such journal file\n"));
	CHECK_STR(out, "");
	free(out);
	free(err);
	f = fopen(text, "w");
	if (f) {
		fputs("plain text, certainly not a journal; plain text, certainly not a journal\n", f);
		fclose(f);
	}
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", text, NULL}), 2);
	CHECK(err && strstr(err, "text.txt: not an s3bridge journal"));
	free(out);
	free(err);
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", "--format", "nope", golden,
						    NULL}),
		  2);
	CHECK(err && strstr(err, "unknown report nope"));
	free(out);
	free(err);
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", "--format=objects/dst/none",
						    golden, NULL}),
		  2);
	CHECK(err && strstr(err, "no record of dst/none"));
	free(out);
	free(err);
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", NULL}), 2);
	CHECK(err && strstr(err, "usage: s3bridge report"));
	free(out);
	free(err);
	CHECK_INT(run_cmd(&out, &err, (const char *const[]){"report", "--bogus", golden, NULL}), 2);
	free(out);
	free(err);

	/* everything verified: exit 0 */
	if (open_j(clean, &j) == 0) {
		struct s3b_obj_record r = rec("dst/ok", "ok", 1, 0, 10);

		add(j, r, S3B_ST_VERIFIED, NULL, 1);
		s3b_journal_sync(j);
		s3b_journal_close(j);
	}
	CHECK_INT(run_cmd(&out, &err,
			  (const char *const[]){"report", "-f", "summary.json", clean, NULL}),
		  0);
	CHECK(starts(out, "{\"verified\":1,\"failed\":0,"));
	free(out);
	free(err);
}

/* The summary lists the newest 10 failures, then says how many more. */
static void test_many_failures(const char *p)
{
	struct s3b_journal *j;
	char path[32], *got, *tail;
	int lines = 0;

	if (open_j(p, &j))
		return;
	for (int i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "dst/f%02d", i);
		add(j, rec(path, path + 4, 1, i, i + 1), S3B_ST_FAILED, "no", 1);
	}
	CHECK_INT(s3b_journal_sync(j), 0);
	s3b_journal_close(j);
	CHECK_INT(render(p, "summary", NULL, &got), 0);
	tail = got ? strstr(got, "last failures (newest first):\n") : NULL;
	CHECK(tail != NULL);
	for (char *q = tail; q && (q = strstr(q, "\n  failed      dst/f")); q++)
		lines++;
	CHECK_INT(lines, 10);
	CHECK(tail && strstr(tail, "  failed      dst/f11: no\n  failed      dst/f10: no\n"));
	CHECK(got && strstr(got, "  failed      dst/f02: no\n  and 2 more (see failed)\n"));
	free(got);
}

int main(int argc, char **argv)
{
	char p[300];

	(void)argc;
	(void)argv;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p, sizeof(p), "%s/golden.db", tmpdir);
	build_golden(p);
	test_golden(p);
	test_command(p);
	test_errors(p);
	test_check(p);
	snprintf(p, sizeof(p), "%s/odd.db", tmpdir);
	test_odd_names(p);
	snprintf(p, sizeof(p), "%s/escapes.db", tmpdir);
	test_line_escapes(p);
	snprintf(p, sizeof(p), "%s/many.db", tmpdir);
	test_many_failures(p);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return check_report();
}
