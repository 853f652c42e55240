/*
 * fs/files.c — open files: the read side (a reader per handle, made on the
 * first read) and the write side (a writer: the streaming bridge), and the
 * commit at flush, where verification happens.  close(2) returns what
 * flush returns, so a file's close fails unless its object is complete and
 * verified.  Also here, because every commit needs them: the taint rule,
 * the journal helpers and the precommit check (files_impl.h).
 *
 * What it does not do: no namespace changes other than the object being
 * written (objops.c), no S3 requests of its own except reading an existing
 * object into a writer that modifies it.  Bridge copies (copy_file_range)
 * are bridgecopy.c's, rsync's parked temporary files parked.c's; this file
 * only calls them at write, truncate and flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files_impl.h"
#include "fsint.h"
#include "log.h"

#define SEED_CHUNK (8u << 20)
#define READBACK_CHUNK (1u << 20)

uint64_t s3b_files_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the taint rule ----
 * A source stream that did not match its object was served to a process;
 * the bytes may be anywhere in what its process group writes now (cp, cat,
 * and rsync's processes share one).  Until the group's open files are
 * closed, what it writes is refused at commit.  Conservative: a false
 * refusal costs a retry; a missed one would cost a wrong object. */
static void taint(struct s3b_mount *m, pid_t pid)
{
	pid_t g = pid > 0 ? getpgid(pid) : -1;

	pthread_mutex_lock(&m->open_lock);
	/* every file being written now may hold some of those bytes (the
	 * kernel's read-ahead may have fetched them for anyone): refuse them
	 * all; a false refusal costs a retry, a missed one a wrong object */
	for (struct s3b_fh *o = m->open_files; o; o = o->next)
		if (o->writable)
			o->suspect = true;
	for (struct s3b_parked *p = m->parked; p; p = p->next)
		p->suspect = true;
	if (g <= 0) {
		pthread_mutex_unlock(&m->open_lock);
		return;
	}
	m->taint[m->taint_next].pgid = g > 0 ? g : pid;
	m->taint[m->taint_next].ms = s3b_files_mono_ms();
	m->taint_next = (m->taint_next + 1) % (sizeof(m->taint) / sizeof(m->taint[0]));
	pthread_mutex_unlock(&m->open_lock);
}

static bool tainted_since(struct s3b_mount *m, pid_t pgid, uint64_t since)
{
	bool t = false;

	if (!pgid)
		return false;
	pthread_mutex_lock(&m->open_lock);
	for (size_t i = 0; i < sizeof(m->taint) / sizeof(m->taint[0]); i++)
		if (m->taint[i].pgid == pgid && m->taint[i].ms >= since)
			t = true;
	pthread_mutex_unlock(&m->open_lock);
	return t;
}

static void fh_table_add(struct s3b_mount *m, struct s3b_fh *fh)
{
	pthread_mutex_lock(&m->open_lock);
	fh->refs = 1;
	fh->next = m->open_files;
	m->open_files = fh;
	pthread_mutex_unlock(&m->open_lock);
}

static void fh_free(struct s3b_fh *fh)
{
	if (fh->reader)
		s3b_reader_close(fh->reader);
	if (fh->writer)
		s3b_writer_close(fh->writer);
	s3_meta_free(&fh->meta);
	free(fh->bsrc_key);
	free(fh->final_key);
	free(fh->key);
	free(fh->path);
	pthread_mutex_destroy(&fh->lock);
	free(fh);
}

struct s3b_fh *s3b_file_find(struct s3b_mount *m, const char *path)
{
	struct s3b_fh *fh;

	pthread_mutex_lock(&m->open_lock);
	for (fh = m->open_files; fh; fh = fh->next)
		if (fh->writable && strcmp(fh->path, path) == 0) {
			fh->refs++;
			break;
		}
	pthread_mutex_unlock(&m->open_lock);
	return fh;
}

void s3b_file_unref(struct s3b_mount *m, struct s3b_fh *fh)
{
	bool last;

	pthread_mutex_lock(&m->open_lock);
	last = --fh->refs == 0;
	if (last) {
		struct s3b_fh **pp;

		for (pp = &m->open_files; *pp; pp = &(*pp)->next)
			if (*pp == fh) {
				*pp = fh->next;
				break;
			}
	}
	pthread_mutex_unlock(&m->open_lock);
	if (last)
		fh_free(fh);
}

static struct s3b_fh *fh_new(struct s3b_bucket *b, const char *key, const char *path)
{
	struct s3b_fh *fh = calloc(1, sizeof(*fh));

	if (!fh)
		return NULL;
	pthread_mutex_init(&fh->lock, NULL);
	fh->opened_ms = s3b_files_mono_ms();
	fh->b = b;
	fh->key = strdup(key);
	fh->path = strdup(path);
	if (!fh->key || !fh->path) {
		fh_free(fh);
		return NULL;
	}
	return fh;
}

void s3b_files_writer_conf(const struct s3b_mount *m, struct s3b_writer_conf *wc, bool spool)
{
	memset(wc, 0, sizeof(*wc));
	wc->part_size = m->conf.part_size;
	wc->parallel = m->conf.parallel;
	wc->budget = m->budget;
	wc->pool = m->pool;
	wc->spool_dir = m->conf.spool_dir;
	wc->spool = spool;
}

/* Copy the stored object into a spool-mode writer (to modify it). */
static int seed_writer(struct s3b_fh *fh, uint64_t size)
{
	const struct s3b_store *st = &fh->b->store;
	uint8_t *buf = size ? malloc(size < SEED_CHUNK ? size : SEED_CHUNK) : NULL;
	uint64_t off = 0;
	int rc = 0;

	if (size && !buf)
		return ENOMEM;
	while (off < size) {
		size_t want = size - off < SEED_CHUNK ? (size_t)(size - off) : SEED_CHUNK, got = 0;
		struct s3_error err;

		rc = st->ops->get(st->inst, fh->key, off, want, buf, &got, fh->etag[0] ? fh->etag : NULL,
				  &err);
		if (!rc && got != want)
			rc = EIO;
		if (!rc)
			rc = s3b_writer_write(fh->writer, off, buf, got);
		if (rc)
			break;
		off += got;
	}
	free(buf);
	return rc;
}

/* Give fh a writer: streaming for new or truncated content, spool mode
 * seeded with the stored bytes otherwise. */
static int attach_writer(struct s3b_mount *m, struct s3b_fh *fh, bool keep_content)
{
	struct s3b_writer_conf wc;
	int rc;

	s3b_files_writer_conf(m, &wc, keep_content && fh->size > 0);
	wc.keep_sent = m->conf.keep_sent; /* applications may seek back */
	rc = s3b_writer_open(&fh->b->store, fh->key, &fh->meta, &wc, &fh->writer);
	if (rc)
		return rc;
	if (keep_content && fh->size > 0) {
		rc = seed_writer(fh, fh->size);
		if (rc) {
			LOG_E("%s/%s: cannot load the object to modify it: %s", fh->b->spec.name,
			      fh->key, strerror(rc));
			s3b_writer_close(fh->writer);
			fh->writer = NULL;
			return rc;
		}
	}
	return 0;
}

/* Metadata of a stored object, for keeping it across a rewrite. */
static void load_meta(struct s3b_fh *fh)
{
	struct s3_object_info info;
	struct s3_error err;

	if (s3_head_object(fh->b->client, fh->key, &info, &err) == 0) {
		s3_meta_free(&fh->meta);
		fh->meta = info.meta;
		memset(&info.meta, 0, sizeof(info.meta));
		memcpy(fh->etag, info.etag, sizeof(fh->etag));
		fh->size = info.size;
		s3_object_info_free(&info);
	}
}

int s3b_file_open(struct s3b_mount *m, const char *path, int flags, struct s3b_fh **out)
{
	struct s3b_path p;
	struct s3b_node n;
	struct s3b_fh *fh;
	int acc = flags & O_ACCMODE, rc;

	rc = s3b_path_resolve(m, path, &p);
	if (rc)
		return rc;
	if (p.kind != S3B_P_OBJECT) {
		rc = p.kind == S3B_P_INTEGRITY ? (acc == O_RDONLY ? ENOENT : EROFS) : EISDIR;
		goto out;
	}
	rc = s3b_node_lookup(m, p.b, p.key, &n);
	if (rc)
		goto out;
	if (!n.is_file) {
		rc = EISDIR;
		goto out;
	}
	if (acc != O_RDONLY && p.b->spec.ro) {
		rc = EROFS;
		goto out;
	}
	fh = fh_new(p.b, p.key, path);
	if (!fh) {
		rc = ENOMEM;
		goto out;
	}
	fh->size = n.size;
	memcpy(fh->etag, n.etag, sizeof(fh->etag));
	if (acc != O_RDONLY) {
		bool trunc = (flags & O_TRUNC) || n.size == 0;

		fh->writable = true;
		load_meta(fh); /* keep mode, times and user metadata across the rewrite */
		if (trunc) {
			fh->size = 0;
			rc = attach_writer(m, fh, false);
			if (rc) {
				fh_free(fh);
				goto out;
			}
			fh->dirty = n.size != 0; /* O_TRUNC alone changes the object */
			if (fh->dirty)
				s3b_files_jbegin(m, fh);
		}
		/* otherwise the writer comes with the first write or truncate:
		 * opening to change only metadata (touch, futimens) costs no copy */
	}
	fh_table_add(m, fh);
	*out = fh;
out:
	s3b_path_free(&p);
	return rc;
}

/* rsync's receiver writes ".NAME.XXXXXX" (mkstemp) and renames it to
 * NAME: the key the data will end under.  NULL when key is not such a name. */
static char *rsync_final_key(const char *key)
{
	const char *base = strrchr(key, '/'), *dot;
	size_t dirlen, namelen;
	char *out;

	base = base ? base + 1 : key;
	dirlen = (size_t)(base - key);
	dot = strrchr(base, '.');
	if (base[0] != '.' || !dot || dot <= base + 1 || strlen(dot + 1) != 6)
		return NULL;
	for (const char *c = dot + 1; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return NULL;
	namelen = (size_t)(dot - base - 1);
	out = malloc(dirlen + namelen + 1);
	if (out) {
		memcpy(out, key, dirlen);
		memcpy(out + dirlen, base + 1, namelen);
		out[dirlen + namelen] = '\0';
	}
	return out;
}

static bool caller_is_rsync(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "rsync\n") == 0;
}

/* rsync -a will give the file the attributes of its source: if the source
 * is open on the mount (the sender reads it while the receiver writes),
 * start with those, so a multipart upload carries the right metadata from
 * its first request and the object never needs a metadata copy. */
/* How many trailing path components a and b share ("x/a/b", "y/a/b": 2). */
static unsigned common_tail(const char *a, const char *b)
{
	const char *ea = a + strlen(a), *eb = b + strlen(b);
	unsigned n = 0;

	while (ea > a && eb > b && ea[-1] == eb[-1]) {
		ea--, eb--;
		if (*ea == '/')
			n++;
	}
	if ((ea == a || ea[-1] == '/') && (eb == b || eb[-1] == '/'))
		n++; /* a whole first component matched too */
	return n;
}

static void predict_from_source(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_node n, cand;
	struct stat st;
	unsigned best = 0;

	/* the source open for reading whose path ends like ours, longest first
	 * (rsync src/ dst/sub/: "a/b/f" is read while "sub/a/b/.f.XXXXXX" is
	 * written) */
	pthread_mutex_lock(&m->open_lock);
	for (struct s3b_fh *o = m->open_files; o; o = o->next) {
		unsigned t;

		if (o->writable || o == fh)
			continue;
		t = common_tail(o->key, fh->final_key);
		if (t > best && s3b_dircache_get(m->dc, o->b->index, o->key, &cand) == S3B_LK_FOUND &&
		    cand.is_file) {
			best = t;
			n = cand;
		}
	}
	pthread_mutex_unlock(&m->open_lock);
	LOG_D("%s/%s: rsync temporary file; source attributes %s", fh->b->spec.name,
	      fh->final_key, best ? "predicted from the open source" : "unknown");
	if (!best)
		return;
	s3b_node_stat(m, &n, false, &st);
	struct s3b_posix_meta pm = { .has_mode = true, .mode = st.st_mode, .has_uid = true,
				     .uid = st.st_uid, .has_gid = true, .gid = st.st_gid,
				     .has_mtime = true, .mtime = st.st_mtim };
	s3b_meta_apply(&fh->meta, &pm);
}

int s3b_file_create(struct s3b_mount *m, const char *path, int flags, mode_t mode, uid_t uid,
		    gid_t gid, pid_t pid, struct s3b_fh **out)
{
	struct s3b_posix_meta pm = { .has_mode = true, .has_uid = true, .has_gid = true,
				     .has_mtime = true };
	struct s3b_path p;
	struct s3b_fh *fh = NULL;
	struct s3b_node n;
	int rc;

	rc = s3b_path_resolve(m, path, &p);
	if (rc)
		return rc;
	if (p.kind != S3B_P_OBJECT) {
		rc = p.kind == S3B_P_INTEGRITY ? EROFS : EEXIST;
		goto out;
	}
	if (p.b->spec.ro) {
		rc = EROFS;
		goto out;
	}
	/* the kernel asks to create after a negative lookup, but the object may
	 * have appeared since: never truncate what exists unless asked to */
	if (s3b_node_lookup(m, p.b, p.key, &n) == 0) {
		if (flags & O_EXCL)
			rc = EEXIST;
		else if (n.is_dir && !n.is_file)
			rc = EISDIR;
		else
			rc = s3b_file_open(m, path, flags, out);
		goto out;
	}
	fh = fh_new(p.b, p.key, path);
	if (!fh) {
		rc = ENOMEM;
		goto out;
	}
	fh->writable = true;
	fh->dirty = true; /* even an empty file becomes an object */
	pm.mode = S_IFREG | (mode & 07777);
	pm.uid = uid;
	pm.gid = gid;
	clock_gettime(CLOCK_REALTIME, &pm.mtime);
	rc = s3b_meta_apply(&fh->meta, &pm);
	if (!rc && (fh->final_key = rsync_final_key(p.key)) != NULL) {
		if (caller_is_rsync(pid)) {
			/* the upload goes straight to the final key */
			char *tmp = fh->key;

			predict_from_source(m, fh);
			fh->key = fh->final_key;
			rc = attach_writer(m, fh, false);
			fh->key = tmp;
		} else {
			free(fh->final_key);
			fh->final_key = NULL;
			rc = attach_writer(m, fh, false);
		}
	} else if (!rc) {
		rc = attach_writer(m, fh, false);
	}
	if (rc)
		goto out;
	/* visible to getattr right away, as an empty file */
	memset(&n, 0, sizeof(n));
	n.is_file = true;
	n.mtime = pm.mtime;
	n.has_meta = true;
	n.pm = pm;
	s3b_dircache_put(m->dc, p.b->index, p.key, &n, true);
	s3b_files_jbegin(m, fh);
	fh_table_add(m, fh);
	*out = fh;
	fh = NULL;
out:
	if (fh)
		fh_free(fh);
	s3b_path_free(&p);
	return rc;
}

/* ---- the journal: one record per object written ---- */

/* The record of fh begins (pending) with its first change. */
void s3b_files_jbegin(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_obj_record r;

	if (!m->journal || fh->jid)
		return;
	clock_gettime(CLOCK_REALTIME, &fh->started);
	memset(&r, 0, sizeof(r));
	r.path = fh->path + 1;
	r.src_size = -1;
	r.dst_bucket = fh->b->spec.bucket;
	r.dst_key = fh->final_key ? fh->final_key : fh->key;
	r.status = S3B_ST_PENDING;
	r.started = fh->started;
	fh->jid = s3b_journal_begin(m->journal, &r);
}

/* The outcome of record jid.  A verified record is durable before this
 * returns (close() reports success only after it): 0, or EIO when the
 * journal cannot make it so. */
void s3b_record_set_posix(struct s3b_obj_record *r, const struct s3b_posix_meta *pm)
{
	r->has_mode = pm->has_mode;
	r->mode = (uint32_t)pm->mode;
	r->has_uid = pm->has_uid;
	r->uid = (uint32_t)pm->uid;
	r->has_gid = pm->has_gid;
	r->gid = (uint32_t)pm->gid;
	r->has_mtime = pm->has_mtime;
	r->mtime = pm->mtime;
}

int s3b_files_jfinish(struct s3b_mount *m, int64_t jid, struct s3b_obj_record *r)
{
	int rc;

	if (!m->journal || !jid)
		return 0;
	clock_gettime(CLOCK_REALTIME, &r->ended);
	s3b_journal_finish(m->journal, jid, r);
	if (r->status != S3B_ST_VERIFIED)
		return 0;
	rc = s3b_journal_sync(m->journal);
	if (rc)
		LOG_E("%s: verified, but the journal could not record it durably", r->path);
	return rc ? EIO : 0;
}

/* A record from a write result (and its paired source, if any). */
void s3b_files_record_from(struct s3b_obj_record *r, struct s3b_mount *m, const char *path,
			   struct s3b_bucket *b, const char *key, struct timespec started,
			   const struct s3b_write_result *res,
			   const struct s3b_source_stream *src, enum s3b_obj_status st)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->dst_bucket = b->spec.bucket;
	r->dst_key = key;
	r->started = started;
	r->status = st;
	r->src_size = -1;
	if (res) {
		r->size = res->size;
		r->dst_etag = res->etag[0] ? res->etag : NULL;
		r->part_size = res->part_size;
		r->parts = res->parts;
		r->attempts = res->attempts;
		r->error = res->error[0] ? res->error : NULL;
		if (res->digests.bytes == res->size && (res->size || st == S3B_ST_VERIFIED)) {
			r->has_digests = true;
			memcpy(r->md5, res->digests.md5, 16);
			memcpy(r->sha256, res->digests.sha256, 32);
			r->crc32c = res->digests.crc32c;
		}
	}
	if (src) {
		r->src_bucket = m->buckets[src->bucket].spec.bucket;
		r->src_key = src->key;
		r->src_etag = src->etag;
		r->src_size = (int64_t)src->size;
	}
}

/* A read stream served whole and in order goes to the pairing registry
 * with its verdict against the source object's ETag.  A stream that does
 * not match its object fails its last read: the bytes were wrong. */
static int publish_stream(struct s3b_mount *m, struct s3b_fh *fh, pid_t pid)
{
	struct s3b_source_stream ss;
	int rc = 0;

	memset(&ss, 0, sizeof(ss));
	if (!s3b_reader_digests(fh->reader, &ss.d)) {
		/* not (yet) one in-order stream: a later read may complete it.  A
		 * stream the reader gave up on (re-reads, a gap) is not checked
		 * against its ETag: refusing every file written meanwhile broke
		 * rsync (its reads overlap), so this is a documented limit */
		if (s3b_reader_hash_lost(fh->reader))
			LOG_D("%s/%s: read out of order; not checked against its ETag",
			      fh->b->spec.name, fh->key);
		return 0;
	}
	pthread_mutex_lock(&fh->lock);
	if (!fh->published) {
		fh->published = true;
		ss.bucket = fh->b->index;
		snprintf(ss.key, sizeof(ss.key), "%s", fh->key);
		memcpy(ss.etag, fh->etag, sizeof(ss.etag));
		ss.size = fh->size;
		ss.verdict = s3b_source_check(fh->etag, &ss.d, NULL);
		s3b_pairing_publish(m->pairing, &ss);
		if (ss.verdict == S3B_ETAG_MISMATCH) {
			LOG_E("%s/%s: the bytes read do not match the object's ETag %s (corrupted "
			      "in transit?); the read fails and no copy of them will be verified",
			      fh->b->spec.name, fh->key, fh->etag);
			rc = EIO;
		}
	}
	pthread_mutex_unlock(&fh->lock);
	if (rc)
		taint(m, pid);
	return rc;
}
int s3b_file_read(struct s3b_mount *m, struct s3b_fh *fh, char *buf, size_t size, off_t off,
		  pid_t pid, size_t *got)
{
	int rc;

	*got = 0;
	if (off < 0)
		return EINVAL;
	pthread_mutex_lock(&fh->lock);
	if (fh->writer) {
		rc = s3b_writer_read(fh->writer, (uint64_t)off, buf, size, got);
		pthread_mutex_unlock(&fh->lock);
		return rc;
	}
	if (!fh->reader) {
		struct s3b_reader_conf rc_conf = {
			.chunk = m->conf.read_chunk, .parallel = m->conf.parallel,
			.budget = m->budget, .pool = m->pool,
		};

		rc = s3b_reader_open(&fh->b->store, fh->key, fh->size, fh->etag, &rc_conf,
				     &fh->reader);
		if (rc) {
			pthread_mutex_unlock(&fh->lock);
			return rc;
		}
	}
	pthread_mutex_unlock(&fh->lock);
	/* the reader is safe for concurrent reads: no lock held across GETs */
	rc = s3b_reader_read(fh->reader, (uint64_t)off, buf, size, got);
	if (rc) {
		LOG_E("%s/%s: read at %lld failed: %s", fh->b->spec.name, fh->key, (long long)off,
		      strerror(rc));
		return rc;
	}
	/* once every byte went out (the last read may finish before an earlier
	 * one), the stream is judged */
	if (__atomic_add_fetch(&fh->served, *got, __ATOMIC_RELAXED) >= fh->size && !fh->published &&
	    *got)
		rc = publish_stream(m, fh, pid);
	return rc;
}

int s3b_file_write(struct s3b_mount *m, struct s3b_fh *fh, const char *buf, size_t size,
		   off_t off, pid_t pid)
{
	int rc = 0;

	if (off < 0)
		return EINVAL;
	pthread_mutex_lock(&fh->lock);
	if (!fh->writer_pgid) {
		pid_t g = getpgid(pid);

		fh->writer_pgid = g > 0 ? g : pid;
	}
	if (!fh->writable) {
		rc = EBADF;
	} else if (fh->bridge_pending) {
		rc = s3b_bridge_materialize(m, fh);
	} else if (!fh->writer) {
		/* written again after a commit: start from the stored object */
		rc = attach_writer(m, fh, true);
	}
	if (!rc) {
		rc = s3b_writer_write(fh->writer, (uint64_t)off, buf, size);
		if (!rc) {
			fh->dirty = true;
			fh->bridged = false; /* no longer the source's bytes alone */
			s3b_files_jbegin(m, fh);
		}
	}
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

void s3b_node_written(struct s3b_node *n, uint64_t size, const char *etag,
		      const struct s3_meta *meta)
{
	memset(n, 0, sizeof(*n));
	n->is_file = true;
	n->size = size;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	snprintf(n->etag, sizeof(n->etag), "%s", etag);
	s3b_meta_parse(meta, &n->pm);
	n->has_meta = true;
}

/* Before the object becomes visible: find the source stream these bytes
 * came from; refuse them if that stream did not match its object. */
int s3b_files_precommit(void *vctx, const struct s3b_digests *d, uint64_t size,
			const char *composite, char *why, size_t whylen)
{
	struct s3b_precommit_ctx *c = vctx;
	enum s3b_etag_verdict v;

	bool suspect = false;

	if (c->suspect) {
		pthread_mutex_lock(&c->m->open_lock);
		suspect = *c->suspect;
		pthread_mutex_unlock(&c->m->open_lock);
	}
	if (suspect || tainted_since(c->m, c->pgid, c->since)) {
		c->refused = true;
		snprintf(why, whylen, "the program that wrote it was served a source that did not "
			 "match its checksum meanwhile: refused");
		return EIO;
	}

	if (c->direct)
		c->src.d = *d;
	else if (!s3b_pairing_find(c->m->pairing, d, size, c->key, &c->src))
		return 0; /* not a copy of a file of the mount */
	c->paired = true;
	v = s3b_source_check(c->src.etag, d, composite);
	if (v == S3B_ETAG_MISMATCH && strchr(c->src.etag, '-'))
		v = S3B_ETAG_UNCOMPARABLE; /* another part layout, not proof of damage */
	c->src.verdict = v;
	if (v == S3B_ETAG_MISMATCH) {
		c->refused = true;
		snprintf(why, whylen, "the source stream (%s/%s) does not match its ETag %s: "
			 "corrupted in transit", c->m->buckets[c->src.bucket].spec.name, c->src.key,
			 c->src.etag);
		return EIO;
	}
	return 0;
}

/* Read the stored object back and compare its SHA-256 (--verify=readback). */
int s3b_files_readback(struct s3b_mount *m, struct s3b_fh *fh, uint64_t size, const char *etag,
		       const uint8_t want[32])
{
	struct s3b_reader_conf rcf = { .chunk = m->conf.read_chunk, .parallel = m->conf.parallel,
				       .budget = m->budget, .pool = m->pool };
	struct s3b_reader *r = NULL;
	struct s3b_digests d;
	uint8_t *buf = malloc(READBACK_CHUNK);
	uint64_t off = 0;
	int rc = buf ? s3b_reader_open(&fh->b->store, fh->key, size, etag, &rcf, &r) : ENOMEM;

	while (!rc && off < size) {
		size_t got = 0;

		rc = s3b_reader_read(r, off, buf, READBACK_CHUNK, &got);
		if (!rc && got == 0)
			rc = EIO;
		off += got;
	}
	if (!rc && (!s3b_reader_digests(r, &d) || memcmp(d.sha256, want, 32) != 0))
		rc = EBADMSG;
	if (r)
		s3b_reader_close(r);
	free(buf);
	return rc;
}

/* Commit fh's writer.  Caller holds fh->lock. */
static int commit_locked(struct s3b_mount *m, struct s3b_fh *fh)
{
	struct s3b_precommit_ctx pc = { .m = m, .key = fh->key, .pgid = fh->writer_pgid,
				     .since = fh->opened_ms, .suspect = &fh->suspect };
	struct s3b_write_result res;
	struct s3b_node n;
	bool stale;
	int rc;

	if (fh->bridge_pending) {
		rc = s3b_bridge_run(m, fh);
		if (rc < 0)
			return 0;  /* done server-side and verified */
	}
	if (fh->sticky_err) {
		/* a failed file never becomes an object: not at this flush, not at
		 * a later one, not at release (an empty object called verified
		 * would be a lie) */
		if (fh->writer)
			s3b_writer_close(fh->writer); /* aborts what it started */
		fh->writer = NULL;
		fh->dirty = false;
		fh->bridge_pending = false;
		if (fh->jid) {
			struct s3b_obj_record r;

			s3b_files_record_from(&r, m, fh->path + 1, fh->b, fh->key, fh->started,
					      NULL, NULL, S3B_ST_FAILED);
			r.error = fh->bsrc_key ? "the copy from its source failed (see the log)"
					       : "the write failed (see the log)";
			s3b_files_jfinish(m, fh->jid, &r);
			fh->jid = 0;
		}
		return fh->sticky_err;
	}
	if (!fh->writer || !fh->dirty)
		return 0;
	if (fh->bridged) {
		pc.direct = true;
		pc.src.bucket = fh->bsrc->index;
		snprintf(pc.src.key, sizeof(pc.src.key), "%s", fh->bsrc_key);
		memcpy(pc.src.etag, fh->bsrc_etag, sizeof(pc.src.etag));
		pc.src.size = fh->bsrc_size;
		fh->bridged = false;
	}
	memset(&res, 0, sizeof(res));
	s3b_writer_set_precommit(fh->writer, s3b_files_precommit, &pc);
	rc = s3b_writer_commit(fh->writer, fh->key, &res);
	stale = s3b_writer_meta_stale(fh->writer);
	s3b_writer_close(fh->writer);
	fh->writer = NULL;
	fh->dirty = false;
	if (!rc && m->conf.verify == S3B_VERIFY_READBACK) {
		rc = s3b_files_readback(m, fh, res.size, res.etag, res.digests.sha256);
		if (rc) {
			res.verdict = S3B_ETAG_MISMATCH;
			snprintf(res.error, sizeof(res.error), "read back: %s",
				 rc == EBADMSG ? "the stored bytes differ from what was written"
					       : strerror(rc));
		}
	}
	if (rc) {
		LOG_E("%s/%s: NOT verified, the write failed: %s", fh->b->spec.name, fh->key,
		      res.error[0] ? res.error : strerror(rc));
		if (res.verdict == S3B_ETAG_MISMATCH && !pc.refused) {
			/* a wrong object became visible: it must not stay */
			struct s3_error err;

			if (s3_delete_object(fh->b->client, fh->key, &err) == 0)
				LOG_E("%s/%s: the wrong object was deleted", fh->b->spec.name, fh->key);
		}
		{
			struct s3b_obj_record r;

			if (!res.error[0])
				snprintf(res.error, sizeof(res.error), "%s", strerror(rc));
			s3b_files_record_from(&r, m, fh->path + 1, fh->b, fh->key, fh->started,
					      &res, pc.paired ? &pc.src : NULL,
					      res.verdict == S3B_ETAG_MISMATCH ? S3B_ST_MISMATCH
									       : S3B_ST_FAILED);
			s3b_files_jfinish(m, fh->jid, &r);
			fh->jid = 0;
		}
		s3b_dircache_forget(m->dc, fh->b->index, fh->key);
		/* what cp should print: the cause where it means something */
		fh->sticky_err = rc == EDQUOT || rc == ENOSPC || rc == EACCES || rc == EFBIG ? rc : EIO;
		return fh->sticky_err;
	}
	if (stale) {
		/* metadata changed after the upload began: store it now */
		rc = s3b_obj_copy(fh->b, fh->key, fh->b, fh->key, res.size, &fh->meta, res.etag);
		if (rc) {
			LOG_E("%s/%s: data verified but its metadata could not be stored: %s",
			      fh->b->spec.name, fh->key, strerror(rc));
			fh->sticky_err = EIO;
			return EIO;
		}
	}
	fh->size = res.size;
	memcpy(fh->etag, res.etag, sizeof(fh->etag));
	s3b_node_written(&n, res.size, res.etag, &fh->meta);
	s3b_dircache_put(m->dc, fh->b->index, fh->key, &n, true);
	{
		struct s3b_obj_record r;

		s3b_files_record_from(&r, m, fh->path + 1, fh->b, fh->key, fh->started, &res,
				      pc.paired ? &pc.src : NULL, S3B_ST_VERIFIED);
		s3b_record_set_posix(&r, &n.pm);
		rc = s3b_files_jfinish(m, fh->jid, &r);
		fh->jid = 0;
		if (rc) {
			fh->sticky_err = EIO;
			return EIO;
		}
	}
	LOG_I("%s/%s: verified%s, %llu bytes, %u part(s), ETag %s%s%s%s%s%s", fh->b->spec.name,
	      fh->key, m->conf.verify == S3B_VERIFY_READBACK ? " and read back" : "",
	      (unsigned long long)res.size, res.parts, res.etag,
	      pc.paired ? ", source " : "", pc.paired ? pc.src.key : "",
	      pc.paired ? (pc.src.verdict == S3B_ETAG_MATCH ? " (stream matches its ETag)"
							    : " (source ETag not comparable)")
			: "",
	      res.error[0] ? "; " : "", res.error);
	return 0;
}

/*
 * --async-close: a flush of a pending bridge copy (cp) returns 0 at once
 * and the copy runs at release, which the kernel sends without making the
 * application wait; at most conf.async_close such copies at a time (beyond
 * that the flush does the copy itself: never a wait for other releases,
 * which need FUSE threads of their own).  The journal records the outcome
 * (the record is pending until then), and unmount finishes every deferred
 * copy.  Caller holds fh->lock.
 */
static bool defer_flush(struct s3b_mount *m, struct s3b_fh *fh)
{
	bool ok = false;

	if (fh->deferred)
		return true;
	if (!m->conf.async_close || !fh->bridge_pending || fh->final_key || fh->sticky_err)
		return false;
	pthread_mutex_lock(&m->open_lock);
	if (m->deferred < m->conf.async_close) {
		m->deferred++;
		ok = true;
	}
	pthread_mutex_unlock(&m->open_lock);
	fh->deferred = ok;
	return ok;
}

static void deferred_done(struct s3b_mount *m, struct s3b_fh *fh)
{
	if (!fh->deferred)
		return;
	fh->deferred = false;
	pthread_mutex_lock(&m->open_lock);
	m->deferred--;
	pthread_mutex_unlock(&m->open_lock);
}

int s3b_file_flush(struct s3b_mount *m, struct s3b_fh *fh)
{
	int rc;

	if (!fh->writable)
		return 0;
	pthread_mutex_lock(&fh->lock);
	if (defer_flush(m, fh))
		rc = 0;
	else if (fh->final_key && fh->writer && fh->dirty && !fh->bridge_pending)
		rc = s3b_park_locked(m, fh);
	else
		rc = commit_locked(m, fh);
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

int s3b_file_fsync(struct s3b_mount *m, struct s3b_fh *fh)
{
	int rc = 0;

	(void)m;
	pthread_mutex_lock(&fh->lock);
	if (fh->writer)
		rc = s3b_writer_flush(fh->writer);
	pthread_mutex_unlock(&fh->lock);
	return rc ? rc : fh->sticky_err;
}

void s3b_file_release(struct s3b_mount *m, struct s3b_fh *fh)
{
	if (fh->writable) {
		pthread_mutex_lock(&fh->lock);
		if (fh->writer && fh->dirty && fh->final_key) {
			/* rsync's temporary file closed without a flush: rsync died */
			struct s3b_obj_record r;

			LOG_W("%s/%s: abandoned by rsync; its upload is aborted", fh->b->spec.name,
			      fh->key);
			s3b_files_record_from(&r, m, fh->path + 1, fh->b, fh->final_key,
					      fh->started, NULL, NULL, S3B_ST_FAILED);
			r.error = "abandoned: the writer never closed the file properly";
			s3b_files_jfinish(m, fh->jid, &r);
			fh->jid = 0;
			s3b_writer_close(fh->writer);
			fh->writer = NULL;
			fh->dirty = false;
		} else if (fh->deferred) {
			commit_locked(m, fh); /* --async-close: logged and journaled there */
		} else if ((fh->writer && fh->dirty) || fh->sticky_err || fh->bridge_pending) {
			/* no flush came (the process died?): commit anyway, unless the
			 * file failed (commit_locked refuses that) */
			if (commit_locked(m, fh) == 0)
				LOG_N("%s/%s: committed at release", fh->b->spec.name, fh->key);
		}
		deferred_done(m, fh);
		pthread_mutex_unlock(&fh->lock);
	}
	s3b_file_unref(m, fh);
}

void s3b_files_finish(struct s3b_mount *m)
{
	/* the deferred copies first (their outcome matters), then every other
	 * file whose release never came (cp's sources, say): released as the
	 * kernel would have, so that nothing is left open or unfreed */
	for (bool deferred = true;;) {
		struct s3b_fh *fh;
		unsigned refs = 0;

		pthread_mutex_lock(&m->open_lock);
		for (fh = m->open_files; fh && deferred && !fh->deferred; fh = fh->next)
			;
		if (fh)
			refs = fh->refs;
		pthread_mutex_unlock(&m->open_lock);
		if (!fh && deferred) {
			deferred = false;
			continue;
		}
		if (!fh)
			return;
		if (fh->deferred)
			LOG_N("%s/%s: unmounted before its release came: finishing its copy",
			      fh->b->spec.name, fh->key);
		if (refs != 1) {
			LOG_W("%s/%s: still referenced at unmount; left as it is", fh->b->spec.name,
			      fh->key);
			return; /* not ours to free: never spin on it */
		}
		s3b_file_release(m, fh); /* the open's reference: frees it */
	}
}

int s3b_file_truncate(struct s3b_mount *m, struct s3b_fh *fh, off_t size)
{
	int rc = 0;

	if (size < 0)
		return EINVAL;
	pthread_mutex_lock(&fh->lock);
	if (!fh->writable)
		rc = EBADF;
	else if (fh->bridge_pending)
		rc = s3b_bridge_materialize(m, fh);
	else if (!fh->writer)
		rc = attach_writer(m, fh, size > 0);
	if (!rc)
		rc = s3b_writer_truncate(fh->writer, (uint64_t)size);
	if (!rc) {
		fh->dirty = true;
		fh->bridged = false;
		s3b_files_jbegin(m, fh);
	}
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

int s3b_file_getattr(struct s3b_mount *m, struct s3b_fh *fh, struct stat *st)
{
	struct s3b_node n;

	memset(&n, 0, sizeof(n));
	pthread_mutex_lock(&fh->lock);
	n.is_file = true;
	n.size = fh->bridge_pending ? fh->bsrc_size
		 : fh->writer ? s3b_writer_size(fh->writer) : fh->size;
	clock_gettime(CLOCK_REALTIME, &n.mtime);
	s3b_meta_parse(&fh->meta, &n.pm);
	n.has_meta = true;
	pthread_mutex_unlock(&fh->lock);
	if (!fh->writable) {
		struct s3b_node cached;

		if (s3b_dircache_get(m->dc, fh->b->index, fh->key, &cached) == S3B_LK_FOUND &&
		    cached.is_file)
			n = cached;
	}
	s3b_node_stat(m, &n, false, st);
	return 0;
}

int s3b_file_set_posix(struct s3b_mount *m, struct s3b_fh *fh, const struct s3b_posix_meta *pm)
{
	struct s3b_posix_meta cur;
	int rc;

	(void)m;
	pthread_mutex_lock(&fh->lock);
	s3b_meta_parse(&fh->meta, &cur);
	if (pm->has_mode)
		cur.has_mode = true, cur.mode = (cur.mode & S_IFMT ? cur.mode & S_IFMT : S_IFREG) |
						 (pm->mode & 07777);
	if (pm->has_uid)
		cur.has_uid = true, cur.uid = pm->uid;
	if (pm->has_gid)
		cur.has_gid = true, cur.gid = pm->gid;
	if (pm->has_mtime)
		cur.has_mtime = true, cur.mtime = pm->mtime;
	rc = s3b_meta_apply(&fh->meta, &cur);
	/* rsync's temporary file passes through mode 0600 on its way to the
	 * source's attributes: the writer keeps the predicted ones until the
	 * file is parked (see s3b_park_locked) */
	if (!rc && fh->writer && !fh->final_key)
		rc = s3b_writer_set_meta(fh->writer, &fh->meta);
	if (!rc && !fh->writer && !fh->dirty) {
		/* already committed: the stored object must change too */
		pthread_mutex_unlock(&fh->lock);
		return s3b_obj_set_posix(m, fh->path, pm);
	}
	if (!rc) {
		struct s3b_node n;

		if (s3b_dircache_get(m->dc, fh->b->index, fh->key, &n) == S3B_LK_FOUND) {
			n.pm = cur;
			n.has_meta = true;
			s3b_dircache_put(m->dc, fh->b->index, fh->key, &n, false);
		}
	}
	pthread_mutex_unlock(&fh->lock);
	return rc;
}
