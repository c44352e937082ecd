/* Container repository: an array in memory, a table in SQLite. */
#include "repository.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"

static int sql_err(struct engine *e, struct berr *err, const char *what)
{
  return berr_set(err, EIO, "%s: %s", what, sqlite3_errmsg(e->db));
}

/* e->ctrs is kept oldest first (ties: the greater ID first), so the list job walks it
 * backwards for docker's newest-first order instead of sorting at every `ps`. */
static long long created_of(struct container *c)
{
  if (!c->created_ns) /* Created never changes */
    c->created_ns = ctr_time_ns(json_string_value(json_object_get(c->doc, "Created")));
  return c->created_ns;
}

static bool older(struct container *a, struct container *b)
{
  long long x = created_of(a), y = created_of(b);
  return x != y ? x < y : strcmp(a->id, b->id) > 0;
}

static int cmp_age(const void *a, const void *b)
{
  struct container *x = *(struct container *const *)a, *y = *(struct container *const *)b;
  return older(x, y) ? -1 : older(y, x) ? 1 : 0;
}

int repo_open(struct engine *e, struct berr *err)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/berth.db", e->cfg.data_root);
  if (sqlite3_open_v2(path, &e->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK)
    return berr_set(err, EIO, "open %s: %s", path, e->db ? sqlite3_errmsg(e->db) : "out of memory");
  sqlite3_busy_timeout(e->db, 5000);
  const char *schema = "PRAGMA journal_mode=WAL;"
                       "PRAGMA synchronous=NORMAL;"
                       "CREATE TABLE IF NOT EXISTS containers ("
                       "  id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, doc TEXT NOT NULL);";
  if (sqlite3_exec(e->db, schema, NULL, NULL, NULL) != SQLITE_OK)
    return sql_err(e, err, "container table");

  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "SELECT id, name, doc FROM containers", -1, &st, NULL) != SQLITE_OK)
    return sql_err(e, err, "load containers");
  while (sqlite3_step(st) == SQLITE_ROW) {
    json_error_t je;
    const char *text = (const char *)sqlite3_column_text(st, 2);
    json_t *doc = text ? json_loads(text, 0, &je) : NULL;
    struct container *c = calloc(1, sizeof(*c));
    if (!doc || !c) {
      json_decref(doc);
      free(c);
      continue; /* a row we cannot read is skipped, not fatal */
    }
    snprintf(c->id, sizeof(c->id), "%s", (const char *)sqlite3_column_text(st, 0));
    c->name = strdup((const char *)sqlite3_column_text(st, 1));
    c->doc = doc;
    c->shim_fd = -1;
    c->state = ctr_state_from_name(
        json_string_value(json_object_get(json_object_get(doc, "State"), "Status")));
    if (e->n_ctrs == e->cap_ctrs) {
      size_t cap = e->cap_ctrs ? e->cap_ctrs * 2 : 64;
      struct container **n = realloc(e->ctrs, cap * sizeof(*n));
      if (!n) {
        ctr_free(c);
        break;
      }
      e->ctrs = n;
      e->cap_ctrs = cap;
    }
    created_of(c);
    e->ctrs[e->n_ctrs++] = c;
  }
  sqlite3_finalize(st);
  if (e->n_ctrs)
    qsort(e->ctrs, e->n_ctrs, sizeof(*e->ctrs), cmp_age);
  return 0;
}

void repo_close(struct engine *e)
{
  for (size_t i = 0; i < e->n_ctrs; i++)
    ctr_free(e->ctrs[i]);
  free(e->ctrs);
  e->ctrs = NULL;
  e->n_ctrs = e->cap_ctrs = 0;
  if (e->db)
    sqlite3_close(e->db);
  e->db = NULL;
}

void ctr_free(struct container *c)
{
  if (!c)
    return;
  struct ctr_attach *a = c->pending;
  while (a) {
    struct ctr_attach *n = a->next;
    close(a->fd);
    free(a);
    a = n;
  }
  json_decref(c->doc);
  free(c->name);
  free(c->list_fixed);
  free(c);
}

void ctr_unref(struct engine *e, struct container *c)
{
  (void)e;
  if (--c->refs == 0 && c->removed && !c->monitor_running)
    ctr_free(c);
}

struct container *repo_by_name(struct engine *e, const char *name)
{
  if (name[0] == '/')
    name++;
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (strcmp(e->ctrs[i]->name, name) == 0)
      return e->ctrs[i];
  return NULL;
}

struct container *repo_find(struct engine *e, const char *ref, struct berr *err)
{
  if (!ref || !*ref) {
    err->code = ENOENT;
    snprintf(err->msg, sizeof(err->msg), "No such container: %s", ref ? ref : "");
    return NULL;
  }
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (strcmp(e->ctrs[i]->id, ref) == 0)
      return e->ctrs[i];
  struct container *c = repo_by_name(e, ref);
  if (c)
    return c;
  size_t len = strlen(ref);
  struct container *match = NULL;
  for (size_t i = 0; i < e->n_ctrs; i++) {
    if (strncmp(e->ctrs[i]->id, ref, len) != 0)
      continue;
    if (match) {
      berr_set(err, 0, "multiple IDs found with provided prefix: %s", ref);
      return NULL;
    }
    match = e->ctrs[i];
  }
  if (!match) {
    err->code = ENOENT;
    snprintf(err->msg, sizeof(err->msg), "No such container: %s", ref);
  }
  return match;
}

int repo_save(struct engine *e, struct container *c, struct berr *err)
{
  char *text = json_dumps(c->doc, JSON_COMPACT);
  if (!text)
    return berr_set(err, ENOMEM, "serialize container");
  sqlite3_stmt *st;
  int r = 0;
  if (sqlite3_prepare_v2(e->db,
                         "INSERT INTO containers(id, name, doc) VALUES(?1, ?2, ?3) "
                         "ON CONFLICT(id) DO UPDATE SET name = ?2, doc = ?3",
                         -1, &st, NULL) != SQLITE_OK) {
    free(text);
    return sql_err(e, err, "save container");
  }
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE)
    r = sql_err(e, err, "save container");
  sqlite3_finalize(st);
  free(text);
  return r;
}

int repo_add(struct engine *e, struct container *c, struct berr *err)
{
  if (e->n_ctrs == e->cap_ctrs) {
    size_t cap = e->cap_ctrs ? e->cap_ctrs * 2 : 64;
    struct container **n = realloc(e->ctrs, cap * sizeof(*n));
    if (!n)
      return berr_set(err, ENOMEM, "container table");
    e->ctrs = n;
    e->cap_ctrs = cap;
  }
  if (repo_save(e, c, err) < 0)
    return -err->code;
  created_of(c);
  size_t at = e->n_ctrs; /* nearly always the end: creates arrive in time order */
  while (at > 0 && older(c, e->ctrs[at - 1]))
    at--;
  memmove(&e->ctrs[at + 1], &e->ctrs[at], (e->n_ctrs - at) * sizeof(*e->ctrs));
  e->ctrs[at] = c;
  e->n_ctrs++;
  return 0;
}

int repo_remove(struct engine *e, struct container *c, struct berr *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "DELETE FROM containers WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
    return sql_err(e, err, "remove container");
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(e, err, "remove container");
  sqlite3_finalize(st);
  if (r < 0)
    return r;
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (e->ctrs[i] == c) {
      memmove(&e->ctrs[i], &e->ctrs[i + 1], (--e->n_ctrs - i) * sizeof(*e->ctrs));
      break;
    }
  return 0;
}
