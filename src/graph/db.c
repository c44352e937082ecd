/* SQLite helpers and the schema. WAL keeps readers going during a write; synchronous=FULL
 * makes a committed transaction survive a crash, which the load path relies on. */
#include "db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *schema =
    "CREATE TABLE IF NOT EXISTS images ("
    "  id TEXT PRIMARY KEY," /* sha256 of the config */
    "  manifest TEXT,"       /* digest of the stored manifest blob, if any */
    "  top_layer TEXT,"      /* chain ID of the last layer, NULL for no layers */
    "  parent TEXT,"         /* image this one was committed from */
    "  created TEXT,"
    "  size INTEGER NOT NULL DEFAULT 0,"
    "  loaded INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS images_parent ON images(parent);"
    "CREATE TABLE IF NOT EXISTS image_layers ("
    "  image_id TEXT NOT NULL, idx INTEGER NOT NULL, chain_id TEXT NOT NULL,"
    "  PRIMARY KEY (image_id, idx));"
    "CREATE TABLE IF NOT EXISTS layers ("
    "  chain_id TEXT PRIMARY KEY,"
    "  diff_id TEXT NOT NULL,"
    "  parent TEXT," /* chain ID of the layer below */
    "  blob TEXT,"   /* digest of the stored (maybe compressed) layer blob */
    "  media_type TEXT,"
    "  blob_size INTEGER NOT NULL DEFAULT 0,"
    "  tar_size INTEGER NOT NULL DEFAULT 0," /* length of the uncompressed tar */
    "  size INTEGER NOT NULL DEFAULT 0,"     /* bytes of file content in the layer */
    "  refs INTEGER NOT NULL DEFAULT 0);"    /* images and writable layers using it */
    "CREATE TABLE IF NOT EXISTS tags ("
    "  name TEXT PRIMARY KEY," /* normalized "docker.io/library/busybox:latest" */
    "  image_id TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS rwlayers ("
    "  id TEXT PRIMARY KEY," /* container ID */
    "  image_id TEXT,"
    "  chain_id TEXT);";

int graph_db_open(const char *path, sqlite3 **out, struct berr *err)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(
      path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK) {
    int r = berr_set(err, EIO, "open database %s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return r;
  }
  sqlite3_busy_timeout(db, 10000);
  char *msg = NULL;
  rc =
      sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;",
                   NULL, NULL, &msg);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, schema, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    int r = berr_set(err, EIO, "initialize database %s: %s", path, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    return r;
  }
  *out = db;
  return 0;
}

void graph_db_close(sqlite3 *db)
{
  sqlite3_close(db);
}

static int simple(sqlite3 *db, const char *sql, struct berr *err)
{
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    int r = berr_set(err, EIO, "database: %s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return r;
  }
  return 0;
}

int graph_db_begin(sqlite3 *db, struct berr *err)
{
  return simple(db, "BEGIN IMMEDIATE", err);
}

int graph_db_commit(sqlite3 *db, struct berr *err)
{
  return simple(db, "COMMIT", err);
}

/* WAL with synchronous=NORMAL: a commit survives a crash of berthd (the WAL is in the page
 * cache) and an OS crash can only drop it whole, never corrupt the database. Turned on
 * around transactions on records that are swept or rebuilt at start-up (containers'
 * writable layers), where the fsync was the most expensive step of creating a container.
 * SQLite only takes the change outside a transaction. */
void graph_db_relaxed(sqlite3 *db, bool relaxed)
{
  sqlite3_exec(db, relaxed ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", NULL, NULL,
               NULL);
}

void graph_db_rollback(sqlite3 *db)
{
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int vprepare(sqlite3 *db, sqlite3_stmt **st, struct berr *err, const char *sql, int nargs,
                    va_list ap)
{
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "database: prepare \"%s\": %s", sql, sqlite3_errmsg(db));
  for (int i = 0; i < nargs; i++) {
    const char *v = va_arg(ap, const char *);
    int rc =
        v ? sqlite3_bind_text(*st, i + 1, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(*st, i + 1);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(*st);
      *st = NULL;
      return berr_set(err, EIO, "database: bind: %s", sqlite3_errmsg(db));
    }
  }
  return 0;
}

int graph_db_prepare(sqlite3 *db, sqlite3_stmt **st, struct berr *err, const char *sql, int nargs,
                     ...)
{
  va_list ap;
  va_start(ap, nargs);
  int r = vprepare(db, st, err, sql, nargs, ap);
  va_end(ap);
  return r;
}

int graph_db_exec(sqlite3 *db, struct berr *err, const char *sql, int nargs, ...)
{
  sqlite3_stmt *st = NULL;
  va_list ap;
  va_start(ap, nargs);
  int r = vprepare(db, &st, err, sql, nargs, ap);
  va_end(ap);
  if (r < 0)
    return r;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = berr_set(err, EIO, "database: \"%s\": %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return r;
}

int graph_db_query_str(sqlite3 *db, char **out, struct berr *err, const char *sql, int nargs, ...)
{
  sqlite3_stmt *st = NULL;
  va_list ap;
  va_start(ap, nargs);
  int r = vprepare(db, &st, err, sql, nargs, ap);
  va_end(ap);
  if (r < 0)
    return r;
  *out = NULL;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    if (t && !(*out = strdup((const char *)t)))
      r = berr_set(err, ENOMEM, "database");
  } else if (rc != SQLITE_DONE) {
    r = berr_set(err, EIO, "database: \"%s\": %s", sql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return r;
}

int graph_db_query_int(sqlite3 *db, int64_t *out, struct berr *err, const char *sql, int nargs, ...)
{
  sqlite3_stmt *st = NULL;
  va_list ap;
  va_start(ap, nargs);
  int r = vprepare(db, &st, err, sql, nargs, ap);
  va_end(ap);
  if (r < 0)
    return r;
  *out = 0;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else if (rc != SQLITE_DONE)
    r = berr_set(err, EIO, "database: \"%s\": %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return r;
}
