/*
 * fs/status_fmt.c — the pure parts of `s3bridge status` (status_fmt.h):
 * summary.json fields, the sliding-window rate, and the formatters.
 *
 * What it does not do: no I/O, no clock, no terminal control (the caller
 * adds "\r" on a terminal); every output is printable ASCII.
 */
#include "status_fmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- summary.json ---- */

/* Where the value of the top-level key starts, or NULL.  summary.json is
 * flat apart from "check", whose keys (ran, missing, extra, differ,
 * unverified) are none of ours; a quoted key cannot match inside another
 * ("verified" vs "unverified", "bytes" vs "bytes_in_flight"). */
static const char *value_of(const char *json, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = json; (p = strchr(p, '"')); p++)
		if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '"' && p[2 + klen] == ':')
			return p + klen + 3;
	return NULL;
}

static int field_u64(const char *json, const char *key, uint64_t *out)
{
	const char *v = value_of(json, key);
	char *end;

	if (!v || *v < '0' || *v > '9')
		return EPROTO;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (errno || (*end != ',' && *end != '}'))
		return EPROTO;
	return 0;
}

/* A number that may be null or absent: dflt then. */
static double field_num(const char *json, const char *key, double dflt)
{
	const char *v = value_of(json, key);
	char *end;
	double d;

	if (!v || *v < '0' || *v > '9')
		return dflt;
	d = strtod(v, &end);
	return end == v || !isfinite(d) ? dflt : d;
}

int s3b_status_parse(const char *json, struct s3b_status_summary *out)
{
	uint64_t fl = 0;

	*out = (struct s3b_status_summary){0};
	if (field_u64(json, "verified", &out->verified) || field_u64(json, "failed", &out->failed) ||
	    field_u64(json, "mismatch", &out->mismatch) || field_u64(json, "pending", &out->pending) ||
	    field_u64(json, "interrupted", &out->interrupted) || field_u64(json, "bytes", &out->bytes))
		return EPROTO;
	out->rate = field_num(json, "rate", 0);
	out->elapsed = field_num(json, "elapsed", 0);
	if (field_u64(json, "uploads_in_flight", &fl) == 0)
		out->in_flight = fl;
	return 0;
}

uint64_t s3b_status_bad(const struct s3b_status_summary *s)
{
	return s->failed + s->mismatch + s->interrupted;
}

uint64_t s3b_status_finished(const struct s3b_status_summary *s)
{
	return s->verified + s3b_status_bad(s);
}

/* ---- rate ---- */

void s3b_rate_init(struct s3b_rate_window *w, double span, double min_dt)
{
	*w = (struct s3b_rate_window){.span = span, .min_dt = min_dt};
}

void s3b_rate_add(struct s3b_rate_window *w, double t, uint64_t bytes, uint64_t objects)
{
	if (w->n == S3B_RATE_SAMPLES) {
		memmove(&w->s[0], &w->s[1], (w->n - 1) * sizeof(w->s[0]));
		w->n--;
	}
	w->s[w->n].t = t;
	w->s[w->n].bytes = bytes;
	w->s[w->n].objects = objects;
	w->n++;
	/* the oldest goes once the next one alone covers the span */
	unsigned drop = 0;

	while (w->n - drop > 2 && t - w->s[drop + 1].t >= w->span)
		drop++;
	if (drop) {
		memmove(&w->s[0], &w->s[drop], (w->n - drop) * sizeof(w->s[0]));
		w->n -= drop;
	}
}

bool s3b_rate_get(const struct s3b_rate_window *w, double *bytes_per_s, double *objects_per_s)
{
	double dt;

	*bytes_per_s = *objects_per_s = 0;
	if (w->n < 2)
		return false;
	dt = w->s[w->n - 1].t - w->s[0].t;
	if (!(dt > 0) || dt < w->min_dt)
		return false;
	if (w->s[w->n - 1].bytes > w->s[0].bytes)
		*bytes_per_s = (double)(w->s[w->n - 1].bytes - w->s[0].bytes) / dt;
	if (w->s[w->n - 1].objects > w->s[0].objects)
		*objects_per_s = (double)(w->s[w->n - 1].objects - w->s[0].objects) / dt;
	return true;
}

/* ---- formatters ---- */

void s3b_fmt_bytes(uint64_t v, char *out, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double d;
	unsigned u = 0;

	if (v < 1024) {
		snprintf(out, len, "%llu B", (unsigned long long)v);
		return;
	}
	d = (double)v / 1024;
	/* 1023.95 and up would print as 1024.0 */
	while (d >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	snprintf(out, len, "%.1f %s", d, units[u]);
}

void s3b_fmt_eta(double seconds, char *out, size_t len)
{
	unsigned long long s;

	if (isnan(seconds) || seconds < 0 || isinf(seconds)) {
		snprintf(out, len, "--");
		return;
	}
	if (seconds >= 100.0 * 86400) {
		snprintf(out, len, ">99d");
		return;
	}
	s = (unsigned long long)seconds;
	if ((double)s < seconds) /* rounded up: "0s" only when nothing is left */
		s++;
	if (s < 60)
		snprintf(out, len, "%llus", s);
	else if (s < 3600)
		snprintf(out, len, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%lluh%02llum", s / 3600, s / 60 % 60);
	else
		snprintf(out, len, "%llud%02lluh", s / 86400, s / 3600 % 24);
}

void s3b_fmt_bar(double frac, size_t width, char *out, size_t len)
{
	size_t inner, fill, i = 0;

	if (!len)
		return;
	if (width < 3)
		width = 3;
	inner = width - 2;
	if (!(frac > 0)) /* NaN too */
		fill = 0;
	else if (frac >= 1)
		fill = inner;
	else
		fill = (size_t)(frac * (double)inner);
	for (size_t k = 0; k < width && i + 1 < len; k++)
		out[i++] = k == 0 ? '[' : k == width - 1 ? ']' : k <= fill ? '#' : '.';
	out[i] = '\0';
}

/* ---- the line ---- */

double s3b_status_fraction(const struct s3b_status_view *v)
{
	double f;

	if (!v->have_source)
		return 0;
	if (v->total_bytes)
		f = (double)v->sum.bytes / (double)v->total_bytes;
	else if (v->total_objects)
		f = (double)s3b_status_finished(&v->sum) / (double)v->total_objects;
	else
		f = 1;
	return f > 1 ? 1 : f;
}

double s3b_status_eta(const struct s3b_status_view *v)
{
	uint64_t done, total;
	double rate;

	if (!v->have_source)
		return -1;
	if (v->total_bytes) {
		done = v->sum.bytes, total = v->total_bytes, rate = v->bytes_per_s;
	} else {
		done = s3b_status_finished(&v->sum), total = v->total_objects;
		rate = v->objects_per_s;
	}
	if (done >= total)
		return 0;
	if (!v->have_rate || !(rate > 0))
		return -1;
	return (double)(total - done) / rate;
}

struct line {
	char *p;
	size_t len, pos; /* pos stops at len - 1: the rest is cut */
};

__attribute__((format(printf, 2, 3))) static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->pos + 1 >= l->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->pos, l->len - l->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->pos = l->pos + (size_t)n < l->len ? l->pos + (size_t)n : l->len - 1;
}

static unsigned percent(const struct s3b_status_view *v)
{
	return (unsigned)(s3b_status_fraction(v) * 100); /* rounded down: 100 only when done */
}

static void plain_line(const struct s3b_status_view *v, struct line *l)
{
	const struct s3b_status_summary *s = &v->sum;
	char b[32], t[32], e[32];

	s3b_fmt_bytes(s->bytes, b, sizeof(b));
	if (v->have_source) {
		s3b_fmt_bytes(v->total_bytes, t, sizeof(t));
		put(l, "%u%% done: %llu of %llu objects, %s of %s | ", percent(v),
		    (unsigned long long)s3b_status_finished(s), (unsigned long long)v->total_objects, b, t);
	} else {
		put(l, "%llu objects, %s | ", (unsigned long long)s3b_status_finished(s), b);
	}
	if (v->have_rate) {
		s3b_fmt_bytes((uint64_t)v->bytes_per_s, b, sizeof(b));
		put(l, "%s/s, %.1f objects/s", b, v->objects_per_s);
	} else {
		put(l, "-- B/s, -- objects/s");
	}
	if (v->have_source) {
		s3b_fmt_eta(s3b_status_eta(v), e, sizeof(e));
		put(l, " | ETA %s", e);
	}
	put(l, " | %llu verified, %llu failed, %llu mismatch, %llu pending, %llu interrupted",
	    (unsigned long long)s->verified, (unsigned long long)s->failed,
	    (unsigned long long)s->mismatch, (unsigned long long)s->pending,
	    (unsigned long long)s->interrupted);
	put(l, " | %llu upload%s in flight", (unsigned long long)s->in_flight,
	    s->in_flight == 1 ? "" : "s");
}

#define BAR_MIN 12
#define BAR_MAX 42

/* The terminal line's text after the bar, without the rates that level
 * drops (1: objects/s, 2: both). */
static void tty_text(const struct s3b_status_view *v, int level, struct line *l)
{
	const struct s3b_status_summary *s = &v->sum;
	char b[32], t[32];

	s3b_fmt_bytes(s->bytes, b, sizeof(b));
	if (v->have_source) {
		s3b_fmt_bytes(v->total_bytes, t, sizeof(t));
		put(l, "%3u%% %llu/%llu obj %s/%s", percent(v),
		    (unsigned long long)s3b_status_finished(s), (unsigned long long)v->total_objects, b, t);
	} else {
		put(l, "%llu obj %s", (unsigned long long)s3b_status_finished(s), b);
	}
	if (level < 2) {
		s3b_fmt_bytes((uint64_t)v->bytes_per_s, b, sizeof(b));
		put(l, v->have_rate ? " %s/s" : " --/s", b);
	}
	if (level < 1) {
		if (v->have_rate)
			put(l, " %.1f obj/s", v->objects_per_s);
		else
			put(l, " -- obj/s");
	}
	if (v->have_source) {
		s3b_fmt_eta(s3b_status_eta(v), t, sizeof(t));
		put(l, " ETA %s", t);
	}
	put(l, " %llu failed", (unsigned long long)s3b_status_bad(s));
}

void s3b_status_format(const struct s3b_status_view *v, size_t width, char *out, size_t len)
{
	struct line l = {.p = out, .len = len};
	char text[256], bar[BAR_MAX + 1];
	size_t avail = width ? width - 1 : 0;

	if (!len)
		return;
	out[0] = '\0';
	if (!width) {
		plain_line(v, &l);
		return;
	}
	for (int level = 0; level <= 2; level++) {
		struct line tl = {.p = text, .len = sizeof(text)};
		size_t n;

		tty_text(v, level, &tl);
		n = tl.pos;
		if (!v->have_source && n <= avail) {
			put(&l, "%s", text);
			return;
		}
		if (v->have_source && n + 1 + BAR_MIN <= avail) {
			size_t bw = avail - n - 1 < BAR_MAX ? avail - n - 1 : BAR_MAX;

			s3b_fmt_bar(s3b_status_fraction(v), bw, bar, sizeof(bar));
			put(&l, "%s %s", bar, text);
			return;
		}
	}
	/* no room for a bar: the text without rates, cut to fit */
	if (len > avail + 1)
		l.len = avail + 1;
	put(&l, "%s", text);
}
