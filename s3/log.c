/* s3/log.c — see log.h.  One line per event; lines are written whole. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int s3b_log_level = LOG_NOTICE;

static enum s3b_log_dest log_dest = S3B_LOG_STDERR;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

int s3b_log_open(enum s3b_log_dest dest, const char *path)
{
	if (dest == S3B_LOG_FILE) {
		FILE *f = fopen(path, "ae");

		if (!f)
			return errno;
		setvbuf(f, NULL, _IOLBF, 0);
		log_file = f;
	} else if (dest == S3B_LOG_SYSLOG) {
		openlog("s3bridge", LOG_PID, LOG_DAEMON);
	}
	log_dest = dest;
	return 0;
}

void s3b_log_close(void)
{
	if (log_dest == S3B_LOG_FILE && log_file)
		fclose(log_file);
	else if (log_dest == S3B_LOG_SYSLOG)
		closelog();
	log_file = NULL;
	log_dest = S3B_LOG_STDERR;
}

int s3b_log_level_parse(const char *name)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

void s3b_log_emit(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* one event, one line */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_dest == S3B_LOG_SYSLOG) {
		syslog(level, "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(log_dest == S3B_LOG_FILE && log_file ? log_file : stderr,
		"%s.%03ldZ s3bridge %s: %s\n", stamp, ts.tv_nsec / 1000000L,
		level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?", line);
	pthread_mutex_unlock(&log_lock);
}
