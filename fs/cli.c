/*
 * fs/cli.c — the command line of `s3bridge mount`: every option as a long
 * option and as -o key=value (so mount(8), /etc/fstab and mount.s3bridge
 * work).  Parsing happens here and nowhere else; the result is plain data
 * (struct s3b_mount_conf).  Messages name the option and say what to do.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mount.h"

void s3b_cli_usage(FILE *out)
{
	fputs(
"usage: s3bridge mount [OPTIONS] BUCKET... MOUNTPOINT\n"
"       s3bridge unmount MOUNTPOINT\n"
"       s3bridge status [--once] [--interval SECS] MOUNTPOINT [SOURCE_DIR]\n"
"       s3bridge --help | --version\n"
"\n"
"Mounts every BUCKET as a directory of MOUNTPOINT (plus .integrity/), so that\n"
"cp -r or rsync -a between them is a verified migration.\n"
"\n"
"BUCKET is [NAME=]s3://bucket[/prefix][?key=value&...] with the keys\n"
"  profile=P  endpoint=URL  region=R  style=path|virtual  ro=1\n"
"  e.g.  old=s3://legacy-data?ro=1  s3://new-data?profile=new&endpoint=http://10.0.0.5:9000\n"
"\n"
"Options (each also as -o key=value, e.g. -o part_size=16M):\n"
"  --endpoint URL       default endpoint (else AWS_ENDPOINT_URL or the profile's)\n"
"  --region R           default region (else AWS_REGION or the profile's)\n"
"  --profile P          default profile of ~/.aws/config and ~/.aws/credentials\n"
"  --path-style         path-style addressing (implied for IP and localhost endpoints)\n"
"  --part-size SIZE     multipart part size (default: automatic, 8M and up)\n"
"  --parallel N         parts or ranges in flight per file (default 4)\n"
"  --max-memory SIZE    memory for data buffers, whole mount (default 256M)\n"
"  --read-ahead SIZE    bytes per ranged GET when reading (default 8M)\n"
"  --verify=MODE        stream (default) or readback (also re-read each object)\n"
"  --journal PATH       the SQLite journal (default under ~/.local/state/s3bridge)\n"
"  --log-level LEVEL    error, warning, notice (default), info, debug\n"
"  --log-file PATH      log to a file (default: stderr with -f, else syslog)\n"
"  --cache-ttl SECONDS  how long listings are trusted (default 60)\n"
"  --attr-timeout SECS  kernel attribute and entry cache (default 5)\n"
"  --spool-dir DIR      temporary files for non-sequential writes (default $TMPDIR)\n"
"  --keep-sent SIZE     keep a local copy of uploaded parts of files up to SIZE, so\n"
"                       a program that goes back to rewrite them still works\n"
"                       (default 1G; 0: such a rewrite fails with EIO)\n"
"  --async-close N      let close() of up to N bridge copies (cp) return before the\n"
"                       copy is done; outcomes go to the journal only (default 0)\n"
"  --uid N, --gid N     owner shown for objects without metadata (default: you)\n"
"  --umask OCTAL        permissions of objects without metadata (default 022)\n"
"  --allow-other        let other users use the mount (needs user_allow_other)\n"
"  --allow-root         let root use the mount too\n"
"  --tls-no-verify      do not verify TLS certificates (insecure; logged)\n"
"  --ca-bundle FILE     CA certificates for TLS\n"
"  --no-etag-probe      do not probe how the server forms multipart ETags\n"
"  --threads N          FUSE worker threads (default 16)\n"
"  -f                   stay in the foreground\n"
"  -d                   debug: foreground, FUSE and S3 debug logging\n"
"  -o LIST              options as key=value[,key=value...]; -o ro makes every\n"
"                       bucket read-only\n"
"\n"
"Credentials and endpoints follow the AWS conventions: AWS_ACCESS_KEY_ID,\n"
"AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION,\n"
"AWS_ENDPOINT_URL, ~/.aws/credentials and ~/.aws/config (endpoint_url too).\n"
"See s3bridge(1).\n",
	      out);
}

int s3b_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || *s < '0' || *s > '9')
		return EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return EINVAL;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		case 't': case 'T': mult = 1ull << 40; break;
		default: return EINVAL;
		}
		end++;
		if (strcasecmp(end, "") != 0 && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
			return EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return EINVAL;
	*out = v * mult;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, int base, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > max)
		return EINVAL;
	*out = v;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "s3bridge: invalid value '%s' for %s: %s\n", val ? val : "", opt, want);
	return EINVAL;
}

/* fstab and mount(8) pass these; they mean nothing to s3bridge. */
static bool ignored_opt(const char *k)
{
	static const char *const names[] = {
		"rw", "defaults", "auto", "noauto", "user", "nouser", "users", "_netdev",
		"nofail", "dev", "nodev", "suid", "nosuid", "exec", "noexec", "atime",
		"noatime", "relatime", "default_permissions",
	};

	if (strncmp(k, "x-", 2) == 0 || strncmp(k, "comment=", 8) == 0 ||
	    strncmp(k, "user=", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(k, names[i]) == 0)
			return true;
	return false;
}

/* One option by its canonical name (dashes or underscores), value or NULL. */
static int apply_opt(struct s3b_mount_conf *c, const char *name, const char *val, bool *ro_all,
		     const char *dashes)
{
	char key[64];
	size_t i;
	unsigned long u;
	uint64_t sz;
	int rc = 0;

	for (i = 0; name[i] && i + 1 < sizeof(key); i++)
		key[i] = name[i] == '_' ? '-' : name[i];
	key[i] = '\0';

#define NEEDS_VALUE                                                                     \
	do {                                                                            \
		if (!val)                                                               \
			return bad(name, "", "this option needs a value");              \
	} while (0)
	if (strcmp(key, "endpoint") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->endpoint, val);
	} else if (strcmp(key, "region") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->region, val);
	} else if (strcmp(key, "profile") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->profile, val);
	} else if (strcmp(key, "path-style") == 0 || strcmp(key, "use-path-request-style") == 0) {
		c->path_style = true;
	} else if (strcmp(key, "part-size") == 0) {
		NEEDS_VALUE;
		if (s3b_parse_size(val, &sz) || (sz && sz < S3_MIN_PART_SIZE) || sz > S3_MAX_PART_SIZE)
			return bad(name, val, "a size from 5M to 5G (e.g. 16M), or 0 for automatic");
		c->part_size = sz;
	} else if (strcmp(key, "parallel") == 0) {
		NEEDS_VALUE;
		if (parse_uint(val, 64, 10, &u) || u == 0)
			return bad(name, val, "a number from 1 to 64");
		c->parallel = (unsigned)u;
	} else if (strcmp(key, "max-memory") == 0) {
		NEEDS_VALUE;
		if (s3b_parse_size(val, &sz) || sz < (32ull << 20))
			return bad(name, val, "a size of at least 32M (e.g. 512M)");
		c->max_memory = sz;
	} else if (strcmp(key, "read-ahead") == 0) {
		NEEDS_VALUE;
		if (s3b_parse_size(val, &sz) || sz < (64u << 10) || sz > (256u << 20))
			return bad(name, val, "a size from 64K to 256M");
		c->read_chunk = sz;
	} else if (strcmp(key, "verify") == 0) {
		NEEDS_VALUE;
		if (strcmp(val, "stream") == 0)
			c->verify = S3B_VERIFY_STREAM;
		else if (strcmp(val, "readback") == 0)
			c->verify = S3B_VERIFY_READBACK;
		else
			return bad(name, val, "stream or readback");
	} else if (strcmp(key, "journal") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->journal, val);
	} else if (strcmp(key, "log-level") == 0) {
		NEEDS_VALUE;
		if (s3b_log_level_parse(val) < 0)
			return bad(name, val, "error, warning, notice, info or debug");
		rc = set_str(&c->log_level, val);
	} else if (strcmp(key, "log-file") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->log_file, val);
	} else if (strcmp(key, "cache-ttl") == 0) {
		double v;

		NEEDS_VALUE;
		if (parse_seconds(val, 86400, &v))
			return bad(name, val, "seconds from 0 to 86400");
		c->cache_ttl_ms = (unsigned)(v * 1000);
	} else if (strcmp(key, "attr-timeout") == 0) {
		NEEDS_VALUE;
		if (parse_seconds(val, 3600, &c->attr_timeout))
			return bad(name, val, "seconds from 0 to 3600");
	} else if (strcmp(key, "spool-dir") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->spool_dir, val);
	} else if (strcmp(key, "keep-sent") == 0) {
		NEEDS_VALUE;
		if (s3b_parse_size(val, &sz))
			return bad(name, val, "a size such as 4G, or 0 for none");
		c->keep_sent = sz;
	} else if (strcmp(key, "async-close") == 0) {
		NEEDS_VALUE;
		if (parse_uint(val, 64, 10, &u))
			return bad(name, val, "a number from 0 to 64");
		c->async_close = (unsigned)u;
	} else if (strcmp(key, "uid") == 0) {
		NEEDS_VALUE;
		if (parse_uint(val, 0xfffffffe, 10, &u))
			return bad(name, val, "a numeric user id");
		c->uid = (long)u;
	} else if (strcmp(key, "gid") == 0) {
		NEEDS_VALUE;
		if (parse_uint(val, 0xfffffffe, 10, &u))
			return bad(name, val, "a numeric group id");
		c->gid = (long)u;
	} else if (strcmp(key, "umask") == 0) {
		NEEDS_VALUE;
		if (parse_uint(val, 0777, 8, &u))
			return bad(name, val, "an octal mask such as 022");
		c->umask = (long)u;
	} else if (strcmp(key, "allow-other") == 0) {
		c->allow_other = true;
	} else if (strcmp(key, "allow-root") == 0) {
		c->allow_root = true;
	} else if (strcmp(key, "tls-no-verify") == 0) {
		c->tls_no_verify = true;
	} else if (strcmp(key, "ca-bundle") == 0) {
		NEEDS_VALUE;
		rc = set_str(&c->ca_bundle, val);
	} else if (strcmp(key, "no-etag-probe") == 0) {
		c->probe_etag = false;
	} else if (strcmp(key, "threads") == 0) {
		NEEDS_VALUE;
		if (parse_uint(val, 1024, 10, &u) || u < 2)
			return bad(name, val, "a number from 2 to 1024");
		c->max_threads = (unsigned)u;
	} else if (strcmp(key, "foreground") == 0) {
		c->foreground = true;
	} else if (strcmp(key, "debug") == 0) {
		c->debug = c->foreground = true;
	} else if (strcmp(key, "ro") == 0) {
		*ro_all = true;
	} else {
		fprintf(stderr, "s3bridge: unknown option '%s%s' (see s3bridge mount --help)\n", dashes,
			name);
		return EINVAL;
	}
#undef NEEDS_VALUE
	return rc;
}

/* -o a=b,c,d=e */
static int apply_o_list(struct s3b_mount_conf *c, const char *list, bool *ro_all)
{
	char *copy = strdup(list), *p, *save = NULL;
	int rc = 0;

	if (!copy)
		return ENOMEM;
	for (p = copy; p && !rc; p = save) {
		char *comma = strchr(p, ','), *eq;

		save = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		if (!*p || ignored_opt(p))
			continue;
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		rc = apply_opt(c, p, eq ? eq + 1 : NULL, ro_all, "");
	}
	free(copy);
	return rc;
}

static void conf_defaults(struct s3b_mount_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->parallel = 4;
	c->max_memory = 256ull << 20;
	c->keep_sent = 1ull << 30;
	c->read_chunk = 8ull << 20;
	c->cache_ttl_ms = 60000;
	c->attr_timeout = 5;
	c->uid = c->gid = c->umask = -1;
	c->max_threads = 16;
	c->probe_etag = true;
}

void s3b_mount_conf_free(struct s3b_mount_conf *c)
{
	for (size_t i = 0; i < c->n_buckets; i++)
		free(c->bucket_args[i]);
	free(c->bucket_args);
	free(c->mountpoint);
	free(c->endpoint);
	free(c->region);
	free(c->profile);
	free(c->journal);
	free(c->log_level);
	free(c->log_file);
	free(c->spool_dir);
	free(c->ca_bundle);
	memset(c, 0, sizeof(*c));
}

int s3b_cli_parse_mount(int argc, char **argv, struct s3b_mount_conf *c)
{
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	size_t npos = 0;
	bool ro_all = false, no_more_opts = false;
	int rc = 0;

	conf_defaults(c);
	if (!pos)
		return ENOMEM;
	for (int i = 1; i < argc && !rc; i++) {
		const char *a = argv[i];

		if (no_more_opts || a[0] != '-' || a[1] == '\0') {
			pos[npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			no_more_opts = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			s3b_cli_usage(stdout);
			rc = 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("s3bridge %s\n", S3B_VERSION);
			rc = 1;
		} else if (strcmp(a, "-f") == 0) {
			c->foreground = true;
		} else if (strcmp(a, "-d") == 0) {
			c->debug = c->foreground = true;
		} else if (strcmp(a, "-o") == 0 || strncmp(a, "-o", 2) == 0) {
			const char *list = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!list) {
				fprintf(stderr, "s3bridge: -o needs a list of options\n");
				rc = EINVAL;
			} else {
				rc = apply_o_list(c, list, &ro_all);
			}
		} else if (strncmp(a, "--", 2) == 0) {
			const char *name = a + 2, *eq = strchr(name, '=');
			char opt[64];
			const char *val = NULL;
			size_t nl = eq ? (size_t)(eq - name) : strlen(name);

			if (nl >= sizeof(opt)) {
				fprintf(stderr, "s3bridge: unknown option '%s'\n", a);
				rc = EINVAL;
				break;
			}
			memcpy(opt, name, nl);
			opt[nl] = '\0';
			if (eq) {
				val = eq + 1;
			} else {
				static const char *const flags[] = {
					"path-style", "allow-other", "allow-root", "tls-no-verify",
					"no-etag-probe", "foreground", "debug", "ro",
				};
				bool is_flag = false;

				for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
					is_flag |= strcmp(opt, flags[f]) == 0;
				if (!is_flag && i + 1 < argc)
					val = argv[++i];
			}
			rc = apply_opt(c, opt, val, &ro_all, "--");
		} else {
			fprintf(stderr, "s3bridge: unknown option '%s' (see s3bridge mount --help)\n", a);
			rc = EINVAL;
		}
	}
	if (!rc && npos < 2) {
		fprintf(stderr, "s3bridge: mount needs at least one BUCKET and a MOUNTPOINT "
				"(see s3bridge mount --help)\n");
		rc = EINVAL;
	}
	if (!rc) {
		c->mountpoint = strdup(pos[npos - 1]);
		c->n_buckets = npos - 1;
		c->bucket_args = calloc(c->n_buckets, sizeof(char *));
		if (!c->mountpoint || !c->bucket_args)
			rc = ENOMEM;
		for (size_t i = 0; !rc && i < c->n_buckets; i++) {
			/* mount(8) hands the fstab source as one comma-separated word */
			c->bucket_args[i] = strdup(pos[i]);
			if (!c->bucket_args[i])
				rc = ENOMEM;
		}
	}
	if (!rc && ro_all) {
		/* -o ro: every bucket read-only */
		for (size_t i = 0; !rc && i < c->n_buckets; i++) {
			const char *a = c->bucket_args[i];
			size_t l = strlen(a);
			char *n = malloc(l + 6);

			if (!n) {
				rc = ENOMEM;
				break;
			}
			snprintf(n, l + 6, "%s%sro=1", a, strchr(a, '?') ? "&" : "?");
			free(c->bucket_args[i]);
			c->bucket_args[i] = n;
		}
	}
	free(pos);
	if (rc)
		s3b_mount_conf_free(c);
	return rc;
}
