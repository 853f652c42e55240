/*
 * db/report.h — the reports of .integrity/ and of `s3bridge report`,
 * rendered from a journal file through a read-only connection of their
 * own.  Each render is one read transaction: a consistent snapshot (WAL
 * readers never block the writer), written to a file descriptor as it is
 * produced, so a report of a million objects never sits whole in memory.
 *
 * Reports:
 *   summary       for people: counts by status, bytes, rate, elapsed, the
 *                 last failures
 *   summary.json  {"verified":N,"failed":N,"mismatch":N,"pending":N,
 *                  "interrupted":N,"bytes":N,...}
 *   failed        one object a line: path, status, reason (failed, mismatch,
 *                 interrupted)
 *   pending       one object a line: path, started
 *   journal.csv   every record, header row (RFC 4180 quoting)
 *   SHA256SUMS    coreutils format for verified objects: "HEX  PATH", paths
 *   MD5SUMS       relative to the mount root (sha256sum -c from the root)
 *   metrics       Prometheus text format (with the live counters given)
 *   check         the last completeness check's result
 * and object records: "objects/<path>" gives one object's record as JSON.
 *
 * Names that need escaping in the SUMS files (newline or backslash) use
 * coreutils' convention: a leading backslash and \n / \\ escapes.
 */
#ifndef S3B_REPORT_H
#define S3B_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Live numbers only the mount knows, for `metrics` and `summary`. */
struct s3b_live_stats {
	uint64_t requests_by_op[16];
	const char *const *op_names; /* names for requests_by_op, NULL-terminated */
	uint64_t retries;
	uint64_t uploads_in_flight;
	uint64_t bytes_in_flight;
};

/* The file names under .integrity/ (NULL-terminated), for readdir. */
extern const char *const s3b_report_names[];

/* Render report `name` of the journal at journal_path into fd.  live may
 * be NULL.  0, ENOENT (no such report or object), or an errno. */
int s3b_report_render(const char *journal_path, const char *name,
		      const struct s3b_live_stats *live, int fd);

/* Directory listing under objects/: the names directly under rel ("" for
 * objects/ itself) among recorded objects; calls cb for each with is_dir.
 * 0 or an errno. */
int s3b_report_objects_list(const char *journal_path, const char *rel,
			    int (*cb)(void *ctx, const char *name, bool is_dir), void *ctx);

/* Record the result of a completeness check (s3bridge check) so that
 * `check` renders it.  text is the human report; counts for the summary. */
int s3b_report_store_check(const char *journal_path, const char *text, uint64_t missing,
			   uint64_t extra, uint64_t differ, uint64_t unverified);

#endif
