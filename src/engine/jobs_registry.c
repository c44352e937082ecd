/* Registry jobs: image.create from a registry (pull), image.push and auth (login), with
 * Docker's JSON progress stream. The stream starts with the first progress message: an
 * error before it (unknown image, registry refused) is a plain HTTP error, as in moby. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "graph/digest.h"
#include "graph/distribution.h"
#include "graph/image.h"
#include "graph/reference.h"
#include "jobs.h"
#include "registry/client/regclient.h"

#define MAX_CONFIG (8 << 20)

/* --- the progress stream --- */

struct stream {
  struct job *job;
  pthread_mutex_t lock;
  int fd;
  bool began;
  bool failed; /* an error was sent in the stream */
};

static void emit(struct stream *s, json_t *m)
{
  if (!m)
    return;
  pthread_mutex_lock(&s->lock);
  if (!s->began) {
    s->began = true;
    s->fd = job_stream_begin(s->job, "application/json");
  }
  if (s->fd >= 0) {
    char *txt = json_dumps(m, JSON_COMPACT);
    if (txt) {
      size_t n = strlen(txt);
      txt[n] = '\n';
      bf_write_all(s->fd, txt, n + 1);
      free(txt);
    }
  }
  pthread_mutex_unlock(&s->lock);
  json_decref(m);
}

static void emit_status(struct stream *s, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void emit_status(struct stream *s, const char *id, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  json_t *m = json_pack("{s:s}", "status", buf);
  if (id) {
    json_object_set_new(m, "progressDetail", json_object());
    json_object_set_new(m, "id", json_string(id));
  }
  emit(s, m);
}

static void human(double v, char *out, size_t n)
{
  static const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    i++;
  }
  snprintf(out, n, "%.4g%s", v, u[i]);
}

/* Docker's "[====>     ]  1.2MB/3.4MB" (the deprecated progress field older clients show) */
static void emit_progress(struct stream *s, const char *id, const char *status, int64_t cur,
                          int64_t total)
{
  char bar[64] = "", a[32], b[32], text[160];
  human((double)cur, a, sizeof(a));
  if (total > 0) {
    int w = 50, fill = (int)((double)cur / (double)total * w);
    if (fill > w)
      fill = w;
    for (int i = 0; i < w; i++)
      bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[w] = '\0';
    human((double)total, b, sizeof(b));
    snprintf(text, sizeof(text), "[%s] %8s/%s", bar, a, b);
  } else {
    snprintf(text, sizeof(text), "%8s", a);
  }
  emit(s, json_pack("{s:s, s:{s:I, s:I}, s:s, s:s}", "status", status, "progressDetail", "current",
                    (json_int_t)cur, "total", (json_int_t)total, "progress", text, "id", id));
}

/* A failure: an HTTP error while nothing was streamed, else an error message in the stream
 * (moby's errorDetail), the job itself then succeeding. */
static int fail(struct stream *s, struct berr *err, int http)
{
  struct job *job = s->job;
  if (!s->began) {
    memcpy(&job->err, err, sizeof(*err));
    if (!job->err.code)
      job->err.code = EIO;
    job->http_error = http;
    return -job->err.code;
  }
  emit(s, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error", err->msg));
  s->failed = true;
  return 0;
}

/* --- credentials from X-Registry-Auth (base64url JSON of Docker's AuthConfig) --- */

struct creds {
  json_t *json;
  char *decoded_auth;
  struct reg_creds c;
};

static void creds_clear(struct creds *c)
{
  json_decref(c->json);
  free(c->decoded_auth);
  memset(c, 0, sizeof(*c));
}

static void creds_from_json(json_t *j, struct creds *c)
{
  memset(c, 0, sizeof(*c));
  c->json = j;
  c->c.username = json_string_value(json_object_get(j, "username"));
  c->c.password = json_string_value(json_object_get(j, "password"));
  c->c.identitytoken = json_string_value(json_object_get(j, "identitytoken"));
  c->c.registrytoken = json_string_value(json_object_get(j, "registrytoken"));
  const char *auth = json_string_value(json_object_get(j, "auth"));
  if ((!c->c.username || !*c->c.username) && auth && *auth &&
      reg_base64_decode(auth, &c->decoded_auth, NULL) == 0) {
    char *colon = strchr(c->decoded_auth, ':');
    if (colon) {
      *colon = '\0';
      c->c.username = c->decoded_auth;
      c->c.password = colon + 1;
    }
  }
}

static void creds_from_job(struct job *job, struct creds *c)
{
  memset(c, 0, sizeof(*c));
  const char *h = json_string_value(json_object_get(job->args, "registry_auth"));
  _cleanup_free_ char *dec = NULL;
  size_t len = 0;
  if (!h || !*h || reg_base64_decode(h, &dec, &len) < 0)
    return;
  json_t *j = json_loadb(dec, len, 0, NULL);
  if (json_is_object(j))
    creds_from_json(j, c);
  else
    json_decref(j);
}

/* --- pull --- */

static void host_platform(char *os, char *arch, char *variant, size_t n)
{
  struct utsname u;
  snprintf(os, n, "linux");
  variant[0] = '\0';
  if (uname(&u) < 0 || !strcmp(u.machine, "x86_64"))
    snprintf(arch, n, "amd64");
  else if (!strcmp(u.machine, "aarch64"))
    snprintf(arch, n, "arm64");
  else if (!strncmp(u.machine, "armv7", 5)) {
    snprintf(arch, n, "arm");
    snprintf(variant, n, "v7");
  } else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
    snprintf(arch, n, "386");
  else
    snprintf(arch, n, "%s", u.machine);
}

static int parse_platform(const char *p, char *os, char *arch, char *variant, size_t n,
                          struct berr *err)
{
  host_platform(os, arch, variant, n);
  if (!p || !*p)
    return 0;
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", p);
  char *save = NULL, *a = strtok_r(buf, "/", &save), *b = strtok_r(NULL, "/", &save),
       *c = strtok_r(NULL, "/", &save);
  if (!a || !b)
    return berr_set(err, 0, "\"%s\": unknown platform: expected os/arch[/variant]", p);
  snprintf(os, n, "%s", a);
  snprintf(arch, n, "%s", b);
  snprintf(variant, n, "%s", c ? c : "");
  return 0;
}

struct layer {
  const char *digest, *media_type;
  int64_t size;
  char short_id[13];
  bool present;    /* unpacked already */
  bool needed;     /* to download */
  bool downloaded; /* its verified blob is in the store (under pull.lock) */
  bool unpack;     /* to unpack */
  bool unpacking;  /* an unpacker took it (under pull.lock) */
  bool unpacked;
  int rc;
  struct berr err;
};

/* Downloads run in worker threads; the job's own thread unpacks each layer as soon as its
 * blob is verified (and, on vfs, its parent is complete), while later layers still download. */
struct pull {
  struct engine *e;
  struct stream *s;
  struct reg_repo *repo;
  struct layer *layers;
  size_t n;
  atomic_size_t next;
  atomic_bool stop;
  pthread_mutex_t lock;
  pthread_cond_t changed; /* a download or an unpack finished or failed */
  bool failed;            /* a download failed (under lock) */
  /* unpacking: the graph's handle, and the first error (under lock) */
  struct graph_unpack *unpack;
  bool unpack_failed;
  struct berr unpack_err;
};

struct blob_dl {
  struct pull *p;
  struct layer *l;
  struct graph_blob_writer *w;
  int64_t done, last;
};

static int dl_write(void *ud, const void *buf, size_t len)
{
  struct blob_dl *d = ud;
  struct berr e;
  /* a download in flight when another layer failed is finished, not cancelled: its
   * verified blob stays in the store for the next pull */
  if (graph_blob_writer_write(d->w, buf, len, &e) < 0)
    return -EIO;
  d->done += (int64_t)len;
  int64_t step = d->l->size / 50 > (256 << 10) ? d->l->size / 50 : (256 << 10);
  if (d->done - d->last >= step || d->done == d->l->size) {
    d->last = d->done;
    emit_progress(d->p->s, d->l->short_id, "Downloading", d->done, d->l->size);
  }
  return 0;
}

static int dl_reset(void *ud)
{
  struct blob_dl *d = ud;
  struct berr e;
  graph_blob_writer_abort(d->w);
  d->w = NULL;
  d->done = d->last = 0;
  return graph_blob_writer_begin(d->p->e->graph, &d->w, &e);
}

static void download_layer(struct pull *p, struct layer *l)
{
  struct blob_dl d = {.p = p, .l = l};
  if ((l->rc = graph_blob_writer_begin(p->e->graph, &d.w, &l->err)) < 0)
    return;
  struct reg_sink sink = {.write = dl_write, .reset = dl_reset, .ud = &d};
  l->rc = reg_blob_get(p->repo, l->digest, l->size, &sink, &l->err);
  if (l->rc < 0 || !d.w) {
    if (d.w)
      graph_blob_writer_abort(d.w);
    if (l->rc == 0)
      l->rc = berr_set(&l->err, EIO, "download restart failed");
    return;
  }
  emit_status(p->s, l->short_id, "Verifying Checksum");
  /* the store's writer refuses content that does not hash to the manifest's digest */
  l->rc = graph_blob_writer_commit(d.w, l->digest, NULL, NULL, &l->err);
  if (l->rc < 0) {
    berr_wrap(&l->err, "filesystem layer verification failed for digest %s", l->digest);
    return;
  }
  emit_status(p->s, l->short_id, "Download complete");
}

static void *download_worker(void *arg)
{
  struct pull *p = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n || atomic_load(&p->stop))
      return NULL;
    struct layer *l = &p->layers[i];
    if (!l->needed)
      continue;
    download_layer(p, l);
    pthread_mutex_lock(&p->lock);
    if (l->rc < 0) {
      atomic_store(&p->stop, true);
      p->failed = true;
    } else {
      l->downloaded = true;
    }
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
  }
}

/* The next layer to unpack, now taken: downloaded, and ready by the graph's rules. SIZE_MAX
 * when a download or an unpack failed, or nothing is left to take. Waits for downloads. */
static size_t next_to_unpack(struct pull *p)
{
  pthread_mutex_lock(&p->lock);
  size_t pick = SIZE_MAX;
  while (!p->failed && !p->unpack_failed) {
    bool left = false;
    for (size_t i = 0; i < p->n && pick == SIZE_MAX; i++) {
      struct layer *l = &p->layers[i];
      if (!l->unpack || l->unpacking || l->unpacked)
        continue;
      left = true;
      if (l->downloaded && graph_unpack_ready(p->unpack, i))
        pick = i;
    }
    if (pick != SIZE_MAX || !left)
      break;
    pthread_cond_wait(&p->changed, &p->lock);
  }
  if (pick != SIZE_MAX)
    p->layers[pick].unpacking = true;
  pthread_mutex_unlock(&p->lock);
  return pick;
}

/* Unpacks layers as they become ready, until none is left or something failed. Several run
 * at once where the driver allows (gunzip and extraction are CPU-bound: one per CPU). */
static void *unpack_worker(void *arg)
{
  struct pull *p = arg;
  size_t i;
  while ((i = next_to_unpack(p)) != SIZE_MAX) {
    struct layer *l = &p->layers[i];
    emit_status(p->s, l->short_id, "Extracting");
    struct berr err = {0};
    int r = graph_unpack_layer(p->unpack, i, &err);
    pthread_mutex_lock(&p->lock);
    if (r < 0 && !p->unpack_failed) {
      /* downloads in flight finish (their blobs are verified), no new one starts */
      atomic_store(&p->stop, true);
      p->unpack_failed = true;
      p->unpack_err = err;
    }
    l->unpacked = r == 0;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    if (r < 0)
      break;
    emit_status(p->s, l->short_id, "Pull complete");
  }
  return NULL;
}

/* The config blob: small, fetched into memory and checked against its digest. */
struct membuf {
  char *buf;
  size_t len;
};

static int mem_write(void *ud, const void *buf, size_t len)
{
  struct membuf *m = ud;
  if (m->len + len > MAX_CONFIG)
    return -EFBIG;
  char *n = realloc(m->buf, m->len + len + 1);
  if (!n)
    return -ENOMEM;
  memcpy(n + m->len, buf, len);
  m->buf = n;
  m->len += len;
  m->buf[m->len] = '\0';
  return 0;
}

static int mem_reset(void *ud)
{
  struct membuf *m = ud;
  m->len = 0;
  return 0;
}

static int fetch_config(struct reg_repo *repo, const char *digest, int64_t size, char **out,
                        size_t *len, struct berr *err)
{
  struct membuf m = {0};
  struct reg_sink sink = {.write = mem_write, .reset = mem_reset, .ud = &m};
  int r = reg_blob_get(repo, digest, size, &sink, err);
  if (r < 0) {
    free(m.buf);
    return berr_wrap(err, "config %s", digest);
  }
  char got[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf(m.buf ? m.buf : "", m.len, got);
  if (strcmp(got, digest) != 0) {
    free(m.buf);
    return berr_set(err, 0, "image config verification failed for digest %s", digest);
  }
  *out = m.buf ? m.buf : strdup("");
  *len = m.len;
  return 0;
}

static const struct reg_config *reg_cfg(struct engine *e)
{
  static const struct reg_config none = {0};
  return e->cfg.registry ? e->cfg.registry : &none;
}

/* Opens the repository and fetches the manifest at the first endpoint that has it. */
static int open_and_get(struct engine *e, const struct graph_ref *ref, const char *path,
                        const struct reg_creds *creds, const char *want, struct reg_repo **repo,
                        char **body, size_t *len, char **mt, char digest[72], struct berr *err)
{
  _cleanup_strv_ char **eps = NULL;
  int r = reg_endpoints(reg_cfg(e), ref->domain, false, &eps, err);
  if (r < 0)
    return r;
  for (char **ep = eps; *ep; ep++) {
    struct reg_repo *rp = NULL;
    if ((r = reg_repo_open(reg_cfg(e), *ep, path, creds, false, &rp, err)) < 0)
      continue;
    r = reg_manifest_get(rp, want, body, len, mt, digest, err);
    if (r == 0) {
      *repo = rp;
      return 0;
    }
    reg_repo_free(rp);
  }
  return r;
}

/* Pulls one image. Part of an all-tags pull (*downloaded not NULL), it leaves out the final
 * Status line and tells whether anything new came. */
static int do_pull(struct job *job, struct stream *s, const char *image, const char *platform,
                   bool *downloaded)
{
  struct engine *e = job->engine;
  struct berr err = {0};
  struct graph_ref ref = {0};
  if (graph_ref_parse(image, &ref, &err) < 0)
    return fail(s, &err, 400);
  char os[32], arch[32], variant[32];
  if (parse_platform(platform, os, arch, variant, sizeof(os), &err) < 0) {
    graph_ref_clear(&ref);
    return fail(s, &err, 400);
  }
  _cleanup_free_ char *name = graph_ref_name(&ref);
  _cleanup_free_ char *key = graph_ref_key(&ref);
  _cleanup_free_ char *familiar = key ? graph_ref_familiar(key) : NULL;
  _cleanup_free_ char *fam_name = name ? graph_ref_familiar(name) : NULL;
  const char *want = ref.digest ? ref.digest : ref.tag;
  if (!name || !key || !familiar || !fam_name) {
    graph_ref_clear(&ref);
    berr_set(&err, ENOMEM, "pull");
    return fail(s, &err, 500);
  }
  struct creds cr;
  creds_from_job(job, &cr);
  struct reg_repo *repo = NULL;
  _cleanup_free_ char *body = NULL, *mt = NULL, *mbody = NULL, *mmt = NULL, *config = NULL;
  size_t len = 0, mlen = 0, clen = 0;
  char pulled[72], mdigest[72];
  struct layer *layers = NULL;
  const char **digests = NULL, **mts = NULL;
  struct graph_unpack *unpack = NULL;
  size_t n = 0;
  json_auto_t *manifest = NULL;
  int rc = 0;

  rc = open_and_get(e, &ref, ref.path, &cr.c, want, &repo, &body, &len, &mt, pulled, &err);
  if (rc < 0) {
    struct berr e2 = {0};
    if (err.code == EACCES || err.code == ENOENT) {
      if (ref.digest || strstr(err.msg, "manifest unknown"))
        berr_set(&e2, 0, "manifest for %s not found: %s", familiar ? familiar : image, err.msg);
      else
        berr_set(&e2, 0,
                 "pull access denied for %s, repository does not exist or may require 'docker "
                 "login': %s",
                 fam_name ? fam_name : image, err.msg);
      e2.code = ENOENT;
      err = e2;
    }
    rc = fail(s, &err, err.code == ENOENT ? 404 : 500);
    goto out;
  }
  emit_status(s, ref.digest ? ref.digest : ref.tag, "Pulling from %s",
              strncmp(name, "docker.io/", 10) == 0 ? name + 10 : ref.path);
  if (!strcmp(mt, REG_MT_OCI_INDEX) || !strcmp(mt, REG_MT_DOCKER_LIST)) {
    char pick[72];
    if ((rc = reg_index_pick(body, len, os, arch, variant, pick, &err)) < 0 ||
        (rc = reg_manifest_get(repo, pick, &mbody, &mlen, &mmt, mdigest, &err)) < 0) {
      rc = fail(s, &err, 404);
      goto out;
    }
    if (strcmp(mmt, REG_MT_OCI_MANIFEST) && strcmp(mmt, REG_MT_DOCKER_MANIFEST)) {
      berr_set(&err, 0, "manifest %s: a list inside a list is not supported", pick);
      rc = fail(s, &err, 500);
      goto out;
    }
  } else {
    mbody = steal_ptr(body);
    mlen = len;
    mmt = steal_ptr(mt);
    memcpy(mdigest, pulled, sizeof(mdigest));
  }
  manifest = json_loadb(mbody, mlen, 0, NULL);
  json_t *cdesc = json_object_get(manifest, "config");
  json_t *ldescs = json_object_get(manifest, "layers");
  const char *cdigest = json_string_value(json_object_get(cdesc, "digest"));
  if (!cdigest || !graph_digest_valid(cdigest) || !json_is_array(ldescs)) {
    berr_set(&err, 0, "manifest %s: no valid config or layers", mdigest);
    rc = fail(s, &err, 500);
    goto out;
  }
  if ((rc = fetch_config(repo, cdigest, json_integer_value(json_object_get(cdesc, "size")) ?: -1,
                         &config, &clen, &err)) < 0) {
    rc = fail(s, &err, 500);
    goto out;
  }
  n = json_array_size(ldescs);
  layers = calloc(n ? n : 1, sizeof(*layers));
  digests = calloc(n + 1, sizeof(char *));
  mts = calloc(n + 1, sizeof(char *));
  if (!layers || !digests || !mts) {
    berr_set(&err, ENOMEM, "pull");
    rc = fail(s, &err, 500);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_array_get(ldescs, i);
    struct layer *l = &layers[i];
    l->digest = json_string_value(json_object_get(d, "digest"));
    l->media_type = json_string_value(json_object_get(d, "mediaType"));
    l->size = json_integer_value(json_object_get(d, "size"));
    if (!l->digest || !graph_digest_valid(l->digest)) {
      berr_set(&err, 0, "manifest %s: layer %zu has no valid digest", mdigest, i);
      rc = fail(s, &err, 500);
      goto out;
    }
    digests[i] = l->digest;
    mts[i] = l->media_type;
  }
  if ((rc = graph_unpack_begin(e->graph, config, clen, digests, mts, n, &unpack, &err)) < 0) {
    rc = fail(s, &err, 500);
    goto out;
  }
  size_t needed = 0, to_unpack = 0;
  for (size_t i = 0; i < n; i++) {
    struct layer *l = &layers[i];
    snprintf(l->short_id, sizeof(l->short_id), "%.12s", graph_digest_hex(l->digest));
    l->present = !graph_unpack_needed(unpack, i);
    if (l->present) {
      emit_status(s, l->short_id, "Already exists");
      continue;
    }
    l->unpack = true;
    to_unpack++;
    if (graph_blob_present(e->graph, l->digest)) {
      /* verified by an earlier, interrupted pull: no need to fetch it again */
      l->downloaded = true;
      emit_status(s, l->short_id, "Download complete");
      continue;
    }
    l->needed = true;
    needed++;
    emit_status(s, l->short_id, "Pulling fs layer");
  }
  struct pull p = {.e = e, .s = s, .repo = repo, .layers = layers, .n = n};
  pthread_mutex_init(&p.lock, NULL);
  pthread_cond_init(&p.changed, NULL);
  pthread_t th[32];
  size_t started = 0;
  if (needed) {
    size_t nt = (size_t)(e->cfg.max_concurrent_downloads > 0 ? e->cfg.max_concurrent_downloads : 3);
    if (nt > needed)
      nt = needed;
    if (nt > 32)
      nt = 32;
    for (; started < nt; started++)
      if (pthread_create(&th[started], NULL, download_worker, &p) != 0)
        break;
    if (started == 0)
      download_worker(&p);
  }
  p.unpack = unpack;
  /* this thread unpacks too; more of them where the driver allows and layers are many */
  pthread_t ut[8];
  size_t unpackers = 0;
  if (graph_unpack_parallel(unpack) && to_unpack > 1) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t more = cpus > 1 ? (size_t)cpus - 1 : 0;
    if (more > to_unpack - 1)
      more = to_unpack - 1;
    if (more > 8)
      more = 8;
    for (; unpackers < more; unpackers++)
      if (pthread_create(&ut[unpackers], NULL, unpack_worker, &p) != 0)
        break;
  }
  unpack_worker(&p);
  for (size_t i = 0; i < unpackers; i++)
    pthread_join(ut[i], NULL);
  for (size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  pthread_cond_destroy(&p.changed);
  pthread_mutex_destroy(&p.lock);
  struct berr uerr = p.unpack_err;
  bool unpack_failed = p.unpack_failed;
  if (unpack_failed) {
    /* content that does not match the config is not kept for another try */
    graph_unpack_abort(steal_ptr(unpack), false);
    rc = fail(s, &uerr, 500);
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    if (layers[i].needed && layers[i].rc < 0) {
      graph_unpack_abort(steal_ptr(unpack), true);
      rc = fail(s, &layers[i].err, 500);
      goto out;
    }
  struct graph_pulled gp = {.manifest = mbody,
                            .manifest_len = mlen,
                            .name = name,
                            .tag = ref.digest ? NULL : ref.tag,
                            .pulled_digest = pulled};
  char id[GRAPH_DIGEST_LEN + 1];
  bool existed = false;
  rc = graph_unpack_commit(steal_ptr(unpack), &gp, id, &existed, &err);
  if (rc < 0) {
    rc = fail(s, &err, 500);
    goto out;
  }
  emit_status(s, NULL, "Digest: %s", pulled);
  char shown[1200];
  if (ref.digest)
    snprintf(shown, sizeof(shown), "%s@%s", fam_name, ref.digest);
  else
    snprintf(shown, sizeof(shown), "%s", familiar);
  if (downloaded)
    *downloaded = *downloaded || !existed || to_unpack > 0;
  else
    emit_status(s, NULL, "Status: %s for %s",
                existed && to_unpack == 0 ? "Image is up to date" : "Downloaded newer image",
                shown);
  events_emit(&e->events, "image", "pull", shown, json_pack("{s:s}", "name", shown));
  rc = 0;
out:
  graph_unpack_abort(unpack, true);
  free(digests);
  free(mts);
  free(layers);
  reg_repo_free(repo);
  creds_clear(&cr);
  graph_ref_clear(&ref);
  return rc;
}

/* Every tag of repository `from` (a name without tag or digest), as moby does when the API
 * gets fromImage without a tag: the docker CLI's `pull --all-tags`. */
static int pull_all_tags(struct job *job, struct stream *s, const char *from, const char *platform)
{
  struct engine *e = job->engine;
  struct berr err = {0};
  struct graph_ref ref = {0};
  if (graph_ref_parse(from, &ref, &err) < 0)
    return fail(s, &err, 400);
  _cleanup_free_ char *name = graph_ref_name(&ref);
  _cleanup_free_ char *fam = name ? graph_ref_familiar(name) : NULL;
  struct creds cr;
  creds_from_job(job, &cr);
  _cleanup_strv_ char **eps = NULL, **tags = NULL;
  int rc = name && fam ? reg_endpoints(reg_cfg(e), ref.domain, false, &eps, &err)
                       : berr_set(&err, ENOMEM, "pull");
  for (char **ep = eps; rc == 0 && *ep; ep++) {
    struct reg_repo *rp = NULL;
    if ((rc = reg_repo_open(reg_cfg(e), *ep, ref.path, &cr.c, false, &rp, &err)) == 0)
      rc = reg_tags_list(rp, &tags, &err);
    reg_repo_free(rp);
    if (rc == 0)
      break;
    if (ep[1])
      rc = 0; /* the next endpoint (a mirror failed) */
  }
  creds_clear(&cr);
  graph_ref_clear(&ref);
  if (rc == 0 && (!tags || !tags[0])) {
    berr_set(&err, 0, "no tags found for %s", fam);
    err.code = ENOENT;
    rc = -ENOENT;
  }
  if (rc < 0) {
    if (err.code == EACCES || err.code == ENOENT) {
      struct berr e2 = {0};
      berr_set(&e2, 0,
               "pull access denied for %s, repository does not exist or may require "
               "'docker login': %s",
               fam ? fam : from, err.msg);
      e2.code = ENOENT;
      err = e2;
    }
    return fail(s, &err, err.code == ENOENT ? 404 : 500);
  }
  bool downloaded = false;
  for (char **t = tags; *t; t++) {
    char image[1200];
    snprintf(image, sizeof(image), "%s:%s", name, *t);
    rc = do_pull(job, s, image, platform, &downloaded);
    /* a failure was reported (an HTTP error before the stream began, else in the stream) */
    if (rc < 0 || s->failed)
      return rc;
  }
  emit_status(s, NULL, "Status: %s for %s",
              downloaded ? "Downloaded newer image" : "Image is up to date", fam);
  return 0;
}

int jobs_registry_pull(struct job *job)
{
  const char *from = job_query_str(job, "fromImage");
  const char *tag = job_query_str(job, "tag");
  const char *platform = job_query_str(job, "platform");
  char image[1024];
  if (tag && *tag)
    snprintf(image, sizeof(image), "%s%s%s", from, strncmp(tag, "sha256:", 7) ? ":" : "@", tag);
  else
    snprintf(image, sizeof(image), "%s", from);
  /* the docker CLI sends `pull -a NAME` as fromImage=NAME with no tag; without -a it always
   * sends tag (latest by default) */
  const char *last = strrchr(from ? from : "", '/');
  last = last ? last : from;
  bool all_tags = from && !(tag && *tag) && !strchr(last, ':') && !strchr(last, '@');
  struct stream s = {.job = job, .fd = -1};
  pthread_mutex_init(&s.lock, NULL);
  int r =
      all_tags ? pull_all_tags(job, &s, from, platform) : do_pull(job, &s, image, platform, NULL);
  pthread_mutex_destroy(&s.lock);
  return r;
}

/* --- push --- */

struct up {
  struct stream *s;
  const char *id;
  int64_t last;
};

static void up_progress(void *ud, int64_t done, int64_t total)
{
  struct up *u = ud;
  int64_t step = total / 50 > (256 << 10) ? total / 50 : (256 << 10);
  if (done - u->last >= step || done == total) {
    u->last = done;
    emit_progress(u->s, u->id, "Pushing", done, total);
  }
}

/* sources: other repositories of the registry that should have the blob (mount them) */
static int push_blob(struct engine *e, struct stream *s, struct reg_repo *repo, const char *digest,
                     const char *short_id, char **sources, struct berr *err)
{
  bool exists = false;
  int r = reg_blob_exists(repo, digest, &exists, err);
  if (r < 0)
    return r;
  if (exists) {
    if (short_id)
      emit_status(s, short_id, "Layer already exists");
    return 0;
  }
  for (char **src = sources; src && *src; src++) {
    bool mounted = false;
    struct berr merr;
    if (reg_blob_mount(repo, digest, *src, &mounted, &merr) == 0 && mounted) {
      if (short_id)
        emit_status(s, short_id, "Mounted from %s", *src);
      return 0;
    }
  }
  _cleanup_close_ int fd = -1;
  int64_t size = 0;
  if ((r = graph_blob_open(e->graph, digest, &fd, &size, err)) < 0)
    return r;
  struct up u = {.s = s, .id = short_id};
  r = reg_blob_upload(repo, digest, fd, size, e->cfg.upload_chunk_size,
                      short_id ? up_progress : NULL, &u, err);
  if (r < 0)
    return r;
  if (short_id)
    emit_status(s, short_id, "Pushed");
  return 0;
}

struct push_layer {
  const char *digest;
  char short_id[13];
  bool dup; /* an earlier layer has the same blob */
  int rc;
  struct berr err;
};

struct push {
  struct engine *e;
  struct stream *s;
  struct reg_repo *repo;
  const struct graph_ref *target;
  const char *id;
  struct push_layer *layers;
  size_t n;
  atomic_size_t next;
  atomic_bool stop;
};

static void *upload_worker(void *arg)
{
  struct push *p = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n || atomic_load(&p->stop))
      return NULL;
    struct push_layer *l = &p->layers[i];
    if (l->dup)
      continue;
    _cleanup_strv_ char **sources = NULL;
    struct berr serr;
    if (graph_layer_sources(p->e->graph, p->id, i, p->target->domain, p->target->path, 3, &sources,
                            &serr) < 0)
      sources = NULL;
    l->rc = push_blob(p->e, p->s, p->repo, l->digest, l->short_id, sources, &l->err);
    if (l->rc < 0)
      atomic_store(&p->stop, true);
  }
}

static int push_tag(struct engine *e, struct stream *s, struct reg_repo *repo,
                    const struct graph_ref *target, const char *name, const char *tag,
                    struct berr *err)
{
  char ref[1200];
  snprintf(ref, sizeof(ref), "%s:%s", name, tag);
  _cleanup_free_ char *manifest = NULL, *mt = NULL;
  size_t len = 0;
  char id[GRAPH_DIGEST_LEN + 1];
  int r = graph_image_manifest(e->graph, ref, &manifest, &len, &mt, id, err);
  if (r < 0)
    return r;
  json_auto_t *m = json_loadb(manifest, len, 0, NULL);
  json_t *layers = json_object_get(m, "layers");
  size_t i;
  json_t *l;
  json_array_foreach(layers, i, l)
  {
    const char *d = json_string_value(json_object_get(l, "digest"));
    char sid[13];
    snprintf(sid, sizeof(sid), "%.12s", d ? graph_digest_hex(d) : "");
    emit_status(s, sid, "Preparing");
  }
  /* layers go up in parallel (Docker: max-concurrent-uploads, 5); the config and then the
   * manifest only once every layer is there */
  size_t n = json_array_size(layers);
  struct push_layer *pl = calloc(n ? n : 1, sizeof(*pl));
  if (!pl)
    return berr_set(err, ENOMEM, "push");
  struct push p = {.e = e, .s = s, .repo = repo, .target = target, .id = id, .layers = pl, .n = n};
  json_array_foreach(layers, i, l)
  {
    pl[i].digest = json_string_value(json_object_get(l, "digest"));
    if (!pl[i].digest) {
      free(pl);
      return berr_set(err, 0, "layer %zu without digest", i);
    }
    snprintf(pl[i].short_id, sizeof(pl[i].short_id), "%.12s", graph_digest_hex(pl[i].digest));
    for (size_t k = 0; k < i && !pl[i].dup; k++)
      pl[i].dup = !strcmp(pl[k].digest, pl[i].digest);
  }
  size_t nt = (size_t)(e->cfg.max_concurrent_uploads > 0 ? e->cfg.max_concurrent_uploads : 5);
  if (nt > n)
    nt = n;
  if (nt > 32)
    nt = 32;
  pthread_t th[32];
  size_t started = 0;
  for (; started < nt; started++)
    if (pthread_create(&th[started], NULL, upload_worker, &p) != 0)
      break;
  if (started == 0)
    upload_worker(&p);
  for (size_t k = 0; k < started; k++)
    pthread_join(th[k], NULL);
  for (size_t k = 0; k < n; k++)
    if (pl[k].rc < 0) {
      memcpy(err, &pl[k].err, sizeof(*err));
      r = pl[k].rc;
      free(pl);
      return r;
    }
  free(pl);
  const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
  if (!cd || (r = push_blob(e, s, repo, cd, NULL, NULL, err)) < 0)
    return r < 0 ? r : berr_set(err, 0, "manifest without config");
  if ((r = reg_manifest_put(repo, tag, manifest, len, mt, err)) < 0)
    return r;
  char digest[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf(manifest, len, digest);
  emit_status(s, NULL, "%s: digest: %s size: %zu", tag, digest, len);
  emit(s, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail", "aux", "Tag", tag, "Digest",
                    digest, "Size", (json_int_t)len));
  struct berr ignored;
  graph_add_repo_digest(e->graph, name, digest, id, &ignored);
  events_emit(&e->events, "image", "push", ref, json_pack("{s:s}", "name", ref));
  return 0;
}

static int job_image_push(struct job *job)
{
  struct engine *e = job->engine;
  const char *image = job_path(job, "name");
  const char *tag = job_query_str(job, "tag");
  struct stream s = {.job = job, .fd = -1};
  pthread_mutex_init(&s.lock, NULL);
  struct berr err = {0};
  struct graph_ref ref = {0};
  struct creds cr;
  creds_from_job(job, &cr);
  _cleanup_strv_ char **tags = NULL;
  _cleanup_strv_ char **eps = NULL;
  _cleanup_free_ char *name = NULL, *fam = NULL;
  struct reg_repo *repo = NULL;
  int rc = 0;
  /* a tag in the name or the tag parameter pushes that tag; none pushes all of them */
  const char *slash = strrchr(image ? image : "", '/');
  bool named_tag = image && strchr(slash ? slash : image, ':');
  if (!image || graph_ref_parse(image, &ref, &err) < 0) {
    rc = fail(&s, &err, 400);
    goto out;
  }
  name = graph_ref_name(&ref);
  fam = name ? graph_ref_familiar(name) : NULL;
  if (tag && *tag) {
    tags = calloc(2, sizeof(char *));
    if (tags)
      tags[0] = strdup(tag);
  } else if (named_tag) {
    tags = calloc(2, sizeof(char *));
    if (tags)
      tags[0] = strdup(ref.tag);
  } else if ((rc = graph_repo_tags(e->graph, name, &tags, &err)) < 0) {
    rc = fail(&s, &err, 500);
    goto out;
  }
  if (!tags || !tags[0]) {
    berr_set(&err, 0, "An image does not exist locally with the tag: %s", fam ? fam : image);
    err.code = ENOENT;
    rc = fail(&s, &err, 404);
    goto out;
  }
  /* every tag must exist before anything is sent */
  for (char **t = tags; *t; t++) {
    char full[1200], id[GRAPH_DIGEST_LEN + 1];
    snprintf(full, sizeof(full), "%s:%s", name, *t);
    if (graph_image_resolve(e->graph, full, id, &err) < 0) {
      berr_set(&err, 0, "tag does not exist: %s:%s", fam, *t);
      err.code = ENOENT;
      rc = fail(&s, &err, 404);
      goto out;
    }
  }
  if ((rc = reg_endpoints(reg_cfg(e), ref.domain, true, &eps, &err)) < 0) {
    rc = fail(&s, &err, err.code == ENOENT ? 404 : 500);
    goto out;
  }
  emit_status(&s, NULL, "The push refers to repository [%s]", name);
  if ((rc = reg_repo_open(reg_cfg(e), eps[0], ref.path, &cr.c, true, &repo, &err)) < 0) {
    rc = fail(&s, &err, 500);
    goto out;
  }
  for (char **t = tags; *t; t++)
    if ((rc = push_tag(e, &s, repo, &ref, name, *t, &err)) < 0) {
      rc = fail(&s, &err, 500);
      goto out;
    }
  rc = 0;
out:
  reg_repo_free(repo);
  creds_clear(&cr);
  graph_ref_clear(&ref);
  pthread_mutex_destroy(&s.lock);
  return rc;
}

/* --- auth --- */

/* "https://index.docker.io/v1/" -> docker.io; "http://127.0.0.1:5000/x" -> 127.0.0.1:5000 */
static void server_domain(const char *addr, char *out, size_t n)
{
  const char *p = addr && *addr ? addr : "docker.io";
  const char *sch = strstr(p, "://");
  if (sch)
    p = sch + 3;
  size_t l = strcspn(p, "/");
  snprintf(out, n, "%.*s", (int)l, p);
  if (!strcmp(out, "index.docker.io") || !strcmp(out, "registry-1.docker.io"))
    snprintf(out, n, "docker.io");
}

static int job_auth(struct job *job)
{
  struct engine *e = job->engine;
  json_t *body = job_body(job);
  if (!json_is_object(body))
    return job_fail(job, 400, "expected an AuthConfig JSON body");
  struct creds cr;
  creds_from_json(json_incref(body), &cr);
  char domain[512];
  server_domain(json_string_value(json_object_get(body, "serveraddress")), domain, sizeof(domain));
  _cleanup_strv_ char **eps = NULL;
  struct reg_repo *repo = NULL;
  int rc = reg_endpoints(reg_cfg(e), domain, true, &eps, &job->err);
  if (rc == 0)
    rc = reg_repo_open(reg_cfg(e), eps[0], "", &cr.c, false, &repo, &job->err);
  if (rc == 0)
    rc = reg_ping(repo, &job->err);
  reg_repo_free(repo);
  creds_clear(&cr);
  if (rc < 0) {
    job->http_error = job->err.code == EACCES ? 401 : job->err.code == ENOENT ? 404 : 500;
    return rc;
  }
  job->result = json_pack("{s:s, s:s}", "Status", "Login Succeeded", "IdentityToken", "");
  return 0;
}

void jobs_registry_register(struct engine *e)
{
  engine_register(e, "image.push", job_image_push);
  engine_register(e, "auth", job_auth);
}
