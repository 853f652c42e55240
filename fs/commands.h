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

#endif
