/*
 * s3/config.h — AWS-convention configuration: environment variables,
 * ~/.aws/credentials and ~/.aws/config profiles, resolved into the plain
 * data of an s3_client_conf.  Parsing happens here and nowhere else.
 *
 * Precedence (the AWS CLI's):
 *  - credentials: an explicit profile (per bucket, or --profile) reads that
 *    profile (credentials file, then config file); otherwise
 *    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN) when set;
 *    otherwise the profile AWS_PROFILE or "default".  No credentials at all
 *    is allowed (anonymous) only when nothing names a profile.
 *  - region: explicit > AWS_REGION > AWS_DEFAULT_REGION > profile "region"
 *    > "us-east-1".
 *  - endpoint: explicit > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > profile
 *    "s3 = endpoint_url" sub-setting > profile "endpoint_url" >
 *    https://s3.REGION.amazonaws.com.
 *  - addressing: explicit > path for an IP-address or localhost endpoint >
 *    profile "s3 = addressing_style" > virtual.
 * Files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and
 * AWS_CONFIG_FILE (default ~/.aws/config).  In the config file profiles are
 * "[profile NAME]" (and "[default]"); in the credentials file "[NAME]".
 * A credentials file readable by group or others draws a warning.
 */
#ifndef S3B_CONFIG_H
#define S3B_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Style requested: unset lets the rules above decide. */
enum s3b_style { S3B_STYLE_UNSET = 0, S3B_STYLE_PATH, S3B_STYLE_VIRTUAL };

/* What the user asked for one bucket (command line or defaults). */
struct s3b_config_request {
	const char *profile;   /* NULL: not named */
	const char *endpoint;  /* NULL: not given */
	const char *region;    /* NULL: not given */
	enum s3b_style style;
};

/* The result; every string is owned (s3b_config_free). */
struct s3b_config {
	char *profile;        /* the profile used, or NULL (environment/anonymous) */
	char *endpoint;       /* full URL with scheme, no trailing '/' */
	char *region;
	bool path_style;
	char *access_key;     /* NULL: anonymous */
	char *secret_key;
	char *session_token;
	const char *cred_source; /* "environment", "credentials file", "config file", "none" (static) */
};

/* Environment lookup, a test seam: NULL means getenv(3). */
typedef const char *(*s3b_getenv_fn)(const char *name);

/* Resolve.  0 on success; otherwise a positive errno and a one-line reason
 * in why (which never contains a secret): ENOENT for a named profile that
 * does not exist, EINVAL for a malformed file or value, EACCES for a file
 * that cannot be read. */
int s3b_config_resolve(const struct s3b_config_request *req, s3b_getenv_fn env,
		       struct s3b_config *out, char *why, size_t whylen);
void s3b_config_free(struct s3b_config *c);

/* True when the endpoint's host is an IP address or "localhost". */
bool s3b_endpoint_is_local(const char *endpoint);

/* ---- the ini reader (AWS flavour), exposed for tests and fuzzing ---- */

/* Called for each setting.  section is the header text as written inside
 * the brackets (trimmed), sub is the parent key of an indented sub-setting
 * ("s3" for "s3 =\n  endpoint_url = x") or NULL.  Return non-zero to stop
 * (that value is returned by the parser). */
typedef int (*s3b_ini_cb)(void *ctx, const char *section, const char *sub, const char *key,
			  const char *value, unsigned line);
/* Parse text (not necessarily NUL-terminated).  Comments start with '#' or
 * ';' at the start of a line.  0, the callback's value, or EINVAL with the
 * line number in *bad_line for a malformed line. */
int s3b_ini_parse(const char *text, size_t len, s3b_ini_cb cb, void *ctx, unsigned *bad_line);

#endif
