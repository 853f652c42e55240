/*
 * tests/unit/test_sigv4.c — s3/sigv4.c against published known answers.
 *
 * argv[1] is the shared testdata folder; the vectors are in its sigv4/
 * (see sigv4/README.md there):
 *   set 1  the 2015 AWS SigV4 test suite, one folder per case (.req, .creq,
 *          .sts, .authz, .sreq);
 *   set 2  the same suite in aws-c-auth's layout (request.txt, context.json,
 *          header-*.txt);
 *   set 3  the S3 API Reference's worked examples (s3-doc-examples.json).
 * Each case's request text is parsed here (request line, "Name:value"
 * header lines, continuation lines, blank line, body), %XX in the path and
 * query decoded, and the signer's canonical request, string to sign,
 * signature and Authorization value compared byte for byte with the files.
 *
 * What is skipped, and why (printed when the test runs):
 *   - set 1 normalize-path/ cases whose answer depends on removing "." and
 *     ".." or merging "//": S3 never normalises paths.  Their S3 form is
 *     covered by set 2's *-unnormalized cases.
 *   - set 2 *-normalized cases, for the same reason.
 *   - set 3 presigned URL and chunked upload examples: not implemented.
 *
 * Continuation lines ("obsolete line folding"): the two suites disagree on
 * get-header-value-multiline.  The 2015 files expect "value1,value2,value3",
 * i.e. they treat each continuation line as one more value of the same
 * header; aws-c-auth expects "value1 value2 value3", i.e. RFC 7230 obs-fold
 * (the line break and indentation become one space).  The signer folds a
 * value with line breaks to one space and joins repeated headers with ',';
 * so the harness hands set 1's continuation lines over as repeated headers
 * and set 2's as one value with the line breaks kept.  Both behaviours of
 * the signer are therefore checked.
 *
 * Set 3's Authorization values are written without a space after the
 * commas; the signer writes ", " like sets 1 and 2 (S3 accepts both), so
 * that comparison ignores a space after a comma.  Everything else in set 3
 * is compared byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "check.h"
#include "hash.h"
#include "sigv4.h"
#include "uri.h"

/* ---- small helpers ---- */

/* Whole file, NUL-terminated; NULL if unreadable.  Caller frees. */
static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	struct s3b_buf b = S3B_BUF_INIT;
	char tmp[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (s3b_buf_append(&b, tmp, n)) {
			s3b_buf_free(&b);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	if (lenp)
		*lenp = b.len;
	return s3b_buf_detach(&b);
}

static char *path_join(const char *a, const char *b, const char *c)
{
	struct s3b_buf p = S3B_BUF_INIT;

	s3b_buf_printf(&p, "%s/%s%s", a, b, c ? c : "");
	return s3b_buf_detach(&p);
}

static char *concat(const char *a, const char *b)
{
	struct s3b_buf p = S3B_BUF_INIT;

	s3b_buf_printf(&p, "%s%s", a, b);
	return s3b_buf_detach(&p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the sub-folders of dir.  Caller frees each and the array. */
static char **list_dirs(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t cnt = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		struct stat st;
		char *full;

		if (e->d_name[0] == '.')
			continue;
		full = path_join(dir, e->d_name, NULL);
		if (full && stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			char **nn = realloc(names, (cnt + 1) * sizeof(*names));

			if (nn) {
				names = nn;
				names[cnt++] = strdup(e->d_name);
			}
		}
		free(full);
	}
	closedir(d);
	if (cnt)
		qsort(names, cnt, sizeof(*names), cmp_str);
	*n = cnt;
	return names;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[S3B_SHA256_LEN];

	s3b_sha256(data, len, d);
	s3b_hex(d, sizeof(d), out);
}

/* ---- a minimal JSON reader (enough for context.json and the S3 examples) ---- */

static const char *js_ws(const char *p)
{
	while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int js_hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static void js_put_utf8(struct s3b_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	s3b_buf_append(b, u, n);
}

/* p at '"'.  Returns the position after the closing quote, and the decoded
 * string in *out when out != NULL (caller frees).  NULL on bad input. */
static const char *js_string(const char *p, char **out)
{
	struct s3b_buf b = S3B_BUF_INIT;

	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		char c = *p;

		if (c != '\\') {
			s3b_buf_putc(&b, c);
			continue;
		}
		c = *++p;
		switch (c) {
		case 'n': s3b_buf_putc(&b, '\n'); break;
		case 't': s3b_buf_putc(&b, '\t'); break;
		case 'r': s3b_buf_putc(&b, '\r'); break;
		case 'b': s3b_buf_putc(&b, '\b'); break;
		case 'f': s3b_buf_putc(&b, '\f'); break;
		case '"': case '\\': case '/': s3b_buf_putc(&b, c); break;
		case 'u': {
			unsigned cp, lo;

			if (js_hex4(p + 1, &cp))
				goto bad;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u' &&
			    js_hex4(p + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			js_put_utf8(&b, cp);
			break;
		}
		default:
			goto bad;
		}
	}
	if (*p != '"')
		goto bad;
	if (out)
		*out = s3b_buf_detach(&b);
	else
		s3b_buf_free(&b);
	return p + 1;
bad:
	s3b_buf_free(&b);
	return NULL;
}

/* Skip one value starting at p (after white space).  NULL on bad input. */
static const char *js_skip(const char *p)
{
	p = js_ws(p);
	if (!p)
		return NULL;
	if (*p == '"')
		return js_string(p, NULL);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = js_ws(p + 1);
		while (p && *p != close) {
			if (close == '}') {
				p = js_string(p, NULL);
				p = js_ws(p);
				if (!p || *p != ':')
					return NULL;
				p++;
			}
			p = js_ws(js_skip(p));
			if (p && *p == ',')
				p = js_ws(p + 1);
			else if (p && *p != close)
				return NULL;
		}
		return p ? p + 1 : NULL;
	}
	/* number, true, false, null */
	while (*p && !strchr(",}] \t\r\n", *p))
		p++;
	return p;
}

/* obj at '{': the value of member key (after white space), or NULL. */
static const char *js_member(const char *obj, const char *key)
{
	const char *p = js_ws(obj);

	if (!p || *p != '{')
		return NULL;
	p = js_ws(p + 1);
	while (p && *p == '"') {
		char *k = NULL;
		bool hit;

		p = js_ws(js_string(p, &k));
		if (!p || *p != ':') {
			free(k);
			return NULL;
		}
		p = js_ws(p + 1);
		hit = k && strcmp(k, key) == 0;
		free(k);
		if (hit)
			return p;
		p = js_ws(js_skip(p));
		if (p && *p == ',')
			p = js_ws(p + 1);
	}
	return NULL;
}

/* String member, malloc'd, or NULL. */
static char *js_str(const char *obj, const char *key)
{
	const char *v = js_member(obj, key);
	char *s = NULL;

	if (!v || *v != '"' || !js_string(v, &s))
		return NULL;
	return s;
}

/* Boolean member: 1, 0, or -1 when absent. */
static int js_bool(const char *obj, const char *key)
{
	const char *v = js_member(obj, key);

	if (!v)
		return -1;
	return strncmp(v, "true", 4) == 0;
}

/* ---- the raw request parser ---- */

enum fold_mode {
	FOLD_REPEAT, /* continuation line = one more value of the same header */
	FOLD_OBS,    /* continuation line appended with its line break (RFC 7230) */
};

#define MAX_KV 32
#define MAX_OWNED 128

struct parsed_req {
	char *method;
	char *path; /* decoded */
	struct s3b_sigv4_kv query[MAX_KV];
	size_t nquery;
	struct s3b_sigv4_kv headers[MAX_KV];
	size_t nheaders;
	const char *body; /* points into text */
	size_t bodylen;
	char *head; /* the request text up to (not including) the blank line */
	bool has_body;
	char *text;
	char *owned[MAX_OWNED];
	size_t nowned;
};

static char *own(struct parsed_req *r, char *s)
{
	if (!s)
		return NULL;
	if (r->nowned == MAX_OWNED) {
		free(s);
		return NULL;
	}
	r->owned[r->nowned++] = s;
	return s;
}

static void req_free(struct parsed_req *r)
{
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

static char *decode(struct parsed_req *r, const char *s, size_t len)
{
	char *out = NULL;

	if (s3b_uri_decode(s, len, false, &out, NULL) != 0)
		return NULL;
	return own(r, out);
}

static bool add_header(struct parsed_req *r, const char *name, const char *value)
{
	if (r->nheaders == MAX_KV)
		return false;
	r->headers[r->nheaders++] = (struct s3b_sigv4_kv){.name = name, .value = value};
	return true;
}

/* Parse text (copied) into r.  0 or EINVAL. */
static int req_parse(const char *text, size_t len, enum fold_mode mode, struct parsed_req *r)
{
	char *sep, *line, *next, *target, *http, *q;

	memset(r, 0, sizeof(*r));
	r->text = malloc(len + 1);
	if (!r->text)
		return ENOMEM;
	memcpy(r->text, text, len);
	r->text[len] = '\0';
	r->head = own(r, strdup(r->text));
	if (!r->head)
		return ENOMEM;

	sep = strstr(r->text, "\n\n");
	if (sep) {
		*sep = '\0';
		r->head[sep - r->text] = '\0';
		r->has_body = true;
		r->body = sep + 2;
		r->bodylen = len - (size_t)(r->body - r->text);
	} else {
		r->body = "";
		while (*r->head && r->head[strlen(r->head) - 1] == '\n')
			r->head[strlen(r->head) - 1] = '\0';
	}

	/* Request line: METHOD SP target SP HTTP/x.y; the target may hold spaces. */
	line = r->text;
	next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	target = strchr(line, ' ');
	http = strstr(line, " HTTP/");
	if (!target || !http || http < target)
		return EINVAL;
	while (strstr(http + 1, " HTTP/"))
		http = strstr(http + 1, " HTTP/");
	*target++ = '\0';
	*http = '\0';
	r->method = line;
	q = strchr(target, '?');
	r->path = decode(r, target, q ? (size_t)(q - target) : strlen(target));
	if (!r->path)
		return EINVAL;
	if (q) {
		for (char *pair = q + 1; *pair;) {
			char *amp = strchr(pair, '&');
			size_t plen = amp ? (size_t)(amp - pair) : strlen(pair);
			char *eq = memchr(pair, '=', plen);

			if (plen) {
				if (r->nquery == MAX_KV)
					return EINVAL;
				r->query[r->nquery].name =
					decode(r, pair, eq ? (size_t)(eq - pair) : plen);
				r->query[r->nquery].value =
					eq ? decode(r, eq + 1, plen - (size_t)(eq + 1 - pair)) : "";
				if (!r->query[r->nquery].name || !r->query[r->nquery].value)
					return EINVAL;
				r->nquery++;
			}
			if (!amp)
				break;
			pair = amp + 1;
		}
	}

	/* Header lines. */
	for (line = next; line && *line; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == ' ' || *line == '\t') {
			struct s3b_sigv4_kv *prev;

			if (r->nheaders == 0)
				return EINVAL;
			prev = &r->headers[r->nheaders - 1];
			if (mode == FOLD_REPEAT) {
				if (!add_header(r, prev->name, line))
					return EINVAL;
			} else {
				struct s3b_buf b = S3B_BUF_INIT;

				s3b_buf_printf(&b, "%s\n%s", prev->value, line);
				prev->value = own(r, s3b_buf_detach(&b));
				if (!prev->value)
					return ENOMEM;
			}
			continue;
		}
		colon = strchr(line, ':');
		if (!colon)
			return EINVAL;
		*colon = '\0';
		if (!add_header(r, line, colon + 1))
			return EINVAL;
	}
	return 0;
}

/* ---- running one case ---- */

struct expect {
	const char *creq, *sts, *signature, *authz;
	bool authz_loose_commas; /* set 3: compare ignoring a space after ',' */
};

struct creds {
	const char *access_key, *secret;
};

static char *drop_comma_space(const char *s)
{
	struct s3b_buf b = S3B_BUF_INIT;

	for (; s && *s; s++) {
		s3b_buf_putc(&b, *s);
		if (*s == ',' && s[1] == ' ')
			s++;
	}
	return s3b_buf_detach(&b);
}

/* Sign r and compare each expected text that is not NULL.  Returns whether
 * every comparison passed; *authz_out (when not NULL) gets the
 * Authorization value (caller frees). */
static bool sign_and_compare(const char *label, const struct parsed_req *r,
			     const char *payload_hash, const struct creds *c,
			     const struct s3b_sigv4_scope *scope, const struct expect *e,
			     char **authz_out)
{
	unsigned failed_before = check_failed;
	struct s3b_sigv4_req req = {
		.method = r->method,
		.path = r->path,
		.query = r->query,
		.nquery = r->nquery,
		.headers = r->headers,
		.nheaders = r->nheaders,
		.payload_hash = payload_hash,
	};
	char *creq = NULL, *sh = NULL, *sts = NULL, *authz = NULL;
	uint8_t key[32], mac[32];
	char sig[65];

	CHECK_INT(s3b_sigv4_canonical_request(&req, &creq, &sh), 0);
	if (e->creq)
		CHECK_STR(creq, e->creq);
	CHECK_INT(s3b_sigv4_string_to_sign(creq ? creq : "", scope, &sts), 0);
	if (e->sts)
		CHECK_STR(sts, e->sts);
	s3b_sigv4_signing_key(c->secret, scope, key);
	s3b_hmac_sha256(key, sizeof(key), sts ? sts : "", sts ? strlen(sts) : 0, mac);
	s3b_hex(mac, sizeof(mac), sig);
	if (e->signature)
		CHECK_STR(sig, e->signature);
	CHECK_INT(s3b_sigv4_authorization(&req, c->access_key, key, scope, &authz), 0);
	if (e->authz && e->authz_loose_commas) {
		char *a = drop_comma_space(authz), *b = drop_comma_space(e->authz);

		CHECK_STR(a, b);
		free(a);
		free(b);
	} else if (e->authz) {
		CHECK_STR(authz, e->authz);
	}
	/* The Authorization value names the signed headers and the signature. */
	CHECK(authz && sh && strstr(authz, sh) && strstr(authz, sig));

	bool ok = check_failed == failed_before;

	if (!ok)
		fprintf(stderr, "  ^ in case %s\n", label);
	if (authz_out)
		*authz_out = authz;
	else
		free(authz);
	free(sts);
	free(sh);
	free(creq);
	return ok;
}

struct tally {
	unsigned found, run, passed, skipped;
	struct s3b_buf skipped_names;
};

static void tally_skip(struct tally *t, const char *name)
{
	t->skipped++;
	s3b_buf_printf(&t->skipped_names, "%s%s", t->skipped_names.len ? ", " : "", name);
}

/* ---- set 1: the 2015 suite ---- */

static const char *const set1_normalising[] = {
	"normalize-path/get-relative",       "normalize-path/get-relative-relative",
	"normalize-path/get-slash",          "normalize-path/get-slash-dot-slash",
	"normalize-path/get-slash-pointless-dot", "normalize-path/get-slashes",
};

static const struct s3b_sigv4_scope suite_scope = {
	.amz_date = "20150830T123600Z", .region = "us-east-1", .service = "service"};
static const struct creds suite_creds = {
	.access_key = "AKIDEXAMPLE", .secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};

/* The session token: the last non-empty line of post-sts-token/readme.txt. */
static char *read_sts_token(const char *dir)
{
	char *p = path_join(dir, "post-sts-token/readme.txt", NULL);
	char *txt = slurp(p, NULL), *tok = NULL;

	free(p);
	if (!txt)
		return NULL;
	for (size_t n = strlen(txt); n && (txt[n - 1] == '\n' || txt[n - 1] == '\r'); n--)
		txt[n - 1] = '\0';
	p = strrchr(txt, '\n');
	tok = strdup(p ? p + 1 : txt);
	free(txt);
	return tok;
}

static void set1_case(const char *dir, const char *rel, const char *token, struct tally *t)
{
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	char *cdir = path_join(dir, rel, NULL), *stem = path_join(cdir, base, NULL);
	char *f_req = concat(stem, ".req"), *f_creq = concat(stem, ".creq");
	char *f_sts = concat(stem, ".sts"), *f_authz = concat(stem, ".authz");
	char *f_sreq = concat(stem, ".sreq");
	size_t reqlen = 0;
	char *req = slurp(f_req, &reqlen), *creq = slurp(f_creq, NULL);
	char *sts = slurp(f_sts, NULL), *authz = slurp(f_authz, NULL), *sreq = slurp(f_sreq, NULL);
	struct parsed_req r;
	char hash[65], *got_authz = NULL;
	bool ok = false;

	t->found++;
	for (size_t i = 0; i < sizeof(set1_normalising) / sizeof(set1_normalising[0]); i++) {
		if (strcmp(rel, set1_normalising[i]) == 0) {
			tally_skip(t, rel);
			goto out;
		}
	}
	t->run++;
	CHECK(req && creq && sts && authz && sreq);
	if (!req || !creq || !sts || !authz || !sreq) {
		fprintf(stderr, "set 1 %s: files missing\n", rel);
		goto out;
	}
	if (req_parse(req, reqlen, FOLD_REPEAT, &r) != 0) {
		CHECK(!"set 1 request parses");
		req_free(&r);
		goto out;
	}
	sha256_hex(r.body, r.bodylen, hash);
	ok = sign_and_compare(rel, &r, hash, &suite_creds, &suite_scope,
			      &(struct expect){.creq = creq, .sts = sts, .authz = authz},
			      &got_authz);

	/* The signed request: the request with Authorization added (and, for
	 * post-sts-header-after, the token added after signing, unsigned). */
	{
		struct s3b_buf want = S3B_BUF_INIT;
		unsigned before = check_failed;

		s3b_buf_puts(&want, r.head);
		if (strcmp(base, "post-sts-header-after") == 0)
			s3b_buf_printf(&want, "\nX-Amz-Security-Token:%s", token ? token : "");
		s3b_buf_printf(&want, "\nAuthorization: %s", got_authz ? got_authz : "");
		if (r.has_body)
			s3b_buf_printf(&want, "\n\n%s", r.body);
		CHECK_STR(want.data, sreq);
		if (check_failed != before) {
			fprintf(stderr, "  ^ signed request of %s\n", rel);
			ok = false;
		}
		s3b_buf_free(&want);
	}
	if (strcmp(base, "post-sts-header-before") == 0) {
		/* The token is in the request and signed. */
		bool seen = false;

		for (size_t i = 0; i < r.nheaders; i++)
			seen |= strcmp(r.headers[i].name, "X-Amz-Security-Token") == 0 && token &&
				strcmp(r.headers[i].value, token) == 0;
		CHECK(seen);
		CHECK(got_authz && strstr(got_authz, "x-amz-security-token"));
		ok = ok && seen;
	}
	if (ok)
		t->passed++;
	free(got_authz);
	req_free(&r);
out:
	free(req);
	free(creq);
	free(sts);
	free(authz);
	free(sreq);
	free(f_req);
	free(f_creq);
	free(f_sts);
	free(f_authz);
	free(f_sreq);
	free(stem);
	free(cdir);
}

static void test_set1(const char *dir)
{
	static const char *const groups[] = {"normalize-path", "post-sts-token"};
	struct tally t = {0};
	char *token = read_sts_token(dir);
	size_t n = 0;
	char **top = list_dirs(dir, &n);

	CHECK(token && strncmp(token, "AQoDYXdzEPT", 11) == 0);
	for (size_t i = 0; i < n; i++) {
		bool grouped = strcmp(top[i], "aws-c-auth-v4") == 0;

		for (size_t g = 0; g < 2; g++)
			grouped |= strcmp(top[i], groups[g]) == 0;
		if (!grouped)
			set1_case(dir, top[i], token, &t);
	}
	free_list(top, n);
	for (size_t g = 0; g < 2; g++) {
		char *gdir = path_join(dir, groups[g], NULL);
		char **sub = list_dirs(gdir, &n);

		for (size_t i = 0; i < n; i++) {
			char *rel = path_join(groups[g], sub[i], NULL);

			set1_case(dir, rel, token, &t);
			free(rel);
		}
		free_list(sub, n);
		free(gdir);
	}
	free(token);
	printf("set 1 (2015 suite): %u cases found, %u run, %u passed\n", t.found, t.run,
	       t.passed);
	printf("set 1 skipped %u (their answer depends on path normalisation, which S3 "
	       "does not do; see set 2 *-unnormalized): %s\n",
	       t.skipped, t.skipped_names.data ? t.skipped_names.data : "");
	CHECK_INT(t.found, 31);
	CHECK_INT(t.skipped, 6);
	CHECK_INT(t.passed, t.run);
	s3b_buf_free(&t.skipped_names);
}

/* ---- set 2: aws-c-auth layout ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
static void amz_date_of(const char *ts, char out[17])
{
	size_t n = 0;

	for (; ts && *ts && n < 16; ts++)
		if (*ts != '-' && *ts != ':')
			out[n++] = *ts;
	out[n] = '\0';
}

/* The value of the "Authorization:" line of a signed request, malloc'd. */
static char *authz_line(const char *signed_req)
{
	const char *p = signed_req ? strstr(signed_req, "\nAuthorization:") : NULL;
	const char *end;

	if (!p)
		return NULL;
	p += strlen("\nAuthorization:");
	end = strchr(p, '\n');
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

static void set2_case(const char *dir, const char *name, struct tally *t)
{
	char *cdir = path_join(dir, name, NULL);
	char *f_req = path_join(cdir, "request.txt", NULL), *f_ctx = path_join(cdir, "context.json", NULL);
	char *f_creq = path_join(cdir, "header-canonical-request.txt", NULL);
	char *f_sts = path_join(cdir, "header-string-to-sign.txt", NULL);
	char *f_sig = path_join(cdir, "header-signature.txt", NULL);
	char *f_sreq = path_join(cdir, "header-signed-request.txt", NULL);
	size_t reqlen = 0;
	char *req = slurp(f_req, &reqlen), *ctx = slurp(f_ctx, NULL), *creq = slurp(f_creq, NULL);
	char *sts = slurp(f_sts, NULL), *sig = slurp(f_sig, NULL), *sreq = slurp(f_sreq, NULL);
	char *ak = NULL, *sk = NULL, *token = NULL, *region = NULL, *service = NULL, *ts = NULL;
	char *want_authz = NULL;
	const char *credsj;
	struct parsed_req r = {0};
	char date[17], hash[65];
	bool ok, parsed = false;

	t->found++;
	if (ends_with(name, "-normalized")) {
		tally_skip(t, name);
		goto out;
	}
	t->run++;
	CHECK(req && ctx && creq && sts && sig && sreq);
	if (!req || !ctx || !creq || !sts || !sig || !sreq) {
		fprintf(stderr, "set 2 %s: files missing\n", name);
		goto out;
	}
	credsj = js_member(ctx, "credentials");
	ak = credsj ? js_str(credsj, "access_key_id") : NULL;
	sk = credsj ? js_str(credsj, "secret_access_key") : NULL;
	token = credsj ? js_str(credsj, "token") : NULL;
	region = js_str(ctx, "region");
	service = js_str(ctx, "service");
	ts = js_str(ctx, "timestamp");
	want_authz = authz_line(sreq);
	CHECK(ak && sk && region && service && ts && want_authz);
	if (!ak || !sk || !region || !service || !ts || !want_authz)
		goto out;
	amz_date_of(ts, date);

	parsed = req_parse(req, reqlen, FOLD_OBS, &r) == 0;
	CHECK(parsed);
	if (!parsed)
		goto out;
	sha256_hex(r.body, r.bodylen, hash);
	/* What the aws-c-auth signer adds before signing. */
	add_header(&r, "X-Amz-Date", date);
	if (token && js_bool(ctx, "omit_session_token") != 1)
		add_header(&r, "X-Amz-Security-Token", token);
	if (js_bool(ctx, "sign_body") == 1)
		add_header(&r, "x-amz-content-sha256", hash);

	struct s3b_sigv4_scope scope = {.amz_date = date, .region = region, .service = service};
	struct creds c = {.access_key = ak, .secret = sk};

	ok = sign_and_compare(name, &r, hash, &c, &scope,
			      &(struct expect){.creq = creq, .sts = sts, .signature = sig,
					       .authz = want_authz},
			      NULL);
	if (token && js_bool(ctx, "omit_session_token") == 1) {
		/* Added after signing: sent, but not among the signed headers. */
		struct s3b_buf line = S3B_BUF_INIT;
		bool sent;

		s3b_buf_printf(&line, "\nX-Amz-Security-Token:%s\n", token);
		sent = strstr(sreq, line.data) != NULL && !strstr(want_authz, "x-amz-security-token");
		CHECK(sent);
		ok = ok && sent;
		s3b_buf_free(&line);
	}
	if (ok)
		t->passed++;
out:
	req_free(&r); /* zeroed or parsed: either is fine */
	free(want_authz);
	free(ak);
	free(sk);
	free(token);
	free(region);
	free(service);
	free(ts);
	free(req);
	free(ctx);
	free(creq);
	free(sts);
	free(sig);
	free(sreq);
	free(f_req);
	free(f_ctx);
	free(f_creq);
	free(f_sts);
	free(f_sig);
	free(f_sreq);
	free(cdir);
}

static void test_set2(const char *dir)
{
	char *d2 = path_join(dir, "aws-c-auth-v4", NULL);
	struct tally t = {0};
	size_t n = 0;
	char **names = list_dirs(d2, &n);

	for (size_t i = 0; i < n; i++)
		set2_case(d2, names[i], &t);
	printf("set 2 (aws-c-auth v4, header signing): %u cases found, %u run, %u passed\n",
	       t.found, t.run, t.passed);
	printf("set 2 skipped %u (*-normalized: S3 does not normalise paths; the "
	       "*-unnormalized twins ran): %s\n",
	       t.skipped, t.skipped_names.data ? t.skipped_names.data : "");
	CHECK_INT(t.found, 38);
	CHECK_INT(t.skipped, 7);
	CHECK_INT(t.passed, t.run);
	s3b_buf_free(&t.skipped_names);
	free_list(names, n);
	free(d2);
}

/* ---- set 3: S3 API Reference examples ---- */

static void set3_example(const char *ex, const struct creds *c,
			 const struct s3b_sigv4_scope *scope, struct tally *t)
{
	char *name = js_str(ex, "name"), *sent = js_str(ex, "request_as_sent");
	char *creq = js_str(ex, "canonical_request"), *sts = js_str(ex, "string_to_sign");
	char *sig = js_str(ex, "expected_signature"), *authz = js_str(ex, "expected_authorization");
	char *phash = js_str(ex, "payload_hash");
	struct parsed_req r;
	char hash[65];
	bool ok;

	t->found++;
	if (!authz) { /* the presigned-URL example has expected_url instead */
		tally_skip(t, name ? name : "?");
		goto out;
	}
	t->run++;
	CHECK(name && sent && creq && sts && sig && phash);
	if (!name || !sent || !creq || !sts || !sig || !phash)
		goto out;
	if (req_parse(sent, strlen(sent), FOLD_OBS, &r) != 0) {
		CHECK(!"set 3 request parses");
		req_free(&r);
		goto out;
	}
	sha256_hex(r.body, r.bodylen, hash);
	CHECK_STR(hash, phash);
	ok = strcmp(hash, phash) == 0;
	ok = sign_and_compare(name, &r, hash, c, scope,
			      &(struct expect){.creq = creq, .sts = sts, .signature = sig,
					       .authz = authz, .authz_loose_commas = true},
			      NULL) && ok;
	if (ok)
		t->passed++;
	req_free(&r);
out:
	free(name);
	free(sent);
	free(creq);
	free(sts);
	free(sig);
	free(authz);
	free(phash);
}

static void test_set3(const char *dir)
{
	char *f = path_join(dir, "s3-doc-examples.json", NULL);
	char *doc = slurp(f, NULL);
	char *ak = NULL, *sk = NULL, *region = NULL, *service = NULL, *date = NULL, *keyhex = NULL;
	const char *credsj, *arr;
	struct tally t = {0};

	CHECK(doc != NULL);
	if (!doc)
		goto out;
	credsj = js_member(doc, "credentials");
	ak = credsj ? js_str(credsj, "access_key_id") : NULL;
	sk = credsj ? js_str(credsj, "secret_access_key") : NULL;
	region = js_str(doc, "region");
	service = js_str(doc, "service");
	date = js_str(doc, "x_amz_date");
	keyhex = js_str(doc, "signing_key_hex");
	CHECK(ak && sk && region && service && date && keyhex);
	if (!ak || !sk || !region || !service || !date || !keyhex)
		goto out;

	struct s3b_sigv4_scope scope = {.amz_date = date, .region = region, .service = service};
	struct creds c = {.access_key = ak, .secret = sk};
	uint8_t key[32];
	char hex[65];

	/* The documented signing key itself. */
	s3b_sigv4_signing_key(sk, &scope, key);
	s3b_hex(key, sizeof(key), hex);
	CHECK_STR(hex, keyhex);

	arr = js_member(doc, "single_chunk_examples");
	CHECK(arr && *arr == '[');
	if (!arr || *arr != '[')
		goto out;
	for (const char *p = js_ws(arr + 1); p && *p == '{';) {
		set3_example(p, &c, &scope, &t);
		p = js_ws(js_skip(p));
		if (p && *p == ',')
			p = js_ws(p + 1);
	}
	if (js_member(doc, "chunked_upload_example")) {
		t.found++;
		tally_skip(&t, "chunked-upload-put-object");
	}
	printf("set 3 (S3 API Reference examples): %u found, %u run, %u passed\n", t.found,
	       t.run, t.passed);
	printf("set 3 skipped %u (presigned URLs and chunked uploads are not implemented): %s\n",
	       t.skipped, t.skipped_names.data ? t.skipped_names.data : "");
	CHECK_INT(t.run, 4);
	CHECK_INT(t.skipped, 2);
	CHECK_INT(t.passed, t.run);
out:
	s3b_buf_free(&t.skipped_names);
	free(ak);
	free(sk);
	free(region);
	free(service);
	free(date);
	free(keyhex);
	free(doc);
	free(f);
}

/* ---- hand-written cases: S3 rules and input checking ---- */

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_s3_rules(void)
{
	/* Path kept as is ("//", "." and ".." stay), encoded once: a '%' in a
	 * key is "%25", never decoded or double-decoded. */
	const struct s3b_sigv4_kv h[] = {
		{.name = "Host", .value = "bucket.example.com"},
		{.name = "X-Amz-Date", .value = "20150830T123600Z"},
		{.name = "X-Amz-Meta-Tabs", .value = "\t a \t\t b \r\n  c\t"},
		{.name = "X-Amz-Meta-Empty", .value = ""},
		{.name = "x-amz-meta-empty", .value = "  "},
	};
	/* '_' (0x5f) sorts before '`' (0x60) decoded, but "%60" sorts before "_"
	 * encoded: the encoded order must win. */
	const struct s3b_sigv4_kv q[] = {
		{.name = "_", .value = ""},
		{.name = "`", .value = ""},
		{.name = "prefix", .value = "a b/c+d"},
		{.name = "a", .value = "2"},
		{.name = "a", .value = "10"},
	};
	struct s3b_sigv4_req r = {
		.method = "GET",
		.path = "/bucket//a/./b/../100%/\xe1\x88\xb4 x",
		.query = q,
		.nquery = 5,
		.headers = h,
		.nheaders = 5,
		.payload_hash = "UNSIGNED-PAYLOAD",
	};
	char *creq = NULL, *sh = NULL;

	CHECK_INT(s3b_sigv4_canonical_request(&r, &creq, &sh), 0);
	CHECK_STR(creq, "GET\n"
			"/bucket//a/./b/../100%25/%E1%88%B4%20x\n"
			"%60=&_=&a=10&a=2&prefix=a%20b%2Fc%2Bd\n"
			"host:bucket.example.com\n"
			"x-amz-date:20150830T123600Z\n"
			"x-amz-meta-empty:,\n"
			"x-amz-meta-tabs:a b c\n"
			"\n"
			"host;x-amz-date;x-amz-meta-empty;x-amz-meta-tabs\n"
			"UNSIGNED-PAYLOAD");
	CHECK_STR(sh, "host;x-amz-date;x-amz-meta-empty;x-amz-meta-tabs");
	free(creq);
	free(sh);

	/* signed_headers may be NULL. */
	creq = NULL;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &creq, NULL), 0);
	CHECK(creq && strncmp(creq, "GET\n/bucket//a/./b/", 19) == 0);
	free(creq);
}

static void test_bad_input(void)
{
	const struct s3b_sigv4_kv good_h[] = {
		{.name = "host", .value = "h"},
		{.name = "x-amz-date", .value = "20150830T123600Z"},
	};
	const struct s3b_sigv4_kv no_host[] = {{.name = "x-amz-date", .value = "20150830T123600Z"}};
	const struct s3b_sigv4_kv no_date[] = {{.name = "host", .value = "h"}};
	const struct s3b_sigv4_kv bad_name[] = {
		{.name = "host", .value = "h"},
		{.name = "x-amz-date", .value = "20150830T123600Z"},
		{.name = "bad name", .value = "v"},
	};
	const struct s3b_sigv4_kv null_value[] = {
		{.name = "host", .value = NULL},
		{.name = "x-amz-date", .value = "20150830T123600Z"},
	};
	const struct s3b_sigv4_kv null_q[] = {{.name = NULL, .value = ""}};
	const struct s3b_sigv4_req good = {
		.method = "GET", .path = "/", .headers = good_h, .nheaders = 2,
		.payload_hash = EMPTY_SHA};
	const struct s3b_sigv4_scope scope = suite_scope;
	struct s3b_sigv4_req r;
	struct s3b_sigv4_scope s;
	char *out = (char *)"untouched", *sh = (char *)"untouched";
	uint8_t key[32], zero[32] = {0};

	CHECK_INT(s3b_sigv4_canonical_request(NULL, &out, &sh), EINVAL);
	CHECK(out == NULL && sh == NULL);
	CHECK_INT(s3b_sigv4_canonical_request(&good, NULL, NULL), EINVAL);

	r = good; r.method = NULL;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.method = "";
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.method = "GET\n";
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.path = NULL;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.path = "";
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.path = "relative";
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.payload_hash = NULL;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.payload_hash = "";
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.headers = NULL;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.nheaders = 0;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.headers = no_host; r.nheaders = 1;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.headers = no_date; r.nheaders = 1;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.headers = bad_name; r.nheaders = 3;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.headers = null_value;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.nquery = 1;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	r = good; r.query = null_q; r.nquery = 1;
	CHECK_INT(s3b_sigv4_canonical_request(&r, &out, NULL), EINVAL);
	CHECK(out == NULL);

	/* String to sign and scope. */
	CHECK_INT(s3b_sigv4_string_to_sign(NULL, &scope, &out), EINVAL);
	CHECK_INT(s3b_sigv4_string_to_sign("x", NULL, &out), EINVAL);
	CHECK_INT(s3b_sigv4_string_to_sign("x", &scope, NULL), EINVAL);
	s = scope; s.amz_date = "20150830";
	CHECK_INT(s3b_sigv4_string_to_sign("x", &s, &out), EINVAL);
	s = scope; s.amz_date = "2015-08-30T12:36:00Z";
	CHECK_INT(s3b_sigv4_string_to_sign("x", &s, &out), EINVAL);
	s = scope; s.region = "";
	CHECK_INT(s3b_sigv4_string_to_sign("x", &s, &out), EINVAL);
	s = scope; s.region = "us/east";
	CHECK_INT(s3b_sigv4_string_to_sign("x", &s, &out), EINVAL);
	s = scope; s.service = NULL;
	CHECK_INT(s3b_sigv4_string_to_sign("x", &s, &out), EINVAL);
	CHECK(out == NULL);
	/* The empty canonical request is still a string (its hash is known). */
	CHECK_INT(s3b_sigv4_string_to_sign("", &scope, &out), 0);
	CHECK_STR(out, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
		       "aws4_request\n" EMPTY_SHA);
	free(out);

	/* Signing key: bad input gives the all-zero key, never a crash. */
	s3b_sigv4_signing_key(NULL, &scope, key);
	CHECK(memcmp(key, zero, 32) == 0);
	s3b_sigv4_signing_key("secret", NULL, key);
	CHECK(memcmp(key, zero, 32) == 0);
	s = scope; s.amz_date = "bad";
	s3b_sigv4_signing_key("secret", &s, key);
	CHECK(memcmp(key, zero, 32) == 0);
	/* A long secret (heap path) still gives a real key, different from a
	 * short one. */
	{
		char longsecret[300];
		uint8_t k2[32];

		memset(longsecret, 'k', sizeof(longsecret) - 1);
		longsecret[sizeof(longsecret) - 1] = '\0';
		s3b_sigv4_signing_key(longsecret, &scope, key);
		s3b_sigv4_signing_key("k", &scope, k2);
		CHECK(memcmp(key, zero, 32) != 0 && memcmp(key, k2, 32) != 0);
	}

	/* Authorization. */
	s3b_sigv4_signing_key(suite_creds.secret, &scope, key);
	out = (char *)"untouched";
	CHECK_INT(s3b_sigv4_authorization(&good, NULL, key, &scope, &out), EINVAL);
	CHECK(out == NULL);
	CHECK_INT(s3b_sigv4_authorization(&good, "", key, &scope, &out), EINVAL);
	CHECK_INT(s3b_sigv4_authorization(&good, "AK/ID", key, &scope, &out), EINVAL);
	CHECK_INT(s3b_sigv4_authorization(&good, "AKID", NULL, &scope, &out), EINVAL);
	CHECK_INT(s3b_sigv4_authorization(&good, "AKID", key, NULL, &out), EINVAL);
	CHECK_INT(s3b_sigv4_authorization(&good, "AKID", key, &scope, NULL), EINVAL);
	CHECK_INT(s3b_sigv4_authorization(NULL, "AKID", key, &scope, &out), EINVAL);
	CHECK(out == NULL);
}

int main(int argc, char **argv)
{
	char *dir;

	if (argc < 2) {
		fprintf(stderr, "usage: %s TESTDATA_DIR\n", argv[0]);
		return 2;
	}
	dir = path_join(argv[1], "sigv4", NULL);
	test_set1(dir);
	test_set2(dir);
	test_set3(dir);
	test_s3_rules();
	test_bad_input();
	free(dir);
	return check_report();
}
