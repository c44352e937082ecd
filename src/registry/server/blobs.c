/* Blobs and their uploads: GET/HEAD (with Range)/DELETE of a blob in a repository, and the
 * upload protocol (POST monolithic or session, cross-repository mount, PATCH chunks in
 * order, PUT to finish with the digest checked, GET status, DELETE cancel). */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static bool is_method(struct reg_req *r, const char *m)
{
  return strcmp(r->method, m) == 0;
}

/* Content-Length of the request, or -1 when absent (chunked transfer encoding). */
static int64_t content_length(struct reg_req *r)
{
  const char *cl = reg_hdr_in(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!cl)
    return -1;
  char *end;
  long long v = strtoll(cl, &end, 10);
  return (*end || v < 0) ? -1 : v;
}

/* Sink the body into the upload, with the size limit on the whole blob. */
static void sink_into_upload(struct reg_req *r, uint64_t size_so_far)
{
  struct berr err;
  int fd;
  int rc = store_upload_open(&r->srv->store, r->name, r->upload_id, &fd, &err);
  if (rc < 0) {
    reg_fail(r, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    return;
  }
  r->body_fd = fd;
  r->upload_start = size_so_far;
  uint64_t max = r->srv->cfg->max_upload_bytes;
  if (max) {
    r->body_limit = size_so_far >= max ? 1 : max - size_so_far;
    int64_t cl = content_length(r);
    if (cl > 0 && (uint64_t)cl > r->body_limit) {
      close(r->body_fd);
      r->body_fd = -1;
      reg_fail(r, 413, "SIZE_INVALID", "blob larger than the limit of %" PRIu64 " bytes", max);
      /* too big to drain: answer now */
      reg_reply_error(r, 413, "SIZE_INVALID", "%s", r->fail_msg);
    }
  }
}

static bool parse_content_range(const char *s, uint64_t *start, uint64_t *end)
{
  char *e;
  if (!s || !*s)
    return false;
  /* the upload protocol's form is "<start>-<end>"; tolerate a "bytes " unit */
  if (strncmp(s, "bytes ", 6) == 0 || strncmp(s, "bytes=", 6) == 0)
    s += 6;
  unsigned long long a = strtoull(s, &e, 10);
  if (e == s || *e != '-')
    return false;
  const char *b_s = e + 1;
  unsigned long long b = strtoull(b_s, &e, 10);
  if (e == b_s || (*e && *e != '/') || b < a)
    return false;
  *start = a;
  *end = b;
  return true;
}

void blobs_upload_begin(struct reg_req *r)
{
  struct reg_store *st = &r->srv->store;
  struct berr err;
  if (r->route == R_UPLOAD_START) {
    const char *digest = reg_query(r, "digest");
    if (reg_query(r, "mount") || !digest)
      return; /* no body wanted: handled when the request completes */
    if (!reg_digest_valid(digest)) {
      reg_fail(r, 400, "DIGEST_INVALID", "invalid digest");
      return;
    }
    uint64_t max = r->srv->cfg->max_upload_bytes;
    int64_t cl = content_length(r);
    if (max && cl > 0 && (uint64_t)cl > max) {
      reg_fail(r, 413, "SIZE_INVALID", "blob larger than the limit of %" PRIu64 " bytes", max);
      reg_reply_error(r, 413, "SIZE_INVALID", "%s", r->fail_msg);
      return;
    }
    if (store_upload_create(st, r->name, r->upload_id, &err) < 0) {
      reg_fail(r, 500, "UNKNOWN", "%s", err.msg);
      return;
    }
    r->new_upload = true;
    sink_into_upload(r, 0);
    return;
  }
  if (!reg_upload_id_valid(r->ref) || !store_upload_exists(st, r->name, r->ref)) {
    reg_fail(r, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    return;
  }
  snprintf(r->upload_id, sizeof(r->upload_id), "%s", r->ref);
  if (is_method(r, "PUT")) {
    const char *digest = reg_query(r, "digest");
    if (!reg_digest_valid(digest)) {
      reg_fail(r, 400, "DIGEST_INVALID", "missing or invalid digest");
      return;
    }
  }
  int64_t size = store_upload_size(st, r->name, r->upload_id);
  if (size < 0) {
    reg_fail(r, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    return;
  }
  const char *cr = reg_hdr_in(r, "Content-Range");
  if (cr) {
    uint64_t a, b;
    if (!parse_content_range(cr, &a, &b)) {
      reg_fail(r, 416, "BLOB_UPLOAD_INVALID", "invalid Content-Range %s", cr);
      return;
    }
    /* chunks only in order: each starts where the data so far ends */
    if (a != (uint64_t)size) {
      reg_fail(r, 416, "BLOB_UPLOAD_INVALID", "Content-Range %s does not start at %lld", cr,
               (long long)size);
      return;
    }
    r->range_len = (int64_t)(b - a + 1);
    int64_t cl = content_length(r);
    if (cl >= 0 && (uint64_t)cl != b - a + 1) {
      reg_fail(r, 400, "SIZE_INVALID", "Content-Length %lld does not match Content-Range %s",
               (long long)cl, cr);
      return;
    }
  }
  sink_into_upload(r, (uint64_t)size);
}

static enum MHD_Result reply_upload_state(struct reg_req *r, unsigned status, const char *id)
{
  int64_t size = store_upload_size(&r->srv->store, r->name, id);
  reg_header(r, "Location", "/v2/%s/blobs/uploads/%s", r->name, id);
  reg_header(r, "Range", "0-%lld", size > 0 ? (long long)size - 1 : 0LL);
  reg_header(r, "Docker-Upload-UUID", "%s", id);
  return reg_reply(r, status, NULL, "", 0);
}

static enum MHD_Result reply_blob_created(struct reg_req *r, const char *digest)
{
  reg_header(r, "Location", "/v2/%s/blobs/%s", r->name, digest);
  reg_header(r, "Docker-Content-Digest", "%s", digest);
  return reg_reply(r, 201, NULL, "", 0);
}

/* A body that did not match its Content-Range (sent without Content-Length) is undone. */
static bool body_matches_range(struct reg_req *r)
{
  if (r->range_len < 0 || r->body_len == (uint64_t)r->range_len)
    return true;
  reg_body_discard(r);
  return false;
}

static enum MHD_Result commit(struct reg_req *r, const char *digest)
{
  struct berr err;
  if (!body_matches_range(r))
    return reg_reply_error(r, 400, "SIZE_INVALID", "body length does not match Content-Range");
  if (r->body_fd >= 0) {
    close(r->body_fd); /* release the upload's lock: the commit takes it again */
    r->body_fd = -1;
  }
  int rc = store_upload_commit(&r->srv->store, r->name, r->upload_id, digest, &err);
  if (rc == -EBADMSG)
    return reg_reply_error(r, 400, "DIGEST_INVALID", "%s", err.msg);
  if (rc == -ENOENT)
    return reg_reply_error(r, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
  if (rc < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  r->new_upload = false;
  return reply_blob_created(r, digest);
}

/* POST ?mount=&from=: link a blob the caller may read in another repository. */
static enum MHD_Result try_mount(struct reg_req *r, const char *digest, const char *from,
                                 bool *mounted)
{
  struct reg_store *st = &r->srv->store;
  struct berr err;
  *mounted = false;
  if (!from || !reg_name_valid(from))
    return MHD_YES;
  if (!(reg_auth_allowed(r->srv->auth, r->user, r->authenticated, r->token_access, from) &
        REG_PULL))
    return MHD_YES;
  _cleanup_close_ int lock = store_lock(st, false, &err);
  if (lock < 0 || !store_repo_has_blob(st, from, digest))
    return MHD_YES;
  if (store_link_blob(st, r->name, digest, &err) < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  *mounted = true;
  return reply_blob_created(r, digest);
}

enum MHD_Result uploads_handle(struct reg_req *r)
{
  struct reg_store *st = &r->srv->store;
  struct berr err;
  if (r->route == R_UPLOAD_START) {
    const char *mount = reg_query(r, "mount");
    if (mount) {
      if (!reg_digest_valid(mount))
        return reg_reply_error(r, 400, "DIGEST_INVALID", "invalid digest");
      bool mounted;
      enum MHD_Result res = try_mount(r, mount, reg_query(r, "from"), &mounted);
      if (mounted || res != MHD_YES)
        return res;
    } else if (r->upload_id[0]) {
      return commit(r, reg_query(r, "digest"));
    }
    char id[33];
    if (store_upload_create(st, r->name, id, &err) < 0)
      return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
    if (r->srv->cfg->chunk_min_bytes)
      reg_header(r, "OCI-Chunk-Min-Length", "%llu",
                 (unsigned long long)r->srv->cfg->chunk_min_bytes);
    return reply_upload_state(r, 202, id);
  }

  if (!reg_upload_id_valid(r->ref) || !store_upload_exists(st, r->name, r->ref))
    return reg_reply_error(r, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
  if (is_method(r, "GET") || is_method(r, "HEAD"))
    return reply_upload_state(r, 204, r->ref);
  if (is_method(r, "DELETE")) {
    if (store_upload_cancel(st, r->name, r->ref, &err) < 0)
      return reg_reply_error(r, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    return reg_reply(r, 204, NULL, "", 0);
  }
  if (is_method(r, "PATCH")) {
    if (!body_matches_range(r))
      return reg_reply_error(r, 400, "SIZE_INVALID", "body length does not match Content-Range");
    if (r->body_fd >= 0) {
      close(r->body_fd);
      r->body_fd = -1;
    }
    return reply_upload_state(r, 202, r->ref);
  }
  return commit(r, reg_query(r, "digest")); /* PUT */
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" (one range). 1: partial, 0: whole, -1: unsatisfiable */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
  if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
    return 0;
  const char *s = h + 6;
  char *e;
  if (*s == '-') {
    unsigned long long n = strtoull(s + 1, &e, 10);
    if (e == s + 1 || *e)
      return 0;
    if (n == 0 || size == 0)
      return -1;
    if (n > size)
      n = size;
    *off = size - n;
    *len = n;
    return 1;
  }
  unsigned long long a = strtoull(s, &e, 10);
  if (e == s || *e != '-')
    return 0;
  const char *bs = e + 1;
  unsigned long long b = size ? size - 1 : 0;
  if (*bs) {
    b = strtoull(bs, &e, 10);
    if (e == bs || *e)
      return 0;
    if (b >= size)
      b = size - 1;
  }
  if (a >= size || b < a)
    return -1;
  *off = a;
  *len = b - a + 1;
  return 1;
}

enum MHD_Result blobs_handle(struct reg_req *r)
{
  struct reg_store *st = &r->srv->store;
  struct berr err;
  if (!reg_digest_valid(r->ref))
    return reg_reply_error(r, 400, "DIGEST_INVALID", "invalid digest");
  if (is_method(r, "DELETE")) {
    int rc = store_unlink_blob(st, r->name, r->ref, &err);
    if (rc == -ENOENT)
      return reg_reply_error(r, 404, "BLOB_UNKNOWN", "blob unknown to registry");
    if (rc < 0)
      return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
    return reg_reply(r, 202, NULL, "", 0);
  }
  if (!store_repo_has_blob(st, r->name, r->ref))
    return reg_reply_error(r, 404, "BLOB_UNKNOWN", "blob unknown to registry");
  char p[PATH_MAX];
  store_blob_path(st, r->ref, p, sizeof(p));
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0) {
    if (fd >= 0)
      close(fd);
    return reg_reply_error(r, 404, "BLOB_UNKNOWN", "blob unknown to registry");
  }
  uint64_t size = (uint64_t)sb.st_size, off = 0, len = size;
  reg_header(r, "Docker-Content-Digest", "%s", r->ref);
  reg_header(r, "ETag", "\"%s\"", r->ref);
  reg_header(r, "Accept-Ranges", "bytes");
  reg_header(r, "Cache-Control", "max-age=31536000");
  int pr = is_method(r, "GET") ? parse_range(reg_hdr_in(r, "Range"), size, &off, &len) : 0;
  if (pr < 0) {
    close(fd);
    reg_header(r, "Content-Range", "bytes */%llu", (unsigned long long)size);
    return reg_reply_error(r, 416, "BLOB_UNKNOWN", "range not satisfiable");
  }
  if (pr > 0)
    reg_header(r, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)off,
               (unsigned long long)(off + len - 1), (unsigned long long)size);
  return reg_reply_fd(r, pr > 0 ? 206 : 200, fd, off, len, "application/octet-stream");
}
