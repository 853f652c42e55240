/*
 * fs/mount.c — a mount's life: resolve each bucket's configuration, check
 * every bucket before mounting (fail fast with one line naming the bucket
 * and the cause), probe how each writable server forms multipart ETags,
 * mount, daemonize only once the mount is ready (so the exit status of
 * `s3bridge mount` tells whether it worked), serve, and tear down.
 *
 * Threads (the worker pool, libfuse's loop) start after the fork; the
 * clients used for the checks are discarded before it.
 */
#define FUSE_USE_VERSION 35
#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsint.h"
#include "hash.h"
#include "log.h"
#include "mount.h"

#define CHECK_ATTEMPTS 3
#define CHECK_BUDGET_MS 8000

static void fail_line(const struct s3b_bucketspec *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line on stderr naming the bucket, then the cause. */
static void fail_line(const struct s3b_bucketspec *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "s3bridge: bucket '%s' (s3://%s): ", s->name ? s->name : "?",
		s->bucket ? s->bucket : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void client_conf(const struct s3b_mount_conf *mc, const struct s3b_bucket *b,
			struct s3_client_conf *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->endpoint = b->cfg.endpoint;
	cc->region = b->cfg.region;
	cc->bucket = b->spec.bucket;
	cc->path_style = b->cfg.path_style;
	cc->access_key = b->cfg.access_key;
	cc->secret_key = b->cfg.secret_key;
	cc->session_token = b->cfg.session_token;
	cc->tls_no_verify = mc->tls_no_verify;
	cc->ca_bundle = mc->ca_bundle;
	cc->max_connections = 4 * (mc->parallel ? mc->parallel : 4) + 8;
}

/* Split a BUCKET argument of an fstab source ("s3://a?ro=1,s3://b") into
 * specs; a comma starts a new spec only when "s3://" follows in it. */
static int split_args(const struct s3b_mount_conf *c, char ***out, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0;

	for (size_t i = 0; i < c->n_buckets; i++) {
		const char *a = c->bucket_args[i];

		while (*a) {
			const char *comma = strchr(a, ','), *end = a + strlen(a);

			while (comma) {
				const char *next = strchr(comma + 1, ',');
				const char *stop = next ? next : end;
				const char *s3 = strstr(comma + 1, "s3://");

				if (s3 && s3 < stop)
					break;
				comma = next;
			}
			end = comma ? comma : end;
			char **nv = realloc(v, (cnt + 1) * sizeof(*v));

			if (!nv)
				goto nomem;
			v = nv;
			v[cnt] = strndup(a, (size_t)(end - a));
			if (!v[cnt])
				goto nomem;
			cnt++;
			a = comma ? comma + 1 : end;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
nomem:
	for (size_t i = 0; i < cnt; i++)
		free(v[i]);
	free(v);
	return ENOMEM;
}

static int setup_buckets(struct s3b_mount *m)
{
	char **args = NULL;
	size_t n = 0;
	int rc = split_args(&m->conf, &args, &n);

	if (rc)
		return rc;
	m->buckets = calloc(n, sizeof(*m->buckets));
	if (!m->buckets) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct s3b_bucket *b = &m->buckets[i];
		char why[512];

		b->index = (unsigned)i;
		rc = s3b_bucketspec_parse(args[i], &b->spec, why, sizeof(why));
		if (rc) {
			fprintf(stderr, "s3bridge: bad BUCKET '%s': %s\n", args[i], why);
			goto out;
		}
		m->n_buckets = i + 1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->buckets[j].spec.name, b->spec.name) == 0) {
				fprintf(stderr, "s3bridge: two buckets would be the directory '%s'; "
						"name one of them: NAME=s3://...\n", b->spec.name);
				rc = EINVAL;
				goto out;
			}
		struct s3b_config_request req = {
			.profile = b->spec.profile ? b->spec.profile : m->conf.profile,
			.endpoint = b->spec.endpoint ? b->spec.endpoint : m->conf.endpoint,
			.region = b->spec.region ? b->spec.region : m->conf.region,
			.style = b->spec.style != S3B_STYLE_UNSET ? b->spec.style
				 : m->conf.path_style ? S3B_STYLE_PATH : S3B_STYLE_UNSET,
		};
		rc = s3b_config_resolve(&req, NULL, &b->cfg, why, sizeof(why));
		if (rc) {
			fail_line(&b->spec, "%s", why);
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return rc;
}

/* HeadBucket with a short retry budget; one clear line on failure. */
static int check_bucket(const struct s3b_mount *m, const struct s3b_bucket *b)
{
	struct s3_client_conf cc;
	struct s3_client *c;
	struct s3_error err;
	char text[512];
	int rc;

	client_conf(&m->conf, b, &cc);
	cc.max_attempts = CHECK_ATTEMPTS;
	cc.max_retry_ms = CHECK_BUDGET_MS;
	cc.connect_timeout_ms = 4000;
	cc.low_speed_secs = 8;
	rc = s3_client_create(&cc, &c);
	if (rc) {
		fail_line(&b->spec, "cannot use endpoint %s", b->cfg.endpoint);
		return rc;
	}
	/* a one-key listing, not HeadBucket: it checks the right to list, and
	 * its error body names the cause (a HEAD answer has no body) */
	struct s3_list_params lp = { .prefix = b->spec.prefix, .max_keys = 1 };
	struct s3_list_page page;

	rc = s3_list_objects(c, &lp, &page, &err);
	if (!rc)
		s3_list_page_free(&page);
	s3_client_destroy(c);
	if (!rc)
		return 0;
	s3_error_format(&err, text, sizeof(text));
	if (rc == ENOENT && err.http_status == 404) {
		fail_line(&b->spec, "the bucket does not exist at %s", b->cfg.endpoint);
	} else if (rc == EACCES || err.http_status == 403) {
		const char *hint = strcmp(err.code, "SignatureDoesNotMatch") == 0
			? "the secret key does not match the access key"
			: strcmp(err.code, "InvalidAccessKeyId") == 0 ? "the access key is not known"
			: strstr(err.code, "Token") ? "the session token is expired or invalid"
			: "access denied";
		fprintf(stderr, "s3bridge: bucket '%s' (s3://%s): %s (%s); check the credentials "
				"(%s%s%s)\n",
			b->spec.name, b->spec.bucket, hint, err.code[0] ? err.code : "HTTP 403",
			b->cfg.profile ? "profile " : "", b->cfg.profile ? b->cfg.profile : "",
			b->cfg.profile ? "" : b->cfg.cred_source);
	} else if (err.http_status == 0) {
		fprintf(stderr, "s3bridge: bucket '%s' (s3://%s): cannot reach %s: %s\n", b->spec.name,
			b->spec.bucket, b->cfg.endpoint, err.message);
	} else if (err.http_status == 301 || rc == EREMOTE) {
		fail_line(&b->spec, "the bucket is in another region (%s); set region=",
			  text);
	} else {
		fail_line(&b->spec, "the server refused: %s", text);
	}
	return rc ? rc : EIO;
}

/* How does this server form a multipart upload's ETag?  One tiny upload
 * of one part tells: md5(md5(part))-1 (AWS, RGW) or md5(body) (s3rver). */
static int probe_etag_style(struct s3b_bucket *b)
{
	static const char body[] = "s3bridge multipart ETag probe";
	struct s3_error err;
	struct s3_part part = { .number = 1 };
	struct s3_object_info info;
	char key[128], *upload = NULL, etag[S3B_ETAG_MAX], want_whole[S3B_ETAG_MAX];
	char want_comp[S3B_ETAG_MAX];
	uint8_t md5[16];
	struct s3b_etag_builder eb;
	int rc;

	snprintf(key, sizeof(key), "%s.s3bridge-probe-%ld-%d", b->spec.prefix, (long)time(NULL),
		 (int)getpid());
	s3b_md5(body, sizeof(body) - 1, md5);
	s3b_etag_from_md5(md5, want_whole);
	if (s3b_etag_builder_init(&eb))
		return ENOMEM;
	s3b_etag_builder_add(&eb, md5);
	s3b_etag_builder_final(&eb, want_comp);
	rc = s3_create_multipart(b->client, key, NULL, &upload, &err);
	if (!rc)
		rc = s3_upload_part(b->client, key, upload, 1, body, sizeof(body) - 1, md5, part.etag,
				    &err);
	if (!rc)
		rc = s3_complete_multipart(b->client, key, upload, &part, 1, etag, &err);
	if (rc) {
		char text[512];

		s3_error_format(&err, text, sizeof(text));
		if (upload)
			s3_abort_multipart(b->client, key, upload, NULL);
		free(upload);
		if (rc == EACCES)
			fail_line(&b->spec, "cannot write to the bucket (%s); mount it with ro=1 to "
					    "only read it", text);
		else
			fail_line(&b->spec, "a test upload failed: %s", text);
		return rc;
	}
	free(upload);
	rc = s3_head_object(b->client, key, &info, &err);
	if (!rc) {
		if (strcmp(info.etag, want_whole) == 0) {
			b->store.etag_style = S3B_METAG_WHOLE_MD5;
			LOG_N("%s: this server gives multipart objects the MD5 of the whole object "
			      "as ETag (s3rver style); verification follows that",
			      b->spec.name);
		} else {
			b->store.etag_style = S3B_METAG_COMPOSITE;
			if (strcmp(info.etag, want_comp) != 0)
				LOG_W("%s: multipart ETags here are neither MD5s nor md5-of-md5s "
				      "(encryption?); objects are verified by size and stream "
				      "checksums only",
				      b->spec.name);
		}
		s3_object_info_free(&info);
	}
	s3_delete_object(b->client, key, NULL);
	return rc;
}

/* ~/.local/state/s3bridge/<mountpoint>.journal (XDG_STATE_HOME honoured):
 * the same mountpoint finds its journal again after a crash. */
static char *default_journal_path(const char *mountpoint)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char real[4096], dir[4096], *out;
	size_t n;

	if (!realpath(mountpoint, real))
		snprintf(real, sizeof(real), "%s", mountpoint);
	if (state && *state)
		snprintf(dir, sizeof(dir), "%s/s3bridge", state);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.local/state/s3bridge", home);
	else
		snprintf(dir, sizeof(dir), "/var/lib/s3bridge");
	/* mkdir -p, private */
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	mkdir(dir, 0700);
	for (char *p = real; *p; p++)
		if (*p == '/')
			*p = '_';
	n = strlen(dir) + strlen(real) + 16;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s.journal", dir, real[0] == '_' && real[1] ? real + 1 : real);
	return out;
}

/* Before mounting: the journal opens (an unusable one fails the mount),
 * records left pending by a crash become interrupted, and the multipart
 * uploads a crash left open are aborted on their servers. */
static int recover_journal(struct s3b_mount *m)
{
	struct s3b_journal *j;
	struct s3b_journal_upload *u = NULL;
	size_t n = 0, aborted = 0;
	char why[512];
	int rc;

	rc = s3b_journal_open(m->journal_path, &j, why, sizeof(why));
	if (rc) {
		fprintf(stderr, "s3bridge: journal '%s': %s\n", m->journal_path, why);
		return rc;
	}
	rc = s3b_journal_orphans(j, &u, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		struct s3b_bucket *b = NULL;
		struct s3_error err;

		for (size_t k = 0; k < m->n_buckets && !b; k++)
			if (strcmp(m->buckets[k].cfg.endpoint, u[i].endpoint) == 0 &&
			    strcmp(m->buckets[k].spec.bucket, u[i].bucket) == 0 && m->buckets[k].client)
				b = &m->buckets[k];
		if (!b) {
			LOG_W("journal: an upload to %s/%s at %s was left open by an earlier run; "
			      "mount that bucket to abort it", u[i].bucket, u[i].key, u[i].endpoint);
			continue;
		}
		int arc = s3_abort_multipart(b->client, u[i].key, u[i].upload_id, &err);

		if (arc == 0 || arc == ENOENT) {
			s3b_journal_upload_ended(j, u[i].upload_id);
			aborted++;
		} else {
			LOG_W("journal: cannot abort the upload of %s/%s left by an earlier run: %s "
			      "(HTTP %d)", b->spec.name, u[i].key, err.code, err.http_status);
		}
	}
	if (aborted)
		LOG_N("journal: aborted %zu upload(s) an earlier run left open", aborted);
	s3b_journal_uploads_free(u, n);
	rc = s3b_journal_sync(j);
	s3b_journal_close(j);
	return rc;
}

static int check_mountpoint(const char *mp)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(mp, &st) != 0) {
		fprintf(stderr, "s3bridge: mountpoint '%s': %s; create it with mkdir\n", mp,
			strerror(errno));
		return ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "s3bridge: mountpoint '%s' is not a directory\n", mp);
		return ENOTDIR;
	}
	d = opendir(mp);
	if (!d) {
		fprintf(stderr, "s3bridge: mountpoint '%s': %s\n", mp, strerror(errno));
		return errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			fprintf(stderr, "s3bridge: mountpoint '%s' is not empty (or already "
					"mounted); use an empty directory\n", mp);
			return ENOTEMPTY;
		}
	closedir(d);
	return 0;
}

static void mount_free(struct s3b_mount *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		s3_client_destroy(m->buckets[i].client);
		s3b_bucketspec_free(&m->buckets[i].spec);
		s3b_config_free(&m->buckets[i].cfg);
	}
	free(m->buckets);
	s3b_pool_destroy(m->pool);
	s3b_pairing_destroy(m->pairing);
	s3b_membudget_destroy(m->budget);
	s3b_dircache_destroy(m->dc);
	if (m->journal)
		s3b_journal_close(m->journal); /* drains and commits what is queued */
	free(m->journal_path);
	pthread_mutex_destroy(&m->open_lock);
}

static int create_clients(struct s3b_mount *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct s3b_bucket *b = &m->buckets[i];
		struct s3_client_conf cc;
		int rc;

		client_conf(&m->conf, b, &cc);
		rc = s3_client_create(&cc, &b->client);
		if (rc)
			return rc;
		enum s3b_multipart_etag style = b->store.etag_style;
		b->jstore = (struct s3b_store_journaled){ .client = b->client, .journal = m->journal,
							  .endpoint = b->cfg.endpoint,
							  .bucket = b->spec.bucket };
		s3b_store_s3_journaled(&b->jstore, style, &b->store);
	}
	return 0;
}

int s3b_mount_main(struct s3b_mount_conf *conf)
{
	struct s3b_mount m;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	struct fuse_loop_config lc = { .clone_fd = 0, .max_idle_threads = 8 };
	char opts[512];
	int rc, status = 1;

	memset(&m, 0, sizeof(m));
	m.conf = *conf;
	pthread_mutex_init(&m.open_lock, NULL);
	pthread_mutex_init(&m.ilock, NULL);
	clock_gettime(CLOCK_REALTIME, &m.started);
	m.uid = conf->uid >= 0 ? (uid_t)conf->uid : getuid();
	m.gid = conf->gid >= 0 ? (gid_t)conf->gid : getgid();
	m.umask = conf->umask >= 0 ? (mode_t)conf->umask : 022;
	if (conf->log_level)
		s3b_log_level = s3b_log_level_parse(conf->log_level);
	if (conf->debug)
		s3b_log_level = LOG_DEBUG;
	if (conf->log_file && s3b_log_open(S3B_LOG_FILE, conf->log_file)) {
		fprintf(stderr, "s3bridge: cannot open log file '%s': %s\n", conf->log_file,
			strerror(errno));
		goto out;
	}

	rc = setup_buckets(&m);
	if (rc)
		goto out;
	if (check_mountpoint(conf->mountpoint))
		goto out;
	for (size_t i = 0; i < m.n_buckets; i++)
		if (check_bucket(&m, &m.buckets[i]))
			goto out;
	/* clients for the probe (discarded before the fork) */
	if (create_clients(&m))
		goto out;
	for (size_t i = 0; i < m.n_buckets; i++) {
		struct s3b_bucket *b = &m.buckets[i];

		b->store.etag_style = S3B_METAG_COMPOSITE;
		if (b->spec.ro || !conf->probe_etag)
			continue;
		/* one probe per endpoint is enough */
		bool done = false;
		for (size_t j = 0; j < i && !done; j++)
			if (!m.buckets[j].spec.ro && conf->probe_etag &&
			    strcmp(m.buckets[j].cfg.endpoint, b->cfg.endpoint) == 0) {
				b->store.etag_style = m.buckets[j].store.etag_style;
				done = true;
			}
		if (!done && probe_etag_style(b))
			goto out;
	}
	m.journal_path = conf->journal ? strdup(conf->journal)
				       : default_journal_path(conf->mountpoint);
	if (!m.journal_path || recover_journal(&m))
		goto out;
	for (size_t i = 0; i < m.n_buckets; i++) {
		s3_client_destroy(m.buckets[i].client);
		m.buckets[i].client = NULL;
	}

	snprintf(opts, sizeof(opts),
		 "-ofsname=s3bridge,subtype=s3bridge,default_permissions,max_read=1048576%s%s",
		 conf->allow_other ? ",allow_other" : "", conf->allow_root ? ",allow_root" : "");
	if (fuse_opt_add_arg(&args, "s3bridge") || fuse_opt_add_arg(&args, opts) ||
	    (conf->debug && fuse_opt_add_arg(&args, "-d")))
		goto out;
	f = fuse_new(&args, s3b_fuse_operations(), sizeof(struct fuse_operations), &m);
	if (!f) {
		fprintf(stderr, "s3bridge: cannot set up FUSE (is /dev/fuse there?)\n");
		goto out;
	}
	if (fuse_mount(f, conf->mountpoint) != 0) {
		fprintf(stderr, "s3bridge: cannot mount on '%s' (see the line above)\n",
			conf->mountpoint);
		goto out_destroy;
	}
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		goto out_unmount;
	if (!conf->foreground) {
		if (fuse_daemonize(0) != 0)
			goto out_unmount;
		if (!conf->log_file)
			s3b_log_open(S3B_LOG_SYSLOG, NULL);
	}
	/* after the fork: threads, connections and the journal's writer */
	{
		char why[512];

		if (s3b_journal_open(m.journal_path, &m.journal, why, sizeof(why))) {
			LOG_E("journal '%s': %s", m.journal_path, why);
			goto out_unmount;
		}
	}
	LOG_N("journal: %s", m.journal_path);
	if (s3b_dircache_create(conf->cache_ttl_ms, 0, &m.dc) ||
	    s3b_membudget_create(conf->max_memory, &m.budget) ||
	    s3b_pool_create(2 * m.n_buckets * conf->parallel + 4, &m.pool) ||
	    s3b_pairing_create(4096, &m.pairing) ||
	    create_clients(&m)) {
		LOG_E("cannot start: out of memory or threads");
		goto out_unmount;
	}
	LOG_N("mounted %zu bucket(s) on %s", m.n_buckets, conf->mountpoint);
	lc.max_idle_threads = conf->max_threads;
	status = fuse_loop_mt(f, &lc) == 0 ? 0 : 1;
	s3b_files_finish(&m);
	LOG_N("unmounted %s", conf->mountpoint);
out_unmount:
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
out_destroy:
	fuse_destroy(f);
out:
	fuse_opt_free_args(&args);
	mount_free(&m);
	s3b_log_close();
	return status;
}
