/*
 * fs/main.c — s3bridge's entry point: dispatches the commands.
 *   s3bridge mount [OPTIONS] BUCKET... MOUNTPOINT
 *   s3bridge unmount MOUNTPOINT
 *   s3bridge --help | --version
 * mount.s3bridge (mount(8)'s helper) runs this as
 *   s3bridge mount -o OPTIONS SOURCE MOUNTPOINT.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "mount.h"

static int cmd_mount(int argc, char **argv)
{
	struct s3b_mount_conf conf;
	int rc = s3b_cli_parse_mount(argc, argv, &conf);

	if (rc == 1)
		return 0;
	if (rc)
		return 2;
	rc = s3b_mount_main(&conf);
	s3b_mount_conf_free(&conf);
	return rc;
}

/* "pending" of MOUNTPOINT/.integrity/summary.json, or -1. */
static long pending_copies(const char *mp)
{
	char path[4096], json[8192];
	const char *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.integrity/summary.json", mp);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(json, 1, sizeof(json) - 1, f);
	fclose(f);
	json[n] = '\0';
	p = strstr(json, "\"pending\":");
	return p ? strtol(p + strlen("\"pending\":"), NULL, 10) : -1;
}

/* Copies still running (--async-close: their close returned early): wait
 * until they are done, or until nothing has moved for a minute (a file
 * still open somewhere: fusermount3 will say so). */
static void wait_pending(const char *mp)
{
	long n = pending_copies(mp), last = n;
	unsigned still = 0;

	if (n <= 0)
		return;
	fprintf(stderr, "s3bridge: waiting for %ld cop%s in progress\n", n, n == 1 ? "y" : "ies");
	while (n > 0 && still < 300) {
		struct timespec ts = { .tv_nsec = 200 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		n = pending_copies(mp);
		still = n == last ? still + 1 : 0;
		last = n;
	}
}

static int cmd_unmount(int argc, char **argv)
{
	pid_t pid;
	int status;

	char summary[4096] = "";
	FILE *f;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: s3bridge unmount MOUNTPOINT\n");
		return 2;
	}
	wait_pending(argv[1]);
	/* the last word of the journal, read while the mount is still there */
	snprintf(summary, sizeof(summary), "%s/.integrity/summary", argv[1]);
	f = fopen(summary, "re");
	summary[0] = '\0';
	if (f) {
		size_t n = fread(summary, 1, sizeof(summary) - 1, f);

		summary[n] = '\0';
		fclose(f);
	}
	/* fusermount3 -u; the daemon finishes what is still running (and the
	 * deferred copies whose release the kernel dropped) before it exits */
	pid = fork();
	if (pid < 0) {
		perror("s3bridge: fork");
		return 1;
	}
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", argv[1], (char *)NULL);
		fprintf(stderr, "s3bridge: cannot run fusermount3: %s (install fuse3)\n",
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 1;
	fputs(summary, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	/* Data buffers are large and short-lived (parts, read-ahead chunks):
	 * always map them, so that freeing one gives the memory back instead
	 * of leaving it in a per-thread arena (peak RSS stays near the
	 * --max-memory budget). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, 4);

	if (argc < 2) {
		s3b_cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		s3b_cli_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("s3bridge %s\n", S3B_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "mount") == 0)
		return cmd_mount(argc - 1, argv + 1);
	if (strcmp(argv[1], "unmount") == 0 || strcmp(argv[1], "umount") == 0)
		return cmd_unmount(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return s3b_cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return s3b_cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return s3b_cmd_check(argc - 1, argv + 1);
	/* mount.fuse3 (mount -t fuse.s3bridge) runs "s3bridge SOURCE MOUNTPOINT
	 * -o OPTIONS" without the command word */
	if (strstr(argv[1], "s3://"))
		return cmd_mount(argc, argv);
	fprintf(stderr, "s3bridge: unknown command '%s' (see s3bridge --help)\n", argv[1]);
	return 2;
}
