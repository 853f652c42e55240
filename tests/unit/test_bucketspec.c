/*
 * tests/unit/test_bucketspec.c — s3b_bucketspec_parse: a table of good
 * BUCKET arguments with every parsed field written out, and a table of bad
 * ones with the words their reason must contain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bucketspec.h"
#include "check.h"

struct good_case {
	const char *arg;
	const char *name, *bucket, *prefix;
	const char *profile, *endpoint, *region; /* NULL: not given */
	enum s3b_style style;
	bool ro;
};

static const struct good_case good[] = {
	{ .arg = "s3://b0b", .name = "b0b", .bucket = "b0b", .prefix = "" },
	{ .arg = "s3://bkt/", .name = "bkt", .bucket = "bkt", .prefix = "" },
	{ .arg = "s3://bkt/pre/fix", .name = "bkt", .bucket = "bkt", .prefix = "pre/fix/" },
	{ .arg = "s3://bkt/pre/fix/", .name = "bkt", .bucket = "bkt", .prefix = "pre/fix/" },
	{ .arg = "s3://bkt/a", .name = "bkt", .bucket = "bkt", .prefix = "a/" },
	{ .arg = "s3://bkt/.hidden/x..y/...", .name = "bkt", .bucket = "bkt",
	  .prefix = ".hidden/x..y/.../" },
	{ .arg = "old=s3://my-bucket/data?ro=1", .name = "old", .bucket = "my-bucket",
	  .prefix = "data/", .ro = true },
	{ .arg = "s3://b0b?endpoint=http://10.0.0.5:9000&ro=1&profile=new&region=eu-west-1"
		 "&style=path",
	  .name = "b0b", .bucket = "b0b", .prefix = "", .profile = "new",
	  .endpoint = "http://10.0.0.5:9000", .region = "eu-west-1", .style = S3B_STYLE_PATH,
	  .ro = true },
	{ .arg = "new=s3://new.bucket-2/x/y?profile=new&style=virtual", .name = "new",
	  .bucket = "new.bucket-2", .prefix = "x/y/", .profile = "new",
	  .style = S3B_STYLE_VIRTUAL },
	{ .arg = "s3://abc?ro=true", .name = "abc", .bucket = "abc", .prefix = "", .ro = true },
	{ .arg = "s3://abc?ro=false", .name = "abc", .bucket = "abc", .prefix = "" },
	{ .arg = "s3://abc?ro=0", .name = "abc", .bucket = "abc", .prefix = "" },
	/* a value runs to the next '&': '=' and ':' and '/' are kept */
	{ .arg = "s3://abc?endpoint=https://s3.example.com/base=1&region=x", .name = "abc",
	  .bucket = "abc", .prefix = "", .endpoint = "https://s3.example.com/base=1",
	  .region = "x" },
	/* no percent-decoding */
	{ .arg = "s3://abc?profile=a%20b", .name = "abc", .bucket = "abc", .prefix = "",
	  .profile = "a%20b" },
	/* NAME is what precedes the first "=s3://" */
	{ .arg = "a=b=s3://abc", .name = "a=b", .bucket = "abc", .prefix = "" },
	{ .arg = ".hidden=s3://abc", .name = ".hidden", .bucket = "abc", .prefix = "" },
	{ .arg = "with space=s3://abc", .name = "with space", .bucket = "abc", .prefix = "" },
	/* 63 characters, the longest bucket name */
	{ .arg = "s3://a23456789012345678901234567890123456789012345678901234567890123",
	  .name = "a23456789012345678901234567890123456789012345678901234567890123",
	  .bucket = "a23456789012345678901234567890123456789012345678901234567890123",
	  .prefix = "" },
	{ .arg = "s3://1.2.3", .name = "1.2.3", .bucket = "1.2.3", .prefix = "" },
	{ .arg = "s3://a-b.c-d", .name = "a-b.c-d", .bucket = "a-b.c-d", .prefix = "" },
	/* the prefix keeps bytes S3 allows in keys */
	{ .arg = "s3://abc/a b&c=d", .name = "abc", .bucket = "abc", .prefix = "a b&c=d/" },
};

struct bad_case {
	const char *arg;
	const char *reason; /* a substring the reason must contain */
};

static const struct bad_case bad[] = {
	{ "", "missing s3://" },
	{ "my-bucket", "missing s3://" },
	{ "s3:/abc", "missing s3://" },
	{ "S3://abc", "missing s3://" },
	{ "https://abc", "missing s3://" },
	{ "s3:/\nabc\r?\x7f", "s3:/?abc??\x3f" }, /* control characters are not echoed */
	{ "s3://abc?profile=p&style=\n", "not '?'" },
	{ "name=abc", "missing s3://" },
	{ "s3://", "empty bucket" },
	{ "s3:///pre", "empty bucket" },
	{ "s3://?ro=1", "empty bucket" },
	{ "x=s3://", "empty bucket" },
	{ "s3://ab", "3 to 63" },
	{ "s3://a234567890123456789012345678901234567890123456789012345678901234", "3 to 63" },
	{ "s3://My-Bucket", "lowercase letters" },
	{ "s3://my_bucket", "lowercase letters" },
	{ "s3://-abc", "start and end" },
	{ "s3://abc-", "start and end" },
	{ "s3://.abc", "start and end" },
	{ "s3://abc.", "start and end" },
	{ "s3://a..b", "'..'" },
	{ "s3://192.168.5.4", "IP address" },
	{ "s3://abc?foo=1", "unknown option 'foo'" },
	{ "s3://abc?Ro=1", "unknown option 'Ro'" },
	{ "s3://abc?ro=1&ro=0", "'ro' is given twice" },
	{ "s3://abc?profile=a&profile=b", "'profile' is given twice" },
	{ "s3://abc?ro=yes", "ro must be" },
	{ "s3://abc?ro=", "ro must be" },
	{ "s3://abc?style=auto", "style must be path or virtual" },
	{ "s3://abc?style=PATH", "style must be path or virtual" },
	{ "s3://abc?ro", "'ro' has no value" },
	{ "s3://abc?profile=", "'profile' has an empty value" },
	{ "s3://abc?endpoint=", "'endpoint' has an empty value" },
	{ "s3://abc?region=", "'region' has an empty value" },
	{ "s3://abc?", "empty option" },
	{ "s3://abc?ro=1&", "empty option" },
	{ "s3://abc?&ro=1", "empty option" },
	{ "s3://abc?ro=1&&region=x", "empty option" },
	{ "=s3://abc", "NAME '' is empty" },
	{ "a/b=s3://abc", "must not contain '/'" },
	{ ".=s3://abc", "not a usable directory name" },
	{ "..=s3://abc", "not a usable directory name" },
	{ ".integrity=s3://abc", "reserved" },
	{ "s3://abc//x", "empty segment" },
	{ "s3://abc//", "empty segment" },
	{ "s3://abc/x//y", "empty segment" },
	{ "s3://abc/x//", "empty segment" },
	{ "s3://abc/./x", "'.' or '..' segment" },
	{ "s3://abc/x/..", "'.' or '..' segment" },
	{ "s3://abc/x/../y/", "'.' or '..' segment" },
	{ "s3://abc/.", "'.' or '..' segment" },
};

static void check_good(const struct good_case *c)
{
	struct s3b_bucketspec s;
	char why[256] = "unchanged";
	int rc = s3b_bucketspec_parse(c->arg, &s, why, sizeof(why));

	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  arg [%s]: %s\n", c->arg, why);
		return;
	}
	CHECK_STR(s.name, c->name);
	CHECK_STR(s.bucket, c->bucket);
	CHECK_STR(s.prefix, c->prefix);
	if (c->profile)
		CHECK_STR(s.profile, c->profile);
	else
		CHECK(s.profile == NULL);
	if (c->endpoint)
		CHECK_STR(s.endpoint, c->endpoint);
	else
		CHECK(s.endpoint == NULL);
	if (c->region)
		CHECK_STR(s.region, c->region);
	else
		CHECK(s.region == NULL);
	CHECK_INT(s.style, c->style);
	CHECK_INT(s.ro, c->ro);
	s3b_bucketspec_free(&s);
	CHECK(s.name == NULL && s.bucket == NULL && s.prefix == NULL);
}

static void check_bad(const struct bad_case *c)
{
	struct s3b_bucketspec s;
	char why[256] = "";
	int rc = s3b_bucketspec_parse(c->arg, &s, why, sizeof(why));

	CHECK_INT(rc, EINVAL);
	if (!strstr(why, c->reason)) {
		CHECK(!"reason lacks the expected words");
		fprintf(stderr, "  arg [%s]\n  got  [%s]\n  want [...%s...]\n", c->arg, why,
			c->reason);
	}
	CHECK(strchr(why, '\n') == NULL);
	/* *out is left zeroed */
	CHECK(s.name == NULL && s.bucket == NULL && s.prefix == NULL && s.profile == NULL &&
	      s.endpoint == NULL && s.region == NULL && s.style == S3B_STYLE_UNSET && !s.ro);
}

/* Long inputs: a 255-byte NAME is fine, 256 is not; a 1024-byte prefix is
 * fine, 1025 is not. */
static void check_limits(void)
{
	char arg[1200], why[256];
	struct s3b_bucketspec s;

	memset(arg, 'n', 255);
	memcpy(arg + 255, "=s3://abc", 10);
	CHECK_INT(s3b_bucketspec_parse(arg, &s, why, sizeof(why)), 0);
	CHECK_INT(s.name ? strlen(s.name) : 0, 255);
	s3b_bucketspec_free(&s);

	memset(arg, 'n', 256);
	memcpy(arg + 256, "=s3://abc", 10);
	CHECK_INT(s3b_bucketspec_parse(arg, &s, why, sizeof(why)), EINVAL);
	CHECK(strstr(why, "longer than 255") != NULL);

	memcpy(arg, "s3://abc/", 9);
	memset(arg + 9, 'p', 1024);
	arg[9 + 1024] = '\0';
	CHECK_INT(s3b_bucketspec_parse(arg, &s, why, sizeof(why)), 0);
	CHECK_INT(s.prefix ? strlen(s.prefix) : 0, 1025);
	s3b_bucketspec_free(&s);
	arg[9 + 1024] = '/'; /* the trailing '/' does not count */
	arg[9 + 1025] = '\0';
	CHECK_INT(s3b_bucketspec_parse(arg, &s, why, sizeof(why)), 0);
	s3b_bucketspec_free(&s);
	arg[9 + 1024] = 'p';
	CHECK_INT(s3b_bucketspec_parse(arg, &s, why, sizeof(why)), EINVAL);
	CHECK(strstr(why, "longer than 1024") != NULL);

	/* a tiny or absent why buffer is not overrun */
	CHECK_INT(s3b_bucketspec_parse("s3://A", &s, why, 1), EINVAL);
	CHECK_INT(why[0], '\0');
	CHECK_INT(s3b_bucketspec_parse("s3://A", &s, NULL, 0), EINVAL);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		check_good(&good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(&bad[i]);
	check_limits();
	return check_report();
}
