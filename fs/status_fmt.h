/*
 * fs/status_fmt.h — the pure parts of `s3bridge status` (internal to fs/):
 * reading the fields it needs from .integrity/summary.json, a sliding-window
 * rate over samples whose times the caller gives (a pinned clock in tests),
 * and the formatters: human sizes, ETA, the bar, the whole status line.
 *
 * What it does not do: no I/O, no clock, no terminal handling; the command
 * (cmd_status.c) reads the files, walks the source, and draws.
 *
 * What counts as done (summary.json counts the latest record of each path
 * in the journal, which a remount on the same journal continues):
 *   objects done  verified + failed + mismatch + interrupted: every object
 *                 with an outcome (pending ones are still moving);
 *   bytes done    the verified bytes, the only byte count summary.json
 *                 gives.  The bar and its percentage follow the bytes (the
 *                 objects when the source has no bytes), so a failed object
 *                 leaves the bar short of 100% while the objects reach their
 *                 total; the failure count says why.
 */
#ifndef S3B_STATUS_FMT_H
#define S3B_STATUS_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fields of summary.json that status uses. */
struct s3b_status_summary {
	uint64_t verified, failed, mismatch, pending, interrupted;
	uint64_t bytes;     /* bytes of the verified objects */
	double rate;        /* verified bytes/s over the journal's span */
	double elapsed;     /* the journal's span, first start to last end, s */
	uint64_t in_flight; /* uploads in flight; 0 when the file does not say */
};

/* Fill *out from the text of a summary.json (NUL-terminated).  0, or
 * EPROTO when a count (verified, failed, mismatch, pending, interrupted,
 * bytes) is missing or is not a number. */
int s3b_status_parse(const char *json, struct s3b_status_summary *out);

/* Objects with an outcome (see above), and the bad ones among them
 * (failed + mismatch + interrupted). */
uint64_t s3b_status_finished(const struct s3b_status_summary *s);
uint64_t s3b_status_bad(const struct s3b_status_summary *s);

/* ---- rate over a sliding window ---- */

#define S3B_RATE_SAMPLES 128

/* Samples of (time, bytes, objects), oldest first.  A sample older than
 * span seconds before the newest is dropped, except that the one before
 * the newest is always kept (so an interval longer than the span still
 * gives a rate); when the array is full the oldest goes.  Plain data:
 * zero it with s3b_rate_init. */
struct s3b_rate_window {
	double span;    /* seconds */
	double min_dt;  /* a rate needs samples at least this far apart */
	unsigned n;
	struct {
		double t;
		uint64_t bytes, objects;
	} s[S3B_RATE_SAMPLES];
};

void s3b_rate_init(struct s3b_rate_window *w, double span, double min_dt);
/* Add a sample taken at time t (seconds, any origin, not decreasing). */
void s3b_rate_add(struct s3b_rate_window *w, double t, uint64_t bytes, uint64_t objects);
/* The rates between the oldest and the newest sample in the window; false
 * (and zeroes) while they are less than min_dt apart.  A count that went
 * down (a re-copy turning verified into pending) counts as no progress. */
bool s3b_rate_get(const struct s3b_rate_window *w, double *bytes_per_s, double *objects_per_s);

/* ---- formatters: each writes a NUL-terminated string, truncated to len ---- */

/* "0 B" .. "1023 B", then "1.0 KiB", "15.3 MiB" ... "16.0 EiB" (one
 * decimal, a value that would round to 1024.0 moves to the next unit). */
void s3b_fmt_bytes(uint64_t v, char *out, size_t len);

/* Seconds left, rounded up: "0s", "59s", "1m00s", "59m59s", "1h00m",
 * "23h59m", "1d00h"; ">99d" beyond 99 days; "--" when unknown (negative,
 * NaN or infinite). */
void s3b_fmt_eta(double seconds, char *out, size_t len);

/* A bar of width columns (at least 3) with brackets: "[####......]";
 * frac (clamped to 0..1, NaN as 0) rounded down, so it is full only at 1. */
void s3b_fmt_bar(double frac, size_t width, char *out, size_t len);

/* ---- the status line ---- */

struct s3b_status_view {
	struct s3b_status_summary sum;
	bool have_source;       /* the totals below are known */
	uint64_t total_objects, total_bytes;
	bool have_rate;         /* the rates below are known */
	double bytes_per_s, objects_per_s;
};

/* The fraction done for the bar (see the header comment), 0..1. */
double s3b_status_fraction(const struct s3b_status_view *v);
/* Seconds left at the current rate; -1 when unknown (no source, no rate,
 * or a rate of 0 with something left). */
double s3b_status_eta(const struct s3b_status_view *v);

/* One status line, without a line end.
 * width 0: the plain line (for logs and pipes; printable ASCII only):
 *   with a source
 *     "45% done: 120 of 266 objects, 45.2 MiB of 100.0 MiB | 12.3 MiB/s,
 *      40.1 objects/s | ETA 5s | 117 verified, 3 failed, 0 mismatch,
 *      2 pending, 0 interrupted | 2 uploads in flight"
 *   without: "120 objects, 45.2 MiB | ..." (no percentage, no ETA)
 * width > 0: the terminal line, at most width - 1 columns (the last one
 * would wrap):
 *   "[#####.....]  45% 120/266 obj 45.2 MiB/100.0 MiB 12.3 MiB/s 40.1 obj/s
 *    ETA 5s 3 failed"
 * where the bar takes what room is left (12 to 42 columns); when it does
 * not fit, objects/s goes, then bytes/s, then the bar; the rest is cut at
 * width - 1.  Rates not known read "--". */
void s3b_status_format(const struct s3b_status_view *v, size_t width, char *out, size_t len);

#endif
