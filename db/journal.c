/*
 * db/journal.c — the SQLite journal (journal.h) and its read views
 * (journal_impl.h).  This is the one file that holds SQL: every statement
 * is a static string below, prepared once into the handle that uses it,
 * with bound parameters only.  No SQL is ever built from strings and no
 * parameter value is ever logged.
 *
 * What it does not do: no formatting (report.c), no S3 (the mount aborts
 * the orphan uploads it is given), no policy about what a status means.
 *
 * Schema (PRAGMA application_id = 0x5333424a "S3BJ", user_version = 2):
 *
 *   objects   one row per record: an object the mount began writing.
 *     id         INTEGER PRIMARY KEY, assigned by the process (max at open,
 *                then +1 per begin, under the queue lock: queue order is
 *                id order)
 *     run        totals.runs of the mount that began it
 *     path       mount path relative to the root ("dst/dir/file")
 *     src_bucket, src_key, src_etag, src_size (NULL: not paired)
 *     dst_bucket, dst_key, dst_etag, size
 *     md5, sha256, crc32c   lower-case hex (crc32c: 8 digits, big-endian
 *                value); NULL when the stream was not hashed
 *     part_size, parts (0: single PUT), status (text), error, attempts
 *     started, ended        nanoseconds since the epoch; NULL: unknown
 *     latest     1 on the record with the highest id of its path, else 0
 *     mode, uid, gid, mtime   what was stored with the object (S3 user
 *                metadata: st_mode with its type bits, owner, mtime in
 *                nanoseconds since the epoch); NULL: not stored, or a
 *                version-1 record
 *   uploads   multipart uploads begun and not yet completed or aborted:
 *     id, run, endpoint, bucket, key, upload_id, begun (ns)
 *   counters  per status: objects and bytes of the latest records
 *   totals    one row: runs, records, first_start, last_end
 *   checks    every stored completeness check: ran, counts, text
 *
 *   Indexes: objects(path, id) for latest-per-path and the objects/ tree;
 *   objects(dst_bucket, dst_key, id) for lookup; objects(status, id)
 *   WHERE latest = 1 for SUMS, failed, pending and the last failures (id
 *   order walks the table in its own order: SUMS of a million records is
 *   one sequential pass); objects(id) WHERE status = 'pending' for
 *   recovery; uploads(upload_id).
 *   Triggers on objects keep counters and totals (insert, update, delete),
 *   so a summary of a million records reads six small rows.
 *
 * Versions: 1 lacked objects.mode/uid/gid/mtime.  The writer upgrades a
 * version-1 file at open, in the transaction of recovery (four ALTER TABLE
 * ADD COLUMN, then user_version = 2: all or nothing), so the columns come
 * last in both layouts.  Views read a version-1 file as it is: their
 * statements are chosen by version (vsql[]), NULL for the missing columns.
 * A version newer than JOURNAL_VERSION is refused (ENOTSUP).
 *
 * The state machine of a record (status column):
 *
 *      s3b_journal_begin           s3b_journal_finish
 *   (none) -------------> pending ---------------------> verified
 *                            |                      \--> failed
 *                            |                       \-> mismatch
 *                            | s3b_journal_open (the next mount, one
 *                            v  transaction, before the writer starts)
 *                       interrupted
 *
 *   finish may also rewrite a record that is no longer pending (a retry
 *   reporting again); the latest record of a path is the one with the
 *   highest id, whatever its status.  A begin whose id is higher than every
 *   other of its path takes `latest` from the older one.
 *
 * The writer connection: WAL, synchronous=FULL (measured: about 20% fewer
 * records/s than NORMAL with a sync every 100 records, and a sync is what
 * every verified close() waits for), a 32 MiB page cache, statement
 * journals in memory.  Views and the lookup connection are read-only.
 *
 * Crash-safety invariants:
 *   1. Every write is inside a transaction of the writer thread; a record
 *      is either wholly in the database or not at all.  WAL with
 *      synchronous=FULL: a commit is on disk (fsync of the WAL) before
 *      s3b_journal_sync's waiters are woken, so a sync that returned 0
 *      survives kill -9 and power loss.  A failed commit rolls back and
 *      makes every later sync return EIO (sticky: the journal has lost
 *      records and says so).
 *   2. counters and totals change only in the triggers, in the same
 *      transaction as the rows they count: they always match the rows.
 *   3. At most one row per path has latest = 1, and it has the path's
 *      highest id: begin inserts in id order and re-marks the path in the
 *      same transaction; a finish that changes the path re-marks both.
 *   4. Recovery (pending -> interrupted) is one transaction at open, before
 *      any new record can be queued; a crash during it leaves the journal
 *      as it was and the next open does it again.
 *   5. One mount at a time: open takes an exclusive flock on PATH-lock
 *      (not on the database file: closing any descriptor of the database
 *      would drop SQLite's own POSIX locks).  Readers (views) take no lock
 *      of ours and see a committed snapshot.
 *   6. Orphans are the uploads rows of earlier runs (run < this run); this
 *      run's in-flight uploads are never returned as orphans.
 *   7. A schema upgrade (version 1 -> 2) is part of the open transaction
 *      of invariant 4: a crash during it leaves a version-1 file, which the
 *      next open upgrades again; no connection of ours writes a record to
 *      a file it has not upgraded (the writer's statements and the lookup
 *      connection's are prepared after that commit).
 */
#include "journal.h"
#include "journal_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define JOURNAL_APP_ID 0x5333424a /* "S3BJ" */
#define JOURNAL_VERSION 2
#define BUSY_TIMEOUT_MS 10000
#define DEFAULT_QUEUE 4096

/* ---- the schema ------------------------------------------------------ */

static const char schema_sql[] =
	"CREATE TABLE objects ("
	" id INTEGER PRIMARY KEY,"
	" run INTEGER NOT NULL,"
	" path TEXT NOT NULL,"
	" src_bucket TEXT, src_key TEXT, src_etag TEXT, src_size INTEGER,"
	" dst_bucket TEXT, dst_key TEXT, dst_etag TEXT,"
	" size INTEGER NOT NULL,"
	" md5 TEXT, sha256 TEXT, crc32c TEXT,"
	" part_size INTEGER NOT NULL, parts INTEGER NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN"
	"  ('pending','verified','failed','mismatch','interrupted')),"
	" error TEXT, attempts INTEGER NOT NULL,"
	" started INTEGER, ended INTEGER,"
	" latest INTEGER NOT NULL DEFAULT 0,"
	" mode INTEGER, uid INTEGER, gid INTEGER, mtime INTEGER);"
	"CREATE INDEX objects_path ON objects(path, id);"
	"CREATE INDEX objects_dst ON objects(dst_bucket, dst_key, id);"
	"CREATE INDEX objects_latest ON objects(status, id) WHERE latest = 1;"
	"CREATE INDEX objects_pending ON objects(id) WHERE status = 'pending';"
	"CREATE TABLE uploads ("
	" id INTEGER PRIMARY KEY, run INTEGER NOT NULL, endpoint TEXT,"
	" bucket TEXT NOT NULL, key TEXT NOT NULL, upload_id TEXT NOT NULL,"
	" begun INTEGER NOT NULL);"
	"CREATE INDEX uploads_upload_id ON uploads(upload_id);"
	"CREATE TABLE counters (status TEXT PRIMARY KEY,"
	" objects INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO counters VALUES ('pending',0,0),('verified',0,0),"
	" ('failed',0,0),('mismatch',0,0),('interrupted',0,0);"
	"CREATE TABLE totals (one INTEGER PRIMARY KEY CHECK (one = 1),"
	" runs INTEGER NOT NULL, records INTEGER NOT NULL,"
	" first_start INTEGER, last_end INTEGER);"
	"INSERT INTO totals VALUES (1, 0, 0, NULL, NULL);"
	"CREATE TABLE checks (id INTEGER PRIMARY KEY, ran INTEGER NOT NULL,"
	" missing INTEGER NOT NULL, extra INTEGER NOT NULL, differ INTEGER NOT NULL,"
	" unverified INTEGER NOT NULL, text TEXT NOT NULL);"
	"CREATE TRIGGER objects_ai AFTER INSERT ON objects BEGIN"
	" UPDATE counters SET objects = objects + 1, bytes = bytes + NEW.size"
	"  WHERE NEW.latest = 1 AND status = NEW.status;"
	" UPDATE totals SET records = records + 1,"
	"  first_start = CASE WHEN NEW.started IS NOT NULL AND"
	"   (first_start IS NULL OR NEW.started < first_start)"
	"   THEN NEW.started ELSE first_start END,"
	"  last_end = CASE WHEN NEW.ended IS NOT NULL AND"
	"   (last_end IS NULL OR NEW.ended > last_end)"
	"   THEN NEW.ended ELSE last_end END;"
	"END;"
	"CREATE TRIGGER objects_au AFTER UPDATE ON objects BEGIN"
	" UPDATE counters SET objects = objects - 1, bytes = bytes - OLD.size"
	"  WHERE OLD.latest = 1 AND status = OLD.status;"
	" UPDATE counters SET objects = objects + 1, bytes = bytes + NEW.size"
	"  WHERE NEW.latest = 1 AND status = NEW.status;"
	" UPDATE totals SET"
	"  first_start = CASE WHEN NEW.started IS NOT NULL AND"
	"   (first_start IS NULL OR NEW.started < first_start)"
	"   THEN NEW.started ELSE first_start END,"
	"  last_end = CASE WHEN NEW.ended IS NOT NULL AND"
	"   (last_end IS NULL OR NEW.ended > last_end)"
	"   THEN NEW.ended ELSE last_end END"
	"  WHERE NEW.started IS NOT OLD.started OR NEW.ended IS NOT OLD.ended;"
	"END;"
	"CREATE TRIGGER objects_ad AFTER DELETE ON objects BEGIN"
	" UPDATE counters SET objects = objects - 1, bytes = bytes - OLD.size"
	"  WHERE OLD.latest = 1 AND status = OLD.status;"
	" UPDATE totals SET records = records - 1;"
	"END;"
	"PRAGMA application_id = 1395868234;" /* JOURNAL_APP_ID */
	"PRAGMA user_version = 2;";           /* JOURNAL_VERSION */

/* Version 1 -> 2, inside the writer's open transaction (init_db). */
static const char sql_upgrade_v1[] =
	"ALTER TABLE objects ADD COLUMN mode INTEGER;"
	"ALTER TABLE objects ADD COLUMN uid INTEGER;"
	"ALTER TABLE objects ADD COLUMN gid INTEGER;"
	"ALTER TABLE objects ADD COLUMN mtime INTEGER;"
	"PRAGMA user_version = 2;";

_Static_assert(JOURNAL_APP_ID == 1395868234, "schema_sql spells the application id");
_Static_assert(JOURNAL_VERSION == 2, "schema_sql and sql_upgrade_v1 spell the schema version");

/* The columns of a full record, in the order of enum col: those of every
 * version, then the stored attributes (version 2), which a version-1 file
 * lacks and reads as NULL. */
#define RECORD_COLS_BASE                                                         \
	"id, path, src_bucket, src_key, src_etag, src_size, dst_bucket, dst_key," \
	" dst_etag, size, md5, sha256, crc32c, part_size, parts, status, error,"  \
	" attempts, started, ended"
#define RECORD_COLS RECORD_COLS_BASE ", mode, uid, gid, mtime"
#define RECORD_COLS_V1 RECORD_COLS_BASE ", NULL, NULL, NULL, NULL"

enum col {
	C_ID, C_PATH, C_SRC_BUCKET, C_SRC_KEY, C_SRC_ETAG, C_SRC_SIZE, C_DST_BUCKET,
	C_DST_KEY, C_DST_ETAG, C_SIZE, C_MD5, C_SHA256, C_CRC32C, C_PART_SIZE, C_PARTS,
	C_STATUS, C_ERROR, C_ATTEMPTS, C_STARTED, C_ENDED, C_MODE, C_UID, C_GID, C_MTIME,
	C_N
};

/* ---- the writer's statements (writer connection, writer thread) ------ */

enum wstmt {
	W_BEGIN, W_COMMIT, W_ROLLBACK, W_INSERT, W_PATH_OF, W_FINISH, W_RELATEST,
	W_UPLOAD_BEGUN, W_UPLOAD_ENDED, W_SET_ATTRS, W_N
};

/* ?1 id, ?2 run, ?3 path, ?4..?25 the record (bind_record's order). */
static const char *const wsql[W_N] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_INSERT] = "INSERT INTO objects (id, run, path, src_bucket, src_key, src_etag,"
		     " src_size, dst_bucket, dst_key, dst_etag, size, md5, sha256, crc32c,"
		     " part_size, parts, status, error, attempts, started, ended, latest,"
		     " mode, uid, gid, mtime)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
		     " ?15, ?16, ?17, ?18, ?19, ?20, ?21, 1, ?22, ?23, ?24, ?25)",
	[W_PATH_OF] = "SELECT path FROM objects WHERE id = ?1",
	[W_FINISH] = "UPDATE objects SET path = ?3, src_bucket = ?4, src_key = ?5,"
		     " src_etag = ?6, src_size = ?7, dst_bucket = ?8, dst_key = ?9,"
		     " dst_etag = ?10, size = ?11, md5 = ?12, sha256 = ?13, crc32c = ?14,"
		     " part_size = ?15, parts = ?16, status = ?17, error = ?18,"
		     " attempts = ?19, started = ?20, ended = ?21, mode = ?22, uid = ?23,"
		     " gid = ?24, mtime = ?25 WHERE id = ?1",
	/* Give `latest` to the highest id of path ?1 and take it from the
	 * others; touches only rows whose flag changes. */
	[W_RELATEST] = "UPDATE objects SET latest = (id = (SELECT max(id) FROM objects"
		       " WHERE path = ?1)) WHERE path = ?1 AND latest <>"
		       " (id = (SELECT max(id) FROM objects WHERE path = ?1))",
	[W_UPLOAD_BEGUN] = ("INSERT INTO uploads (run, endpoint, bucket, key, upload_id, begun)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
	[W_UPLOAD_ENDED] = "DELETE FROM uploads WHERE upload_id = ?1",
	/* ?1 dst_bucket, ?2 dst_key, ?3 dst_etag, ?4..?7 mode, uid, gid, mtime */
	[W_SET_ATTRS] = "UPDATE objects SET dst_etag = ?3, mode = ?4, uid = ?5, gid = ?6,"
			" mtime = ?7 WHERE id = (SELECT max(id) FROM objects"
			" WHERE dst_bucket = ?1 AND dst_key = ?2) AND status = 'verified'",
};

/* Statements of open-time work, run once (not kept). */
static const char sql_app_id[] = "PRAGMA application_id";
static const char sql_user_version[] = "PRAGMA user_version";
static const char sql_schema_count[] = "SELECT count(*) FROM sqlite_schema";
static const char sql_wal[] = "PRAGMA journal_mode = WAL";
static const char sql_sync_full[] = "PRAGMA synchronous = FULL";
static const char sql_sync_normal[] = "PRAGMA synchronous = NORMAL";
/* The writer's page cache (KiB).  The four indexes of a growing journal
 * outgrow SQLite's default 2 MiB; measured at 300,000 records with syncs
 * every 100: 15,800 records/s with 32 MiB, 12,700 with the default. */
static const char sql_cache_size[] = "PRAGMA cache_size = -32768";
/* Statement journals (each UPDATE that fires the counter triggers has one)
 * in memory, not in a file under /var/tmp written for every record. */
static const char sql_temp_store[] = "PRAGMA temp_store = MEMORY";
static const char sql_begin_imm[] = "BEGIN IMMEDIATE";
static const char sql_begin_read[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_recover[] =
	"UPDATE objects SET status = 'interrupted', error = coalesce(error,"
	" 'interrupted: the mount stopped before the object was finished')"
	" WHERE status = 'pending'";
static const char sql_new_run[] = "UPDATE totals SET runs = runs + 1";
static const char sql_run_and_max[] =
	"SELECT (SELECT runs FROM totals), (SELECT coalesce(max(id), 0) FROM objects)";
static const char sql_integrity[] = "PRAGMA integrity_check";
static const char sql_store_check[] =
	"INSERT INTO checks (ran, missing, extra, differ, unverified, text)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* ---- the journal handle's reader (lookup, orphans) ------------------- */

/* Prepared after the writer's open upgraded the file: always version 2. */
enum rstmt { R_LOOKUP, R_ATTRS, R_HAS_BUCKET, R_ORPHANS, R_N };

static const char *const rsql[R_N] = {
	[R_LOOKUP] = "SELECT " RECORD_COLS " FROM objects"
		     " WHERE dst_bucket = ?1 AND dst_key = ?2 ORDER BY id DESC LIMIT 1",
	/* the same probe of objects_dst, seven columns (a listing asks for
	 * every name of a directory) */
	[R_ATTRS] = "SELECT status, dst_etag, size, mode, uid, gid, mtime FROM objects"
		    " WHERE dst_bucket = ?1 AND dst_key = ?2 ORDER BY id DESC LIMIT 1",
	[R_HAS_BUCKET] = "SELECT 1 FROM objects WHERE dst_bucket = ?1 LIMIT 1",
	[R_ORPHANS] = "SELECT endpoint, bucket, key, upload_id FROM uploads"
		      " WHERE run < ?1 ORDER BY id",
};

/* ---- a view's statements (its own read-only connection) -------------- */

enum vstmt {
	V_COUNTERS, V_TOTALS, V_UPLOADS, V_CHECK, V_CHECK_TEXT,
	V_ALL, V_VERIFIED, V_DIGESTS, V_BAD, V_PENDING, V_LAST_BAD, V_PATH,
	V_CHILD_FIRST, V_CHILD_RANGE, V_N
};

/* Indexed by version: a version-1 file (which a view reads without
 * upgrading it) has no attribute columns; its record statements select
 * NULL in their place.  COLS is the column list of a full record. */
#define VIEW_SQL(COLS)                                                                        \
	{                                                                                     \
	[V_COUNTERS] = "SELECT status, objects, bytes FROM counters",                         \
	[V_TOTALS] = "SELECT runs, records, first_start, last_end FROM totals WHERE one = 1", \
	[V_UPLOADS] = "SELECT count(*) FROM uploads",                                         \
	[V_CHECK] = "SELECT ran, missing, extra, differ, unverified FROM checks"              \
		    " ORDER BY id DESC LIMIT 1",                                              \
	[V_CHECK_TEXT] = "SELECT text FROM checks ORDER BY id DESC LIMIT 1",                  \
	[V_ALL] = "SELECT " COLS " FROM objects ORDER BY id",                                 \
	[V_VERIFIED] = "SELECT " COLS " FROM objects"                                         \
		       " WHERE latest = 1 AND status = 'verified' ORDER BY id",               \
	/* the SUMS files: five columns, not 24 (a third faster) */                           \
	[V_DIGESTS] = "SELECT id, path, md5, sha256, crc32c FROM objects"                     \
		      " WHERE latest = 1 AND status = 'verified' AND sha256 IS NOT NULL"      \
		      " ORDER BY id",                                                         \
	[V_BAD] = "SELECT " COLS " FROM objects WHERE latest = 1 AND status IN"               \
		  " ('failed', 'mismatch', 'interrupted') ORDER BY status, id",               \
	[V_PENDING] = "SELECT " COLS " FROM objects"                                          \
		      " WHERE latest = 1 AND status = 'pending' ORDER BY id",                 \
	/* the newest ?1 of each bad status by index, then the newest ?1 of                   \
	 * those: reads 3 * ?1 rows however many failed */                                    \
	[V_LAST_BAD] = "SELECT " COLS " FROM objects WHERE id IN ("                           \
		       " SELECT id FROM (SELECT id FROM objects WHERE latest = 1"             \
		       "  AND status = 'failed' ORDER BY id DESC LIMIT ?1)"                   \
		       " UNION ALL SELECT id FROM (SELECT id FROM objects WHERE latest = 1"   \
		       "  AND status = 'mismatch' ORDER BY id DESC LIMIT ?1)"                 \
		       " UNION ALL SELECT id FROM (SELECT id FROM objects WHERE latest = 1"   \
		       "  AND status = 'interrupted' ORDER BY id DESC LIMIT ?1))"             \
		       " ORDER BY id DESC LIMIT ?1",                                          \
	[V_PATH] = "SELECT " COLS " FROM objects WHERE path = ?1"                             \
		   " ORDER BY id DESC LIMIT 1",                                               \
	/* The first path at or after ?1 (and before ?2): the objects/ tree                   \
	 * walks the path index by seeks, one per name, not one per record. */                \
	[V_CHILD_FIRST] = "SELECT path FROM objects WHERE path >= ?1 ORDER BY path LIMIT 1",  \
	[V_CHILD_RANGE] = "SELECT path FROM objects WHERE path >= ?1 AND path < ?2"           \
			  " ORDER BY path LIMIT 1",                                           \
}

static const char *const vsql[2][V_N] = {
	[0] = VIEW_SQL(RECORD_COLS_V1),
	[1] = VIEW_SQL(RECORD_COLS),
};
_Static_assert(JOURNAL_VERSION == 2, "one vsql row per version");

/* ---- status names ---------------------------------------------------- */

static const char *const status_names[S3B_JOURNAL_NSTATUS] = {
	[S3B_ST_PENDING] = "pending",
	[S3B_ST_VERIFIED] = "verified",
	[S3B_ST_FAILED] = "failed",
	[S3B_ST_MISMATCH] = "mismatch",
	[S3B_ST_INTERRUPTED] = "interrupted",
};
_Static_assert(S3B_ST_INTERRUPTED + 1 == S3B_JOURNAL_NSTATUS, "one name per status");

const char *s3b_obj_status_name(enum s3b_obj_status st)
{
	if ((unsigned)st >= S3B_JOURNAL_NSTATUS)
		return "unknown";
	return status_names[st];
}

static int status_parse(const char *name, enum s3b_obj_status *out)
{
	for (unsigned i = 0; i < S3B_JOURNAL_NSTATUS; i++) {
		if (name && strcmp(name, status_names[i]) == 0) {
			*out = (enum s3b_obj_status)i;
			return 0;
		}
	}
	return EINVAL;
}

/* ---- small helpers --------------------------------------------------- */

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
}

/* Log an SQLite failure once (never the parameters) and turn it into the
 * errno the callers see. */
static int sql_fail(sqlite3 *db, const char *what)
{
	LOG_E("journal: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return EIO;
}

static int64_t ts_to_ns(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};

	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000;
		ts.tv_sec--;
	}
	return ts;
}

/* Whether ts fits in int64 nanoseconds (about 1678 to 2262). */
static bool ts_fits_ns(struct timespec ts)
{
	return ts.tv_sec > INT64_MIN / 1000000000 + 1 && ts.tv_sec < INT64_MAX / 1000000000 - 1 &&
	       ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_to_ns(ts);
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex_decode(const char *in, uint8_t *out, size_t n)
{
	if (!in || strlen(in) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(in[2 * i]), lo = hex_val(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	return s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
}

static int bind_time(sqlite3_stmt *st, int idx, struct timespec ts)
{
	if (ts.tv_sec == 0 && ts.tv_nsec == 0)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, ts_to_ns(ts));
}

/* Bind a record as ?3..?25 (W_INSERT and W_FINISH share the numbering).
 * The hex buffers must outlive the step. */
struct hexbufs {
	char md5[33], sha256[65], crc32c[9];
};

static int bind_record(sqlite3_stmt *st, const struct s3b_obj_record *r, struct hexbufs *h)
{
	int rc = 0;

	if (r->has_digests) {
		uint8_t crc[4] = {(uint8_t)(r->crc32c >> 24), (uint8_t)(r->crc32c >> 16),
				  (uint8_t)(r->crc32c >> 8), (uint8_t)r->crc32c};

		hex_encode(r->md5, sizeof(r->md5), h->md5);
		hex_encode(r->sha256, sizeof(r->sha256), h->sha256);
		hex_encode(crc, sizeof(crc), h->crc32c);
	}
	rc |= bind_text(st, 3, r->path);
	rc |= bind_text(st, 4, r->src_bucket);
	rc |= bind_text(st, 5, r->src_key);
	rc |= bind_text(st, 6, r->src_etag);
	rc |= r->src_size < 0 ? sqlite3_bind_null(st, 7) : sqlite3_bind_int64(st, 7, r->src_size);
	rc |= bind_text(st, 8, r->dst_bucket);
	rc |= bind_text(st, 9, r->dst_key);
	rc |= bind_text(st, 10, r->dst_etag);
	rc |= sqlite3_bind_int64(st, 11, (int64_t)r->size);
	rc |= bind_text(st, 12, r->has_digests ? h->md5 : NULL);
	rc |= bind_text(st, 13, r->has_digests ? h->sha256 : NULL);
	rc |= bind_text(st, 14, r->has_digests ? h->crc32c : NULL);
	rc |= sqlite3_bind_int64(st, 15, (int64_t)r->part_size);
	rc |= sqlite3_bind_int64(st, 16, r->parts);
	rc |= bind_text(st, 17, s3b_obj_status_name(r->status));
	rc |= bind_text(st, 18, r->error);
	rc |= sqlite3_bind_int64(st, 19, r->attempts);
	rc |= bind_time(st, 20, r->started);
	rc |= bind_time(st, 21, r->ended);
	rc |= r->has_mode ? sqlite3_bind_int64(st, 22, r->mode) : sqlite3_bind_null(st, 22);
	rc |= r->has_uid ? sqlite3_bind_int64(st, 23, r->uid) : sqlite3_bind_null(st, 23);
	rc |= r->has_gid ? sqlite3_bind_int64(st, 24, r->gid) : sqlite3_bind_null(st, 24);
	/* an mtime int64 nanoseconds cannot hold is not stored (read: absent) */
	rc |= r->has_mtime && ts_fits_ns(r->mtime) ? sqlite3_bind_int64(st, 25, ts_to_ns(r->mtime))
						   : sqlite3_bind_null(st, 25);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int c)
{
	return (const char *)sqlite3_column_text(st, c);
}

static int64_t col_int_or(sqlite3_stmt *st, int c, int64_t dflt)
{
	return sqlite3_column_type(st, c) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, c);
}

/* Fill row from the current result of a RECORD_COLS statement; strings
 * are borrowed from the statement.  The binary digests are decoded only
 * with decode (lookup); views hand out the stored hex, which is all the
 * reports print (decoding was a sixth of a SHA256SUMS render). */
static void row_from_stmt(sqlite3_stmt *st, struct s3b_jrow *row, bool decode)
{
	struct s3b_obj_record *r = &row->rec;
	uint8_t crc[4];
	int64_t t;

	memset(row, 0, sizeof(*row));
	row->id = sqlite3_column_int64(st, C_ID);
	r->path = col_text(st, C_PATH);
	r->src_bucket = col_text(st, C_SRC_BUCKET);
	r->src_key = col_text(st, C_SRC_KEY);
	r->src_etag = col_text(st, C_SRC_ETAG);
	r->src_size = col_int_or(st, C_SRC_SIZE, -1);
	r->dst_bucket = col_text(st, C_DST_BUCKET);
	r->dst_key = col_text(st, C_DST_KEY);
	r->dst_etag = col_text(st, C_DST_ETAG);
	r->size = (uint64_t)sqlite3_column_int64(st, C_SIZE);
	row->md5_hex = col_text(st, C_MD5);
	row->sha256_hex = col_text(st, C_SHA256);
	row->crc32c_hex = col_text(st, C_CRC32C);
	if (!row->md5_hex || !row->sha256_hex || !row->crc32c_hex) {
		row->md5_hex = row->sha256_hex = row->crc32c_hex = NULL;
	} else if (decode) {
		r->has_digests = hex_decode(row->md5_hex, r->md5, sizeof(r->md5)) &&
				 hex_decode(row->sha256_hex, r->sha256, sizeof(r->sha256)) &&
				 hex_decode(row->crc32c_hex, crc, sizeof(crc));
		if (r->has_digests)
			r->crc32c = (uint32_t)crc[0] << 24 | (uint32_t)crc[1] << 16 |
				    (uint32_t)crc[2] << 8 | crc[3];
	}
	r->part_size = (uint64_t)sqlite3_column_int64(st, C_PART_SIZE);
	r->parts = (unsigned)sqlite3_column_int64(st, C_PARTS);
	if (status_parse(col_text(st, C_STATUS), &r->status))
		r->status = S3B_ST_FAILED; /* the CHECK constraint makes this unreachable */
	r->error = col_text(st, C_ERROR);
	r->attempts = (unsigned)sqlite3_column_int64(st, C_ATTEMPTS);
	t = col_int_or(st, C_STARTED, 0);
	r->started = t ? ns_to_ts(t) : (struct timespec){0};
	t = col_int_or(st, C_ENDED, 0);
	r->ended = t ? ns_to_ts(t) : (struct timespec){0};
	if ((r->has_mode = sqlite3_column_type(st, C_MODE) != SQLITE_NULL))
		r->mode = (uint32_t)sqlite3_column_int64(st, C_MODE);
	if ((r->has_uid = sqlite3_column_type(st, C_UID) != SQLITE_NULL))
		r->uid = (uint32_t)sqlite3_column_int64(st, C_UID);
	if ((r->has_gid = sqlite3_column_type(st, C_GID) != SQLITE_NULL))
		r->gid = (uint32_t)sqlite3_column_int64(st, C_GID);
	if ((r->has_mtime = sqlite3_column_type(st, C_MTIME) != SQLITE_NULL))
		r->mtime = ns_to_ts(sqlite3_column_int64(st, C_MTIME));
}

static int prepare_all(sqlite3 *db, const char *const *sql, sqlite3_stmt **st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) !=
		    SQLITE_OK)
			return sql_fail(db, "prepare");
	}
	return 0;
}

static void finalize_all(sqlite3_stmt **st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
}

/* Run a statement that returns no rows we need (all rows are stepped). */
static int exec1(sqlite3 *db, const char *sql, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(db, what);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(db, what);
}

/* One integer from a one-row statement. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sqlite3_errcode(db);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The file-format check every connection makes first.  0: an s3bridge
 * journal of a version we read, *version set (1..JOURNAL_VERSION; 0 when
 * fresh); *fresh set when the file is a new, empty database (the writer
 * creates the schema).  ENOENT, EINVAL, ENOTSUP, EIO with why set.  Logs
 * only EIO. */
static int check_format(sqlite3 *db, const char *path, bool *fresh, int *version, char *why,
			size_t whylen)
{
	int64_t app = 0, ver = 0, objs = 0;
	int rc;

	*fresh = false;
	*version = 0;
	rc = query_int(db, sql_app_id, &app);
	if (rc == SQLITE_OK)
		rc = query_int(db, sql_user_version, &ver);
	if (rc == SQLITE_OK)
		rc = query_int(db, sql_schema_count, &objs);
	if (rc == SQLITE_NOTADB) {
		set_why(why, whylen, "%s: not an s3bridge journal (not an SQLite database)", path);
		return EINVAL;
	}
	if (rc != SQLITE_OK) {
		set_why(why, whylen, "%s: %s", path, sqlite3_errmsg(db));
		return sql_fail(db, "reading the journal header");
	}
	if (app == 0 && ver == 0 && objs == 0) {
		*fresh = true;
		return 0;
	}
	if (app != JOURNAL_APP_ID) {
		set_why(why, whylen, "%s: not an s3bridge journal (an SQLite database of another program)",
			path);
		return EINVAL;
	}
	if (ver > JOURNAL_VERSION) {
		set_why(why, whylen,
			"%s: journal schema version %lld is newer than this s3bridge reads (%d); "
			"use a newer s3bridge",
			path, (long long)ver, JOURNAL_VERSION);
		return ENOTSUP;
	}
	if (ver < 1) {
		set_why(why, whylen, "%s: not an s3bridge journal (no schema version)", path);
		return EINVAL;
	}
	*version = (int)ver;
	return 0;
}

/* Open a connection; ENOENT when the file is missing and create is false. */
static int open_db(const char *path, int flags, sqlite3 **out, char *why, size_t whylen)
{
	struct stat sb;
	sqlite3 *db = NULL;

	*out = NULL;
	if (!(flags & SQLITE_OPEN_CREATE) && stat(path, &sb) != 0) {
		int e = errno;

		set_why(why, whylen, "%s: %s", path, strerror(e));
		return e == ENOENT ? ENOENT : EIO;
	}
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_why(why, whylen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sql_fail(db, "open");
		sqlite3_close(db);
		return EIO;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	*out = db;
	return 0;
}

/* ---- the journal handle ---------------------------------------------- */

enum op_kind { OP_BEGIN, OP_FINISH, OP_UPLOAD_BEGUN, OP_UPLOAD_ENDED, OP_SET_ATTRS };

/* A queued write.  Every string points into buf, which the op owns. */
struct jop {
	enum op_kind kind;
	int64_t id;
	int64_t begun_ns;
	struct s3b_obj_record rec;
	const char *endpoint, *bucket, *key, *upload_id;
	char *buf;
};

struct s3b_journal {
	sqlite3 *db;                  /* writer connection: open, then writer thread only */
	sqlite3_stmt *w[W_N];
	int64_t run;

	pthread_mutex_t rlock;        /* the reader connection and its statements */
	sqlite3 *rdb;                 /* protected by rlock */
	sqlite3_stmt *r[R_N];         /* protected by rlock */

	int lock_fd;                  /* flock on PATH-lock, held until close */
	pthread_t thread;

	/* Lock order: lock, then nothing (rlock is never taken with it). */
	pthread_mutex_t lock;
	pthread_cond_t work;          /* ops queued, paused cleared, or stopping */
	pthread_cond_t space;         /* room in the queue */
	pthread_cond_t done;          /* a batch ended */
	struct jop *ring;             /* protected by lock */
	size_t cap, head, count;      /* protected by lock */
	size_t batch_cap;
	struct jop *batch;            /* writer thread only */
	int64_t next_id;              /* protected by lock */
	uint64_t enq_seq, done_seq;   /* protected by lock: ops queued / ops through a batch */
	uint64_t committed, transactions; /* protected by lock */
	bool broken;                  /* protected by lock: a write was lost; syncs fail */
	bool paused, stopping;        /* protected by lock */
};

static int take_lock_file(const char *path, int *fd_out, char *why, size_t whylen)
{
	size_t n = strlen(path);
	char *lp = malloc(n + sizeof("-lock"));
	int fd, e;

	*fd_out = -1;
	if (!lp)
		return ENOMEM;
	memcpy(lp, path, n);
	memcpy(lp + n, "-lock", sizeof("-lock"));
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		set_why(why, whylen, "%s: %s", lp, strerror(e));
		free(lp);
		return e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		e = errno;
		if (e == EWOULDBLOCK)
			set_why(why, whylen, "%s: the journal is in use by another s3bridge", path);
		else
			set_why(why, whylen, "%s: %s", lp, strerror(e));
		close(fd);
		free(lp);
		return e == EWOULDBLOCK ? EBUSY : e;
	}
	free(lp);
	*fd_out = fd;
	return 0;
}

/* A new journal is created owner-only (it names every object; SQLite gives
 * its -wal and -shm the same mode).  Only when the file does not exist:
 * closing a descriptor of a database this process has open would drop
 * SQLite's locks on it. */
static int create_private(const char *path, char *why, size_t whylen)
{
	struct stat sb;
	int fd;

	if (stat(path, &sb) == 0 || errno != ENOENT)
		return 0; /* exists (or SQLite will say why not) */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;

		if (e == EEXIST)
			return 0;
		set_why(why, whylen, "%s: %s", path, strerror(e));
		return e;
	}
	close(fd);
	return 0;
}

/* Schema (or its upgrade), recovery and this run's number, in one write
 * transaction.  The version is read again inside it: the one check_format
 * saw was outside any transaction. */
static int init_db(struct s3b_journal *j, bool fresh, const char *path, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	char *err = NULL;
	int64_t ver = 0;
	bool upgraded = false;
	int rc;

	rc = exec1(j->db, sql_begin_imm, "begin");
	if (rc)
		goto fail;
	if (fresh && sqlite3_exec(j->db, schema_sql, NULL, NULL, &err) != SQLITE_OK) {
		LOG_E("journal: creating the schema: %s", err ? err : "out of memory");
		sqlite3_free(err);
		rc = EIO;
		goto fail_rollback;
	}
	if (query_int(j->db, sql_user_version, &ver) != SQLITE_OK) {
		rc = sql_fail(j->db, "reading the schema version");
		goto fail_rollback;
	}
	if (ver == 1) {
		if (sqlite3_exec(j->db, sql_upgrade_v1, NULL, NULL, &err) != SQLITE_OK) {
			LOG_E("journal: upgrading the schema to version 2: %s",
			      err ? err : "out of memory");
			sqlite3_free(err);
			rc = EIO;
			goto fail_rollback;
		}
		upgraded = true;
	} else if (ver != JOURNAL_VERSION) {
		set_why(why, whylen, "%s: journal schema version %lld changed during open", path,
			(long long)ver);
		rc = EIO;
		goto fail_rollback_why;
	}
	rc = exec1(j->db, sql_recover, "recovering pending records");
	if (!rc)
		rc = exec1(j->db, sql_new_run, "starting a run");
	if (rc)
		goto fail_rollback;
	if (sqlite3_prepare_v2(j->db, sql_run_and_max, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = sql_fail(j->db, "reading the run and the last id");
		goto fail_rollback;
	}
	j->run = sqlite3_column_int64(st, 0);
	j->next_id = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	rc = exec1(j->db, sql_commit, "commit");
	if (rc)
		goto fail_rollback;
	if (upgraded)
		LOG_N("journal: %s: schema upgraded from version 1 to 2 (stored file attributes)",
		      path);
	return 0;

fail_rollback:
	set_why(why, whylen, "%s: %s", path, sqlite3_errmsg(j->db));
fail_rollback_why:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(j->db))
		exec1(j->db, sql_rollback, "rollback");
	return rc;
fail:
	set_why(why, whylen, "%s: %s", path, sqlite3_errmsg(j->db));
	return rc;
}

/* journal_mode answers with the mode in force: "wal", or the old mode
 * when WAL is impossible (a file system without shared memory). */
static int set_wal(sqlite3 *db)
{
	sqlite3_stmt *st;
	bool wal = false;

	if (sqlite3_prepare_v2(db, sql_wal, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(db, "journal_mode=WAL");
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *mode = col_text(st, 0);

		wal = mode && strcmp(mode, "wal") == 0;
	}
	sqlite3_finalize(st);
	if (!wal) {
		LOG_E("journal: the database refuses WAL mode");
		return EIO;
	}
	return 0;
}

static void free_op(struct jop *op)
{
	free(op->buf);
	op->buf = NULL;
}

/* Copy the strings of n pointers into one allocation; dst[i] point into it. */
static char *copy_strings(const char *const *src, const char **dst, size_t n)
{
	size_t total = 0, off = 0;
	char *buf;

	for (size_t i = 0; i < n; i++)
		total += src[i] ? strlen(src[i]) + 1 : 0;
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (!src[i]) {
			dst[i] = NULL;
			continue;
		}
		len = strlen(src[i]) + 1;
		memcpy(buf + off, src[i], len);
		dst[i] = buf + off;
		off += len;
	}
	return buf;
}

static int op_from_record(struct jop *op, enum op_kind kind, const struct s3b_obj_record *r)
{
	const char *src[8] = {r->path, r->src_bucket, r->src_key, r->src_etag,
			      r->dst_bucket, r->dst_key, r->dst_etag, r->error};
	const char *dst[8];

	*op = (struct jop){.kind = kind, .rec = *r};
	op->buf = copy_strings(src, dst, 8);
	if (!op->buf)
		return ENOMEM;
	op->rec.path = dst[0] ? dst[0] : "";
	op->rec.src_bucket = dst[1];
	op->rec.src_key = dst[2];
	op->rec.src_etag = dst[3];
	op->rec.dst_bucket = dst[4];
	op->rec.dst_key = dst[5];
	op->rec.dst_etag = dst[6];
	op->rec.error = dst[7];
	return 0;
}

/* Queue op (taking ownership of its buffer), blocking while the queue is
 * full.  A begin gets its id here, so queue order is id order. */
static int64_t enqueue(struct s3b_journal *j, struct jop *op)
{
	int64_t id = 0;

	pthread_mutex_lock(&j->lock);
	while (j->count == j->cap)
		pthread_cond_wait(&j->space, &j->lock);
	if (op->kind == OP_BEGIN)
		op->id = id = ++j->next_id;
	j->ring[(j->head + j->count) % j->cap] = *op;
	j->count++;
	j->enq_seq++;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->lock);
	return id;
}

static void mark_lost(struct s3b_journal *j, const char *what)
{
	LOG_E("journal: %s: out of memory; the record is lost", what);
	pthread_mutex_lock(&j->lock);
	j->broken = true;
	pthread_mutex_unlock(&j->lock);
}

int64_t s3b_journal_begin(struct s3b_journal *j, const struct s3b_obj_record *r)
{
	struct jop op;

	if (op_from_record(&op, OP_BEGIN, r))
		return 0;
	op.rec.status = S3B_ST_PENDING;
	return enqueue(j, &op);
}

void s3b_journal_finish(struct s3b_journal *j, int64_t id, const struct s3b_obj_record *r)
{
	struct jop op;

	if (id <= 0) {
		LOG_E("journal: finish of a record that never began (id %lld)", (long long)id);
		return;
	}
	if (op_from_record(&op, OP_FINISH, r)) {
		mark_lost(j, "finish");
		return;
	}
	op.id = id;
	enqueue(j, &op);
}

void s3b_journal_upload_begun(struct s3b_journal *j, const char *endpoint, const char *bucket,
			      const char *key, const char *upload_id)
{
	const char *src[4] = {endpoint, bucket ? bucket : "", key ? key : "",
			      upload_id ? upload_id : ""};
	const char *dst[4];
	struct jop op = {.kind = OP_UPLOAD_BEGUN, .begun_ns = now_ns()};

	op.buf = copy_strings(src, dst, 4);
	if (!op.buf) {
		mark_lost(j, "upload begun");
		return;
	}
	op.endpoint = dst[0];
	op.bucket = dst[1];
	op.key = dst[2];
	op.upload_id = dst[3];
	enqueue(j, &op);
}

void s3b_journal_upload_ended(struct s3b_journal *j, const char *upload_id)
{
	const char *src[1] = {upload_id ? upload_id : ""};
	const char *dst[1];
	struct jop op = {.kind = OP_UPLOAD_ENDED};

	op.buf = copy_strings(src, dst, 1);
	if (!op.buf) {
		mark_lost(j, "upload ended");
		return;
	}
	op.upload_id = dst[0];
	enqueue(j, &op);
}

void s3b_journal_set_attrs(struct s3b_journal *j, const struct s3b_obj_record *r)
{
	struct jop op;

	if (op_from_record(&op, OP_SET_ATTRS, r)) {
		mark_lost(j, "attributes");
		return;
	}
	enqueue(j, &op);
}

/* Step a writer statement to completion and reset it. */
static int wstep(struct s3b_journal *j, enum wstmt s, const char *what)
{
	int rc = sqlite3_step(j->w[s]);

	sqlite3_reset(j->w[s]);
	sqlite3_clear_bindings(j->w[s]);
	return rc == SQLITE_DONE ? 0 : sql_fail(j->db, what);
}

static int relatest(struct s3b_journal *j, const char *path)
{
	if (bind_text(j->w[W_RELATEST], 1, path) != SQLITE_OK)
		return sql_fail(j->db, "bind");
	return wstep(j, W_RELATEST, "marking the latest record");
}

static int apply_begin(struct s3b_journal *j, const struct jop *op)
{
	sqlite3_stmt *st = j->w[W_INSERT];
	struct hexbufs h;
	int rc;

	if (sqlite3_bind_int64(st, 1, op->id) | sqlite3_bind_int64(st, 2, j->run) |
	    bind_record(st, &op->rec, &h))
		return sql_fail(j->db, "bind");
	rc = wstep(j, W_INSERT, "recording a new object");
	if (!rc)
		rc = relatest(j, op->rec.path);
	return rc;
}

static int apply_finish(struct s3b_journal *j, const struct jop *op)
{
	sqlite3_stmt *q = j->w[W_PATH_OF], *st = j->w[W_FINISH];
	struct hexbufs h;
	char *old = NULL;
	int rc;

	/* the old path, to re-mark `latest` if the finish moves the record */
	sqlite3_bind_int64(q, 1, op->id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *p = col_text(q, 0);

		if (p && strcmp(p, op->rec.path) != 0 && !(old = strdup(p))) {
			sqlite3_reset(q);
			return ENOMEM;
		}
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE) {
		LOG_E("journal: finish of unknown record %lld ignored", (long long)op->id);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return sql_fail(j->db, "reading a record");

	if (sqlite3_bind_int64(st, 1, op->id) | bind_record(st, &op->rec, &h)) {
		free(old);
		return sql_fail(j->db, "bind");
	}
	rc = wstep(j, W_FINISH, "recording an outcome");
	if (!rc && old) {
		rc = relatest(j, old);
		if (!rc)
			rc = relatest(j, op->rec.path);
	}
	free(old);
	return rc;
}

static int apply_upload_begun(struct s3b_journal *j, const struct jop *op)
{
	sqlite3_stmt *st = j->w[W_UPLOAD_BEGUN];

	if (sqlite3_bind_int64(st, 1, j->run) | bind_text(st, 2, op->endpoint) |
	    bind_text(st, 3, op->bucket) | bind_text(st, 4, op->key) |
	    bind_text(st, 5, op->upload_id) | sqlite3_bind_int64(st, 6, op->begun_ns))
		return sql_fail(j->db, "bind");
	return wstep(j, W_UPLOAD_BEGUN, "recording an upload");
}

static int apply_upload_ended(struct s3b_journal *j, const struct jop *op)
{
	if (bind_text(j->w[W_UPLOAD_ENDED], 1, op->upload_id) != SQLITE_OK)
		return sql_fail(j->db, "bind");
	return wstep(j, W_UPLOAD_ENDED, "ending an upload");
}

static int apply_set_attrs(struct s3b_journal *j, const struct jop *op)
{
	const struct s3b_obj_record *r = &op->rec;
	sqlite3_stmt *st = j->w[W_SET_ATTRS];
	int rc = bind_text(st, 1, r->dst_bucket) | bind_text(st, 2, r->dst_key) |
		 bind_text(st, 3, r->dst_etag);

	rc |= r->has_mode ? sqlite3_bind_int64(st, 4, r->mode) : sqlite3_bind_null(st, 4);
	rc |= r->has_uid ? sqlite3_bind_int64(st, 5, r->uid) : sqlite3_bind_null(st, 5);
	rc |= r->has_gid ? sqlite3_bind_int64(st, 6, r->gid) : sqlite3_bind_null(st, 6);
	rc |= r->has_mtime && ts_fits_ns(r->mtime) ? sqlite3_bind_int64(st, 7, ts_to_ns(r->mtime))
						   : sqlite3_bind_null(st, 7);
	if (rc != SQLITE_OK)
		return sql_fail(j->db, "bind");
	return wstep(j, W_SET_ATTRS, "updating stored attributes");
}

/* One transaction for the whole batch: all of it or none of it. */
static int commit_batch(struct s3b_journal *j, const struct jop *ops, size_t n)
{
	int rc = wstep(j, W_BEGIN, "begin");

	for (size_t i = 0; !rc && i < n; i++) {
		switch (ops[i].kind) {
		case OP_BEGIN:
			rc = apply_begin(j, &ops[i]);
			break;
		case OP_FINISH:
			rc = apply_finish(j, &ops[i]);
			break;
		case OP_UPLOAD_BEGUN:
			rc = apply_upload_begun(j, &ops[i]);
			break;
		case OP_UPLOAD_ENDED:
			rc = apply_upload_ended(j, &ops[i]);
			break;
		case OP_SET_ATTRS:
			rc = apply_set_attrs(j, &ops[i]);
			break;
		}
	}
	if (!rc)
		rc = wstep(j, W_COMMIT, "commit");
	if (rc && !sqlite3_get_autocommit(j->db))
		wstep(j, W_ROLLBACK, "rollback");
	return rc;
}

static void *writer_main(void *arg)
{
	struct s3b_journal *j = arg;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		size_t n;
		int rc;

		while ((j->count == 0 || j->paused) && !j->stopping)
			pthread_cond_wait(&j->work, &j->lock);
		if (j->count == 0)
			break; /* stopping and drained */
		n = j->count < j->batch_cap ? j->count : j->batch_cap;
		for (size_t i = 0; i < n; i++)
			j->batch[i] = j->ring[(j->head + i) % j->cap];
		j->head = (j->head + n) % j->cap;
		j->count -= n;
		pthread_cond_broadcast(&j->space);
		pthread_mutex_unlock(&j->lock);

		rc = commit_batch(j, j->batch, n);
		for (size_t i = 0; i < n; i++)
			free_op(&j->batch[i]);

		pthread_mutex_lock(&j->lock);
		j->done_seq += n;
		if (rc) {
			j->broken = true;
		} else {
			j->committed += n;
			j->transactions++;
		}
		pthread_cond_broadcast(&j->done);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int s3b_journal_sync(struct s3b_journal *j)
{
	uint64_t target;
	int rc;

	pthread_mutex_lock(&j->lock);
	target = j->enq_seq;
	while (j->done_seq < target)
		pthread_cond_wait(&j->done, &j->lock);
	rc = j->broken ? EIO : 0;
	pthread_mutex_unlock(&j->lock);
	return rc;
}

void s3b_journal_pause(struct s3b_journal *j, bool paused)
{
	pthread_mutex_lock(&j->lock);
	j->paused = paused;
	pthread_cond_broadcast(&j->work);
	pthread_mutex_unlock(&j->lock);
}

void s3b_journal_counts(struct s3b_journal *j, struct s3b_journal_counts *out)
{
	pthread_mutex_lock(&j->lock);
	*out = (struct s3b_journal_counts){
		.queued = j->enq_seq,
		.committed = j->committed,
		.transactions = j->transactions,
	};
	pthread_mutex_unlock(&j->lock);
}

static void journal_free(struct s3b_journal *j)
{
	finalize_all(j->w, W_N);
	finalize_all(j->r, R_N);
	if (j->rdb)
		sqlite3_close(j->rdb);
	if (j->db)
		sqlite3_close(j->db);
	if (j->lock_fd >= 0)
		close(j->lock_fd); /* after SQLite closed: see invariant 5 */
	free(j->ring);
	free(j->batch);
	pthread_cond_destroy(&j->done);
	pthread_cond_destroy(&j->space);
	pthread_cond_destroy(&j->work);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->rlock);
	free(j);
}

int s3b_journal_open_tuned(const char *path, const struct s3b_journal_tuning *t,
			   struct s3b_journal **out, char *why, size_t whylen)
{
	struct s3b_journal *j;
	bool fresh = false;
	int version, rc;

	*out = NULL;
	set_why(why, whylen, "%s", "");
	j = calloc(1, sizeof(*j));
	if (!j) {
		set_why(why, whylen, "out of memory");
		return ENOMEM;
	}
	j->lock_fd = -1;
	j->cap = t && t->queue_cap ? t->queue_cap : DEFAULT_QUEUE;
	j->batch_cap = t && t->batch_cap ? t->batch_cap : j->cap;
	if (j->batch_cap > j->cap)
		j->batch_cap = j->cap;
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->rlock, NULL);
	pthread_cond_init(&j->work, NULL);
	pthread_cond_init(&j->space, NULL);
	pthread_cond_init(&j->done, NULL);
	j->ring = calloc(j->cap, sizeof(*j->ring));
	j->batch = calloc(j->batch_cap, sizeof(*j->batch));
	if (!j->ring || !j->batch) {
		set_why(why, whylen, "out of memory");
		rc = ENOMEM;
		goto fail;
	}

	rc = take_lock_file(path, &j->lock_fd, why, whylen);
	if (!rc)
		rc = create_private(path, why, whylen);
	if (rc)
		goto fail;
	rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &j->db, why, whylen);
	if (rc)
		goto fail;
	rc = check_format(j->db, path, &fresh, &version, why, whylen);
	if (rc)
		goto fail;
	rc = set_wal(j->db);
	if (rc) {
		set_why(why, whylen, "%s: cannot use WAL mode (a local file system is needed)", path);
		goto fail;
	}
	rc = exec1(j->db, t && t->sync_normal ? sql_sync_normal : sql_sync_full, "synchronous");
	if (!rc)
		rc = exec1(j->db, sql_cache_size, "cache_size");
	if (!rc)
		rc = exec1(j->db, sql_temp_store, "temp_store");
	if (rc)
		goto fail_why;
	rc = init_db(j, fresh, path, why, whylen);
	if (rc)
		goto fail;
	rc = prepare_all(j->db, wsql, j->w, W_N);
	if (rc)
		goto fail_why;

	rc = open_db(path, SQLITE_OPEN_READONLY, &j->rdb, why, whylen);
	if (rc)
		goto fail;
	rc = prepare_all(j->rdb, rsql, j->r, R_N);
	if (rc)
		goto fail_why;

	rc = pthread_create(&j->thread, NULL, writer_main, j);
	if (rc) {
		set_why(why, whylen, "cannot start the journal writer: %s", strerror(rc));
		goto fail;
	}
	*out = j;
	return 0;

fail_why:
	set_why(why, whylen, "%s: cannot set up the journal (the log says why)", path);
fail:
	journal_free(j);
	return rc;
}

int s3b_journal_open(const char *path, struct s3b_journal **out, char *why, size_t whylen)
{
	return s3b_journal_open_tuned(path, NULL, out, why, whylen);
}

void s3b_journal_close(struct s3b_journal *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->stopping = true;
	pthread_cond_broadcast(&j->work);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	journal_free(j);
}

/* ---- the journal handle's reads -------------------------------------- */

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

void s3b_obj_record_free_strings(struct s3b_obj_record *r)
{
	free((char *)r->path);
	free((char *)r->src_bucket);
	free((char *)r->src_key);
	free((char *)r->src_etag);
	free((char *)r->dst_bucket);
	free((char *)r->dst_key);
	free((char *)r->dst_etag);
	free((char *)r->error);
	r->path = r->src_bucket = r->src_key = r->src_etag = NULL;
	r->dst_bucket = r->dst_key = r->dst_etag = r->error = NULL;
}

int s3b_journal_lookup(struct s3b_journal *j, const char *dst_bucket, const char *dst_key,
		       struct s3b_obj_record *out)
{
	sqlite3_stmt *st;
	struct s3b_jrow row;
	bool oom = false;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&j->rlock);
	st = j->r[R_LOOKUP];
	if (bind_text(st, 1, dst_bucket) | bind_text(st, 2, dst_key)) {
		rc = sql_fail(j->rdb, "bind");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = ENOENT;
	} else if (rc != SQLITE_ROW) {
		rc = sql_fail(j->rdb, "lookup");
	} else {
		row_from_stmt(st, &row, true);
		*out = row.rec;
		out->path = dup_or_null(row.rec.path, &oom);
		out->src_bucket = dup_or_null(row.rec.src_bucket, &oom);
		out->src_key = dup_or_null(row.rec.src_key, &oom);
		out->src_etag = dup_or_null(row.rec.src_etag, &oom);
		out->dst_bucket = dup_or_null(row.rec.dst_bucket, &oom);
		out->dst_key = dup_or_null(row.rec.dst_key, &oom);
		out->dst_etag = dup_or_null(row.rec.dst_etag, &oom);
		out->error = dup_or_null(row.rec.error, &oom);
		rc = 0;
		if (oom) {
			s3b_obj_record_free_strings(out);
			rc = ENOMEM;
		}
	}
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&j->rlock);
	return rc;
}

int s3b_journal_stored_attrs(struct s3b_journal *j, const char *dst_bucket, const char *dst_key,
			     struct s3b_journal_attrs *out)
{
	const char *status, *etag;
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&j->rlock);
	st = j->r[R_ATTRS];
	if (bind_text(st, 1, dst_bucket) | bind_text(st, 2, dst_key)) {
		rc = sql_fail(j->rdb, "bind");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = sql_fail(j->rdb, "reading stored attributes");
		goto out;
	}
	/* columns: status, dst_etag, size, mode, uid, gid, mtime */
	status = col_text(st, 0);
	rc = ENOENT;
	if (!status || strcmp(status, status_names[S3B_ST_VERIFIED]) != 0)
		goto out;
	if ((out->has_mode = sqlite3_column_type(st, 3) != SQLITE_NULL))
		out->mode = (uint32_t)sqlite3_column_int64(st, 3);
	if ((out->has_uid = sqlite3_column_type(st, 4) != SQLITE_NULL))
		out->uid = (uint32_t)sqlite3_column_int64(st, 4);
	if ((out->has_gid = sqlite3_column_type(st, 5) != SQLITE_NULL))
		out->gid = (uint32_t)sqlite3_column_int64(st, 5);
	if ((out->has_mtime = sqlite3_column_type(st, 6) != SQLITE_NULL))
		out->mtime = ns_to_ts(sqlite3_column_int64(st, 6));
	if (!out->has_mode && !out->has_uid && !out->has_gid && !out->has_mtime)
		goto out;
	etag = col_text(st, 1); /* then its length: the order SQLite asks for */
	if (etag) {
		size_t n = (size_t)sqlite3_column_bytes(st, 1);

		if (n < sizeof(out->etag))
			memcpy(out->etag, etag, n + 1);
	}
	out->size = (uint64_t)sqlite3_column_int64(st, 2);
	rc = 0;
out:
	if (rc)
		memset(out, 0, sizeof(*out));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&j->rlock);
	return rc;
}

bool s3b_journal_has_bucket(struct s3b_journal *j, const char *dst_bucket)
{
	sqlite3_stmt *st;
	bool found = false;
	int rc;

	pthread_mutex_lock(&j->rlock);
	st = j->r[R_HAS_BUCKET];
	if (bind_text(st, 1, dst_bucket) != SQLITE_OK) {
		sql_fail(j->rdb, "bind");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		found = true;
	else if (rc != SQLITE_DONE)
		sql_fail(j->rdb, "probing a bucket");
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&j->rlock);
	return found;
}

void s3b_journal_uploads_free(struct s3b_journal_upload *u, size_t n)
{
	if (!u)
		return;
	for (size_t i = 0; i < n; i++) {
		free(u[i].endpoint);
		free(u[i].bucket);
		free(u[i].key);
		free(u[i].upload_id);
	}
	free(u);
}

int s3b_journal_orphans(struct s3b_journal *j, struct s3b_journal_upload **out, size_t *n)
{
	struct s3b_journal_upload *v = NULL;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st;
	bool oom = false;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&j->rlock);
	st = j->r[R_ORPHANS];
	sqlite3_bind_int64(st, 1, j->run);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct s3b_journal_upload *u;

		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct s3b_journal_upload *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				oom = true;
				break;
			}
			v = nv;
			cap = ncap;
		}
		u = &v[len++];
		u->endpoint = dup_or_null(col_text(st, 0), &oom);
		u->bucket = dup_or_null(col_text(st, 1), &oom);
		u->key = dup_or_null(col_text(st, 2), &oom);
		u->upload_id = dup_or_null(col_text(st, 3), &oom);
		if (oom)
			break;
	}
	if (oom)
		rc = ENOMEM;
	else if (rc != SQLITE_DONE)
		rc = sql_fail(j->rdb, "reading orphan uploads");
	else
		rc = 0;
	sqlite3_reset(st);
	pthread_mutex_unlock(&j->rlock);
	if (rc) {
		s3b_journal_uploads_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

/* ---- views ----------------------------------------------------------- */

struct s3b_jview {
	sqlite3 *db;
	sqlite3_stmt *st[V_N];  /* prepared on first use */
	sqlite3_stmt *cur;      /* the scan in progress, or NULL */
	bool cur_digests;       /* cur is V_DIGESTS (five columns) */
	bool in_txn;
	int version;            /* of the file: picks the row of vsql */
	struct s3b_jtotals totals;
};

static int vstmt(struct s3b_jview *v, enum vstmt s, sqlite3_stmt **out)
{
	const char *sql = vsql[v->version >= 2][s];

	if (!v->st[s] && sqlite3_prepare_v2(v->db, sql, -1, &v->st[s], NULL) != SQLITE_OK)
		return sql_fail(v->db, "prepare");
	sqlite3_reset(v->st[s]);
	sqlite3_clear_bindings(v->st[s]);
	*out = v->st[s];
	return 0;
}

static int load_totals(struct s3b_jview *v)
{
	struct s3b_jtotals *t = &v->totals;
	sqlite3_stmt *st;
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = vstmt(v, V_COUNTERS, &st)))
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum s3b_obj_status s;

		if (status_parse(col_text(st, 0), &s) == 0) {
			t->objects[s] = (uint64_t)sqlite3_column_int64(st, 1);
			t->bytes[s] = (uint64_t)sqlite3_column_int64(st, 2);
			t->paths += t->objects[s];
		}
	}
	if (rc != SQLITE_DONE)
		return sql_fail(v->db, "reading counters");

	if ((rc = vstmt(v, V_TOTALS, &st)))
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return sql_fail(v->db, "reading totals");
	t->runs = (uint64_t)sqlite3_column_int64(st, 0);
	t->records = (uint64_t)sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		t->first_start = ns_to_ts(sqlite3_column_int64(st, 2));
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		t->last_end = ns_to_ts(sqlite3_column_int64(st, 3));
	sqlite3_reset(st);

	if ((rc = vstmt(v, V_UPLOADS, &st)))
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW)
		return sql_fail(v->db, "counting uploads");
	t->uploads = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	if ((rc = vstmt(v, V_CHECK, &st)))
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->has_check = true;
		t->check_ran = ns_to_ts(sqlite3_column_int64(st, 0));
		t->check_missing = (uint64_t)sqlite3_column_int64(st, 1);
		t->check_extra = (uint64_t)sqlite3_column_int64(st, 2);
		t->check_differ = (uint64_t)sqlite3_column_int64(st, 3);
		t->check_unverified = (uint64_t)sqlite3_column_int64(st, 4);
	} else if (rc != SQLITE_DONE) {
		return sql_fail(v->db, "reading the last check");
	}
	sqlite3_reset(st);
	return 0;
}

void s3b_jview_close(struct s3b_jview *v)
{
	if (!v)
		return;
	finalize_all(v->st, V_N);
	if (v->in_txn)
		exec1(v->db, sql_commit, "ending a read");
	sqlite3_close(v->db);
	free(v);
}

int s3b_jview_open(const char *path, struct s3b_jview **out, char *why, size_t whylen)
{
	struct s3b_jview *v;
	bool fresh;
	int rc;

	*out = NULL;
	set_why(why, whylen, "%s", "");
	v = calloc(1, sizeof(*v));
	if (!v) {
		set_why(why, whylen, "out of memory");
		return ENOMEM;
	}
	rc = open_db(path, SQLITE_OPEN_READONLY, &v->db, why, whylen);
	if (rc) {
		free(v);
		return rc;
	}
	rc = check_format(v->db, path, &fresh, &v->version, why, whylen);
	if (!rc && fresh) {
		set_why(why, whylen, "%s: not an s3bridge journal (an empty database)", path);
		rc = EINVAL;
	}
	if (rc)
		goto fail;
	/* The snapshot: a read transaction that load_totals' first read starts
	 * and that lasts until close. */
	rc = exec1(v->db, sql_begin_read, "beginning a read");
	if (rc)
		goto fail_why;
	v->in_txn = true;
	rc = load_totals(v);
	if (rc)
		goto fail_why;
	*out = v;
	return 0;

fail_why:
	set_why(why, whylen, "%s: %s", path, sqlite3_errmsg(v->db));
fail:
	s3b_jview_close(v);
	return rc;
}

const struct s3b_jtotals *s3b_jview_totals(const struct s3b_jview *v)
{
	return &v->totals;
}

int s3b_jview_scan(struct s3b_jview *v, enum s3b_jscan what, const char *path, unsigned limit)
{
	static const enum vstmt map[] = {
		[S3B_JSCAN_ALL] = V_ALL,
		[S3B_JSCAN_VERIFIED] = V_VERIFIED,
		[S3B_JSCAN_DIGESTS] = V_DIGESTS,
		[S3B_JSCAN_BAD] = V_BAD,
		[S3B_JSCAN_PENDING] = V_PENDING,
		[S3B_JSCAN_LAST_BAD] = V_LAST_BAD,
		[S3B_JSCAN_PATH] = V_PATH,
	};
	sqlite3_stmt *st;
	int rc;

	if (v->cur)
		sqlite3_reset(v->cur);
	v->cur = NULL;
	if ((unsigned)what >= sizeof(map) / sizeof(map[0]))
		return EINVAL;
	rc = vstmt(v, map[what], &st);
	if (rc)
		return rc;
	if (what == S3B_JSCAN_LAST_BAD)
		rc = sqlite3_bind_int64(st, 1, limit);
	else if (what == S3B_JSCAN_PATH)
		rc = bind_text(st, 1, path ? path : "");
	if (rc != SQLITE_OK)
		return sql_fail(v->db, "bind");
	v->cur = st;
	v->cur_digests = what == S3B_JSCAN_DIGESTS;
	return 0;
}

int s3b_jview_next(struct s3b_jview *v, struct s3b_jrow *row, bool *got)
{
	int rc;

	*got = false;
	if (!v->cur)
		return 0;
	rc = sqlite3_step(v->cur);
	if (rc == SQLITE_ROW) {
		if (v->cur_digests) {
			memset(row, 0, sizeof(*row));
			row->id = sqlite3_column_int64(v->cur, 0);
			row->rec.path = col_text(v->cur, 1);
			row->md5_hex = col_text(v->cur, 2);
			row->sha256_hex = col_text(v->cur, 3);
			row->crc32c_hex = col_text(v->cur, 4);
			row->rec.status = S3B_ST_VERIFIED;
		} else {
			row_from_stmt(v->cur, row, false);
		}
		*got = true;
		return 0;
	}
	sqlite3_reset(v->cur);
	v->cur = NULL;
	return rc == SQLITE_DONE ? 0 : sql_fail(v->db, "reading records");
}

int s3b_jview_check_text(struct s3b_jview *v, const char **text)
{
	sqlite3_stmt *st;
	int rc;

	*text = NULL;
	if (v->cur)
		sqlite3_reset(v->cur);
	v->cur = NULL;
	rc = vstmt(v, V_CHECK_TEXT, &st);
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*text = col_text(st, 0); /* valid until the statement is reset */
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(v->db, "reading the last check");
}

/* Seek the first path in [lo, hi) (hi NULL: no upper bound).  lo may hold
 * NUL bytes (lolen): "P\0" is the smallest string after P.  *path is
 * borrowed until the next call. */
static int child_seek(struct s3b_jview *v, const char *lo, size_t lolen, const char *hi,
		      const char **path, size_t *pathlen)
{
	sqlite3_stmt *st;
	int rc = vstmt(v, hi ? V_CHILD_RANGE : V_CHILD_FIRST, &st);

	*path = NULL;
	if (rc)
		return rc;
	if (sqlite3_bind_text(st, 1, lo, (int)lolen, SQLITE_STATIC) != SQLITE_OK ||
	    (hi && bind_text(st, 2, hi) != SQLITE_OK))
		return sql_fail(v->db, "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*path = col_text(st, 0);
		*pathlen = (size_t)sqlite3_column_bytes(st, 0);
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(v->db, "listing objects");
}

int s3b_jview_children(struct s3b_jview *v, const char *rel,
		       int (*cb)(void *ctx, const char *name, bool is_dir), void *ctx)
{
	size_t plen = strlen(rel);
	size_t prefix_len = plen ? plen + 1 : 0; /* "rel/" */
	char *lo = NULL, *hi = NULL, *name = NULL;
	size_t locap = 0, lolen;
	int rc = 0;

	if (v->cur)
		sqlite3_reset(v->cur);
	v->cur = NULL;
	if (plen > 0 && !(hi = malloc(plen + 2))) {
		rc = ENOMEM;
		goto out;
	}
	if (hi) { /* every path under "rel/" sorts before "rel0" ('0' follows '/') */
		memcpy(hi, rel, plen);
		hi[plen] = '0';
		hi[plen + 1] = '\0';
	}
	locap = prefix_len + 256;
	lo = malloc(locap);
	if (!lo) {
		rc = ENOMEM;
		goto out;
	}
	memcpy(lo, rel, plen);
	if (plen)
		lo[plen] = '/';
	lolen = prefix_len;

	for (;;) {
		const char *p, *slash;
		size_t pathlen, clen;
		bool is_dir;

		rc = child_seek(v, lo, lolen, hi, &p, &pathlen);
		if (rc || !p)
			break;
		if (pathlen < prefix_len || memcmp(p, lo, prefix_len) != 0)
			break; /* only with rel "": cannot happen, but never loop */
		slash = memchr(p + prefix_len, '/', pathlen - prefix_len);
		is_dir = slash != NULL;
		clen = (is_dir ? (size_t)(slash - p) : pathlen) - prefix_len;
		/* next seek: past this file (P followed by NUL) or past the
		 * whole directory ("prefix name0") */
		if (prefix_len + clen + 2 > locap) {
			char *nlo;

			locap = prefix_len + clen + 256;
			nlo = realloc(lo, locap);
			if (!nlo) {
				rc = ENOMEM;
				break;
			}
			lo = nlo;
		}
		free(name);
		name = malloc(clen + 1);
		if (!name) {
			rc = ENOMEM;
			break;
		}
		memcpy(name, p + prefix_len, clen);
		name[clen] = '\0';
		memcpy(lo + prefix_len, name, clen);
		if (is_dir) {
			lo[prefix_len + clen] = '0';
			lolen = prefix_len + clen + 1;
		} else {
			lo[prefix_len + clen] = '\0';
			lolen = prefix_len + clen + 1;
		}
		if (clen == 0)
			continue; /* "rel//x": no name to show */
		rc = cb(ctx, name, is_dir);
		if (rc)
			break;
	}
out:
	free(name);
	free(lo);
	free(hi);
	return rc;
}

/* ---- whole-file operations ------------------------------------------- */

int s3b_jfile_integrity(const char *path, char *why, size_t whylen)
{
	struct s3b_jview *v;
	sqlite3_stmt *st;
	int rc;

	rc = s3b_jview_open(path, &v, why, whylen);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(v->db, sql_integrity, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_fail(v->db, "integrity_check");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *res = col_text(st, 0);

		rc = res && strcmp(res, "ok") == 0 ? 0 : EIO;
		if (rc)
			set_why(why, whylen, "%s: %s", path, res ? res : "integrity_check failed");
	} else {
		rc = sql_fail(v->db, "integrity_check");
	}
	sqlite3_finalize(st);
out:
	s3b_jview_close(v);
	return rc;
}

int s3b_jfile_store_check(const char *path, const char *text, uint64_t missing,
			  uint64_t extra, uint64_t differ, uint64_t unverified)
{
	char why[256];
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	bool fresh;
	int version, rc;

	rc = open_db(path, SQLITE_OPEN_READWRITE, &db, why, sizeof(why));
	if (rc)
		return rc;
	rc = check_format(db, path, &fresh, &version, why, sizeof(why));
	if (!rc && fresh)
		rc = EINVAL;
	if (rc) {
		if (rc != EIO)
			LOG_E("journal: %s", why);
		goto out;
	}
	if (sqlite3_prepare_v2(db, sql_store_check, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_fail(db, "prepare");
		goto out;
	}
	if (sqlite3_bind_int64(st, 1, now_ns()) | sqlite3_bind_int64(st, 2, (int64_t)missing) |
	    sqlite3_bind_int64(st, 3, (int64_t)extra) | sqlite3_bind_int64(st, 4, (int64_t)differ) |
	    sqlite3_bind_int64(st, 5, (int64_t)unverified) |
	    bind_text(st, 6, text ? text : "")) {
		rc = sql_fail(db, "bind");
		goto out;
	}
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_fail(db, "storing a check");
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
