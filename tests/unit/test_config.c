/*
 * tests/unit/test_config.c — the AWS-convention configuration resolver and
 * its ini reader.
 *
 * Resolution cases are a table: each writes its config and credentials
 * files into a mkdtemp folder, runs s3b_config_resolve with a fake
 * environment (the getenv seam) and compares every field with the values
 * written in the table.  Every secret in the fixtures contains "SEKRIT",
 * and no reason or log line may contain it.  The log goes to a file so
 * that the credentials-file permission warning is checked for real.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* the ini reader                                                       */

struct transcript {
	char text[2048];
	size_t len;
	const char *stop_at; /* key that makes the callback return 42 */
};

static int record_cb(void *ctx, const char *section, const char *sub, const char *key,
		     const char *value, unsigned line)
{
	struct transcript *t = ctx;
	int n;

	if (t->stop_at && strcmp(key, t->stop_at) == 0)
		return 42;
	n = snprintf(t->text + t->len, sizeof(t->text) - t->len, "%s|%s|%s|%s|%u\n", section,
		     sub ? sub : "-", key, value, line);
	if (n > 0 && (size_t)n < sizeof(t->text) - t->len)
		t->len += (size_t)n;
	return 0;
}

struct ini_case {
	const char *what;
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *stop_at;
	int rc;
	unsigned bad_line;
	const char *want; /* "section|sub|key|value|line\n"... */
};

static const struct ini_case ini_cases[] = {
	{ .what = "basic", .text = "[default]\nregion = us-east-1\n",
	  .want = "default|-|region|us-east-1|2\n" },
	{ .what = "CRLF", .text = "[a]\r\nk = v\r\n\r\nk2=v2\r\n",
	  .want = "a|-|k|v|2\na|-|k2|v2|4\n" },
	{ .what = "comments",
	  .text = "# top\n; also\n[a]\n  # indented comment\nk = v # kept\n;k=x\n\t;k=y\n",
	  .want = "a|-|k|v # kept|5\n" },
	{ .what = "no final newline", .text = "[a]\nk = v", .want = "a|-|k|v|2\n" },
	{ .what = "value with '=' and spaces", .text = "[a]\nk =  x = y  z  \n",
	  .want = "a|-|k|x = y  z|2\n" },
	{ .what = "empty value", .text = "[a]\nk =\nj=\t \n", .want = "a|-|k||2\na|-|j||3\n" },
	{ .what = "nested s3 block",
	  .text = "[profile n]\ns3 =\n  endpoint_url = http://x\n\taddressing_style = path\n"
		  "\n  # c\n  max = 2\nregion = r\n  indented = plain\n",
	  .want = "profile n|-|s3||2\nprofile n|s3|endpoint_url|http://x|3\n"
		  "profile n|s3|addressing_style|path|4\nprofile n|s3|max|2|7\n"
		  "profile n|-|region|r|8\nprofile n|-|indented|plain|9\n" },
	{ .what = "nested block ends at a section", .text = "[a]\ns3 =\n[b]\n  k = v\n",
	  .want = "a|-|s3||2\nb|-|k|v|4\n" },
	{ .what = "nested block ends at a key with a value",
	  .text = "[a]\ns3 =\nk = v\n  j = w\n", .want = "a|-|s3||2\na|-|k|v|3\na|-|j|w|4\n" },
	{ .what = "section trimmed inside", .text = "[  profile  x  ]\nk=v\n",
	  .want = "profile  x|-|k|v|2\n" },
	{ .what = "section with a comment after", .text = "[a] # c\n[b];c\nk=v\n",
	  .want = "b|-|k|v|3\n" },
	{ .what = "indented section", .text = "  [a]\nk=v\n", .want = "a|-|k|v|2\n" },
	{ .what = "comment and blank before the first section", .text = "# c\n\n   \n[a]\nk=v",
	  .want = "a|-|k|v|5\n" },
	{ .what = "NUL inside a comment is ignored", .text = "[a]\n# \0x\nk=v\n", .len = 13,
	  .want = "a|-|k|v|3\n" },
	{ .what = "len is honoured, not NUL", .text = "[a]\nk=v\n[b]\nj=w\n", .len = 8,
	  .want = "a|-|k|v|2\n" },
	{ .what = "lone CR inside a value kept", .text = "[a]\nk=x\ry\n", .want = "a|-|k|x\ry|2\n" },
	{ .what = "empty input", .text = "", .want = "" },
	{ .what = "only newlines", .text = "\n\n\r\n", .want = "" },
	{ .what = "callback stops the parse", .text = "[a]\nk=v\nstop=1\nz=2\n", .stop_at = "stop",
	  .rc = 42, .want = "a|-|k|v|2\n" },
	/* malformed */
	{ .what = "key before section", .text = "k = v\n[a]\n", .rc = EINVAL, .bad_line = 1,
	  .want = "" },
	{ .what = "key before section after comments", .text = "# c\n\nk = v\n", .rc = EINVAL,
	  .bad_line = 3, .want = "" },
	{ .what = "line without '='", .text = "[a]\nk = v\njunk\nz=1\n", .rc = EINVAL,
	  .bad_line = 3, .want = "a|-|k|v|2\n" },
	{ .what = "':' is not a delimiter", .text = "[a]\nk: v\n", .rc = EINVAL, .bad_line = 2,
	  .want = "" },
	{ .what = "empty key", .text = "[a]\n = v\n", .rc = EINVAL, .bad_line = 2, .want = "" },
	{ .what = "unterminated section", .text = "[a\nk=v\n", .rc = EINVAL, .bad_line = 1,
	  .want = "" },
	{ .what = "empty section", .text = "[ ]\nk=v\n", .rc = EINVAL, .bad_line = 1, .want = "" },
	{ .what = "junk after section", .text = "[a] junk\n", .rc = EINVAL, .bad_line = 1,
	  .want = "" },
	{ .what = "NUL inside a value", .text = "[a]\nk = v\0x\n", .len = 12, .rc = EINVAL,
	  .bad_line = 2, .want = "" },
	{ .what = "NUL at the start of a line", .text = "[a]\n\0k = v\n", .len = 11,
	  .rc = EINVAL, .bad_line = 2, .want = "" },
	{ .what = "line without '=' and no final newline", .text = "[a]\nk=v\n\nx", .rc = EINVAL,
	  .bad_line = 4, .want = "a|-|k|v|2\n" },
};

static void test_ini(void)
{
	for (size_t i = 0; i < sizeof(ini_cases) / sizeof(ini_cases[0]); i++) {
		const struct ini_case *c = &ini_cases[i];
		struct transcript t = { .stop_at = c->stop_at };
		unsigned bad = 12345;
		size_t len = c->len ? c->len : strlen(c->text);
		int rc = s3b_ini_parse(c->text, len, record_cb, &t, &bad);

		if (rc != c->rc || bad != c->bad_line || strcmp(t.text, c->want) != 0)
			fprintf(stderr, "ini case '%s':\n", c->what);
		CHECK_INT(rc, c->rc);
		CHECK_INT(bad, c->bad_line);
		CHECK_STR(t.text, c->want);
	}

	/* a huge line is read whole, and bad_line may be NULL */
	{
		size_t n = 1u << 20;
		char *big = malloc(n + 16);
		struct transcript t = { 0 };

		CHECK(big != NULL);
		if (!big)
			return;
		memcpy(big, "[a]\nk=", 6);
		memset(big + 6, 'x', n);
		CHECK_INT(s3b_ini_parse(big, n + 6, record_cb, &t, NULL), 0);
		CHECK_INT(t.len, 0); /* the transcript buffer was too small to hold it */
		big[6 + n / 2] = '\0';
		CHECK_INT(s3b_ini_parse(big, n + 6, record_cb, &t, NULL), EINVAL);
		free(big);
	}
}

/* ------------------------------------------------------------------ */
/* the fake environment and the files                                   */

static char tmpdir[256];
static char logpath[PATH_MAX];

/* dst = tmpdir + "/" + rel; a path that does not fit fails the test. */
static void tmp_path(char *dst, size_t dstlen, const char *rel)
{
	int n = snprintf(dst, dstlen, "%s/%s", tmpdir, rel);

	if (n < 0 || (size_t)n >= dstlen) {
		CHECK(!"path too long");
		dst[0] = '\0';
	}
}

#define ENV_MAX 12
static const char *env_names[ENV_MAX];
static char env_values[ENV_MAX][PATH_MAX];
static size_t env_count;

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < env_count; i++)
		if (strcmp(env_names[i], name) == 0)
			return env_values[i];
	return NULL;
}

/* Copy s into dst, replacing "{T}" with the temporary folder. */
static void expand(char *dst, size_t dstlen, const char *s)
{
	size_t o = 0;

	while (*s && o + 1 < dstlen) {
		if (strncmp(s, "{T}", 3) == 0) {
			size_t n = strlen(tmpdir);

			if (o + n >= dstlen)
				break;
			memcpy(dst + o, tmpdir, n);
			o += n;
			s += 3;
		} else {
			dst[o++] = *s++;
		}
	}
	dst[o] = '\0';
}

static void env_set(const char *name, const char *value)
{
	if (env_count == ENV_MAX) {
		CHECK(!"too many environment variables in a case");
		return;
	}
	env_names[env_count] = name;
	expand(env_values[env_count], sizeof(env_values[0]), value);
	env_count++;
}

static int write_file(const char *rel, const char *text, mode_t mode)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FILE *f;
	char *slash;

	tmp_path(path, sizeof(path), rel);
	/* make the parent folders (at most two levels in these tests) */
	memcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash && slash > dir + strlen(tmpdir)) {
		*slash = '\0';
		char *mid = strrchr(dir, '/');

		if (mid && mid > dir + strlen(tmpdir)) {
			*mid = '\0';
			mkdir(dir, 0700);
			*mid = '/';
		}
		mkdir(dir, 0700);
	}
	f = fopen(path, "w");
	if (!f)
		return errno;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode) ? errno : 0;
}

static void remove_file(const char *rel)
{
	char path[PATH_MAX];

	tmp_path(path, sizeof(path), rel);
	unlink(path);
}

static char *read_log(void)
{
	FILE *f = fopen(logpath, "r");
	static char buf[8192];
	size_t n;

	buf[0] = '\0';
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------ */
/* resolution cases                                                     */

#define CONF_A                                      \
	"# the config file\n"                       \
	"[default]\n"                               \
	"region = eu-central-1\n"                   \
	"\n"                                        \
	"[profile dev]\n"                           \
	"region = us-west-2\n"                      \
	"aws_access_key_id = AKCONFDEV\n"           \
	"aws_secret_access_key = SEKRIT-conf-dev\n" \
	"endpoint_url = https://dev.example.com/\n" \
	"\n"                                        \
	"[profile nested]\n"                        \
	"region = ap-south-1\n"                     \
	"endpoint_url = https://top.example.com\n"  \
	"s3 =\n"                                    \
	"  endpoint_url = https://nested.example.com\n" \
	"  addressing_style = path\n"               \
	"  max_concurrent_requests = 20\n"          \
	"\n"                                        \
	"[profile minio]\n"                         \
	"endpoint_url = http://127.0.0.1:9000\n"    \
	"s3 =\n"                                    \
	"    addressing_style = virtual\n"          \
	"\n"                                        \
	"[profile auto]\n"                          \
	"s3 =\n"                                    \
	"  addressing_style = auto\n"               \
	"\n"                                        \
	"[profile badstyle]\n"                      \
	"s3 =\n"                                    \
	"  addressing_style = sideways\n"           \
	"\n"                                        \
	"[profile nocreds]\n"                       \
	"region = eu-north-1\n"                     \
	"\n"                                        \
	"[profile badep]\n"                         \
	"endpoint_url = s3.example.com\n"           \
	"\n"                                        \
	"[onlyplain]\n"                             \
	"region = eu-west-3\n"

#define CREDS_A                                          \
	"[default]\n"                                    \
	"aws_access_key_id = AKDEFAULT\n"                \
	"aws_secret_access_key = SEKRIT-default\n"       \
	"\r\n"                                           \
	"[dev]\r\n"                                      \
	"aws_access_key_id = AKCREDDEV\r\n"              \
	"aws_secret_access_key = SEKRIT-cred-dev\r\n"    \
	"aws_session_token = TOKEN-SEKRIT-dev\r\n"       \
	"\n"                                             \
	"[nested]\n"                                     \
	"aws_access_key_id = AKNESTED\n"                 \
	"aws_secret_access_key = SEKRIT-nested\n"        \
	"\n"                                             \
	"[minio]\n"                                      \
	"AWS_ACCESS_KEY_ID = minioadmin\n"               \
	"Aws_Secret_Access_Key = SEKRIT = with = equals\n" \
	"[auto]\n"                                       \
	"aws_access_key_id = AKAUTO\n"                   \
	"aws_secret_access_key = SEKRIT-auto\n"          \
	"[badstyle]\n"                                   \
	"aws_access_key_id = AKBAD\n"                    \
	"aws_secret_access_key = SEKRIT-bad\n"           \
	"[badep]\n"                                      \
	"aws_access_key_id = AKBADEP\n"                  \
	"aws_secret_access_key = SEKRIT-badep\n"         \
	"[half]\n"                                       \
	"aws_access_key_id = AKHALF\n"                   \
	"[halfsecret]\n"                                 \
	"aws_secret_access_key = SEKRIT-halfsecret\n"    \
	"[credonly]\n"                                   \
	"aws_access_key_id = AKCREDONLY\n"               \
	"aws_secret_access_key = SEKRIT-credonly\n"      \
	"region = me-south-1\n"

#define ENV_KEYS                                                                   \
	"AWS_ACCESS_KEY_ID", "AKENV", "AWS_SECRET_ACCESS_KEY", "SEKRIT-env",        \
		"AWS_SESSION_TOKEN", "TOKEN-SEKRIT-env"

struct cfg_case {
	const char *what;
	const char *config, *creds; /* file contents; NULL: no file */
	const char *conf_at, *cred_at; /* paths under {T}; NULL: "config", "credentials" */
	mode_t creds_mode;             /* 0: 0600 */
	bool custom_env; /* true: no default AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE */
	const char *env[2 * ENV_MAX + 1]; /* name, value, ..., NULL; "{T}" expands */
	struct s3b_config_request req;
	/* expected */
	int rc;
	const char *why; /* substring of the reason ("{T}" expands) */
	const char *profile, *endpoint, *region, *ak, *sk, *token, *source;
	bool path_style;
	bool warns; /* one log line naming the credentials file */
};

static const struct cfg_case cases[] = {
	/* ---- credentials ---- */
	{ .what = "nothing at all: anonymous",
	  .region = "us-east-1", .endpoint = "https://s3.us-east-1.amazonaws.com",
	  .source = "none" },
	{ .what = "default profile from the credentials file", .config = CONF_A,
	  .creds = CREDS_A, .profile = "default", .ak = "AKDEFAULT", .sk = "SEKRIT-default",
	  .source = "credentials file", .region = "eu-central-1",
	  .endpoint = "https://s3.eu-central-1.amazonaws.com" },
	{ .what = "environment keys beat the default profile; region still from it",
	  .config = CONF_A, .creds = CREDS_A, .env = { ENV_KEYS, NULL }, .ak = "AKENV",
	  .sk = "SEKRIT-env", .token = "TOKEN-SEKRIT-env", .source = "environment",
	  .region = "eu-central-1", .endpoint = "https://s3.eu-central-1.amazonaws.com" },
	{ .what = "environment keys without a token", .env = { "AWS_ACCESS_KEY_ID", "AKENV",
	  "AWS_SECRET_ACCESS_KEY", "SEKRIT-env", NULL }, .ak = "AKENV", .sk = "SEKRIT-env",
	  .source = "environment", .region = "us-east-1",
	  .endpoint = "https://s3.us-east-1.amazonaws.com" },
	{ .what = "environment keys beat AWS_PROFILE; settings from AWS_PROFILE",
	  .config = CONF_A, .creds = CREDS_A, .env = { ENV_KEYS, "AWS_PROFILE", "dev", NULL },
	  .ak = "AKENV", .sk = "SEKRIT-env", .token = "TOKEN-SEKRIT-env",
	  .source = "environment", .region = "us-west-2",
	  .endpoint = "https://dev.example.com" },
	{ .what = "explicit profile beats environment keys", .config = CONF_A, .creds = CREDS_A,
	  .env = { ENV_KEYS, NULL }, .req = { .profile = "dev" }, .profile = "dev",
	  .ak = "AKCREDDEV", .sk = "SEKRIT-cred-dev", .token = "TOKEN-SEKRIT-dev",
	  .source = "credentials file", .region = "us-west-2",
	  .endpoint = "https://dev.example.com" },
	{ .what = "AWS_PROFILE without environment keys", .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_PROFILE", "dev", NULL }, .profile = "dev", .ak = "AKCREDDEV",
	  .sk = "SEKRIT-cred-dev", .token = "TOKEN-SEKRIT-dev", .source = "credentials file",
	  .region = "us-west-2", .endpoint = "https://dev.example.com" },
	{ .what = "explicit profile beats AWS_PROFILE", .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_PROFILE", "dev", NULL }, .req = { .profile = "nested" },
	  .profile = "nested", .ak = "AKNESTED", .sk = "SEKRIT-nested",
	  .source = "credentials file", .region = "ap-south-1",
	  .endpoint = "https://nested.example.com", .path_style = true },
	{ .what = "keys from the config file when the credentials file has none",
	  .config = CONF_A, .req = { .profile = "dev" }, .profile = "dev", .ak = "AKCONFDEV",
	  .sk = "SEKRIT-conf-dev", .source = "config file", .region = "us-west-2",
	  .endpoint = "https://dev.example.com" },
	{ .what = "profile only in the credentials file, with its region", .config = CONF_A,
	  .creds = CREDS_A, .req = { .profile = "credonly" }, .profile = "credonly",
	  .ak = "AKCREDONLY", .sk = "SEKRIT-credonly", .source = "credentials file",
	  .region = "me-south-1", .endpoint = "https://s3.me-south-1.amazonaws.com" },
	{ .what = "key names are case-insensitive; secret may hold '=' and spaces",
	  .config = CONF_A, .creds = CREDS_A, .req = { .profile = "minio" },
	  .profile = "minio", .ak = "minioadmin", .sk = "SEKRIT = with = equals",
	  .source = "credentials file", .region = "us-east-1",
	  .endpoint = "http://127.0.0.1:9000", .path_style = true },
	{ .what = "[profile default] is the default profile too",
	  .config = "[profile default]\nregion = af-south-1\n", .region = "af-south-1",
	  .endpoint = "https://s3.af-south-1.amazonaws.com", .source = "none" },
	{ .what = "empty profile request means not named", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "" }, .profile = "default", .ak = "AKDEFAULT",
	  .sk = "SEKRIT-default", .source = "credentials file", .region = "eu-central-1",
	  .endpoint = "https://s3.eu-central-1.amazonaws.com" },
	{ .what = "empty environment values count as unset", .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_PROFILE", "", "AWS_REGION", "", "AWS_ACCESS_KEY_ID", "", NULL },
	  .profile = "default", .ak = "AKDEFAULT", .sk = "SEKRIT-default",
	  .source = "credentials file", .region = "eu-central-1",
	  .endpoint = "https://s3.eu-central-1.amazonaws.com" },
	{ .what = "half environment keys are ignored under an explicit profile",
	  .config = CONF_A, .creds = CREDS_A, .env = { "AWS_ACCESS_KEY_ID", "AKENV", NULL },
	  .req = { .profile = "dev" }, .profile = "dev", .ak = "AKCREDDEV",
	  .sk = "SEKRIT-cred-dev", .token = "TOKEN-SEKRIT-dev", .source = "credentials file",
	  .region = "us-west-2", .endpoint = "https://dev.example.com" },

	/* ---- region ---- */
	{ .what = "region: explicit beats everything", .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_REGION", "ca-central-1", "AWS_DEFAULT_REGION", "sa-east-1", NULL },
	  .req = { .region = "eu-south-2" }, .profile = "default", .ak = "AKDEFAULT",
	  .sk = "SEKRIT-default", .source = "credentials file", .region = "eu-south-2",
	  .endpoint = "https://s3.eu-south-2.amazonaws.com" },
	{ .what = "region: AWS_REGION beats AWS_DEFAULT_REGION", .config = CONF_A,
	  .env = { "AWS_REGION", "ca-central-1", "AWS_DEFAULT_REGION", "sa-east-1", NULL },
	  .source = "none", .region = "ca-central-1",
	  .endpoint = "https://s3.ca-central-1.amazonaws.com" },
	{ .what = "region: AWS_DEFAULT_REGION beats the profile", .config = CONF_A,
	  .env = { "AWS_DEFAULT_REGION", "sa-east-1", NULL }, .source = "none",
	  .region = "sa-east-1", .endpoint = "https://s3.sa-east-1.amazonaws.com" },
	{ .what = "region: a newline is not echoed", .req = { .region = "eu\nwest" },
	  .rc = EINVAL, .why = "region 'eu?west' from the region option is invalid" },
	{ .what = "region: invalid", .env = { "AWS_REGION", "eu west/1", NULL }, .rc = EINVAL,
	  .why = "region 'eu west/1' from AWS_REGION is invalid" },

	/* ---- endpoint ---- */
	{ .what = "endpoint: explicit beats the variables (and loses its '/')",
	  .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_ENDPOINT_URL_S3", "https://s3env.example.com", "AWS_ENDPOINT_URL",
		   "https://env.example.com", NULL },
	  .req = { .endpoint = "https://explicit.example.com/", .profile = "nested" },
	  .profile = "nested", .ak = "AKNESTED", .sk = "SEKRIT-nested",
	  .source = "credentials file", .region = "ap-south-1",
	  .endpoint = "https://explicit.example.com", .path_style = true },
	{ .what = "endpoint: AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL",
	  .env = { "AWS_ENDPOINT_URL_S3", "https://s3env.example.com", "AWS_ENDPOINT_URL",
		   "https://env.example.com", NULL },
	  .source = "none", .region = "us-east-1", .endpoint = "https://s3env.example.com" },
	{ .what = "endpoint: AWS_ENDPOINT_URL beats the profile", .config = CONF_A,
	  .creds = CREDS_A, .env = { "AWS_ENDPOINT_URL", "https://env.example.com:8443/", NULL },
	  .req = { .profile = "nested" }, .profile = "nested", .ak = "AKNESTED",
	  .sk = "SEKRIT-nested", .source = "credentials file", .region = "ap-south-1",
	  .endpoint = "https://env.example.com:8443", .path_style = true },
	{ .what = "endpoint: s3 sub-setting beats the profile's endpoint_url", .config = CONF_A,
	  .creds = CREDS_A, .env = { "AWS_PROFILE", "nested", NULL }, .profile = "nested",
	  .ak = "AKNESTED", .sk = "SEKRIT-nested", .source = "credentials file",
	  .region = "ap-south-1", .endpoint = "https://nested.example.com",
	  .path_style = true },
	{ .what = "endpoint: normalised scheme and trailing slashes",
	  .env = { "AWS_ENDPOINT_URL", "HTTP://Store.Example.com:9000/base//", NULL },
	  .source = "none", .region = "us-east-1",
	  .endpoint = "http://Store.Example.com:9000/base" },
	{ .what = "endpoint: not http(s)", .env = { "AWS_ENDPOINT_URL", "ftp://h", NULL },
	  .rc = EINVAL, .why = "'ftp://h' from AWS_ENDPOINT_URL must start with http://" },
	{ .what = "endpoint: no scheme, from a profile", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "badep" }, .rc = EINVAL,
	  .why = "'s3.example.com' from profile 'badep' endpoint_url must start with http://" },
	{ .what = "endpoint: no host", .req = { .endpoint = "https://" }, .rc = EINVAL,
	  .why = "no host" },
	{ .what = "endpoint: no host before the port", .req = { .endpoint = "http://:9000" },
	  .rc = EINVAL, .why = "no host" },
	{ .what = "endpoint: bad port", .req = { .endpoint = "http://h:99999" }, .rc = EINVAL,
	  .why = "invalid port" },
	{ .what = "endpoint: empty port", .req = { .endpoint = "http://h:/" }, .rc = EINVAL,
	  .why = "invalid port" },
	{ .what = "endpoint: query", .req = { .endpoint = "http://h/?x=1" }, .rc = EINVAL,
	  .why = "query or fragment" },
	{ .what = "endpoint: space", .req = { .endpoint = "http://h /" }, .rc = EINVAL,
	  .why = "space or control character" },
	{ .what = "endpoint: user info is refused and not echoed",
	  .req = { .endpoint = "http://user:SEKRIT-pw@h:9000" }, .rc = EINVAL,
	  .why = "must not contain user@" },
	{ .what = "endpoint: bad host character", .req = { .endpoint = "http://h*st" },
	  .rc = EINVAL, .why = "invalid character in its host" },
	{ .what = "endpoint: empty label", .req = { .endpoint = "http://a..b" },
	  .rc = EINVAL, .why = "invalid host name" },
	{ .what = "endpoint: unclosed IPv6", .req = { .endpoint = "http://[::1:9000" },
	  .rc = EINVAL, .why = "malformed [IPv6] host" },
	{ .what = "endpoint: bad IPv6", .req = { .endpoint = "http://[zz::1]:9000" },
	  .rc = EINVAL, .why = "invalid IPv6 address" },

	/* ---- addressing style ---- */
	{ .what = "style: explicit virtual beats a local endpoint",
	  .req = { .endpoint = "http://127.0.0.1:9000", .style = S3B_STYLE_VIRTUAL },
	  .source = "none", .region = "us-east-1", .endpoint = "http://127.0.0.1:9000" },
	{ .what = "style: explicit path on AWS", .req = { .style = S3B_STYLE_PATH },
	  .source = "none", .region = "us-east-1",
	  .endpoint = "https://s3.us-east-1.amazonaws.com", .path_style = true },
	{ .what = "style: a local endpoint beats the profile's virtual", .config = CONF_A,
	  .creds = CREDS_A, .env = { "AWS_PROFILE", "minio", NULL }, .profile = "minio",
	  .ak = "minioadmin", .sk = "SEKRIT = with = equals", .source = "credentials file",
	  .region = "us-east-1", .endpoint = "http://127.0.0.1:9000", .path_style = true },
	{ .what = "style: the profile's virtual on a remote endpoint", .config = CONF_A,
	  .creds = CREDS_A, .env = { "AWS_PROFILE", "minio", "AWS_ENDPOINT_URL",
	  "https://minio.example.com", NULL }, .profile = "minio", .ak = "minioadmin",
	  .sk = "SEKRIT = with = equals", .source = "credentials file", .region = "us-east-1",
	  .endpoint = "https://minio.example.com" },
	{ .what = "style: localhost", .env = { "AWS_ENDPOINT_URL", "http://localhost:9000", NULL },
	  .source = "none", .region = "us-east-1", .endpoint = "http://localhost:9000",
	  .path_style = true },
	{ .what = "style: *.localhost", .req = { .endpoint = "http://minio.localhost" },
	  .source = "none", .region = "us-east-1", .endpoint = "http://minio.localhost",
	  .path_style = true },
	{ .what = "style: IPv6 literal", .req = { .endpoint = "http://[::1]:9000/" },
	  .source = "none", .region = "us-east-1", .endpoint = "http://[::1]:9000",
	  .path_style = true },
	{ .what = "style: a host name is virtual", .req = { .endpoint = "https://10.example.com" },
	  .source = "none", .region = "us-east-1", .endpoint = "https://10.example.com" },
	{ .what = "style: auto is virtual", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "auto" }, .profile = "auto", .ak = "AKAUTO", .sk = "SEKRIT-auto",
	  .source = "credentials file", .region = "us-east-1",
	  .endpoint = "https://s3.us-east-1.amazonaws.com" },
	{ .what = "style: unknown addressing_style", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "badstyle" }, .rc = EINVAL,
	  .why = "profile 'badstyle' s3.addressing_style must be path, virtual or auto" },

	/* ---- missing and half profiles ---- */
	{ .what = "explicit profile found nowhere", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "nope" }, .rc = ENOENT,
	  .why = "profile 'nope' not found in {T}/config or {T}/credentials" },
	{ .what = "AWS_PROFILE found nowhere", .env = { "AWS_PROFILE", "nope", NULL },
	  .rc = ENOENT, .why = "profile 'nope' not found in {T}/config or {T}/credentials" },
	{ .what = "a config section without 'profile ' is not a profile", .config = CONF_A,
	  .req = { .profile = "onlyplain" }, .rc = ENOENT,
	  .why = "profile 'onlyplain' not found" },
	{ .what = "a named profile without keys", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "nocreds" }, .rc = EINVAL,
	  .why = "profile 'nocreds' has no aws_access_key_id/aws_secret_access_key" },
	{ .what = "access key without secret", .config = CONF_A, .creds = CREDS_A,
	  .req = { .profile = "half" }, .rc = EINVAL,
	  .why = "profile 'half' has aws_access_key_id but no aws_secret_access_key (in "
		 "{T}/credentials)" },
	{ .what = "secret without access key", .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_PROFILE", "halfsecret", NULL }, .rc = EINVAL,
	  .why = "profile 'halfsecret' has aws_secret_access_key but no aws_access_key_id" },
	{ .what = "half a pair in the credentials file does not fall back to config",
	  .config = "[profile dev]\naws_access_key_id = AKC\naws_secret_access_key = SEKRIT-c\n",
	  .creds = "[dev]\naws_access_key_id = AKHALF\n", .req = { .profile = "dev" },
	  .rc = EINVAL, .why = "has aws_access_key_id but no aws_secret_access_key" },
	{ .what = "half environment keys", .config = CONF_A, .creds = CREDS_A,
	  .env = { "AWS_ACCESS_KEY_ID", "AKENV", NULL }, .rc = EINVAL,
	  .why = "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" },
	{ .what = "half environment keys (secret only)",
	  .env = { "AWS_SECRET_ACCESS_KEY", "SEKRIT-env", NULL }, .rc = EINVAL,
	  .why = "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not" },
	{ .what = "an empty key value counts as missing",
	  .creds = "[dev]\naws_access_key_id =\naws_secret_access_key = SEKRIT-x\n",
	  .req = { .profile = "dev" }, .rc = EINVAL,
	  .why = "has aws_secret_access_key but no aws_access_key_id" },

	/* ---- files ---- */
	{ .what = "malformed config file: key before section",
	  .config = "region = x\n[default]\n", .rc = EINVAL, .why = "{T}/config line 1:" },
	{ .what = "malformed credentials file: line without '='",
	  .creds = "[default]\naws_access_key_id = AKX\nSEKRIT-oops\n", .rc = EINVAL,
	  .why = "{T}/credentials line 3:" },
	{ .what = "a folder as the credentials file", .custom_env = true,
	  .env = { "AWS_SHARED_CREDENTIALS_FILE", "{T}", NULL }, .rc = EACCES,
	  .why = "cannot read {T}: not a regular file" },
	{ .what = "missing named files are fine", .custom_env = true,
	  .env = { "AWS_SHARED_CREDENTIALS_FILE", "{T}/none1", "AWS_CONFIG_FILE", "{T}/none2",
		   NULL },
	  .source = "none", .region = "us-east-1",
	  .endpoint = "https://s3.us-east-1.amazonaws.com" },
	{ .what = "files under $HOME/.aws", .custom_env = true, .config = CONF_A,
	  .creds = CREDS_A, .conf_at = "home/.aws/config", .cred_at = "home/.aws/credentials",
	  .env = { "HOME", "{T}/home", "AWS_PROFILE", "dev", NULL }, .profile = "dev",
	  .ak = "AKCREDDEV", .sk = "SEKRIT-cred-dev", .token = "TOKEN-SEKRIT-dev",
	  .source = "credentials file", .region = "us-west-2",
	  .endpoint = "https://dev.example.com" },
	{ .what = "profile missing names the $HOME/.aws paths", .custom_env = true,
	  .env = { "HOME", "{T}/home", NULL }, .req = { .profile = "nope" }, .rc = ENOENT,
	  .why = "profile 'nope' not found in {T}/home/.aws/config or "
		 "{T}/home/.aws/credentials" },
	{ .what = "no HOME and no variables: no files", .custom_env = true, .source = "none",
	  .region = "us-east-1", .endpoint = "https://s3.us-east-1.amazonaws.com" },
	{ .what = "~/ in AWS_CONFIG_FILE", .custom_env = true, .config = CONF_A,
	  .conf_at = "alt/cfg",
	  .env = { "HOME", "{T}", "AWS_CONFIG_FILE", "~/alt/cfg", "AWS_PROFILE", "nested",
		   "AWS_SHARED_CREDENTIALS_FILE", "{T}/none", NULL },
	  .rc = EINVAL, .why = "profile 'nested' has no aws_access_key_id/aws_secret_access_key "
			       "in {T}/alt/cfg or {T}/none" },
	{ .what = "credentials file readable by others draws one warning", .config = CONF_A,
	  .creds = CREDS_A, .creds_mode = 0644, .profile = "default", .ak = "AKDEFAULT",
	  .sk = "SEKRIT-default", .source = "credentials file", .region = "eu-central-1",
	  .endpoint = "https://s3.eu-central-1.amazonaws.com", .warns = true },
	{ .what = "credentials file readable by the group draws one warning",
	  .creds = CREDS_A, .creds_mode = 0640, .profile = "default", .ak = "AKDEFAULT",
	  .sk = "SEKRIT-default", .source = "credentials file", .region = "us-east-1",
	  .endpoint = "https://s3.us-east-1.amazonaws.com", .warns = true },
};

static void check_opt_str(const char *got, const char *want, const char *field)
{
	if (want) {
		CHECK_STR(got, want);
	} else if (got) {
		CHECK(!"field should be NULL");
		fprintf(stderr, "  %s = [%s]\n", field, got);
	}
}

static void run_case(const struct cfg_case *c)
{
	const char *conf_at = c->conf_at ? c->conf_at : "config";
	const char *cred_at = c->cred_at ? c->cred_at : "credentials";
	struct s3b_config out;
	char why[512], want_why[512], logline[PATH_MAX + 32];
	size_t log_before;
	unsigned failed_before = check_failed;
	const char *log;
	int rc;

	remove_file("config");
	remove_file("credentials");
	remove_file("home/.aws/config");
	remove_file("home/.aws/credentials");
	remove_file("alt/cfg");
	if (c->config)
		CHECK_INT(write_file(conf_at, c->config, 0600), 0);
	if (c->creds)
		CHECK_INT(write_file(cred_at, c->creds, c->creds_mode ? c->creds_mode : 0600), 0);

	env_count = 0;
	if (!c->custom_env) {
		env_set("AWS_CONFIG_FILE", "{T}/config");
		env_set("AWS_SHARED_CREDENTIALS_FILE", "{T}/credentials");
	}
	for (size_t i = 0; c->env[i]; i += 2)
		env_set(c->env[i], c->env[i + 1]);

	log_before = strlen(read_log());
	memset(why, 'x', sizeof(why));
	rc = s3b_config_resolve(&c->req, fake_getenv, &out, why, sizeof(why));
	CHECK_INT(rc, c->rc);
	CHECK(memchr(why, '\0', sizeof(why)) != NULL);
	if (rc == 0) {
		CHECK_STR(why, "");
		check_opt_str(out.profile, c->profile, "profile");
		CHECK_STR(out.endpoint, c->endpoint);
		CHECK_STR(out.region, c->region);
		CHECK_INT(out.path_style, c->path_style);
		check_opt_str(out.access_key, c->ak, "access_key");
		check_opt_str(out.secret_key, c->sk, "secret_key");
		check_opt_str(out.session_token, c->token, "session_token");
		CHECK_STR(out.cred_source, c->source);
		s3b_config_free(&out);
		CHECK(out.endpoint == NULL && out.secret_key == NULL);
	} else {
		expand(want_why, sizeof(want_why), c->why ? c->why : "");
		if (!strstr(why, want_why)) {
			CHECK(!"reason lacks the expected words");
			fprintf(stderr, "  got  [%s]\n  want [...%s...]\n", why, want_why);
		}
		CHECK(strchr(why, '\n') == NULL);
		/* *out is left empty */
		CHECK(out.endpoint == NULL && out.region == NULL && out.access_key == NULL &&
		      out.secret_key == NULL && out.profile == NULL);
	}
	/* no secret in the reason or the log, ever */
	CHECK(strstr(why, "SEKRIT") == NULL);
	log = read_log() + log_before;
	CHECK(strstr(log, "SEKRIT") == NULL);
	if (c->warns) {
		const char *nl = strchr(log, '\n');

		tmp_path(logline, sizeof(logline), cred_at);
		CHECK(strstr(log, logline) != NULL);
		CHECK(strstr(log, "warning") != NULL);
		CHECK(nl != NULL && nl[1] == '\0'); /* exactly one line */
	} else {
		CHECK_STR(log, "");
	}
	if (check_failed != failed_before)
		fprintf(stderr, "  in case '%s'\n", c->what);
}

static void test_is_local(void)
{
	static const struct {
		const char *url;
		bool local;
	} t[] = {
		{ "http://127.0.0.1:9000", true },
		{ "http://10.0.0.5", true },
		{ "https://192.168.1.1/path", true },
		{ "http://[::1]:9000", true },
		{ "http://[fd00::5]", true },
		{ "http://localhost", true },
		{ "http://LOCALHOST:9000/", true },
		{ "http://localhost.:80", true },
		{ "http://minio.localhost:9000", true },
		{ "http://user:pw@127.0.0.1:9000", true },
		{ "http://user@localhost", true },
		{ "localhost:9000", true },
		{ "https://s3.us-east-1.amazonaws.com", false },
		{ "https://localhost.example.com", false },
		{ "https://notlocalhost", false },
		{ "https://10.0.0.5.nip.io", false },
		{ "https://1.2.3", false },
		{ "http://127.0.0.1@evil.example.com", false },
		{ "http://[::1", false },
		{ "http://", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = s3b_endpoint_is_local(t[i].url);

		if (got != t[i].local)
			fprintf(stderr, "is_local(%s)\n", t[i].url);
		CHECK_INT(got, t[i].local);
	}
	CHECK(!s3b_endpoint_is_local(NULL));
}

/* The real getenv is the default seam. */
static void test_real_getenv(void)
{
	struct s3b_config out;
	char why[256], path[PATH_MAX];

	tmp_path(path, sizeof(path), "none");
	setenv("AWS_CONFIG_FILE", path, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_INT(s3b_config_resolve(&(struct s3b_config_request){ 0 }, NULL, &out, why,
				     sizeof(why)),
		  0);
	CHECK_STR(out.region, "eu-west-1");
	CHECK_STR(out.endpoint, "https://s3.eu-west-1.amazonaws.com");
	s3b_config_free(&out);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	test_ini();
	test_is_local();

	if (!base || !*base || strlen(base) > 200)
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/s3b-test-config-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	tmp_path(logpath, sizeof(logpath), "log");
	CHECK_INT(s3b_log_open(S3B_LOG_FILE, logpath), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_real_getenv();
	s3b_log_close();

	/* clean up the folder */
	remove_file("config");
	remove_file("credentials");
	remove_file("home/.aws/config");
	remove_file("home/.aws/credentials");
	remove_file("alt/cfg");
	remove_file("log");
	{
		char p[PATH_MAX];

		tmp_path(p, sizeof(p), "home/.aws");
		rmdir(p);
		tmp_path(p, sizeof(p), "home");
		rmdir(p);
		tmp_path(p, sizeof(p), "alt");
		rmdir(p);
		rmdir(tmpdir);
	}
	return check_report();
}
