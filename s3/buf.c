/* s3/buf.c — see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int s3b_buf_reserve(struct s3b_buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return EFBIG;
	need = b->len + extra + 1;
	if (b->max && need > b->max + 1)
		return EFBIG;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->max && ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (!p)
		return ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int s3b_buf_append(struct s3b_buf *b, const void *data, size_t len)
{
	int rc = s3b_buf_reserve(b, len);

	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int s3b_buf_puts(struct s3b_buf *b, const char *s)
{
	return s3b_buf_append(b, s, strlen(s));
}

int s3b_buf_putc(struct s3b_buf *b, char c)
{
	return s3b_buf_append(b, &c, 1);
}

int s3b_buf_printf(struct s3b_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return EINVAL;
	rc = s3b_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void s3b_buf_reset(struct s3b_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void s3b_buf_free(struct s3b_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *s3b_buf_detach(struct s3b_buf *b)
{
	char *p;

	if (!b->data)
		return strdup("");
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
