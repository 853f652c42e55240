/*
 * s3/log.h — the one log sink (syslog-ordered levels, printf-checked).
 * Destination: stderr (foreground), syslog (daemon) or a file.  The level is
 * checked before anything is formatted.  Never pass a secret, a signature or
 * an Authorization header to these functions.
 */
#ifndef S3B_LOG_H
#define S3B_LOG_H

#include <syslog.h>

enum s3b_log_dest { S3B_LOG_STDERR, S3B_LOG_SYSLOG, S3B_LOG_FILE };

extern int s3b_log_level; /* LOG_ERR .. LOG_DEBUG; default LOG_NOTICE */

/* 0 or errno (opening the file). */
int s3b_log_open(enum s3b_log_dest dest, const char *path);
void s3b_log_close(void);
/* Parse "error", "warning", "notice", "info", "debug"; -1 if unknown. */
int s3b_log_level_parse(const char *name);

void s3b_log_emit(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define s3b_log(level, ...)                                   \
	do {                                                  \
		if ((level) <= s3b_log_level)                 \
			s3b_log_emit((level), __VA_ARGS__);   \
	} while (0)
#define LOG_E(...) s3b_log(LOG_ERR, __VA_ARGS__)
#define LOG_W(...) s3b_log(LOG_WARNING, __VA_ARGS__)
#define LOG_N(...) s3b_log(LOG_NOTICE, __VA_ARGS__)
#define LOG_I(...) s3b_log(LOG_INFO, __VA_ARGS__)
#define LOG_D(...) s3b_log(LOG_DEBUG, __VA_ARGS__)

#endif
