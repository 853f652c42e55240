/*
 * tests/fuzz/fuzz_ini.c — s3b_ini_parse on arbitrary bytes.
 *
 * The input is copied into a buffer of exactly its size (so that a read
 * past len trips ASan in the replay build too) and parsed with a callback
 * that checks what it is handed: every string is NUL-terminated within
 * the input's size, holds no '\n' or NUL, keys and values are trimmed, key
 * and section are non-empty, and line numbers never go backwards nor past
 * the input's line count.  A failure aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	size_t size;
	unsigned lines; /* lines in the input */
	unsigned last;  /* last line number seen */
	unsigned calls;
};

static void check_str(const char *s, size_t size, int may_be_empty)
{
	size_t n;

	if (!s)
		abort();
	n = strnlen(s, size + 1);
	if (n > size) /* not terminated within the input's size */
		abort();
	if (!may_be_empty && n == 0)
		abort();
	if (memchr(s, '\n', n))
		abort();
	if (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
		      s[n - 1] == '\r'))
		abort();
}

static int cb(void *vctx, const char *section, const char *sub, const char *key,
	      const char *value, unsigned line)
{
	struct fuzz_ctx *c = vctx;

	check_str(section, c->size, 0);
	if (sub)
		check_str(sub, c->size, 0);
	check_str(key, c->size, 0);
	check_str(value, c->size, 1);
	if (strchr(key, '='))
		abort(); /* the key ends at the first '=' */
	if (line == 0 || line > c->lines || line < c->last)
		abort();
	c->last = line;
	c->calls++;
	/* stop now and then, to exercise the early return */
	return strcmp(key, "stop") == 0 ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = { .size = size, .lines = 1 };
	unsigned bad = 0;
	char *text;
	int rc;

	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	for (size_t i = 0; i < size; i++)
		if (text[i] == '\n')
			c.lines++;
	rc = s3b_ini_parse(text, size, cb, &c, &bad);
	if (rc != 0 && rc != 7 && rc != EINVAL && rc != ENOMEM)
		abort();
	if ((rc == EINVAL) != (bad != 0) || bad > c.lines)
		abort();
	free(text);
	return 0;
}
