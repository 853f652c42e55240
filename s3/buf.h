/*
 * s3/buf.h — a growing byte buffer with a hard maximum (after git's strbuf
 * and redis's sds).  Always NUL-terminated when data != NULL.  A failed
 * append leaves the buffer as it was and returns ENOMEM, or EFBIG when the
 * maximum would be passed.  The owner frees with s3b_buf_free.
 */
#ifndef S3B_BUF_H
#define S3B_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct s3b_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0: no maximum */
};

#define S3B_BUF_INIT {0}

int s3b_buf_append(struct s3b_buf *b, const void *data, size_t len);
int s3b_buf_puts(struct s3b_buf *b, const char *s);
int s3b_buf_putc(struct s3b_buf *b, char c);
int s3b_buf_printf(struct s3b_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int s3b_buf_reserve(struct s3b_buf *b, size_t extra);
void s3b_buf_reset(struct s3b_buf *b); /* len = 0, keeps memory */
void s3b_buf_free(struct s3b_buf *b);
/* Hand the string to the caller (who frees it); the buffer becomes empty.
 * Returns "" allocated if the buffer was empty, NULL on ENOMEM. */
char *s3b_buf_detach(struct s3b_buf *b);

#endif
