/*
 * fs/cmd_report.c — `s3bridge report [--format NAME] JOURNAL`: the reports
 * of .integrity/ rendered from a journal file, without a mount.
 *
 * What it does not do: no formatting of its own (db/report.c renders), no
 * writes to the journal.  It reads the totals through the db-internal view
 * (journal_impl.h) for its exit status; the report itself is a second,
 * separate snapshot, which only matters while a mount is still writing.
 */
#include "commands.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "journal_impl.h"
#include "report.h"

#define OBJECTS_PREFIX "objects/"
#define OBJECTS_PREFIX_LEN (sizeof(OBJECTS_PREFIX) - 1)

static void usage(FILE *f)
{
	fprintf(f, "usage: s3bridge report [--format NAME] JOURNAL\n"
		   "  NAME is one of:");
	for (size_t i = 0; s3b_report_names[i]; i++)
		fprintf(f, " %s", s3b_report_names[i]);
	fprintf(f, " objects/PATH\n"
		   "  (default summary).  Exit status: 0 when nothing failed, mismatched,\n"
		   "  was interrupted or is pending; 1 otherwise; 2 on errors.\n");
}

static bool known_format(const char *name)
{
	for (size_t i = 0; s3b_report_names[i]; i++)
		if (strcmp(name, s3b_report_names[i]) == 0)
			return true;
	return strncmp(name, OBJECTS_PREFIX, OBJECTS_PREFIX_LEN) == 0 &&
	       name[OBJECTS_PREFIX_LEN] != '\0';
}

int s3b_cmd_report(int argc, char **argv)
{
	const char *format = "summary", *path = NULL;
	const struct s3b_jtotals *t;
	struct s3b_jview *v;
	char why[512];
	uint64_t bad;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
			if (++i == argc) {
				fprintf(stderr, "s3bridge report: %s needs a report name\n", a);
				usage(stderr);
				return 2;
			}
			format = argv[i];
		} else if (strncmp(a, "--format=", 9) == 0) {
			format = a + 9;
		} else if (strcmp(a, "--") == 0 && i + 2 == argc && !path) {
			path = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "s3bridge report: unknown option %s\n", a);
			usage(stderr);
			return 2;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "s3bridge report: one journal only (%s and %s)\n", path, a);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (!known_format(format)) {
		fprintf(stderr, "s3bridge report: unknown report %s\n", format);
		usage(stderr);
		return 2;
	}

	rc = s3b_jview_open(path, &v, why, sizeof(why));
	if (rc == ENOENT) {
		fprintf(stderr, "s3bridge report: %s: no such journal file\n", path);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "s3bridge report: %s\n", why[0] ? why : strerror(rc));
		return 2;
	}
	t = s3b_jview_totals(v);
	bad = t->objects[S3B_ST_FAILED] + t->objects[S3B_ST_MISMATCH] +
	      t->objects[S3B_ST_INTERRUPTED] + t->objects[S3B_ST_PENDING];
	s3b_jview_close(v);

	rc = s3b_report_render(path, format, NULL, STDOUT_FILENO);
	if (rc == ENOENT && strncmp(format, OBJECTS_PREFIX, OBJECTS_PREFIX_LEN) == 0) {
		fprintf(stderr, "s3bridge report: %s: no record of %s\n", path,
			format + OBJECTS_PREFIX_LEN);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "s3bridge report: %s: %s\n", path, strerror(rc));
		return 2;
	}
	return bad ? 1 : 0;
}
