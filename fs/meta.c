/* fs/meta.c — see meta.h. */
#include "meta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

int s3b_meta_parse_time(const char *s, struct timespec *out)
{
	char *end;
	long long sec;
	long nsec = 0;

	if (!s || !((*s >= '0' && *s <= '9') || *s == '-'))
		return EINVAL;
	errno = 0;
	sec = strtoll(s, &end, 10);
	if (errno || end == s)
		return EINVAL;
	if (*end == '.') {
		long scale = 100000000L;

		for (end++; *end >= '0' && *end <= '9'; end++) {
			nsec += (*end - '0') * scale;
			scale /= 10;
		}
	}
	/* rclone may write an exponent-free float; anything else is junk */
	if (*end)
		return EINVAL;
	out->tv_sec = (time_t)sec;
	out->tv_nsec = nsec;
	return 0;
}

void s3b_meta_parse(const struct s3_meta *m, struct s3b_posix_meta *out)
{
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (parse_u64(s3_meta_get(m, "mode"), 0xffffffffu, &v)) {
		out->has_mode = true;
		out->mode = (mode_t)v;
	}
	if (parse_u64(s3_meta_get(m, "uid"), 0xffffffffu, &v)) {
		out->has_uid = true;
		out->uid = (uid_t)v;
	}
	if (parse_u64(s3_meta_get(m, "gid"), 0xffffffffu, &v)) {
		out->has_gid = true;
		out->gid = (gid_t)v;
	}
	if (s3b_meta_parse_time(s3_meta_get(m, "mtime"), &out->mtime) == 0)
		out->has_mtime = true;
}

int s3b_meta_apply(struct s3_meta *m, const struct s3b_posix_meta *pm)
{
	char v[64];
	int rc = 0;

	if (pm->has_mode) {
		snprintf(v, sizeof(v), "%u", (unsigned)pm->mode);
		rc = s3_meta_set(m, "mode", v);
	}
	if (!rc && pm->has_uid) {
		snprintf(v, sizeof(v), "%u", (unsigned)pm->uid);
		rc = s3_meta_set(m, "uid", v);
	}
	if (!rc && pm->has_gid) {
		snprintf(v, sizeof(v), "%u", (unsigned)pm->gid);
		rc = s3_meta_set(m, "gid", v);
	}
	if (!rc && pm->has_mtime) {
		snprintf(v, sizeof(v), "%lld.%09ld", (long long)pm->mtime.tv_sec, pm->mtime.tv_nsec);
		rc = s3_meta_set(m, "mtime", v);
	}
	return rc;
}

int s3b_meta_copy(struct s3_meta *dst, const struct s3_meta *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src)
		return 0;
	if (src->content_type && !(dst->content_type = strdup(src->content_type)))
		return ENOMEM;
	for (size_t i = 0; i < src->n; i++)
		if (s3_meta_set(dst, src->kv[i].name, src->kv[i].value)) {
			s3_meta_free(dst);
			return ENOMEM;
		}
	return 0;
}
