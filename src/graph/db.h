/* The metadata database (<root>/berth.db, SQLite in WAL mode): images, tags, layers with
 * reference counts, writable (container) layers. Each change is one transaction. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/berr.h"

int graph_db_open(const char *path, sqlite3 **out, struct berr *err);
void graph_db_close(sqlite3 *db);

int graph_db_begin(sqlite3 *db, struct berr *err);
int graph_db_commit(sqlite3 *db, struct berr *err);
/* Commits that do not wait for the disk (see db.c), for containers' writable layers. */
void graph_db_relaxed(sqlite3 *db, bool relaxed);
void graph_db_rollback(sqlite3 *db);

/* Runs one statement with text parameters (NULL binds SQL NULL). */
int graph_db_exec(sqlite3 *db, struct berr *err, const char *sql, int nargs, ...);
/* Prepares with text parameters; the caller steps and finalizes. */
int graph_db_prepare(sqlite3 *db, sqlite3_stmt **st, struct berr *err, const char *sql, int nargs,
                     ...);
/* First column of the first row as a malloc'd string (*out NULL when no row). */
int graph_db_query_str(sqlite3 *db, char **out, struct berr *err, const char *sql, int nargs, ...);
int graph_db_query_int(sqlite3 *db, int64_t *out, struct berr *err, const char *sql, int nargs,
                       ...);

static inline void graph_db_finalizep(sqlite3_stmt **st)
{
  if (*st)
    sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(graph_db_finalizep)))
