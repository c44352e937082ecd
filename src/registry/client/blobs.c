/* Blobs: download with retries and Range resume; HEAD, cross-repository mount and uploads
 * (POST then one PUT, or PATCH chunks then PUT). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "request.h"

#define MAX_ATTEMPTS 5

/* Counts what reached the caller's sink, so a retry knows where to resume. */
struct counting {
  const struct reg_sink *inner;
  int64_t done, size;
};

static int count_write(void *ud, const void *buf, size_t len)
{
  struct counting *c = ud;
  if (c->size >= 0 && c->done + (int64_t)len > c->size)
    return -EFBIG;
  int r = c->inner->write(c->inner->ud, buf, len);
  if (r == 0)
    c->done += (int64_t)len;
  return r;
}

static int count_reset(void *ud)
{
  struct counting *c = ud;
  if (!c->inner->reset || c->inner->reset(c->inner->ud) < 0)
    return -EIO;
  c->done = 0;
  return 0;
}

int reg_blob_get(struct reg_repo *r, const char *digest, int64_t size, const struct reg_sink *sink,
                 struct berr *err)
{
  char url[2048];
  snprintf(url, sizeof(url), "/v2/%s/blobs/%s", r->path, digest);
  struct counting c = {.inner = sink, .size = size};
  struct reg_sink cs = {.write = count_write, .reset = count_reset, .ud = &c};
  int rc = 0;
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (size >= 0 && c.done == size && c.done > 0)
      return 0;
    char range[64];
    snprintf(range, sizeof(range), "bytes=%" PRId64 "-", c.done);
    struct reg_req q = {.method = "GET",
                        .url = url,
                        .range = c.done > 0 ? range : NULL,
                        .body_fd = -1,
                        .sink = &cs,
                        .limit = -1};
    struct berr terr = {0};
    rc = reg_request(r, &q, &terr);
    if (rc == 0 && q.status != 200 && q.status != 206) {
      rc = reg_status_error(r, &q, NULL, err);
      reg_req_free(&q);
      /* 4xx are final; 5xx are worth another try */
      if (q.status < 500)
        return rc;
      continue;
    }
    reg_req_free(&q);
    if (rc == 0) {
      if (size >= 0 && c.done != size) {
        memcpy(err, &terr, sizeof(*err));
        rc = berr_set(err, EIO, "blob %s: got %" PRId64 " of %" PRId64 " bytes", digest, c.done,
                      size);
        continue;
      }
      return 0;
    }
    memcpy(err, &terr, sizeof(*err));
    if (err->code == EFBIG || err->code == EACCES)
      return rc;
  }
  return rc < 0 ? rc : berr_set(err, EIO, "blob %s: download failed", digest);
}

int reg_blob_exists(struct reg_repo *r, const char *digest, bool *exists, struct berr *err)
{
  char url[2048];
  snprintf(url, sizeof(url), "/v2/%s/blobs/%s", r->path, digest);
  struct reg_req q = {.method = "HEAD", .url = url, .body_fd = -1, .limit = -1};
  int rc = reg_request(r, &q, err);
  if (rc == 0) {
    if (q.status == 200)
      *exists = true;
    else if (q.status == 404)
      *exists = false;
    else
      rc = reg_status_error(r, &q, "check blob", err);
  }
  reg_req_free(&q);
  return rc;
}

/* Start an upload session; *location is where the data goes. */
static int upload_start(struct reg_repo *r, const char *query, struct reg_req *q, char **location,
                        struct berr *err)
{
  char url[2048];
  snprintf(url, sizeof(url), "/v2/%s/blobs/uploads/%s", r->path, query ? query : "");
  *q = (struct reg_req){.method = "POST", .url = url, .body_fd = -1, .limit = -1};
  int rc = reg_request(r, q, err);
  if (rc < 0)
    return rc;
  if (q->status == 201) {
    *location = NULL;
    return 1; /* mounted */
  }
  if (q->status != 202 || !q->location)
    return reg_status_error(r, q, "start upload", err);
  *location = strdup(q->location);
  return *location ? 0 : berr_set(err, ENOMEM, "upload");
}

int reg_blob_mount(struct reg_repo *r, const char *digest, const char *from, bool *mounted,
                   struct berr *err)
{
  char query[1024];
  snprintf(query, sizeof(query), "?mount=%s&from=%s", digest, from);
  struct reg_req q;
  _cleanup_free_ char *loc = NULL;
  int rc = upload_start(r, query, &q, &loc, err);
  reg_req_free(&q);
  if (rc < 0)
    return rc;
  *mounted = rc == 1;
  /* a session the registry opened instead of mounting is left to expire: cancelling costs
   * a request and registries purge stale uploads */
  return 0;
}

/* Location headers may be relative to the registry and may carry a query already. */
static char *with_digest(struct reg_repo *r, const char *loc, const char *digest)
{
  char *u = NULL;
  const char *sep = strchr(loc, '?') ? "&" : "?";
  bool abs = !strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8);
  if (asprintf(&u, "%s%s%sdigest=%s", abs ? "" : r->base, loc, sep, digest) < 0)
    return NULL;
  return u;
}

static char *absolute(struct reg_repo *r, const char *loc)
{
  char *u = NULL;
  bool abs = !strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8);
  if (asprintf(&u, "%s%s", abs ? "" : r->base, loc) < 0)
    return NULL;
  return u;
}

int reg_blob_upload(struct reg_repo *r, const char *digest, int fd, int64_t size, int64_t chunk,
                    reg_progress_fn progress, void *ud, struct berr *err)
{
  struct reg_req q;
  _cleanup_free_ char *loc = NULL;
  int rc = upload_start(r, NULL, &q, &loc, err);
  /* chunks at least as large as the registry asks (the last one may be smaller) */
  long long min = q.chunk_min ? strtoll(q.chunk_min, NULL, 10) : 0;
  if (chunk > 0 && min > chunk)
    chunk = min;
  reg_req_free(&q);
  if (rc < 0)
    return rc;
  if (rc == 1)
    return 0;
  int64_t off = 0;
  if (chunk > 0) {
    while (off < size) {
      int64_t n = size - off < chunk ? size - off : chunk;
      char cr[64];
      snprintf(cr, sizeof(cr), "%" PRId64 "-%" PRId64, off, off + n - 1);
      _cleanup_free_ char *url = absolute(r, loc);
      if (!url)
        return berr_set(err, ENOMEM, "upload");
      q = (struct reg_req){.method = "PATCH",
                           .url = url,
                           .content_type = "application/octet-stream",
                           .has_body = true,
                           .body_fd = fd,
                           .body_off = off,
                           .body_size = n,
                           .progress = progress,
                           .progress_ud = ud,
                           .progress_base = off,
                           .progress_total = size,
                           .limit = -1};
      /* Content-Range without a unit, as the distribution spec has it */
      q.send_content_range = cr;
      rc = reg_request(r, &q, err);
      if (rc == 0 && q.status != 202)
        rc = reg_status_error(r, &q, "upload chunk", err);
      if (rc == 0 && q.location) {
        free(loc);
        loc = strdup(q.location);
      }
      reg_req_free(&q);
      if (rc < 0)
        return rc;
      if (!loc)
        return berr_set(err, ENOMEM, "upload");
      off += n;
    }
  }
  _cleanup_free_ char *url = with_digest(r, loc, digest);
  if (!url)
    return berr_set(err, ENOMEM, "upload");
  q = (struct reg_req){.method = "PUT",
                       .url = url,
                       .content_type = "application/octet-stream",
                       .has_body = chunk <= 0,
                       .body_fd = chunk <= 0 ? fd : -1,
                       .body_off = 0,
                       .body_size = chunk <= 0 ? size : 0,
                       .progress = progress,
                       .progress_ud = ud,
                       .progress_total = size,
                       .limit = -1};
  rc = reg_request(r, &q, err);
  if (rc == 0 && q.status != 201)
    rc = reg_status_error(r, &q, "upload blob", err);
  reg_req_free(&q);
  return rc;
}
