/* Manifests (GET/HEAD/PUT/DELETE by tag or digest) and the referrers API. A manifest is
 * stored byte-exact, only after it parses, names a known media type and every blob or
 * child manifest it references is present in the repository (its subject need not be). */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

static bool is_method(struct reg_req *r, const char *m)
{
  return strcmp(r->method, m) == 0;
}

static bool known_type(const char *mt)
{
  return mt && (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_OCI_INDEX) == 0 ||
                strcmp(mt, MT_DOCKER_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

static bool is_index_type(const char *mt)
{
  return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}

void manifests_begin(struct reg_req *r)
{
  r->body_mem = true;
  r->body_limit = r->srv->cfg->max_manifest_bytes;
  const char *cl = reg_hdr_in(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl && r->body_limit && strtoull(cl, NULL, 10) > r->body_limit) {
    reg_fail(r, 413, "SIZE_INVALID", "manifest larger than the limit of %llu bytes",
             (unsigned long long)r->body_limit);
    reg_reply_error(r, 413, "SIZE_INVALID", "%s", r->fail_msg);
  }
}

static enum MHD_Result get_manifest(struct reg_req *r)
{
  struct berr err;
  _cleanup_free_ char *buf = NULL, *mt = NULL;
  size_t len = 0;
  char digest[REG_DIGEST_MAX];
  int rc = store_manifest_get(&r->srv->store, r->name, r->ref, &buf, &len, &mt, digest, &err);
  if (rc < 0)
    return reg_reply_error(r, 404, "MANIFEST_UNKNOWN", "manifest unknown");
  /* as distribution: a client that lists the types it takes, and not this one, is told the
   * manifest is unknown (it could not use it); no conversion is attempted */
  if (!reg_accepts(r, mt))
    return reg_reply_error(r, 404, "MANIFEST_UNKNOWN",
                           "manifest found as %s, which the Accept header does not take", mt);
  reg_header(r, "Docker-Content-Digest", "%s", digest);
  reg_header(r, "ETag", "\"%s\"", digest);
  return reg_reply(r, 200, mt, buf, len);
}

/* A descriptor's digest, checked; NULL (and an error queued) when it is missing or bad. */
static const char *desc_digest(json_t *desc)
{
  const char *d = json_is_object(desc) ? json_string_value(json_object_get(desc, "digest")) : NULL;
  return reg_digest_valid(d) ? d : NULL;
}

/* The error for the first descriptor that is malformed or not in the repo, or 0. */
static int verify_references(struct reg_req *r, json_t *m, const char *mt, char *code, size_t clen,
                             char *msg, size_t mlen)
{
  struct reg_store *st = &r->srv->store;
  if (is_index_type(mt)) {
    json_t *children = json_object_get(m, "manifests");
    if (!json_is_array(children)) {
      snprintf(code, clen, "MANIFEST_INVALID");
      snprintf(msg, mlen, "index without a manifests array");
      return -EINVAL;
    }
    size_t i;
    json_t *c;
    json_array_foreach(children, i, c)
    {
      const char *d = desc_digest(c);
      if (!d) {
        snprintf(code, clen, "MANIFEST_INVALID");
        snprintf(msg, mlen, "manifests[%zu]: invalid descriptor", i);
        return -EINVAL;
      }
      if (!store_manifest_exists(st, r->name, d)) {
        snprintf(code, clen, "MANIFEST_BLOB_UNKNOWN");
        snprintf(msg, mlen, "manifest %s unknown to the repository", d);
        return -ENOENT;
      }
    }
    return 0;
  }
  json_t *config = json_object_get(m, "config");
  const char *cd = desc_digest(config);
  json_t *layers = json_object_get(m, "layers");
  if (!cd || (layers && !json_is_array(layers)) || (!layers && strcmp(mt, MT_OCI_MANIFEST))) {
    snprintf(code, clen, "MANIFEST_INVALID");
    snprintf(msg, mlen, "manifest needs a config descriptor and a layers array");
    return -EINVAL;
  }
  if (!store_repo_has_blob(st, r->name, cd)) {
    snprintf(code, clen, "MANIFEST_BLOB_UNKNOWN");
    snprintf(msg, mlen, "blob %s unknown to the repository", cd);
    return -ENOENT;
  }
  size_t i;
  json_t *l;
  json_array_foreach(layers, i, l)
  {
    const char *d = desc_digest(l);
    if (!d) {
      snprintf(code, clen, "MANIFEST_INVALID");
      snprintf(msg, mlen, "layers[%zu]: invalid descriptor", i);
      return -EINVAL;
    }
    /* non-distributable layers live elsewhere (their urls) */
    if (json_object_get(l, "urls"))
      continue;
    if (!store_repo_has_blob(st, r->name, d)) {
      snprintf(code, clen, "MANIFEST_BLOB_UNKNOWN");
      snprintf(msg, mlen, "blob %s unknown to the repository", d);
      return -ENOENT;
    }
  }
  return 0;
}

static enum MHD_Result put_manifest(struct reg_req *r)
{
  struct reg_store *st = &r->srv->store;
  struct berr err;
  bool by_digest = reg_digest_valid(r->ref);
  if (!by_digest && !reg_tag_valid(r->ref))
    return reg_reply_error(r, 400, strchr(r->ref, ':') ? "DIGEST_INVALID" : "MANIFEST_INVALID",
                           "invalid tag or digest");
  /* a push by digest may tag it at once: ?tag=a&tag=b (distribution-spec v1.1) */
  const char *tags[REG_MAX_TAGS];
  size_t ntags = 0;
  if (by_digest) {
    ntags = reg_query_all(r, "tag", tags, REG_MAX_TAGS);
    if (ntags > REG_MAX_TAGS)
      return reg_reply_error(r, 414, "MANIFEST_INVALID", "more than %d tags", REG_MAX_TAGS);
    for (size_t i = 0; i < ntags; i++)
      if (!reg_tag_valid(tags[i]))
        return reg_reply_error(r, 400, "MANIFEST_INVALID", "invalid tag \"%s\"", tags[i]);
  } else {
    tags[ntags++] = r->ref;
  }
  json_error_t jerr;
  json_auto_t *m = r->mem ? json_loadb(r->mem, r->mem_len, 0, &jerr) : NULL;
  if (!json_is_object(m))
    return reg_reply_error(r, 400, "MANIFEST_INVALID", "manifest is not a JSON object");
  json_t *sv = json_object_get(m, "schemaVersion");
  if (!json_is_integer(sv) || json_integer_value(sv) != 2)
    return reg_reply_error(r, 400, "MANIFEST_INVALID", "schemaVersion must be 2");

  /* the media type: the Content-Type the client sent, which the body must not contradict */
  char ct[256] = "";
  const char *cth = reg_hdr_in(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (cth) {
    snprintf(ct, sizeof(ct), "%s", cth);
    ct[strcspn(ct, "; ")] = '\0';
  }
  const char *body_mt = json_string_value(json_object_get(m, "mediaType"));
  const char *mt = NULL;
  if (known_type(ct)) {
    if (body_mt && strcmp(body_mt, ct) != 0)
      return reg_reply_error(r, 400, "MANIFEST_INVALID",
                             "mediaType %s does not match Content-Type %s", body_mt, ct);
    mt = ct;
  } else if (known_type(body_mt)) {
    mt = body_mt;
  } else if (body_mt) {
    return reg_reply_error(r, 400, "MANIFEST_INVALID", "unsupported manifest type %s", body_mt);
  } else if (json_object_get(m, "manifests")) {
    mt = MT_OCI_INDEX;
  } else {
    mt = MT_OCI_MANIFEST;
  }

  char digest[REG_DIGEST_MAX];
  const char *alg = by_digest && strncmp(r->ref, "sha512:", 7) == 0 ? "sha512" : "sha256";
  bdigest_buf(alg, r->mem, r->mem_len, digest, sizeof(digest));
  if (by_digest && strcmp(digest, r->ref) != 0)
    return reg_reply_error(r, 400, "DIGEST_INVALID", "manifest digest %s does not match %s", digest,
                           r->ref);

  json_t *subject = json_object_get(m, "subject");
  const char *subject_digest = NULL;
  if (subject) {
    subject_digest = desc_digest(subject);
    if (!subject_digest)
      return reg_reply_error(r, 400, "MANIFEST_INVALID", "invalid subject descriptor");
  }

  /* referenced blobs checked and the manifest stored under the gc lock, so a collection
   * cannot remove a blob between the two */
  _cleanup_close_ int lock = store_lock(st, false, &err);
  if (lock < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  char code[32], msg[512];
  if (verify_references(r, m, mt, code, sizeof(code), msg, sizeof(msg)) < 0)
    return reg_reply_error(r, 400, code, "%s", msg);

  json_auto_t *desc = NULL;
  if (subject_digest) {
    desc = json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", digest, "size",
                     (json_int_t)r->mem_len);
    const char *at = json_string_value(json_object_get(m, "artifactType"));
    if (!at && !is_index_type(mt))
      at = json_string_value(json_object_get(json_object_get(m, "config"), "mediaType"));
    if (desc && at)
      json_object_set_new(desc, "artifactType", json_string(at));
    json_t *ann = json_object_get(m, "annotations");
    if (desc && json_is_object(ann))
      json_object_set(desc, "annotations", ann);
  }
  if (store_manifest_put(st, r->name, digest, mt, r->mem, r->mem_len, tags, ntags, subject_digest,
                         desc, &err) < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  reg_header(r, "Location", "/v2/%s/manifests/%s", r->name, digest);
  reg_header(r, "Docker-Content-Digest", "%s", digest);
  if (subject_digest)
    reg_header(r, "OCI-Subject", "%s", subject_digest);
  for (size_t i = 0; by_digest && i < ntags; i++)
    reg_header(r, "OCI-Tag", "%s", tags[i]);
  return reg_reply(r, 201, NULL, "", 0);
}

enum MHD_Result manifests_handle(struct reg_req *r)
{
  bool by_digest = reg_digest_valid(r->ref);
  if (is_method(r, "PUT"))
    return put_manifest(r);
  if (!by_digest && !reg_tag_valid(r->ref))
    return reg_reply_error(r, 400, strchr(r->ref, ':') ? "DIGEST_INVALID" : "MANIFEST_INVALID",
                           "invalid tag or digest");
  if (is_method(r, "DELETE")) {
    struct berr err;
    int rc = store_manifest_delete(&r->srv->store, r->name, r->ref, &err);
    if (rc == -ENOENT)
      return reg_reply_error(r, 404, "MANIFEST_UNKNOWN", "manifest unknown");
    if (rc < 0)
      return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
    return reg_reply(r, 202, NULL, "", 0);
  }
  return get_manifest(r);
}

enum MHD_Result referrers_handle(struct reg_req *r)
{
  if (!reg_digest_valid(r->ref))
    return reg_reply_error(r, 400, "DIGEST_INVALID", "invalid digest");
  struct berr err;
  json_auto_t *all = NULL;
  if (store_referrers(&r->srv->store, r->name, r->ref, &all, &err) < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  const char *filter = reg_query(r, "artifactType");
  json_auto_t *list = json_array();
  size_t i;
  json_t *d;
  json_array_foreach(all, i, d)
  {
    const char *at = json_string_value(json_object_get(d, "artifactType"));
    if (!filter || (at && strcmp(at, filter) == 0))
      json_array_append(list, d);
  }
  if (filter)
    reg_header(r, "OCI-Filters-Applied", "artifactType");
  json_auto_t *index =
      json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests", list);
  _cleanup_free_ char *text = index ? json_dumps(index, JSON_COMPACT) : NULL;
  if (!text)
    return reg_reply_error(r, 500, "UNKNOWN", "out of memory");
  return reg_reply(r, 200, MT_OCI_INDEX, text, strlen(text));
}
