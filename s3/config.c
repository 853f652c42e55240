/*
 * s3/config.c — AWS-convention configuration (see config.h).
 *
 * What it is for: the one place that reads AWS_* environment variables and
 * the two AWS ini files and turns one bucket's request (profile, endpoint,
 * region, style) into plain data: credentials, a validated endpoint URL,
 * a region and the addressing style.  It also holds the ini reader, which
 * is exposed for tests and fuzzing.
 *
 * What it does not do: no network, no SSO, assume-role, credential_process
 * or instance metadata (a profile must hold static keys), no "[services X]"
 * sections, no shlex-style quoting of profile names.  It does not cache:
 * every call re-reads the files, so two buckets with two profiles resolve
 * independently.
 *
 * Secrets: access keys, secret keys and session tokens are copied into the
 * result and nowhere else.  The `why` texts and log lines name keys, files,
 * line numbers and profiles, never a value read from a credentials slot.
 *
 * How the files are merged (the botocore way): the credentials file's
 * values for a profile override the config file's.  Credentials are taken
 * whole from one file: the credentials file if it has either key for the
 * profile, else the config file; a file with one key of the pair and not
 * the other is an error rather than a silent fall-through.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* Larger AWS files than this are refused (they are a few KiB in practice). */
#define CONFIG_FILE_MAX (4u << 20)
/* Longest endpoint URL accepted. */
#define ENDPOINT_MAX 2048
/* Longest region name accepted. */
#define REGION_MAX 64

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

/* Format a reason into why (which may be NULL or 0-sized). */
static void set_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	/* one line, whatever the user typed: control characters become '?' */
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alnum_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Trim blanks in place; returns the start inside s. */
static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	s[n] = '\0';
	return s;
}

/* Replace *slot with a copy of s (NULL or "" clears it).  0 or ENOMEM. */
static int set_str(char **slot, const char *s)
{
	char *copy = NULL;

	if (s && *s) {
		copy = strdup(s);
		if (!copy)
			return ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the ini reader                                                       */

struct ini_state {
	s3b_ini_cb cb;
	void *ctx;
	char *section; /* current section, owned; NULL before the first */
	char *parent;  /* key of the last "key =" line (empty value), owned */
	char *line;    /* scratch copy of the current line, owned */
	size_t cap;
};

/* Handle one line (without its '\n').  0, the callback's value, EINVAL or
 * ENOMEM. */
static int ini_line(struct ini_state *st, const char *l, size_t n, unsigned lineno)
{
	bool indented = n > 0 && (l[0] == ' ' || l[0] == '\t');
	size_t i = 0;
	char *s, *eq, *key, *value;
	int rc;

	while (i < n && is_blank(l[i]))
		i++;
	while (n > i && is_blank(l[n - 1]))
		n--;
	if (i == n)
		return 0; /* blank: keeps a sub-setting block open */
	if (l[i] == '#' || l[i] == ';')
		return 0; /* comment, whatever bytes follow */
	if (memchr(l + i, '\0', n - i))
		return EINVAL; /* cannot be handed on as a C string */

	if (n - i + 1 > st->cap) {
		char *p = realloc(st->line, n - i + 1);

		if (!p)
			return ENOMEM;
		st->line = p;
		st->cap = n - i + 1;
	}
	memcpy(st->line, l + i, n - i);
	st->line[n - i] = '\0';
	s = st->line;

	if (s[0] == '[') {
		char *close = strrchr(s, ']'), *rest, *name;

		if (!close)
			return EINVAL;
		rest = close + 1;
		while (is_blank(*rest))
			rest++;
		if (*rest && *rest != '#' && *rest != ';')
			return EINVAL;
		*close = '\0';
		name = trim(s + 1);
		if (!*name)
			return EINVAL;
		rc = set_str(&st->section, name);
		if (rc)
			return rc;
		free(st->parent);
		st->parent = NULL;
		return 0;
	}

	eq = strchr(s, '=');
	if (!eq)
		return EINVAL;
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!*key || !st->section)
		return EINVAL;
	if (indented && st->parent)
		return st->cb(st->ctx, st->section, st->parent, key, value, lineno);

	rc = st->cb(st->ctx, st->section, NULL, key, value, lineno);
	if (rc)
		return rc;
	/* "s3 =" opens a block of indented sub-settings */
	return set_str(&st->parent, *value ? NULL : key);
}

int s3b_ini_parse(const char *text, size_t len, s3b_ini_cb cb, void *ctx, unsigned *bad_line)
{
	struct ini_state st = { .cb = cb, .ctx = ctx };
	size_t pos = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (bad_line)
		*bad_line = 0;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;

		pos += nl ? n + 1 : n;
		lineno++;
		rc = ini_line(&st, l, n, lineno);
		if (rc) {
			if (rc == EINVAL && bad_line)
				*bad_line = lineno;
			break;
		}
	}
	free(st.line);
	free(st.parent);
	free(st.section);
	return rc;
}

/* ------------------------------------------------------------------ */
/* endpoints                                                            */

/* Split "scheme://[userinfo@]host[:port][/path]" into the host (without
 * brackets for IPv6) and the port text.  Returns false when there is no
 * authority at all.  No validation beyond finding the pieces. */
struct url_parts {
	const char *host;
	size_t hostlen;
	bool bracketed;
	const char *port; /* NULL: no ':' */
	size_t portlen;
	bool userinfo;
	const char *path; /* from the first '/', '?' or '#' after the authority */
};

static bool url_split(const char *url, struct url_parts *u)
{
	const char *a = strstr(url, "://"), *end, *at;

	*u = (struct url_parts){ 0 };
	a = a ? a + 3 : url;
	end = a + strcspn(a, "/?#");
	u->path = end;
	at = NULL;
	for (const char *p = a; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		u->userinfo = true;
		a = at + 1;
	}
	if (a < end && *a == '[') {
		const char *close = memchr(a, ']', (size_t)(end - a));

		if (!close)
			return false;
		u->bracketed = true;
		u->host = a + 1;
		u->hostlen = (size_t)(close - a - 1);
		if (close + 1 < end) {
			if (close[1] != ':')
				return false;
			u->port = close + 2;
			u->portlen = (size_t)(end - close - 2);
		}
		return true;
	}
	u->host = a;
	u->hostlen = (size_t)(end - a);
	for (const char *p = a; p < end; p++) {
		if (*p == ':') {
			u->hostlen = (size_t)(p - a);
			u->port = p + 1;
			u->portlen = (size_t)(end - p - 1);
			break;
		}
	}
	return true;
}

static bool is_ipv6_literal(const char *h, size_t n)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, addr) == 1;
}

static bool is_ipv4_literal(const char *h, size_t n)
{
	char tmp[INET_ADDRSTRLEN + 1];
	unsigned char addr[4];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, addr) == 1;
}

bool s3b_endpoint_is_local(const char *endpoint)
{
	struct url_parts u;
	size_t n;

	if (!endpoint || !url_split(endpoint, &u))
		return false;
	if (u.bracketed)
		return is_ipv6_literal(u.host, u.hostlen);
	n = u.hostlen;
	if (n > 1 && u.host[n - 1] == '.')
		n--; /* "localhost." is the same host */
	if (is_ipv4_literal(u.host, n))
		return true;
	if (n == 9 && strncasecmp(u.host, "localhost", 9) == 0)
		return true;
	return n > 10 && strncasecmp(u.host + n - 10, ".localhost", 10) == 0;
}

/* Validate an endpoint URL and return a normalised copy in *out (scheme in
 * lower case, no trailing '/').  `source` says where it came from, for the
 * reason.  0, EINVAL with a reason, or ENOMEM.  Caller frees *out. */
static int endpoint_normalize(const char *in, const char *source, char **out, char *why,
			      size_t whylen)
{
	const char *scheme, *rest;
	size_t len = strlen(in), restlen;
	struct url_parts u;
	struct s3b_buf b = S3B_BUF_INIT;

	*out = NULL;
	if (len > ENDPOINT_MAX) {
		set_why(why, whylen, "endpoint from %s is longer than %d bytes", source,
			ENDPOINT_MAX);
		return EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f) {
			set_why(why, whylen,
				"endpoint from %s contains a space or control character", source);
			return EINVAL;
		}
	}
	if (strncasecmp(in, "https://", 8) == 0) {
		scheme = "https://";
		rest = in + 8;
	} else if (strncasecmp(in, "http://", 7) == 0) {
		scheme = "http://";
		rest = in + 7;
	} else {
		set_why(why, whylen, "endpoint '%s' from %s must start with http:// or https://",
			in, source);
		return EINVAL;
	}
	if (strpbrk(rest, "?#")) {
		set_why(why, whylen, "endpoint '%s' from %s must not have a query or fragment", in,
			source);
		return EINVAL;
	}
	if (!url_split(in, &u)) {
		set_why(why, whylen, "endpoint '%s' from %s has a malformed [IPv6] host", in,
			source);
		return EINVAL;
	}
	if (u.userinfo) {
		/* not echoed: the user part may hold a password */
		set_why(why, whylen, "endpoint from %s must not contain user@ or user:password@",
			source);
		return EINVAL;
	}
	if (u.hostlen == 0) {
		set_why(why, whylen, "endpoint '%s' from %s has no host", in, source);
		return EINVAL;
	}
	if (u.bracketed) {
		if (!is_ipv6_literal(u.host, u.hostlen)) {
			set_why(why, whylen, "endpoint '%s' from %s has an invalid IPv6 address", in,
				source);
			return EINVAL;
		}
	} else {
		if (u.host[0] == '.' || u.host[0] == '-' || memmem(u.host, u.hostlen, "..", 2)) {
			set_why(why, whylen, "endpoint '%s' from %s has an invalid host name", in,
				source);
			return EINVAL;
		}
		for (size_t i = 0; i < u.hostlen; i++) {
			unsigned char c = (unsigned char)u.host[i];

			if (!is_alnum_ascii(c) && c != '.' && c != '-' && c != '_') {
				set_why(why, whylen,
					"endpoint '%s' from %s has an invalid character in its host",
					in, source);
				return EINVAL;
			}
		}
	}
	if (u.port) {
		unsigned long port = 0;

		if (u.portlen == 0 || u.portlen > 5)
			port = 0;
		else
			for (size_t i = 0; i < u.portlen; i++) {
				if (u.port[i] < '0' || u.port[i] > '9') {
					port = 0;
					break;
				}
				port = port * 10 + (unsigned long)(u.port[i] - '0');
			}
		if (port == 0 || port > 65535) {
			set_why(why, whylen, "endpoint '%s' from %s has an invalid port", in,
				source);
			return EINVAL;
		}
	}
	restlen = strlen(rest);
	while (restlen > 0 && rest[restlen - 1] == '/')
		restlen--;
	if (s3b_buf_puts(&b, scheme) || s3b_buf_append(&b, rest, restlen)) {
		s3b_buf_free(&b);
		return ENOMEM;
	}
	*out = b.data;
	return 0;
}

static bool region_valid(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > REGION_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r[i];

		if (!is_alnum_ascii(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* profiles                                                             */

/* One profile's settings as found in one file; every string owned. */
struct prof_vals {
	bool found; /* a setting of the profile's section was seen */
	char *access_key;
	char *secret_key;
	char *session_token;
	char *region;
	char *endpoint_url;
	char *s3_endpoint_url;
	char *s3_style;
};

static const struct {
	const char *sub; /* parent key of the sub-setting, or NULL */
	const char *key;
	size_t off;
} profile_keys[] = {
	{ .sub = NULL, .key = "aws_access_key_id", .off = offsetof(struct prof_vals, access_key) },
	{ .sub = NULL, .key = "aws_secret_access_key",
	  .off = offsetof(struct prof_vals, secret_key) },
	{ .sub = NULL, .key = "aws_session_token",
	  .off = offsetof(struct prof_vals, session_token) },
	{ .sub = NULL, .key = "region", .off = offsetof(struct prof_vals, region) },
	{ .sub = NULL, .key = "endpoint_url", .off = offsetof(struct prof_vals, endpoint_url) },
	{ .sub = "s3", .key = "endpoint_url", .off = offsetof(struct prof_vals, s3_endpoint_url) },
	{ .sub = "s3", .key = "addressing_style", .off = offsetof(struct prof_vals, s3_style) },
};

static void prof_vals_free(struct prof_vals *v)
{
	if (v->secret_key)
		explicit_bzero(v->secret_key, strlen(v->secret_key));
	if (v->session_token)
		explicit_bzero(v->session_token, strlen(v->session_token));
	for (size_t i = 0; i < sizeof(profile_keys) / sizeof(profile_keys[0]); i++) {
		char **slot = (char **)((char *)v + profile_keys[i].off);

		free(*slot);
		*slot = NULL;
	}
	v->found = false;
}

struct load_ctx {
	const char *profile;
	bool is_config; /* "[profile X]" (config) or "[X]" (credentials) */
	struct prof_vals *v;
};

static bool section_matches(const char *section, const char *profile, bool is_config)
{
	const char *p;

	if (!is_config || strcmp(section, "default") == 0)
		return strcmp(section, profile) == 0;
	if (strncmp(section, "profile", 7) != 0 || (section[7] != ' ' && section[7] != '\t'))
		return false;
	p = section + 7;
	while (*p == ' ' || *p == '\t')
		p++;
	return strcmp(p, profile) == 0;
}

static int load_cb(void *vctx, const char *section, const char *sub, const char *key,
		   const char *value, unsigned line)
{
	struct load_ctx *lc = vctx;

	if (!section_matches(section, lc->profile, lc->is_config))
		return 0;
	lc->v->found = true;
	for (size_t i = 0; i < sizeof(profile_keys) / sizeof(profile_keys[0]); i++) {
		bool sub_ok = profile_keys[i].sub ? sub && strcasecmp(sub, profile_keys[i].sub) == 0
						  : !sub;

		if (sub_ok && strcasecmp(key, profile_keys[i].key) == 0)
			return set_str((char **)((char *)lc->v + profile_keys[i].off), value);
	}
	return 0; /* a setting we do not use */
}

/* Read a whole small file.  0, or an errno (ENOENT/ENOTDIR: absent; EFBIG:
 * too large; ENODEV: not a regular file).  Caller frees *out. */
static int read_small_file(const char *path, char **out, size_t *outlen, mode_t *mode)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = 0;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		rc = errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ENODEV;
		goto out_close;
	}
	if (st.st_size > (off_t)CONFIG_FILE_MAX) {
		rc = EFBIG;
		goto out_close;
	}
	*mode = st.st_mode;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = ENOMEM;
		goto out_close;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			goto out_free;
		}
		if (n == 0)
			break; /* shrank under us: use what is there */
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}

/* Read `profile` from the file at path (NULL: no file) into *v.  A missing
 * file is no error.  0, or EACCES/EINVAL/ENOMEM with a reason.  *v is the
 * caller's to free (prof_vals_free) in every case. */
static int load_profile(const char *path, bool is_config, const char *profile,
			struct prof_vals *v, char *why, size_t whylen)
{
	struct load_ctx lc = { .profile = profile, .is_config = is_config, .v = v };
	char *text = NULL;
	size_t len = 0;
	mode_t mode = 0;
	unsigned bad_line = 0;
	int rc;

	if (!path)
		return 0;
	rc = read_small_file(path, &text, &len, &mode);
	if (rc == ENOENT || rc == ENOTDIR)
		return 0;
	if (rc == EFBIG) {
		set_why(why, whylen, "%s is larger than %u bytes", path, CONFIG_FILE_MAX);
		return EINVAL;
	}
	if (rc == ENOMEM)
		return ENOMEM;
	if (rc) {
		set_why(why, whylen, "cannot read %s: %s", path,
			rc == ENODEV ? "not a regular file" : strerror(rc));
		return EACCES;
	}
	if (!is_config && (mode & 077))
		LOG_W("credentials file %s is accessible by group or others (mode %04o); "
		      "chmod 600 it",
		      path, (unsigned)(mode & 07777));
	rc = s3b_ini_parse(text, len, load_cb, &lc, &bad_line);
	explicit_bzero(text, len); /* it may hold secrets */
	free(text);
	if (rc == EINVAL) {
		set_why(why, whylen,
			"%s line %u: malformed (expected '[section]', or 'key = value' inside a "
			"section)",
			path, bad_line);
		return EINVAL;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* resolution                                                           */

static const char *real_getenv(const char *name)
{
	return getenv(name);
}

/* An environment variable, with "" treated as unset. */
static const char *env_get(s3b_getenv_fn env, const char *name)
{
	const char *v = env(name);

	return v && *v ? v : NULL;
}

/* The path of one AWS file: $var (with a leading "~/" expanded), else
 * $HOME/.aws/name, else NULL (no HOME: no default file).  0 or ENOMEM. */
static int aws_file_path(s3b_getenv_fn env, const char *var, const char *name, char **out)
{
	const char *v = env_get(env, var), *home = env_get(env, "HOME");
	struct s3b_buf b = S3B_BUF_INIT;
	int rc;

	*out = NULL;
	if (!home && env == real_getenv) {
		/* mount(8) runs helpers without HOME: the user's own home */
		struct passwd *pw = getpwuid(getuid());

		home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
	}
	if (v && v[0] == '~' && v[1] == '/' && home)
		rc = s3b_buf_printf(&b, "%s%s", home, v + 1);
	else if (v)
		rc = s3b_buf_puts(&b, v);
	else if (home)
		rc = s3b_buf_printf(&b, "%s/.aws/%s", home, name);
	else
		return 0;
	if (rc) {
		s3b_buf_free(&b);
		return ENOMEM;
	}
	*out = b.data;
	return 0;
}

/* Take credentials from one file's view of the profile.  0 when the file
 * has none (*used = false), 0 with *used = true, EINVAL for half a pair,
 * ENOMEM. */
static int take_file_creds(const struct prof_vals *v, const char *profile, const char *path,
			   struct s3b_config *out, bool *used, char *why, size_t whylen)
{
	*used = false;
	if (!v->access_key && !v->secret_key)
		return 0;
	if (!v->secret_key || !v->access_key) {
		set_why(why, whylen, "profile '%s' has %s but no %s (in %s)", profile,
			v->access_key ? "aws_access_key_id" : "aws_secret_access_key",
			v->access_key ? "aws_secret_access_key" : "aws_access_key_id", path);
		return EINVAL;
	}
	if (set_str(&out->access_key, v->access_key) || set_str(&out->secret_key, v->secret_key) ||
	    set_str(&out->session_token, v->session_token) || set_str(&out->profile, profile))
		return ENOMEM;
	*used = true;
	return 0;
}

static int resolve_credentials(const struct s3b_config_request *req, s3b_getenv_fn env,
			       const char *profile, bool profile_named,
			       const struct prof_vals *cred, const char *cred_path,
			       const struct prof_vals *conf, const char *conf_path,
			       struct s3b_config *out, char *why, size_t whylen)
{
	bool explicit = req->profile && *req->profile, used = false;
	int rc;

	if (!explicit) {
		const char *ak = env_get(env, "AWS_ACCESS_KEY_ID");
		const char *sk = env_get(env, "AWS_SECRET_ACCESS_KEY");

		if (ak && sk) {
			if (set_str(&out->access_key, ak) || set_str(&out->secret_key, sk) ||
			    set_str(&out->session_token, env_get(env, "AWS_SESSION_TOKEN")))
				return ENOMEM;
			out->cred_source = "environment";
			return 0;
		}
		if (ak || sk) {
			set_why(why, whylen, "%s is set but %s is not",
				ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			return EINVAL;
		}
	}
	rc = take_file_creds(cred, profile, cred_path, out, &used, why, whylen);
	if (rc)
		return rc;
	if (used) {
		out->cred_source = "credentials file";
		return 0;
	}
	rc = take_file_creds(conf, profile, conf_path, out, &used, why, whylen);
	if (rc)
		return rc;
	if (used) {
		out->cred_source = "config file";
		return 0;
	}
	if (profile_named) {
		set_why(why, whylen,
			"profile '%s' has no aws_access_key_id/aws_secret_access_key in %s or %s",
			profile, conf_path ? conf_path : "(no config file)",
			cred_path ? cred_path : "(no credentials file)");
		return EINVAL;
	}
	out->cred_source = "none";
	return 0;
}

/* The merged profile value: the credentials file's, else the config file's. */
static const char *pick(const char *from_cred, const char *from_conf)
{
	return from_cred ? from_cred : from_conf;
}

static int resolve_endpoint(const struct s3b_config_request *req, s3b_getenv_fn env,
			    const char *profile, const struct prof_vals *cred,
			    const struct prof_vals *conf, struct s3b_config *out, char *why,
			    size_t whylen)
{
	const char *ep, *source;
	char label[160];
	struct s3b_buf b = S3B_BUF_INIT;

	if (req->endpoint && *req->endpoint) {
		ep = req->endpoint;
		source = "the endpoint option";
	} else if ((ep = env_get(env, "AWS_ENDPOINT_URL_S3"))) {
		source = "AWS_ENDPOINT_URL_S3";
	} else if ((ep = env_get(env, "AWS_ENDPOINT_URL"))) {
		source = "AWS_ENDPOINT_URL";
	} else if ((ep = pick(cred->s3_endpoint_url, conf->s3_endpoint_url))) {
		snprintf(label, sizeof(label), "profile '%s' s3.endpoint_url", profile);
		source = label;
	} else if ((ep = pick(cred->endpoint_url, conf->endpoint_url))) {
		snprintf(label, sizeof(label), "profile '%s' endpoint_url", profile);
		source = label;
	} else {
		if (s3b_buf_printf(&b, "https://s3.%s.amazonaws.com", out->region)) {
			s3b_buf_free(&b);
			return ENOMEM;
		}
		out->endpoint = b.data;
		return 0;
	}
	return endpoint_normalize(ep, source, &out->endpoint, why, whylen);
}

int s3b_config_resolve(const struct s3b_config_request *req, s3b_getenv_fn env,
		       struct s3b_config *out, char *why, size_t whylen)
{
	struct prof_vals cred = { 0 }, conf = { 0 };
	char *cred_path = NULL, *conf_path = NULL;
	const char *profile, *region, *region_src, *style;
	bool profile_named;
	int rc;

	*out = (struct s3b_config){ .cred_source = "none" };
	set_why(why, whylen, "%s", "");
	if (!env)
		env = real_getenv;

	if (req->profile && *req->profile)
		profile = req->profile;
	else
		profile = env_get(env, "AWS_PROFILE");
	profile_named = profile != NULL;
	if (!profile)
		profile = "default";

	rc = aws_file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials", &cred_path);
	if (!rc)
		rc = aws_file_path(env, "AWS_CONFIG_FILE", "config", &conf_path);
	if (rc)
		goto out;
	rc = load_profile(conf_path, true, profile, &conf, why, whylen);
	if (rc)
		goto out;
	rc = load_profile(cred_path, false, profile, &cred, why, whylen);
	if (rc)
		goto out;
	if (profile_named && !conf.found && !cred.found) {
		set_why(why, whylen, "profile '%s' not found in %s or %s", profile,
			conf_path ? conf_path : "~/.aws/config (HOME unset)",
			cred_path ? cred_path : "~/.aws/credentials (HOME unset)");
		rc = ENOENT;
		goto out;
	}

	rc = resolve_credentials(req, env, profile, profile_named, &cred, cred_path, &conf,
				 conf_path, out, why, whylen);
	if (rc)
		goto out;

	if (req->region && *req->region) {
		region = req->region;
		region_src = "the region option";
	} else if ((region = env_get(env, "AWS_REGION"))) {
		region_src = "AWS_REGION";
	} else if ((region = env_get(env, "AWS_DEFAULT_REGION"))) {
		region_src = "AWS_DEFAULT_REGION";
	} else if ((region = pick(cred.region, conf.region))) {
		region_src = "the profile";
	} else {
		region = "us-east-1";
		region_src = "the default";
	}
	if (!region_valid(region)) {
		set_why(why, whylen,
			"region '%.*s' from %s is invalid (letters, digits, '-', '_', '.')",
			REGION_MAX, region, region_src);
		rc = EINVAL;
		goto out;
	}
	rc = set_str(&out->region, region);
	if (rc)
		goto out;

	rc = resolve_endpoint(req, env, profile, &cred, &conf, out, why, whylen);
	if (rc)
		goto out;

	style = pick(cred.s3_style, conf.s3_style);
	if (style && strcasecmp(style, "path") != 0 && strcasecmp(style, "virtual") != 0 &&
	    strcasecmp(style, "auto") != 0) {
		set_why(why, whylen,
			"profile '%s' s3.addressing_style must be path, virtual or auto", profile);
		rc = EINVAL;
		goto out;
	}
	if (req->style != S3B_STYLE_UNSET)
		out->path_style = req->style == S3B_STYLE_PATH;
	else if (s3b_endpoint_is_local(out->endpoint))
		out->path_style = true;
	else
		/* "auto" picks virtual for DNS-compatible names, and the
		 * bucket names s3bridge accepts all are */
		out->path_style = style && strcasecmp(style, "path") == 0;

out:
	prof_vals_free(&cred);
	prof_vals_free(&conf);
	free(cred_path);
	free(conf_path);
	if (rc) {
		s3b_config_free(out);
		if (rc == ENOMEM)
			set_why(why, whylen, "out of memory");
	}
	return rc;
}

/* Free every string of c and zero it.  Secrets are wiped before free. */
void s3b_config_free(struct s3b_config *c)
{
	if (!c)
		return;
	if (c->secret_key)
		explicit_bzero(c->secret_key, strlen(c->secret_key));
	if (c->session_token)
		explicit_bzero(c->session_token, strlen(c->session_token));
	free(c->profile);
	free(c->endpoint);
	free(c->region);
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	*c = (struct s3b_config){ .cred_source = "none" };
}
