/*
 * fs/commands.h — the s3bridge subcommands that live outside fs/main.c.
 * Each takes the arguments from the subcommand's name on (argv[0] is
 * "report", ...) and returns the process exit status.
 */
#ifndef S3B_COMMANDS_H
#define S3B_COMMANDS_H

/* s3bridge report [--format NAME] JOURNAL
 * Renders one report of a journal file to stdout (default: summary).
 * Exit status: 0 when no object is failed, mismatched, interrupted or
 * pending; 1 when some is; 2 on a usage error or when the journal cannot
 * be read (missing, not a journal, newer schema). */
int s3b_cmd_report(int argc, char **argv);

/* s3bridge status [--once] [--interval SECS] [--source DIR] MOUNTPOINT [SOURCE_DIR]
 * Progress from the mount's .integrity/summary.json; with a source, also
 * its totals (one walk), a bar and the ETA.  On a terminal one line redrawn
 * every second, otherwise a plain line every SECS (default 10), until the
 * mount goes away or a signal (--once: one report).  Exit 1 when something
 * failed, 2 when MOUNTPOINT is not an s3bridge mount or on a usage error. */
int s3b_cmd_status(int argc, char **argv);

/* s3bridge check SRC_DIR DST_DIR
 * Compares two trees of one mount by listing: objects missing from DST,
 * extra ones, ones whose size or MD5 differ, and ones the journal never
 * verified.  Prints them and a summary line, records the result for
 * .integrity/check.  Exit 1 if anything is missing, differs or is
 * unverified; 2 on a usage error. */
int s3b_cmd_check(int argc, char **argv);

#endif
