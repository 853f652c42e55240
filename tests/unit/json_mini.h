/*
 * tests/unit/json_mini.h — a small JSON reader for test programs.
 *
 * What it is for: reading the known-answer files in the shared testdata
 * folder (checksums.json and the like) as they are.  It parses RFC 8259
 * JSON into a tree: objects (keys kept in order, duplicates allowed, lookup
 * returns the first), arrays, strings (all escapes, \u surrogate pairs to
 * UTF-8; a string may hold NUL bytes, see len), numbers (as double, grammar
 * checked before strtod), true, false and null.
 *
 * What it does not do: it is test-only code, built into each test program
 * as static functions.  No writing, no streaming, no number precision
 * beyond double, nesting limited to JM_MAX_DEPTH.
 *
 * Use:
 *     char *text; size_t n; struct jm_value root;
 *     if (jm_read_file(path, &text, &n) == 0 && jm_parse(text, n, &root, NULL) == 0) {
 *             const char *s = jm_get_str(&root, "key");
 *             ...
 *             jm_free(&root);
 *     }
 *     free(text);
 */
#ifndef S3B_TEST_JSON_MINI_H
#define S3B_TEST_JSON_MINI_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JM_MAX_DEPTH 64

enum jm_type { JM_NULL, JM_BOOL, JM_NUM, JM_STR, JM_ARR, JM_OBJ };

struct jm_value {
	enum jm_type type;
	bool b;                  /* JM_BOOL */
	double num;              /* JM_NUM */
	char *str;               /* JM_STR: owned, NUL-terminated */
	size_t len;              /* JM_STR: bytes in str; JM_ARR, JM_OBJ: items */
	struct jm_value *items;  /* JM_ARR, JM_OBJ: owned, len of them */
	char **keys;             /* JM_OBJ: owned, keys[i] names items[i] */
};

struct jm_parser {
	const char *p, *end;
	int depth;
};

static inline void jm_free(struct jm_value *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v->items && i < v->len; i++) {
		jm_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	*v = (struct jm_value){ .type = JM_NULL };
}

static inline void jm_skip_ws(struct jm_parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static inline int jm_hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return EINVAL;
	}
	*out = v;
	return 0;
}

/* Parse a string starting at the opening quote into a malloc'd buffer. */
static inline int jm_parse_string(struct jm_parser *ps, char **out, size_t *outlen)
{
	const char *start = ++ps->p, *q = start;
	char *buf, *o;

	/* Find the closing quote; the decoded text is never longer than this. */
	while (q < ps->end && *q != '"') {
		if (*q == '\\' && ps->end - q > 1)
			q++;
		q++;
	}
	if (q >= ps->end)
		return EINVAL;
	buf = malloc((size_t)(q - start) + 1);
	if (buf == NULL)
		return ENOMEM;
	o = buf;
	while (ps->p < q) {
		unsigned char c = (unsigned char)*ps->p++;
		uint32_t cp, lo;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (q - ps->p < 4 || jm_hex4(ps->p, &cp) != 0)
				goto bad;
			ps->p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
				    jm_hex4(ps->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp < 0x80) {
				*o++ = (char)cp;
			} else if (cp < 0x800) {
				*o++ = (char)(0xc0 | cp >> 6);
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				*o++ = (char)(0xe0 | cp >> 12);
				*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*o++ = (char)(0xf0 | cp >> 18);
				*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
				*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			goto bad;
		}
	}
	ps->p = q + 1;
	*o = '\0';
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;

bad:
	free(buf);
	return EINVAL;
}

static inline bool jm_isdigit(const struct jm_parser *ps, const char *p)
{
	return p < ps->end && *p >= '0' && *p <= '9';
}

static inline int jm_parse_number(struct jm_parser *ps, double *out)
{
	const char *p = ps->p;
	char small[64], *copy = small, *endp;
	size_t n;

	if (p < ps->end && *p == '-')
		p++;
	if (!jm_isdigit(ps, p))
		return EINVAL;
	if (*p == '0')
		p++;
	else
		while (jm_isdigit(ps, p))
			p++;
	if (p < ps->end && *p == '.') {
		p++;
		if (!jm_isdigit(ps, p))
			return EINVAL;
		while (jm_isdigit(ps, p))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (!jm_isdigit(ps, p))
			return EINVAL;
		while (jm_isdigit(ps, p))
			p++;
	}
	n = (size_t)(p - ps->p);
	if (n >= sizeof(small)) {
		copy = malloc(n + 1);
		if (copy == NULL)
			return ENOMEM;
	}
	memcpy(copy, ps->p, n);
	copy[n] = '\0';
	*out = strtod(copy, &endp);
	if (copy != small)
		free(copy);
	ps->p = p;
	return 0;
}

static inline int jm_parse_value(struct jm_parser *ps, struct jm_value *v);

/* Parse '[' ... ']' or '{' ... '}' (ps->p at the opening bracket). */
static inline int jm_parse_container(struct jm_parser *ps, struct jm_value *v, bool obj)
{
	size_t cap = 0;
	int rc;

	if (++ps->depth > JM_MAX_DEPTH)
		return EINVAL;
	v->type = obj ? JM_OBJ : JM_ARR;
	ps->p++;
	jm_skip_ws(ps);
	if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t keylen;

		if (v->len == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct jm_value *ni = realloc(v->items, ncap * sizeof(*ni));

			if (ni == NULL)
				return ENOMEM;
			v->items = ni;
			if (obj) {
				char **nk = realloc(v->keys, ncap * sizeof(*nk));

				if (nk == NULL)
					return ENOMEM;
				v->keys = nk;
			}
			cap = ncap;
		}
		jm_skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return EINVAL;
			rc = jm_parse_string(ps, &key, &keylen);
			if (rc)
				return rc;
			jm_skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return EINVAL;
			}
			ps->p++;
			v->keys[v->len] = key;
		}
		/* Count the item before parsing it so jm_free sees it on error. */
		v->items[v->len++] = (struct jm_value){ .type = JM_NULL };
		rc = jm_parse_value(ps, &v->items[v->len - 1]);
		if (rc)
			return rc;
		jm_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		return EINVAL;
	}
}

static inline int jm_literal(struct jm_parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return EINVAL;
	ps->p += n;
	return 0;
}

static inline int jm_parse_value(struct jm_parser *ps, struct jm_value *v)
{
	*v = (struct jm_value){ .type = JM_NULL };
	jm_skip_ws(ps);
	if (ps->p >= ps->end)
		return EINVAL;
	switch (*ps->p) {
	case '{':
		return jm_parse_container(ps, v, true);
	case '[':
		return jm_parse_container(ps, v, false);
	case '"':
		v->type = JM_STR;
		return jm_parse_string(ps, &v->str, &v->len);
	case 't':
		v->type = JM_BOOL;
		v->b = true;
		return jm_literal(ps, "true");
	case 'f':
		v->type = JM_BOOL;
		return jm_literal(ps, "false");
	case 'n':
		return jm_literal(ps, "null");
	default:
		v->type = JM_NUM;
		return jm_parse_number(ps, &v->num);
	}
}

/* Parse len bytes of text into *out (caller frees with jm_free, also after
 * an error).  Returns 0, EINVAL (with the byte offset in *errpos if not
 * NULL) or ENOMEM. */
static inline int jm_parse(const char *text, size_t len, struct jm_value *out, size_t *errpos)
{
	struct jm_parser ps = { .p = text, .end = text + len };
	int rc = jm_parse_value(&ps, out);

	if (rc == 0) {
		jm_skip_ws(&ps);
		if (ps.p != ps.end)
			rc = EINVAL;
	}
	if (rc && errpos)
		*errpos = (size_t)(ps.p - text);
	return rc;
}

/* The first member named key of an object, or NULL. */
static inline const struct jm_value *jm_get(const struct jm_value *obj, const char *key)
{
	if (obj == NULL || obj->type != JM_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->len; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->items[i];
	return NULL;
}

/* The string member named key, or NULL if absent or not a string. */
static inline const char *jm_get_str(const struct jm_value *obj, const char *key)
{
	const struct jm_value *v = jm_get(obj, key);

	return v && v->type == JM_STR ? v->str : NULL;
}

/* Read a whole file into a malloc'd, NUL-terminated buffer (caller frees).
 * Returns 0 or an errno. */
static inline int jm_read_file(const char *path, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;
	int rc = 0;

	*out = NULL;
	if (f == NULL)
		return errno;
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				rc = ENOMEM;
				goto cleanup;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		rc = EIO;
		goto cleanup;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
cleanup:
	free(buf);
	fclose(f);
	return rc;
}

#endif
