/*
 * db/report.c — the reports of .integrity/ and `s3bridge report` (see
 * report.h): formatting only.  The rows come from a view of the journal
 * (journal_impl.h; all SQL is in journal.c), one view per render, so each
 * report is one consistent snapshot.  Each line goes through a small
 * buffered writer straight to the file descriptor: memory stays the same
 * for ten records or ten million.
 *
 * What it does not do: no SQL, no caching of rendered reports (the mount
 * decides when to render), no knowledge of FUSE.
 *
 * Formats (the golden strings in tests/unit/test_report.c pin them):
 *   summary       "N verified, N failed, N mismatch, N pending, N interrupted
 *                 (N objects, N records)", then "label  value" lines and
 *                 the last 10 failures, newest first, and how many more
 *   summary.json  one JSON object on one line; times are Unix seconds with
 *                 milliseconds, null when unknown
 *   failed        PATH<TAB>STATUS<TAB>REASON, by status, then in the
 *                 order the objects began
 *   pending       PATH<TAB>STARTED, in the order the objects began
 *     (in these three, backslash, tab, CR, LF and other control bytes of a
 *     path or reason are written \\ \t \r \n \xHH, so a line is a record)
 *   journal.csv   RFC 4180: CRLF line ends, fields with , " CR LF quoted
 *   SHA256SUMS, MD5SUMS  "HEX  PATH" (two spaces, text mode); a path with
 *                 \ LF or CR is written with a leading \ and \\ \n \r, as
 *                 coreutils 9 does; verified records with digests only,
 *                 in the order the objects began (the table's own order:
 *                 one sequential pass)
 *   metrics       Prometheus text exposition format 0.0.4
 *   check         "check at TIME: ..." then the stored text, or one line
 *                 saying that no check has run
 *   objects/PATH  the latest record of PATH as one JSON object
 * Times are UTC, ISO 8601 with milliseconds ("2024-01-01T00:00:00.000Z").
 * Counts are of the latest record of each path (a re-copied file counts
 * once, as its last outcome); journal.csv lists every record.
 */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal_impl.h"
#include "log.h"

#define OUT_BUF 65536
#define LAST_FAILURES 10

/* ---- the buffered writer --------------------------------------------- */

struct out {
	int fd;
	int err;     /* first write error; later output is dropped */
	size_t len;
	char buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
	size_t off = 0;

	while (!o->err && off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
		} else {
			off += (size_t)n;
		}
	}
	o->len = 0;
}

static void out_write(struct out *o, const char *p, size_t n)
{
	while (n > 0 && !o->err) {
		size_t room = OUT_BUF - o->len, k = n < room ? n : room;

		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
		if (o->len == OUT_BUF)
			out_flush(o);
	}
}

static void out_puts(struct out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

static void out_putc(struct out *o, char c)
{
	if (o->len == OUT_BUF)
		out_flush(o);
	if (!o->err)
		o->buf[o->len++] = c;
}

/* Short formatted pieces only (numbers, labels): strings from the journal
 * go through the escapers below. */
static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (!o->err)
			o->err = EOVERFLOW;
		return;
	}
	out_write(o, tmp, (size_t)n);
}

/* ---- escapers ---------------------------------------------------------- */

/* Human lines (summary, failed, pending): one record, one line. */
static void out_line_text(struct out *o, const char *s)
{
	static const char hexd[] = "0123456789abcdef";

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '\\':
			out_puts(o, "\\\\");
			break;
		case '\t':
			out_puts(o, "\\t");
			break;
		case '\n':
			out_puts(o, "\\n");
			break;
		case '\r':
			out_puts(o, "\\r");
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char e[4] = {'\\', 'x', hexd[c >> 4], hexd[c & 15]};

				out_write(o, e, 4);
			} else {
				out_putc(o, (char)c);
			}
		}
	}
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	uint32_t cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string (with its quotes), or null.  Bytes that are not UTF-8
 * become U+FFFD: JSON text must be Unicode. */
static void out_json_str(struct out *o, const char *s)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		out_puts(o, "null");
		return;
	}
	out_putc(o, '"');
	while (*p) {
		size_t n;

		switch (*p) {
		case '"':
			out_puts(o, "\\\"");
			p++;
			continue;
		case '\\':
			out_puts(o, "\\\\");
			p++;
			continue;
		case '\n':
			out_puts(o, "\\n");
			p++;
			continue;
		case '\r':
			out_puts(o, "\\r");
			p++;
			continue;
		case '\t':
			out_puts(o, "\\t");
			p++;
			continue;
		case '\b':
			out_puts(o, "\\b");
			p++;
			continue;
		case '\f':
			out_puts(o, "\\f");
			p++;
			continue;
		default:
			break;
		}
		if (*p < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hexd[*p >> 4], hexd[*p & 15]};

			out_write(o, e, 6);
			p++;
			continue;
		}
		n = utf8_len(p);
		if (n == 0) {
			out_puts(o, "\\ufffd");
			p++;
		} else {
			out_write(o, (const char *)p, n);
			p += n;
		}
	}
	out_putc(o, '"');
}

static bool csv_needs_quotes(const char *s)
{
	return s && strpbrk(s, ",\"\r\n") != NULL;
}

static void out_csv_quoted_body(struct out *o, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"')
			out_putc(o, '"');
		out_putc(o, *s);
	}
}

/* One CSV field made of a, then sep and b when both are set (b alone when
 * a is NULL).  Quoted when needed (RFC 4180 2.6, 2.7). */
static void out_csv2(struct out *o, const char *a, const char *sep, const char *b)
{
	bool q = csv_needs_quotes(a) || csv_needs_quotes(b);

	if (q)
		out_putc(o, '"');
	out_csv_quoted_body(o, a);
	if (a && b)
		out_puts(o, sep);
	out_csv_quoted_body(o, b);
	if (q)
		out_putc(o, '"');
}

static void out_csv(struct out *o, const char *s)
{
	out_csv2(o, s, "", NULL);
}

/* Prometheus label value: \\, \" and \n escaped. */
static void out_prom_label(struct out *o, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			out_puts(o, "\\\\");
		else if (*s == '"')
			out_puts(o, "\\\"");
		else if (*s == '\n')
			out_puts(o, "\\n");
		else
			out_putc(o, *s);
	}
}

/* ---- times and sizes ------------------------------------------------- */

static bool ts_set(struct timespec ts)
{
	return ts.tv_sec != 0 || ts.tv_nsec != 0;
}

static void out_iso(struct out *o, struct timespec ts)
{
	char b[64];
	struct tm tm;
	time_t t = ts.tv_sec;

	if (!gmtime_r(&t, &tm) || strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		out_puts(o, "?");
		return;
	}
	out_printf(o, "%s.%03ldZ", b, ts.tv_nsec / 1000000);
}

/* Unix seconds with milliseconds, as a JSON number, or null. */
static void out_json_time(struct out *o, struct timespec ts)
{
	if (!ts_set(ts))
		out_puts(o, "null");
	else
		out_printf(o, "%lld.%03ld", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
}

static void human_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double d = (double)v;
	unsigned u = 0;

	if (v < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)v);
		return;
	}
	d /= 1024;
	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", d, units[u]);
}

/* " (1.5 MiB)" after a byte count, when a unit says more than the number. */
static void out_human(struct out *o, uint64_t v, const char *suffix)
{
	char h[32];

	if (v < 1024)
		return;
	human_bytes(v, h, sizeof(h));
	out_printf(o, " (%s%s)", h, suffix);
}

/* The span of the journal in ns; 0 when unknown. */
static int64_t span_ns(const struct s3b_jtotals *t)
{
	int64_t a, b;

	if (!ts_set(t->first_start) || !ts_set(t->last_end))
		return 0;
	a = (int64_t)t->first_start.tv_sec * 1000000000 + t->first_start.tv_nsec;
	b = (int64_t)t->last_end.tv_sec * 1000000000 + t->last_end.tv_nsec;
	return b > a ? b - a : 0;
}

static uint64_t rate_of(const struct s3b_jtotals *t)
{
	int64_t ns = span_ns(t);

	if (ns <= 0)
		return 0;
	return (uint64_t)((double)t->bytes[S3B_ST_VERIFIED] * 1e9 / (double)ns);
}

/* ---- the reports ----------------------------------------------------- */

struct ctx {
	struct s3b_jview *v;
	const struct s3b_jtotals *t;
	const struct s3b_live_stats *live;
	struct out *o;
	const char *arg; /* objects/: the path */
};

static const enum s3b_obj_status status_order[S3B_JOURNAL_NSTATUS] = {
	S3B_ST_VERIFIED, S3B_ST_FAILED, S3B_ST_MISMATCH, S3B_ST_PENDING, S3B_ST_INTERRUPTED,
};

static int render_summary(struct ctx *c)
{
	const struct s3b_jtotals *t = c->t;
	struct out *o = c->o;
	struct s3b_jrow row;
	int64_t ns = span_ns(t);
	uint64_t bad = t->objects[S3B_ST_FAILED] + t->objects[S3B_ST_MISMATCH] +
		       t->objects[S3B_ST_INTERRUPTED], shown = 0;
	bool got, header = false;
	int rc;

	for (unsigned i = 0; i < S3B_JOURNAL_NSTATUS; i++)
		out_printf(o, "%s%llu %s", i ? ", " : "", (unsigned long long)t->objects[status_order[i]],
			   s3b_obj_status_name(status_order[i]));
	out_printf(o, " (%llu objects, %llu records)\n", (unsigned long long)t->paths,
		   (unsigned long long)t->records);
	out_printf(o, "verified bytes  %llu", (unsigned long long)t->bytes[S3B_ST_VERIFIED]);
	out_human(o, t->bytes[S3B_ST_VERIFIED], "");
	out_putc(o, '\n');
	out_puts(o, "first start     ");
	if (ts_set(t->first_start))
		out_iso(o, t->first_start);
	else
		out_putc(o, '-');
	out_puts(o, "\nlast end        ");
	if (ts_set(t->last_end))
		out_iso(o, t->last_end);
	else
		out_putc(o, '-');
	out_puts(o, "\nelapsed         ");
	if (ns > 0) {
		int64_t s = ns / 1000000000;

		out_printf(o, "%lld.%03lld s", (long long)s, (long long)(ns % 1000000000 / 1000000));
		if (s >= 60)
			out_printf(o, " (%lldh%02lldm%02llds)", (long long)(s / 3600),
				   (long long)(s / 60 % 60), (long long)(s % 60));
		out_printf(o, "\nrate            %llu B/s", (unsigned long long)rate_of(t));
		out_human(o, rate_of(t), "/s");
		out_putc(o, '\n');
	} else {
		out_puts(o, "-\nrate            -\n");
	}
	if (c->live) {
		out_printf(o, "in flight       %llu uploads, %llu bytes",
			   (unsigned long long)c->live->uploads_in_flight,
			   (unsigned long long)c->live->bytes_in_flight);
		out_human(o, c->live->bytes_in_flight, "");
		out_putc(o, '\n');
	}
	out_puts(o, "last check      ");
	if (t->has_check) {
		out_iso(o, t->check_ran);
		out_printf(o, ": %llu missing, %llu extra, %llu differ, %llu unverified\n",
			   (unsigned long long)t->check_missing, (unsigned long long)t->check_extra,
			   (unsigned long long)t->check_differ,
			   (unsigned long long)t->check_unverified);
	} else {
		out_puts(o, "none\n");
	}

	rc = s3b_jview_scan(c->v, S3B_JSCAN_LAST_BAD, NULL, LAST_FAILURES);
	while (!rc && !(rc = s3b_jview_next(c->v, &row, &got)) && got) {
		if (!header) {
			out_puts(o, "last failures (newest first):\n");
			header = true;
		}
		shown++;
		out_printf(o, "  %-11s ", s3b_obj_status_name(row.rec.status));
		out_line_text(o, row.rec.path);
		if (row.rec.error) {
			out_puts(o, ": ");
			out_line_text(o, row.rec.error);
		}
		out_putc(o, '\n');
	}
	if (!rc && bad > shown)
		out_printf(o, "  and %llu more (see failed)\n", (unsigned long long)(bad - shown));
	return rc;
}

static int render_summary_json(struct ctx *c)
{
	const struct s3b_jtotals *t = c->t;
	struct out *o = c->o;
	int64_t ns = span_ns(t);

	out_putc(o, '{');
	for (unsigned i = 0; i < S3B_JOURNAL_NSTATUS; i++)
		out_printf(o, "\"%s\":%llu,", s3b_obj_status_name(status_order[i]),
			   (unsigned long long)t->objects[status_order[i]]);
	out_printf(o, "\"objects\":%llu,\"records\":%llu,\"bytes\":%llu,",
		   (unsigned long long)t->paths, (unsigned long long)t->records,
		   (unsigned long long)t->bytes[S3B_ST_VERIFIED]);
	out_puts(o, "\"first_start\":");
	out_json_time(o, t->first_start);
	out_puts(o, ",\"last_end\":");
	out_json_time(o, t->last_end);
	out_printf(o, ",\"elapsed\":%lld.%03lld,\"rate\":%llu,\"uploads\":%llu",
		   (long long)(ns / 1000000000), (long long)(ns % 1000000000 / 1000000),
		   (unsigned long long)rate_of(t), (unsigned long long)t->uploads);
	if (c->live)
		out_printf(o, ",\"uploads_in_flight\":%llu,\"bytes_in_flight\":%llu,\"retries\":%llu",
			   (unsigned long long)c->live->uploads_in_flight,
			   (unsigned long long)c->live->bytes_in_flight,
			   (unsigned long long)c->live->retries);
	out_puts(o, ",\"check\":");
	if (t->has_check) {
		out_puts(o, "{\"ran\":");
		out_json_time(o, t->check_ran);
		out_printf(o, ",\"missing\":%llu,\"extra\":%llu,\"differ\":%llu,\"unverified\":%llu}",
			   (unsigned long long)t->check_missing, (unsigned long long)t->check_extra,
			   (unsigned long long)t->check_differ,
			   (unsigned long long)t->check_unverified);
	} else {
		out_puts(o, "null");
	}
	out_puts(o, "}\n");
	return 0;
}

static int render_failed(struct ctx *c)
{
	struct s3b_jrow row;
	bool got;
	int rc = s3b_jview_scan(c->v, S3B_JSCAN_BAD, NULL, 0);

	while (!rc && !(rc = s3b_jview_next(c->v, &row, &got)) && got) {
		out_line_text(c->o, row.rec.path);
		out_putc(c->o, '\t');
		out_puts(c->o, s3b_obj_status_name(row.rec.status));
		out_putc(c->o, '\t');
		out_line_text(c->o, row.rec.error);
		out_putc(c->o, '\n');
		if (c->o->err)
			break;
	}
	return rc;
}

static int render_pending(struct ctx *c)
{
	struct s3b_jrow row;
	bool got;
	int rc = s3b_jview_scan(c->v, S3B_JSCAN_PENDING, NULL, 0);

	while (!rc && !(rc = s3b_jview_next(c->v, &row, &got)) && got) {
		out_line_text(c->o, row.rec.path);
		out_putc(c->o, '\t');
		if (ts_set(row.rec.started))
			out_iso(c->o, row.rec.started);
		else
			out_putc(c->o, '-');
		out_putc(c->o, '\n');
		if (c->o->err)
			break;
	}
	return rc;
}

static void out_csv_time(struct out *o, struct timespec ts)
{
	if (ts_set(ts))
		out_iso(o, ts);
}

static int render_csv(struct ctx *c)
{
	struct out *o = c->o;
	struct s3b_jrow row;
	bool got;
	int rc;

	out_puts(o, "id,path,dst,status,size,md5,sha256,crc32c,src,src_etag,src_size,dst_etag,"
		    "parts,part_size,attempts,started,ended,error\r\n");
	rc = s3b_jview_scan(c->v, S3B_JSCAN_ALL, NULL, 0);
	while (!rc && !(rc = s3b_jview_next(c->v, &row, &got)) && got) {
		const struct s3b_obj_record *r = &row.rec;

		out_printf(o, "%lld,", (long long)row.id);
		out_csv(o, r->path);
		out_putc(o, ',');
		out_csv2(o, r->dst_bucket, "/", r->dst_key);
		out_printf(o, ",%s,%llu,%s,%s,%s,", s3b_obj_status_name(r->status),
			   (unsigned long long)r->size, row.md5_hex ? row.md5_hex : "",
			   row.sha256_hex ? row.sha256_hex : "", row.crc32c_hex ? row.crc32c_hex : "");
		out_csv2(o, r->src_bucket, "/", r->src_key);
		out_putc(o, ',');
		out_csv(o, r->src_etag);
		out_putc(o, ',');
		if (r->src_size >= 0)
			out_printf(o, "%lld", (long long)r->src_size);
		out_putc(o, ',');
		out_csv(o, r->dst_etag);
		out_printf(o, ",%u,%llu,%u,", r->parts, (unsigned long long)r->part_size, r->attempts);
		out_csv_time(o, r->started);
		out_putc(o, ',');
		out_csv_time(o, r->ended);
		out_putc(o, ',');
		out_csv(o, r->error);
		out_puts(o, "\r\n");
		if (o->err)
			break;
	}
	return rc;
}

/* coreutils: a name with \, LF or CR gets a leading \ on its line and
 * those three escaped. */
static void out_sums_line(struct out *o, const char *hex, const char *path)
{
	bool esc = strpbrk(path, "\\\n\r") != NULL;

	if (esc)
		out_putc(o, '\\');
	out_puts(o, hex);
	out_puts(o, "  ");
	if (!esc) {
		out_puts(o, path);
	} else {
		for (const char *p = path; *p; p++) {
			if (*p == '\\')
				out_puts(o, "\\\\");
			else if (*p == '\n')
				out_puts(o, "\\n");
			else if (*p == '\r')
				out_puts(o, "\\r");
			else
				out_putc(o, *p);
		}
	}
	out_putc(o, '\n');
}

static int render_sums(struct ctx *c, bool sha256)
{
	struct s3b_jrow row;
	bool got;
	int rc = s3b_jview_scan(c->v, S3B_JSCAN_DIGESTS, NULL, 0);

	while (!rc && !(rc = s3b_jview_next(c->v, &row, &got)) && got) {
		const char *hex = sha256 ? row.sha256_hex : row.md5_hex;

		if (hex && row.rec.path)
			out_sums_line(c->o, hex, row.rec.path);
		if (c->o->err)
			break;
	}
	return rc;
}

static int render_sha256sums(struct ctx *c)
{
	return render_sums(c, true);
}

static int render_md5sums(struct ctx *c)
{
	return render_sums(c, false);
}

static void out_metric_head(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int render_metrics(struct ctx *c)
{
	const struct s3b_jtotals *t = c->t;
	const struct s3b_live_stats *live = c->live;
	struct out *o = c->o;

	out_metric_head(o, "s3bridge_objects", "gauge",
			"Objects by status of their latest journal record.");
	for (unsigned i = 0; i < S3B_JOURNAL_NSTATUS; i++)
		out_printf(o, "s3bridge_objects{status=\"%s\"} %llu\n",
			   s3b_obj_status_name(status_order[i]),
			   (unsigned long long)t->objects[status_order[i]]);
	out_metric_head(o, "s3bridge_bytes", "gauge",
			"Bytes of objects by status of their latest journal record.");
	for (unsigned i = 0; i < S3B_JOURNAL_NSTATUS; i++)
		out_printf(o, "s3bridge_bytes{status=\"%s\"} %llu\n",
			   s3b_obj_status_name(status_order[i]),
			   (unsigned long long)t->bytes[status_order[i]]);
	out_metric_head(o, "s3bridge_journal_records", "gauge",
			"Records in the journal, re-copies included.");
	out_printf(o, "s3bridge_journal_records %llu\n", (unsigned long long)t->records);
	out_metric_head(o, "s3bridge_uploads_in_flight", "gauge",
			"Multipart uploads begun and not yet completed or aborted.");
	out_printf(o, "s3bridge_uploads_in_flight %llu\n",
		   (unsigned long long)(live ? live->uploads_in_flight : t->uploads));
	if (!live)
		return 0;
	out_metric_head(o, "s3bridge_bytes_in_flight", "gauge",
			"Bytes accepted from writers and not yet uploaded.");
	out_printf(o, "s3bridge_bytes_in_flight %llu\n", (unsigned long long)live->bytes_in_flight);
	out_metric_head(o, "s3bridge_retries_total", "counter", "S3 requests retried.");
	out_printf(o, "s3bridge_retries_total %llu\n", (unsigned long long)live->retries);
	out_metric_head(o, "s3bridge_requests_total", "counter", "S3 requests by operation.");
	for (unsigned i = 0; live->op_names && live->op_names[i] &&
			     i < sizeof(live->requests_by_op) / sizeof(live->requests_by_op[0]);
	     i++) {
		out_puts(o, "s3bridge_requests_total{op=\"");
		out_prom_label(o, live->op_names[i]);
		out_printf(o, "\"} %llu\n", (unsigned long long)live->requests_by_op[i]);
	}
	return 0;
}

static int render_check(struct ctx *c)
{
	const struct s3b_jtotals *t = c->t;
	const char *text;
	size_t n;
	int rc;

	if (!t->has_check) {
		out_puts(c->o, "no completeness check has run (s3bridge check SRC_DIR DST_DIR)\n");
		return 0;
	}
	rc = s3b_jview_check_text(c->v, &text);
	if (rc)
		return rc;
	out_puts(c->o, "check at ");
	out_iso(c->o, t->check_ran);
	out_printf(c->o, ": %llu missing, %llu extra, %llu differ, %llu unverified\n",
		   (unsigned long long)t->check_missing, (unsigned long long)t->check_extra,
		   (unsigned long long)t->check_differ, (unsigned long long)t->check_unverified);
	if (text && (n = strlen(text)) > 0) {
		out_write(c->o, text, n);
		if (text[n - 1] != '\n')
			out_putc(c->o, '\n');
	}
	return 0;
}

static void out_json_key(struct out *o, const char *key, bool first)
{
	out_printf(o, "%s\"%s\":", first ? "" : ",", key);
}

static int render_object(struct ctx *c)
{
	struct out *o = c->o;
	struct s3b_jrow row;
	const struct s3b_obj_record *r = &row.rec;
	bool got;
	int rc = s3b_jview_scan(c->v, S3B_JSCAN_PATH, c->arg, 1);

	if (!rc)
		rc = s3b_jview_next(c->v, &row, &got);
	if (rc)
		return rc;
	if (!got)
		return ENOENT;
	out_printf(o, "{\"id\":%lld", (long long)row.id);
	out_json_key(o, "path", false);
	out_json_str(o, r->path);
	out_json_key(o, "status", false);
	out_json_str(o, s3b_obj_status_name(r->status));
	out_printf(o, ",\"size\":%llu", (unsigned long long)r->size);
	out_json_key(o, "dst_bucket", false);
	out_json_str(o, r->dst_bucket);
	out_json_key(o, "dst_key", false);
	out_json_str(o, r->dst_key);
	out_json_key(o, "dst_etag", false);
	out_json_str(o, r->dst_etag);
	out_json_key(o, "src_bucket", false);
	out_json_str(o, r->src_bucket);
	out_json_key(o, "src_key", false);
	out_json_str(o, r->src_key);
	out_json_key(o, "src_etag", false);
	out_json_str(o, r->src_etag);
	out_json_key(o, "src_size", false);
	if (r->src_size >= 0)
		out_printf(o, "%lld", (long long)r->src_size);
	else
		out_puts(o, "null");
	out_json_key(o, "md5", false);
	out_json_str(o, row.md5_hex);
	out_json_key(o, "sha256", false);
	out_json_str(o, row.sha256_hex);
	out_json_key(o, "crc32c", false);
	out_json_str(o, row.crc32c_hex);
	out_printf(o, ",\"parts\":%u,\"part_size\":%llu,\"attempts\":%u", r->parts,
		   (unsigned long long)r->part_size, r->attempts);
	out_json_key(o, "started", false);
	if (ts_set(r->started)) {
		out_putc(o, '"');
		out_iso(o, r->started);
		out_putc(o, '"');
	} else {
		out_puts(o, "null");
	}
	out_json_key(o, "ended", false);
	if (ts_set(r->ended)) {
		out_putc(o, '"');
		out_iso(o, r->ended);
		out_putc(o, '"');
	} else {
		out_puts(o, "null");
	}
	out_json_key(o, "error", false);
	out_json_str(o, r->error);
	out_puts(o, "}\n");
	return 0;
}

/* ---- the table of reports -------------------------------------------- */

struct report {
	const char *name;
	int (*render)(struct ctx *c);
};

static const struct report reports[] = {
	{.name = "summary", .render = render_summary},
	{.name = "summary.json", .render = render_summary_json},
	{.name = "failed", .render = render_failed},
	{.name = "pending", .render = render_pending},
	{.name = "journal.csv", .render = render_csv},
	{.name = "SHA256SUMS", .render = render_sha256sums},
	{.name = "MD5SUMS", .render = render_md5sums},
	{.name = "metrics", .render = render_metrics},
	{.name = "check", .render = render_check},
};
#define NREPORTS (sizeof(reports) / sizeof(reports[0]))

const char *const s3b_report_names[] = {
	"summary", "summary.json", "failed", "pending", "journal.csv",
	"SHA256SUMS", "MD5SUMS", "metrics", "check", NULL,
};
_Static_assert(sizeof(s3b_report_names) / sizeof(s3b_report_names[0]) == NREPORTS + 1,
	       "one name per report");

#define OBJECTS_PREFIX "objects/"

int s3b_report_render(const char *journal_path, const char *name,
		      const struct s3b_live_stats *live, int fd)
{
	struct ctx c = {.live = live};
	int (*render)(struct ctx *) = NULL;
	char why[512];
	int rc;

	for (size_t i = 0; i < NREPORTS; i++)
		if (strcmp(name, reports[i].name) == 0)
			render = reports[i].render;
	if (!render && strncmp(name, OBJECTS_PREFIX, strlen(OBJECTS_PREFIX)) == 0 &&
	    name[strlen(OBJECTS_PREFIX)] != '\0') {
		render = render_object;
		c.arg = name + strlen(OBJECTS_PREFIX);
	}
	if (!render)
		return ENOENT;

	c.o = malloc(sizeof(*c.o));
	if (!c.o)
		return ENOMEM;
	c.o->fd = fd;
	c.o->err = 0;
	c.o->len = 0;
	rc = s3b_jview_open(journal_path, &c.v, why, sizeof(why));
	if (rc) {
		if (rc != ENOENT && rc != EIO)
			LOG_E("report %s: %s", name, why);
		goto out;
	}
	c.t = s3b_jview_totals(c.v);
	rc = render(&c);
	out_flush(c.o);
	if (!rc)
		rc = c.o->err;
	s3b_jview_close(c.v);
out:
	free(c.o);
	return rc;
}

int s3b_report_objects_list(const char *journal_path, const char *rel,
			    int (*cb)(void *ctx, const char *name, bool is_dir), void *ctx)
{
	struct s3b_jview *v;
	char why[512], *norm;
	size_t n;
	int rc;

	while (*rel == '/')
		rel++;
	n = strlen(rel);
	while (n > 0 && rel[n - 1] == '/')
		n--;
	norm = strndup(rel, n);
	if (!norm)
		return ENOMEM;
	rc = s3b_jview_open(journal_path, &v, why, sizeof(why));
	if (rc) {
		if (rc != ENOENT && rc != EIO)
			LOG_E("objects/: %s", why);
		free(norm);
		return rc;
	}
	rc = s3b_jview_children(v, norm, cb, ctx);
	s3b_jview_close(v);
	free(norm);
	return rc;
}

int s3b_report_store_check(const char *journal_path, const char *text, uint64_t missing,
			   uint64_t extra, uint64_t differ, uint64_t unverified)
{
	return s3b_jfile_store_check(journal_path, text, missing, extra, differ, unverified);
}
