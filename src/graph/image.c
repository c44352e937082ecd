/* Image operations: resolution, listing, inspect, history, tag, delete and prune, following
 * moby's daemon/images (image_delete.go for the untag/delete/conflict rules). */
#include "graph/image.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "graph/reference.h"
#include "graphdriver/strv.h"
#include "graph/rwlayer.h"
#include "graph_priv.h"

static bool is_hex(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static bool image_exists(struct graph *g, const char *id)
{
  struct berr e;
  int64_t n = 0;
  return graph_db_query_int(g->db, &n, &e, "SELECT COUNT(*) FROM images WHERE id = ?", 1, id) ==
             0 &&
         n > 0;
}

int graph_resolve_locked(struct graph *g, const char *ref, char id[GRAPH_DIGEST_LEN + 1],
                         struct berr *err)
{
  if (!ref || !*ref)
    return berr_set(err, 0, "empty image reference");
  char full[GRAPH_DIGEST_LEN + 1];
  if (graph_digest_valid(ref) || (strlen(ref) == GRAPH_HEX_LEN && is_hex(ref))) {
    snprintf(full, sizeof(full), "%s%s", graph_digest_valid(ref) ? "" : "sha256:", ref);
    if (image_exists(g, full)) {
      memcpy(id, full, sizeof(full));
      return 0;
    }
  }
  struct graph_ref pr;
  struct berr perr = {0};
  int r;
  if (graph_ref_parse(ref, &pr, &perr) == 0) {
    _cleanup_free_ char *key = graph_ref_key(&pr);
    _cleanup_free_ char *found = NULL;
    if (key && (r = graph_db_query_str(g->db, &found, err,
                                       "SELECT image_id FROM tags WHERE name = ?", 1, key)) < 0) {
      graph_ref_clear(&pr);
      return r;
    }
    if (!found && pr.digest &&
        (r = graph_db_query_str(g->db, &found, err,
                                "SELECT id FROM images WHERE manifest = ?1 OR id = ?1", 1,
                                pr.digest)) < 0) {
      graph_ref_clear(&pr);
      return r;
    }
    graph_ref_clear(&pr);
    if (found) {
      snprintf(id, GRAPH_DIGEST_LEN + 1, "%s", found);
      return 0;
    }
  }
  const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
  if (is_hex(hex) && strlen(hex) <= GRAPH_HEX_LEN) {
    _cleanup_free_ char *pattern = NULL;
    if (asprintf(&pattern, "sha256:%s%%", hex) < 0)
      return berr_set(err, ENOMEM, "resolve");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if ((r = graph_db_prepare(g->db, &st, err, "SELECT id FROM images WHERE id LIKE ? LIMIT 2", 1,
                              pattern)) < 0)
      return r;
    int count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      if (count++ == 0)
        snprintf(id, GRAPH_DIGEST_LEN + 1, "%s", sqlite3_column_text(st, 0));
    }
    if (count == 1)
      return 0;
    if (count > 1)
      return berr_set(err, 0, "multiple IDs found with provided prefix: %s", ref);
  }
  if (perr.msg[0] && !is_hex(hex)) {
    /* not a name and not an ID: say what is wrong with it */
    memcpy(err, &perr, sizeof(perr));
    return -EINVAL;
  }
  /* Docker's exact text (no strerror suffix), with ENOENT for callers to map to 404 */
  berr_set(err, 0, "No such image: %s", ref);
  err->code = ENOENT;
  return -ENOENT;
}

int graph_image_resolve(struct graph *g, const char *ref, char id[GRAPH_DIGEST_LEN + 1],
                        struct berr *err)
{
  graph_lock(g);
  int r = graph_resolve_locked(g, ref, id, err);
  graph_unlock(g);
  return r;
}

int graph_set_tag_locked(struct graph *g, const char *key, const char *id, struct berr *err)
{
  return graph_db_exec(g->db, err, "INSERT OR REPLACE INTO tags (name, image_id) VALUES (?, ?)", 2,
                       key, id);
}

int graph_image_config(struct graph *g, const char *id, json_t **out, struct berr *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = graph_store_read(g->store, id, &buf, &len, err);
  if (r < 0)
    return r;
  return bjson_load_string(buf, len, out, err);
}

int graph_image_layers(struct graph *g, const char *id, char ***chain_ids, struct berr *err)
{
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(
      g->db, &st, err, "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx", 1, id);
  if (r < 0)
    return r;
  struct gd_strv sv = {0};
  while (sqlite3_step(st) == SQLITE_ROW)
    if (gd_strv_push(&sv, strdup((const char *)sqlite3_column_text(st, 0))) < 0) {
      gd_strv_clear(&sv);
      return berr_set(err, ENOMEM, "layers");
    }
  if (!(*chain_ids = gd_strv_steal(&sv)))
    return berr_set(err, ENOMEM, "layers");
  return 0;
}

static int image_refs(struct graph *g, const char *id, char ***out, struct berr *err)
{
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(g->db, &st, err,
                           "SELECT name FROM tags WHERE image_id = ? ORDER BY name", 1, id);
  if (r < 0)
    return r;
  struct gd_strv sv = {0};
  while (sqlite3_step(st) == SQLITE_ROW)
    if (gd_strv_push(&sv, strdup((const char *)sqlite3_column_text(st, 0))) < 0) {
      gd_strv_clear(&sv);
      return berr_set(err, ENOMEM, "tags");
    }
  if (!(*out = gd_strv_steal(&sv)))
    return berr_set(err, ENOMEM, "tags");
  return 0;
}

static size_t strv_len(char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static int64_t parse_created(const char *s)
{
  if (!s)
    return 0;
  struct tm tm = {0};
  const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest)
    return 0;
  int64_t t = (int64_t)timegm(&tm);
  while (*rest == '.' || isdigit((unsigned char)*rest))
    rest++;
  if (*rest == '+' || *rest == '-') {
    int hh = 0, mm = 0;
    if (sscanf(rest + 1, "%d:%d", &hh, &mm) >= 1)
      t -= (*rest == '+' ? 1 : -1) * ((int64_t)hh * 3600 + (int64_t)mm * 60);
  }
  return t;
}

static json_t *familiar_lists(char **refs, json_t **digests)
{
  json_t *tags = json_array();
  *digests = json_array();
  for (char **p = refs; p && *p; p++) {
    _cleanup_free_ char *f = graph_ref_familiar(*p);
    if (!f)
      continue;
    json_array_append_new(strchr(f, '@') ? *digests : tags, json_string(f));
  }
  return tags;
}

int graph_image_list(struct graph *g, bool all, json_t **out, struct berr *err)
{
  graph_lock(g);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(g->db, &st, err,
                           "SELECT id, parent, created, size,"
                           " (SELECT COUNT(*) FROM images c WHERE c.parent = i.id),"
                           " (SELECT COUNT(*) FROM rwlayers w WHERE w.image_id = i.id)"
                           " FROM images i ORDER BY created DESC, loaded DESC",
                           0);
  if (r < 0) {
    graph_unlock(g);
    return r;
  }
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *parent = (const char *)sqlite3_column_text(st, 1);
    const char *created = (const char *)sqlite3_column_text(st, 2);
    int64_t size = sqlite3_column_int64(st, 3);
    int64_t children = sqlite3_column_int64(st, 4);
    int64_t containers = sqlite3_column_int64(st, 5);
    _cleanup_strv_ char **refs = NULL;
    if ((r = image_refs(g, id, &refs, err)) < 0)
      break;
    if (!all && strv_len(refs) == 0 && children > 0)
      continue;
    json_t *digests;
    json_t *tags = familiar_lists(refs, &digests);
    json_t *labels = NULL;
    _cleanup_json_ json_t *config = NULL;
    struct berr ignored;
    if (graph_image_config(g, id, &config, &ignored) == 0) {
      json_t *c = json_object_get(config, "config");
      labels = json_object_get(c, "Labels");
    }
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:O, s:I}", "Id", id, "ParentId",
                       parent ? parent : "", "RepoTags", tags, "RepoDigests", digests, "Created",
                       (json_int_t)parse_created(created), "Size", (json_int_t)size, "SharedSize",
                       (json_int_t)-1, "VirtualSize", (json_int_t)size, "Labels",
                       json_is_object(labels) ? labels : json_null(), "Containers",
                       (json_int_t)containers));
  }
  graph_unlock(g);
  if (r < 0) {
    json_decref(arr);
    return r;
  }
  *out = arr;
  return 0;
}

int graph_image_inspect(struct graph *g, const char *ref, json_t **out, struct berr *err)
{
  graph_lock(g);
  char id[GRAPH_DIGEST_LEN + 1];
  _cleanup_json_ json_t *config = NULL;
  _cleanup_strv_ char **refs = NULL, **layers = NULL;
  _cleanup_free_ char *parent = NULL, *top = NULL;
  int64_t size = 0;
  int r;
  if ((r = graph_resolve_locked(g, ref, id, err)) < 0 ||
      (r = graph_image_config(g, id, &config, err)) < 0 ||
      (r = image_refs(g, id, &refs, err)) < 0 ||
      (r = graph_image_layers(g, id, &layers, err)) < 0 ||
      (r = graph_db_query_str(g->db, &parent, err, "SELECT parent FROM images WHERE id = ?", 1,
                              id)) < 0 ||
      (r = graph_db_query_str(g->db, &top, err, "SELECT top_layer FROM images WHERE id = ?", 1,
                              id)) < 0 ||
      (r = graph_db_query_int(g->db, &size, err, "SELECT size FROM images WHERE id = ?", 1, id)) <
          0) {
    graph_unlock(g);
    return r;
  }
  graph_unlock(g);
  json_t *digests;
  json_t *tags = familiar_lists(refs, &digests);
  json_t *rootfs = json_object_get(config, "rootfs");
  json_t *diff_ids = json_object_get(rootfs, "diff_ids");
  json_t *gdata = json_object();
  if (top) {
    _cleanup_free_ char *dir = NULL;
    if (asprintf(&dir, "%s/layers/%s", g->root, graph_digest_hex(top)) >= 0)
      json_object_set_new(gdata, "LayerDir", json_string(dir));
  }
  json_t *o = json_pack(
      "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:I, s:I, s:{s:s, s:o}, s:{s:s, s:O}}",
      "Id", id, "RepoTags", tags, "RepoDigests", digests, "Parent", parent ? parent : "", "Comment",
      json_string_value(json_object_get(config, "comment")) ?: "", "Created",
      json_string_value(json_object_get(config, "created")) ?: "", "Author",
      json_string_value(json_object_get(config, "author")) ?: "", "Config",
      json_object_get(config, "config") ?: json_null(), "Architecture",
      json_string_value(json_object_get(config, "architecture")) ?: "", "Os",
      json_string_value(json_object_get(config, "os")) ?: "", "Size", (json_int_t)size,
      "VirtualSize", (json_int_t)size, "GraphDriver", "Name", gd_driver_name(g->driver), "Data",
      gdata, "RootFS", "Type", "layers", "Layers",
      json_is_array(diff_ids) ? diff_ids : json_array());
  if (!o)
    return berr_set(err, ENOMEM, "inspect");
  const char *variant = json_string_value(json_object_get(config, "variant"));
  if (variant)
    json_object_set_new(o, "Variant", json_string(variant));
  *out = o;
  return 0;
}

int graph_image_history(struct graph *g, const char *ref, json_t **out, struct berr *err)
{
  graph_lock(g);
  char id[GRAPH_DIGEST_LEN + 1];
  _cleanup_json_ json_t *config = NULL;
  _cleanup_strv_ char **layers = NULL, **refs = NULL;
  int r;
  if ((r = graph_resolve_locked(g, ref, id, err)) < 0 ||
      (r = graph_image_config(g, id, &config, err)) < 0 ||
      (r = graph_image_layers(g, id, &layers, err)) < 0 ||
      (r = image_refs(g, id, &refs, err)) < 0) {
    graph_unlock(g);
    return r;
  }
  json_t *hist = json_object_get(config, "history");
  json_t *rows = json_array();
  size_t li = 0, nl = strv_len(layers);
  size_t nh = json_array_size(hist);
  for (size_t i = 0; i < nh; i++) {
    json_t *h = json_array_get(hist, i);
    int64_t size = 0;
    if (!json_is_true(json_object_get(h, "empty_layer")) && li < nl) {
      /* the layer's own size: ask the database, which recorded it at unpack time */
      graph_db_query_int(g->db, &size, err, "SELECT size FROM layers WHERE chain_id = ?", 1,
                         layers[li]);
      li++;
    }
    json_array_append_new(
        rows, json_pack("{s:s, s:I, s:s, s:[], s:I, s:s}", "Id", "<missing>", "Created",
                        (json_int_t)parse_created(json_string_value(json_object_get(h, "created"))),
                        "CreatedBy", json_string_value(json_object_get(h, "created_by")) ?: "",
                        "Tags", "Size", (json_int_t)size, "Comment",
                        json_string_value(json_object_get(h, "comment")) ?: ""));
  }
  /* the newest entry belongs to this image; parents (commits) claim theirs */
  char cur[GRAPH_DIGEST_LEN + 1];
  memcpy(cur, id, sizeof(cur));
  size_t pos = json_array_size(rows);
  while (pos > 0) {
    json_t *row = json_array_get(rows, pos - 1);
    json_object_set_new(row, "Id", json_string(cur));
    _cleanup_strv_ char **crefs = NULL;
    if (image_refs(g, cur, &crefs, err) == 0) {
      json_t *digests;
      json_t *tags = familiar_lists(crefs, &digests);
      json_decref(digests);
      json_object_set_new(row, "Tags", tags);
    }
    _cleanup_free_ char *parent = NULL;
    _cleanup_json_ json_t *pconf = NULL;
    if (graph_db_query_str(g->db, &parent, err, "SELECT parent FROM images WHERE id = ?", 1, cur) <
            0 ||
        !parent || graph_image_config(g, parent, &pconf, err) < 0)
      break;
    size_t pn = json_array_size(json_object_get(pconf, "history"));
    if (pn == 0 || pn >= pos)
      break;
    pos = pn;
    snprintf(cur, sizeof(cur), "%s", parent);
  }
  graph_unlock(g);
  /* newest first */
  json_t *rev = json_array();
  for (size_t i = json_array_size(rows); i-- > 0;)
    json_array_append(rev, json_array_get(rows, i));
  json_decref(rows);
  *out = rev;
  return 0;
}

int graph_tag(struct graph *g, const char *source, const char *target, struct berr *err)
{
  struct graph_ref tr;
  int r = graph_ref_parse_tag(target, &tr, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *key = graph_ref_key(&tr);
  graph_ref_clear(&tr);
  if (!key)
    return berr_set(err, ENOMEM, "tag");
  graph_lock(g);
  char id[GRAPH_DIGEST_LEN + 1];
  if ((r = graph_resolve_locked(g, source, id, err)) == 0 &&
      (r = graph_db_begin(g->db, err)) == 0) {
    if ((r = graph_set_tag_locked(g, key, id, err)) == 0)
      r = graph_db_commit(g->db, err);
    if (r < 0)
      graph_db_rollback(g->db);
  }
  graph_unlock(g);
  return r;
}

/* --- delete --- */

enum conflict {
  CONFLICT_CHILD = 1,   /* hard */
  CONFLICT_RUNNING = 2, /* hard */
  CONFLICT_REF = 4,     /* soft */
  CONFLICT_STOPPED = 8, /* soft */
};
#define CONFLICT_HARD (CONFLICT_CHILD | CONFLICT_RUNNING)
#define CONFLICT_SOFT (CONFLICT_REF | CONFLICT_STOPPED)

struct conflict_info {
  enum conflict kind;
  char msg[512];
};

static int check_conflict(struct graph *g, const char *id, int mask,
                          const struct graph_delete_opts *o, struct conflict_info *c,
                          struct berr *err)
{
  c->kind = 0;
  char shortid[13];
  snprintf(shortid, sizeof(shortid), "%s", graph_digest_hex(id));
  int64_t n = 0;
  int r;
  if (mask & CONFLICT_CHILD) {
    if ((r = graph_db_query_int(g->db, &n, err, "SELECT COUNT(*) FROM images WHERE parent = ?", 1,
                                id)) < 0)
      return r;
    if (n > 0) {
      c->kind = CONFLICT_CHILD;
      snprintf(c->msg, sizeof(c->msg),
               "conflict: unable to delete %s (cannot be forced) - image has dependent child "
               "images",
               shortid);
      return 0;
    }
  }
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if ((r = graph_db_prepare(g->db, &st, err, "SELECT id FROM rwlayers WHERE image_id = ?", 1, id)) <
      0)
    return r;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *cid = (const char *)sqlite3_column_text(st, 0);
    bool running = o->container_running && o->container_running(o->ud, cid);
    char cshort[13];
    snprintf(cshort, sizeof(cshort), "%s", cid);
    if (running && (mask & CONFLICT_RUNNING)) {
      c->kind = CONFLICT_RUNNING;
      snprintf(c->msg, sizeof(c->msg),
               "conflict: unable to delete %s (cannot be forced) - image is being used by running "
               "container %s",
               shortid, cshort);
      return 0;
    }
    if (!running && (mask & CONFLICT_STOPPED)) {
      c->kind = CONFLICT_STOPPED;
      snprintf(c->msg, sizeof(c->msg),
               "conflict: unable to delete %s (must be forced) - image is being used by stopped "
               "container %s",
               shortid, cshort);
      return 0;
    }
  }
  if (mask & CONFLICT_REF) {
    if ((r = graph_db_query_int(g->db, &n, err, "SELECT COUNT(*) FROM tags WHERE image_id = ?", 1,
                                id)) < 0)
      return r;
    if (n > 0) {
      c->kind = CONFLICT_REF;
      snprintf(c->msg, sizeof(c->msg),
               "conflict: unable to delete %s (must be forced) - image is referenced in multiple "
               "repositories",
               shortid);
    }
  }
  return 0;
}

static void record(json_t *records, const char *key, const char *value)
{
  json_array_append_new(records, json_pack("{s:s}", key, value));
}

static int untag(struct graph *g, const char *key, json_t *records, struct berr *err)
{
  int r = graph_db_exec(g->db, err, "DELETE FROM tags WHERE name = ?", 1, key);
  if (r < 0)
    return r;
  _cleanup_free_ char *f = graph_ref_familiar(key);
  record(records, "Untagged", f ? f : key);
  return 0;
}

/* When a tag goes and no other tag of its repository names the image, the image's digest
 * references in that repository (from a pull or push) go too, as moby does: they alone
 * would keep an image the user asked to remove. */
static int untag_orphan_digests(struct graph *g, const char *key, char **refs, json_t *records,
                                struct berr *err)
{
  if (strchr(key, '@'))
    return 0;
  const char *slash = strrchr(key, '/');
  const char *colon = strrchr(slash ? slash : key, ':');
  size_t nl = colon ? (size_t)(colon - key) : strlen(key);
  for (char **p = refs; p && *p; p++)
    if (!strchr(*p, '@') && strncmp(*p, key, nl) == 0 && (*p)[nl] == ':')
      return 0;
  for (char **p = refs; p && *p; p++) {
    const char *at = strchr(*p, '@');
    int r;
    if (at && (size_t)(at - *p) == nl && strncmp(*p, key, nl) == 0 &&
        (r = untag(g, *p, records, err)) < 0)
      return r;
  }
  return 0;
}

/* Removes the image rows and the layers only it used; files go after the commit. */
static int delete_image(struct graph *g, const char *id, json_t *records, int64_t *reclaimed,
                        struct berr *err)
{
  _cleanup_strv_ char **layers = NULL;
  _cleanup_free_ char *manifest = NULL;
  int r;
  if ((r = graph_image_layers(g, id, &layers, err)) < 0 ||
      (r = graph_db_query_str(g->db, &manifest, err, "SELECT manifest FROM images WHERE id = ?", 1,
                              id)) < 0)
    return r;
  size_t n = strv_len(layers);
  char **gone = calloc(n + 1, sizeof(char *));
  char **blobs = calloc(n + 1, sizeof(char *));
  size_t ngone = 0;
  if (!gone || !blobs) {
    free(gone);
    free(blobs);
    return berr_set(err, ENOMEM, "delete");
  }
  if ((r = graph_db_begin(g->db, err)) < 0)
    goto out;
  if ((r = graph_db_exec(g->db, err, "DELETE FROM tags WHERE image_id = ?", 1, id)) < 0 ||
      (r = graph_db_exec(g->db, err, "DELETE FROM images WHERE id = ?", 1, id)) < 0 ||
      (r = graph_db_exec(g->db, err, "DELETE FROM image_layers WHERE image_id = ?", 1, id)) < 0)
    goto rollback;
  for (size_t i = n; i-- > 0;) {
    int64_t refs = 0, size = 0;
    if ((r = graph_db_exec(g->db, err, "UPDATE layers SET refs = refs - 1 WHERE chain_id = ?", 1,
                           layers[i])) < 0 ||
        (r = graph_db_query_int(g->db, &refs, err, "SELECT refs FROM layers WHERE chain_id = ?", 1,
                                layers[i])) < 0)
      goto rollback;
    if (refs > 0)
      continue;
    if ((r = graph_db_query_str(g->db, &blobs[ngone], err,
                                "SELECT blob FROM layers WHERE chain_id = ?", 1, layers[i])) < 0 ||
        (r = graph_db_query_int(g->db, &size, err, "SELECT size FROM layers WHERE chain_id = ?", 1,
                                layers[i])) < 0 ||
        (r = graph_db_exec(g->db, err, "DELETE FROM layers WHERE chain_id = ?", 1, layers[i])) < 0)
      goto rollback;
    *reclaimed += size;
    gone[ngone++] = layers[i];
  }
  if ((r = graph_db_commit(g->db, err)) < 0)
    goto rollback;
  record(records, "Deleted", id);
  /* files after the commit: a crash here leaves only unreferenced files for graph_open */
  struct berr ignored;
  if (ngone)
    graph_settle(g); /* a removed container's rootfs may still be mounted on these layers */
  for (size_t i = 0; i < ngone; i++) {
    gd_remove(g->driver, graph_digest_hex(gone[i]), &ignored);
    record(records, "Deleted", gone[i]);
  }
  const char *cands[] = {id, manifest};
  for (size_t i = 0; i < ngone + 2; i++) {
    const char *d = i < 2 ? cands[i] : blobs[i - 2];
    int64_t used = 1;
    if (d &&
        graph_db_query_int(g->db, &used, &ignored,
                           "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest = ?1)"
                           " + (SELECT COUNT(*) FROM layers WHERE blob = ?1)",
                           1, d) == 0 &&
        used == 0)
      graph_store_delete(g->store, d, &ignored);
  }
  goto out;
rollback:
  graph_db_rollback(g->db);
out:
  for (size_t i = 0; i < ngone; i++)
    free(blobs[i]);
  free(blobs);
  free(gone);
  return r;
}

static bool is_dangling(struct graph *g, const char *id)
{
  struct berr e;
  int64_t n = 1;
  graph_db_query_int(g->db, &n, &e,
                     "SELECT (SELECT COUNT(*) FROM tags WHERE image_id = ?1) +"
                     " (SELECT COUNT(*) FROM images WHERE parent = ?1)",
                     1, id);
  return n == 0;
}

static int delete_helper(struct graph *g, const char *id, json_t *records, bool force, bool prune,
                         bool quiet, const struct graph_delete_opts *o, int64_t *reclaimed,
                         struct berr *err)
{
  struct conflict_info c;
  int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT);
  int r = check_conflict(g, id, mask, o, &c, err);
  if (r < 0)
    return r;
  if (c.kind) {
    bool used = c.kind == CONFLICT_RUNNING || c.kind == CONFLICT_STOPPED;
    if (quiet && (!is_dangling(g, id) || used))
      return 0;
    return berr_set(err, EBUSY, "%s", c.msg);
  }
  _cleanup_free_ char *parent = NULL;
  if ((r = graph_db_query_str(g->db, &parent, err, "SELECT parent FROM images WHERE id = ?", 1,
                              id)) < 0)
    return r;
  _cleanup_strv_ char **refs = NULL;
  if ((r = image_refs(g, id, &refs, err)) < 0)
    return r;
  for (char **p = refs; *p; p++) {
    _cleanup_free_ char *f = graph_ref_familiar(*p);
    record(records, "Untagged", f ? f : *p);
  }
  if ((r = delete_image(g, id, records, reclaimed, err)) < 0)
    return r;
  if (!prune || !parent || !image_exists(g, parent))
    return 0;
  return delete_helper(g, parent, records, false, true, true, o, reclaimed, err);
}

static bool single_repo(char **refs)
{
  size_t tags = 0;
  const char *repo = NULL;
  size_t repolen = 0;
  for (char **p = refs; p && *p; p++) {
    const char *at = strchr(*p, '@');
    const char *slash = strrchr(*p, '/');
    const char *colon = strrchr(slash ? slash : *p, ':');
    const char *end = at ? at : colon;
    size_t len = end ? (size_t)(end - *p) : strlen(*p);
    if (!at)
      tags++;
    if (repo && (len != repolen || strncmp(repo, *p, len) != 0))
      return false;
    repo = *p;
    repolen = len;
  }
  return tags <= 1;
}

int graph_image_delete(struct graph *g, const char *ref, const struct graph_delete_opts *opts,
                       json_t **out, struct berr *err)
{
  struct graph_delete_opts none = {0};
  const struct graph_delete_opts *o = opts ? opts : &none;
  graph_lock(g);
  char id[GRAPH_DIGEST_LEN + 1];
  json_t *records = json_array();
  int64_t reclaimed = 0;
  /* Declared before the first goto: cleanup runs on it at every exit. */
  _cleanup_strv_ char **refs = NULL;
  int r = graph_resolve_locked(g, ref, id, err);
  if (r < 0)
    goto out;
  const char *hexref = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
  bool by_id = is_hex(hexref) && !strncmp(graph_digest_hex(id), hexref, strlen(hexref));
  bool removed_ref = false;
  if ((r = image_refs(g, id, &refs, err)) < 0)
    goto out;
  if (!by_id) {
    struct graph_ref pr;
    _cleanup_free_ char *key = NULL;
    if (graph_ref_parse(ref, &pr, err) == 0) {
      key = graph_ref_key(&pr);
      graph_ref_clear(&pr);
    }
    int64_t has = 0;
    if (key && (r = graph_db_query_int(g->db, &has, err, "SELECT COUNT(*) FROM tags WHERE name = ?",
                                       1, key)) < 0)
      goto out;
    if (key && has) {
      /* The last name of an image a container uses stays unless forced (docker rmi). */
      if (!o->force && strv_len(refs) == 1) {
        _cleanup_free_ char *cid = NULL;
        if ((r = graph_db_query_str(g->db, &cid, err,
                                    "SELECT id FROM rwlayers WHERE image_id = ? LIMIT 1", 1, id)) <
            0)
          goto out;
        if (cid) {
          const char *shown = strncmp(cid, "ctr-", 4) == 0 ? cid + 4 : cid;
          r = berr_set(err, 0,
                       "conflict: unable to remove repository reference \"%s\" (must force) - "
                       "container %.12s is using its referenced image %.12s",
                       ref, shown, graph_digest_hex(id));
          err->code = EBUSY;
          r = -EBUSY;
          goto out;
        }
      }
      if ((r = untag(g, key, records, err)) < 0)
        goto out;
      strvfreep(&refs);
      if ((r = image_refs(g, id, &refs, err)) < 0)
        goto out;
      if ((r = untag_orphan_digests(g, key, refs, records, err)) < 0)
        goto out;
      strvfreep(&refs);
      if ((r = image_refs(g, id, &refs, err)) < 0)
        goto out;
      if (strv_len(refs) > 0)
        goto out; /* other names remain: untagging was the whole job */
      removed_ref = true;
    }
  } else if (single_repo(refs)) {
    struct conflict_info c;
    int mask = CONFLICT_HARD | (o->force ? 0 : (CONFLICT_SOFT & ~CONFLICT_REF));
    if ((r = check_conflict(g, id, mask, o, &c, err)) < 0)
      goto out;
    if (c.kind) {
      r = berr_set(err, EBUSY, "%s", c.msg);
      goto out;
    }
    for (char **p = refs; *p; p++)
      if ((r = untag(g, *p, records, err)) < 0)
        goto out;
  }
  r = delete_helper(g, id, records, o->force, o->prune_parents, removed_ref, o, &reclaimed, err);
out:
  graph_unlock(g);
  if (r < 0) {
    json_decref(records);
    return r;
  }
  *out = records;
  return 0;
}

int graph_image_prune(struct graph *g, json_t **out, struct berr *err)
{
  graph_lock(g);
  json_t *records = json_array();
  int64_t reclaimed = 0;
  int r = 0;
  struct graph_delete_opts none = {0};
  /* repeat: deleting a child can leave its parent dangling */
  for (bool again = true; again && r == 0;) {
    again = false;
    _cleanup_strv_ char **ids = NULL;
    {
      _cleanup_stmt_ sqlite3_stmt *st = NULL;
      if ((r = graph_db_prepare(g->db, &st, err,
                                "SELECT id FROM images i WHERE"
                                " NOT EXISTS (SELECT 1 FROM tags t WHERE t.image_id = i.id) AND"
                                " NOT EXISTS (SELECT 1 FROM images c WHERE c.parent = i.id) AND"
                                " NOT EXISTS (SELECT 1 FROM rwlayers w WHERE w.image_id = i.id)",
                                0)) < 0)
        break;
      struct gd_strv sv = {0};
      while (r == 0 && sqlite3_step(st) == SQLITE_ROW)
        if (gd_strv_push(&sv, strdup((const char *)sqlite3_column_text(st, 0))) < 0)
          r = berr_set(err, ENOMEM, "prune");
      if (r < 0) {
        gd_strv_clear(&sv);
        break;
      }
      ids = gd_strv_steal(&sv);
    }
    for (char **p = ids; p && *p && r == 0; p++) {
      r = delete_helper(g, *p, records, false, true, false, &none, &reclaimed, err);
      again = true;
    }
  }
  graph_unlock(g);
  if (r < 0) {
    json_decref(records);
    return r;
  }
  *out = json_pack("{s:o, s:I}", "ImagesDeleted", records, "SpaceReclaimed", (json_int_t)reclaimed);
  return 0;
}
