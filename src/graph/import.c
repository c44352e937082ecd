/* docker import and docker commit. The layer is first streamed into the content store (which
 * yields its blob digest and diff ID), then registered like any loaded image, so the same
 * verification, unpacking and transaction apply. */
#include "graph/import.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "graph/image.h"
#include "graph/layerstream.h"
#include "graph/reference.h"
#include "graph/rwlayer.h"
#include "graph_priv.h"

/* Splits "k=v k2=\"v 2\"" into pairs; values keep backslash-escaped characters. */
static int parse_pairs(const char *s, json_t *out_obj, json_t *out_env, struct berr *err)
{
  const char *p = s;
  while (*p) {
    while (isspace((unsigned char)*p))
      p++;
    if (!*p)
      break;
    char key[4096], val[4096];
    size_t kn = 0, vn = 0;
    bool in_val = false;
    char quote = 0;
    for (; *p; p++) {
      char c = *p;
      if (!quote && isspace((unsigned char)c))
        break;
      if (!quote && (c == '"' || c == '\'')) {
        quote = c;
        continue;
      }
      if (quote && c == quote) {
        quote = 0;
        continue;
      }
      if (c == '\\' && p[1] && quote != '\'') {
        c = *++p;
      } else if (c == '=' && !in_val && !quote) {
        in_val = true;
        continue;
      }
      if (in_val) {
        if (vn + 1 < sizeof(val))
          val[vn++] = c;
      } else if (kn + 1 < sizeof(key)) {
        key[kn++] = c;
      }
    }
    if (quote)
      return berr_set(err, 0, "unterminated quote in \"%s\"", s);
    key[kn] = '\0';
    val[vn] = '\0';
    if (!in_val || kn == 0)
      return berr_set(err, 0, "expected key=value in \"%s\"", s);
    if (out_obj)
      json_object_set_new(out_obj, key, json_string(val));
    if (out_env) {
      size_t i;
      json_t *e;
      bool replaced = false;
      char entry[8200];
      snprintf(entry, sizeof(entry), "%s=%s", key, val);
      json_array_foreach(out_env, i, e)
      {
        const char *es = json_string_value(e);
        if (es && !strncmp(es, key, kn) && es[kn] == '=') {
          json_array_set_new(out_env, i, json_string(entry));
          replaced = true;
        }
      }
      if (!replaced)
        json_array_append_new(out_env, json_string(entry));
    }
  }
  return 0;
}

static json_t *exec_or_shell(const char *rest)
{
  if (rest[0] == '[') {
    json_t *j = json_loads(rest, 0, NULL);
    bool ok = json_is_array(j);
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) ok &= json_is_string(v);
    if (ok)
      return j;
    json_decref(j);
  }
  return json_pack("[s, s, s]", "/bin/sh", "-c", rest);
}

static json_t *obj_field(json_t *config, const char *key)
{
  json_t *o = json_object_get(config, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(config, key, o);
  }
  return o;
}

int graph_apply_changes(json_t *config, const char *const *changes, size_t n, struct berr *err)
{
  for (size_t i = 0; i < n; i++) {
    const char *c = changes[i];
    while (isspace((unsigned char)*c))
      c++;
    size_t kw = 0;
    while (c[kw] && !isspace((unsigned char)c[kw]))
      kw++;
    char word[16] = "";
    for (size_t k = 0; k < kw && k + 1 < sizeof(word); k++)
      word[k] = (char)toupper((unsigned char)c[k]);
    const char *rest = c + kw;
    while (isspace((unsigned char)*rest))
      rest++;
    _cleanup_free_ char *val = strdup(rest);
    if (!val)
      return berr_set(err, ENOMEM, "change");
    for (size_t l = strlen(val); l > 0 && isspace((unsigned char)val[l - 1]); l--)
      val[l - 1] = '\0';
    if (kw == 0 || !*val)
      return berr_set(err, 0, "invalid change \"%s\": expected INSTRUCTION arguments", changes[i]);
    int r = 0;
    if (!strcmp(word, "CMD")) {
      json_object_set_new(config, "Cmd", exec_or_shell(val));
    } else if (!strcmp(word, "ENTRYPOINT")) {
      json_object_set_new(config, "Entrypoint", exec_or_shell(val));
    } else if (!strcmp(word, "ENV")) {
      json_t *env = json_object_get(config, "Env");
      if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(config, "Env", env);
      }
      char *sp = strpbrk(val, " \t");
      char *eq = strchr(val, '=');
      if (!eq || (sp && sp < eq)) {
        /* legacy "ENV key value" */
        if (!sp)
          return berr_set(err, 0, "invalid change \"%s\": ENV needs a value", changes[i]);
        *sp = '\0';
        char *v = sp + 1;
        while (isspace((unsigned char)*v))
          v++;
        _cleanup_free_ char *pair = NULL;
        if (asprintf(&pair, "%s=\"%s\"", val, v) < 0)
          return berr_set(err, ENOMEM, "change");
        r = parse_pairs(pair, NULL, env, err);
      } else {
        r = parse_pairs(val, NULL, env, err);
      }
    } else if (!strcmp(word, "LABEL")) {
      r = parse_pairs(val, obj_field(config, "Labels"), NULL, err);
    } else if (!strcmp(word, "WORKDIR")) {
      const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
      _cleanup_free_ char *wd = NULL;
      if (val[0] != '/' && asprintf(&wd, "%s/%s", cur && *cur ? cur : "", val) < 0)
        return berr_set(err, ENOMEM, "change");
      json_object_set_new(config, "WorkingDir", json_string(wd ? wd : val));
    } else if (!strcmp(word, "USER")) {
      json_object_set_new(config, "User", json_string(val));
    } else if (!strcmp(word, "STOPSIGNAL")) {
      json_object_set_new(config, "StopSignal", json_string(val));
    } else if (!strcmp(word, "EXPOSE")) {
      json_t *ports = obj_field(config, "ExposedPorts");
      for (char *save = NULL, *t = strtok_r(val, " \t", &save); t;
           t = strtok_r(NULL, " \t", &save)) {
        char *slash = strchr(t, '/');
        const char *proto = slash ? slash + 1 : "tcp";
        if (slash)
          *slash = '\0';
        char *end;
        long port = strtol(t, &end, 10);
        if (*end || port <= 0 || port > 65535 ||
            (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0))
          return berr_set(err, 0, "invalid change \"%s\": bad port \"%s\"", changes[i], t);
        char key[32];
        snprintf(key, sizeof(key), "%ld/%s", port, proto);
        json_object_set_new(ports, key, json_object());
      }
    } else if (!strcmp(word, "VOLUME")) {
      json_t *vols = obj_field(config, "Volumes");
      json_t *arr = val[0] == '[' ? json_loads(val, 0, NULL) : NULL;
      if (json_is_array(arr)) {
        size_t k;
        json_t *v;
        json_array_foreach(arr, k, v) if (json_is_string(v))
            json_object_set_new(vols, json_string_value(v), json_object());
      } else {
        for (char *save = NULL, *t = strtok_r(val, " \t", &save); t;
             t = strtok_r(NULL, " \t", &save))
          json_object_set_new(vols, t, json_object());
      }
      json_decref(arr);
    } else {
      return berr_set(err, 0,
                      "invalid change \"%s\": %s is not one of CMD, ENTRYPOINT, ENV, EXPOSE, "
                      "LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR",
                      changes[i], word);
    }
    if (r < 0)
      return berr_wrap(err, "change \"%s\"", changes[i]);
  }
  return 0;
}

static void now_rfc3339(char *buf, size_t n)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Streams fd into the store, returning the blob's digests. */
static int ingest_blob(struct graph *g, int fd, struct graph_layer_digests *d, struct berr *err)
{
  struct graph_blob_writer *w = NULL;
  struct graph_layer_stream *ls = NULL;
  int r = graph_store_writer_new(g->store, &w, err);
  if (r < 0)
    return r;
  if ((r = graph_layer_stream_open(fd, w, &ls, err)) == 0 &&
      (r = graph_layer_stream_finish(ls, d, err)) == 0) {
    r = graph_blob_writer_commit(w, d->blob, NULL, NULL, err);
    w = NULL;
  }
  graph_layer_stream_free(ls);
  if (w)
    graph_blob_writer_abort(w);
  return r;
}

static void drop_blob_if_unused(struct graph *g, const char *digest)
{
  struct berr ignored;
  int64_t n = 1;
  if (graph_db_query_int(g->db, &n, &ignored, "SELECT COUNT(*) FROM layers WHERE blob = ?", 1,
                         digest) == 0 &&
      n == 0)
    graph_store_delete(g->store, digest, &ignored);
}

static int tag_key(const struct graph_import_opts *o, char **key, struct berr *err)
{
  *key = NULL;
  if (!o || !o->ref || !*o->ref)
    return 0;
  struct graph_ref ref;
  int r = graph_ref_parse_tag(o->ref, &ref, err);
  if (r < 0)
    return r;
  *key = graph_ref_key(&ref);
  graph_ref_clear(&ref);
  return *key ? 0 : berr_set(err, ENOMEM, "tag");
}

/* Registers a config whose last layer is the blob `d` and whose other layers exist. */
static int register_with_blob(struct graph *g, json_t *config, size_t nlayers,
                              const struct graph_layer_digests *d, const char *key,
                              const char *parent, char id[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
  if (!text)
    return berr_set(err, ENOMEM, "config");
  struct graph_layer_in *in = calloc(nlayers, sizeof(*in));
  if (!in)
    return berr_set(err, ENOMEM, "config");
  for (size_t i = 0; i < nlayers; i++)
    in[i].fd = -1;
  int r = graph_store_open_blob(g->store, d->blob, &in[nlayers - 1].fd, err);
  in[nlayers - 1].digest = d->blob;
  in[nlayers - 1].adopt = true;
  const char *tags[1] = {key};
  if (r == 0) {
    struct graph_register reg = {.config = text,
                                 .config_len = strlen(text),
                                 .layers = in,
                                 .nlayers = nlayers,
                                 .tags = tags,
                                 .ntags = key ? 1 : 0,
                                 .parent = parent};
    r = graph_register_image(g, &reg, id, err);
  }
  if (in[nlayers - 1].fd >= 0)
    close(in[nlayers - 1].fd);
  free(in);
  return r;
}

int graph_import(struct graph *g, int fd, const struct graph_import_opts *o,
                 char id[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  _cleanup_free_ char *key = NULL;
  int r = tag_key(o, &key, err);
  if (r < 0)
    return r;
  json_t *cc = json_object();
  if (o && (r = graph_apply_changes(cc, o->changes, o->nchanges, err)) < 0) {
    json_decref(cc);
    return r;
  }
  graph_lock(g);
  struct graph_layer_digests d;
  if ((r = ingest_blob(g, fd, &d, err)) < 0) {
    graph_unlock(g);
    json_decref(cc);
    return berr_wrap(err, "import");
  }
  char created[64], comment[512];
  now_rfc3339(created, sizeof(created));
  snprintf(comment, sizeof(comment), "Imported from %s", o && o->source ? o->source : "-");
  _cleanup_json_ json_t *config =
      json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture", "amd64",
                "os", "linux", "created", created, "config", cc, "rootfs", "type", "layers",
                "diff_ids", d.diff_id, "history", "created", created, "comment", comment);
  if (o && o->message && *o->message)
    json_object_set_new(config, "comment", json_string(o->message));
  r = register_with_blob(g, config, 1, &d, key, NULL, id, err);
  if (r < 0)
    drop_blob_if_unused(g, d.blob);
  graph_unlock(g);
  return r < 0 ? berr_wrap(err, "import") : 0;
}

int graph_commit(struct graph *g, const char *container_id, const struct graph_import_opts *o,
                 char id[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  _cleanup_free_ char *key = NULL;
  int r = tag_key(o, &key, err);
  if (r < 0)
    return r;
  graph_lock(g);
  _cleanup_free_ char *image = NULL, *tmp = NULL;
  _cleanup_json_ json_t *config = NULL;
  _cleanup_close_ int tfd = -1;
  if ((r = graph_db_query_str(g->db, &image, err, "SELECT image_id FROM rwlayers WHERE id = ?", 1,
                              container_id)) < 0)
    goto out;
  if (!image) {
    r = berr_set(err, ENOENT, "no writable layer %s", container_id);
    goto out;
  }
  if ((r = graph_image_config(g, image, &config, err)) < 0)
    goto out;
  /* the diff goes to a temp file first: its digests are needed before registration */
  if ((r = graph_store_mkdtemp(g->store, "commit", &tmp, err)) < 0)
    goto out;
  char tpath[4096];
  snprintf(tpath, sizeof(tpath), "%s/layer.tar", tmp);
  tfd = open(tpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (tfd < 0) {
    r = berr_errno(err, "create %s", tpath);
    goto out;
  }
  if ((r = gd_diff_unmapped(g->driver, container_id, tfd, o ? o->unmap : NULL, err)) < 0)
    goto out;
  if (lseek(tfd, 0, SEEK_SET) < 0) {
    r = berr_errno(err, "rewind diff");
    goto out;
  }
  struct graph_layer_digests d;
  if ((r = ingest_blob(g, tfd, &d, err)) < 0)
    goto out;
  json_t *cc = json_object_get(config, "config");
  if (!json_is_object(cc)) {
    cc = json_object();
    json_object_set_new(config, "config", cc);
  }
  if (o && (r = graph_apply_changes(cc, o->changes, o->nchanges, err)) < 0) {
    drop_blob_if_unused(g, d.blob);
    goto out;
  }
  char created[64];
  now_rfc3339(created, sizeof(created));
  json_object_set_new(config, "created", json_string(created));
  json_object_set_new(config, "container", json_string(container_id));
  if (o && o->author)
    json_object_set_new(config, "author", json_string(o->author));
  if (o && o->message)
    json_object_set_new(config, "comment", json_string(o->message));
  json_t *rootfs = json_object_get(config, "rootfs");
  json_t *ids = json_object_get(rootfs, "diff_ids");
  if (!json_is_array(ids)) {
    r = berr_set(err, 0, "image %s: config without rootfs.diff_ids", image);
    drop_blob_if_unused(g, d.blob);
    goto out;
  }
  json_array_append_new(ids, json_string(d.diff_id));
  json_t *hist = json_object_get(config, "history");
  if (!json_is_array(hist)) {
    hist = json_array();
    json_object_set_new(config, "history", hist);
  }
  json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by", "");
  if (o && o->author)
    json_object_set_new(h, "author", json_string(o->author));
  if (o && o->message)
    json_object_set_new(h, "comment", json_string(o->message));
  json_array_append_new(hist, h);
  r = register_with_blob(g, config, json_array_size(ids), &d, key, image, id, err);
  if (r < 0)
    drop_blob_if_unused(g, d.blob);
out:
  if (tmp) {
    struct berr ignored;
    bf_rm_rf(tmp, &ignored);
  }
  graph_unlock(g);
  return r < 0 ? berr_wrap(err, "commit %s", container_id) : 0;
}
