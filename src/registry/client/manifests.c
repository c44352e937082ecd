/* Manifests: GET with content negotiation and digest verification, PUT, and the platform
 * choice in an OCI index or Docker manifest list. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bdigest.h"
#include "common/cleanup.h"
#include "request.h"

int reg_manifest_get(struct reg_repo *r, const char *ref, char **body, size_t *len,
                     char **media_type, char digest[72], struct berr *err)
{
  char url[2048];
  snprintf(url, sizeof(url), "/v2/%s/manifests/%s", r->path, ref);
  struct reg_req q = {
      .method = "GET",
      .url = url,
      .accept = REG_MT_OCI_INDEX ", " REG_MT_DOCKER_LIST ", " REG_MT_OCI_MANIFEST
                                 ", " REG_MT_DOCKER_MANIFEST,
      .body_fd = -1,
      .limit = -1,
  };
  int rc = reg_request(r, &q, err);
  if (rc < 0)
    return rc;
  if (q.status != 200) {
    rc = reg_status_error(r, &q, NULL, err);
    reg_req_free(&q);
    return rc;
  }
  bdigest_buf("sha256", q.resp ? q.resp : "", q.resp_len, digest, 72);
  if (strncmp(ref, "sha256:", 7) == 0 && strcmp(ref, digest) != 0) {
    reg_req_free(&q);
    return berr_set(err, 0, "manifest verification failed for digest %s (content is %s)", ref,
                    digest);
  }
  json_auto_t *j = json_loadb(q.resp ? q.resp : "", q.resp_len, 0, NULL);
  const char *mt = json_string_value(json_object_get(j, "mediaType"));
  _cleanup_free_ char *ct = q.ctype ? strndup(q.ctype, strcspn(q.ctype, ";")) : NULL;
  if (!j) {
    reg_req_free(&q);
    return berr_set(err, 0, "manifest %s is not JSON", ref);
  }
  /* an OCI manifest may leave mediaType out: the header names it then */
  const char *type = mt ? mt : ct;
  if (!type && json_object_get(j, "manifests"))
    type = REG_MT_OCI_INDEX;
  if (!type)
    type = REG_MT_OCI_MANIFEST;
  if (strcmp(type, REG_MT_OCI_INDEX) && strcmp(type, REG_MT_DOCKER_LIST) &&
      strcmp(type, REG_MT_OCI_MANIFEST) && strcmp(type, REG_MT_DOCKER_MANIFEST)) {
    rc = berr_set(err, 0, "unsupported manifest media type %s", type);
    reg_req_free(&q);
    return rc;
  }
  *media_type = strdup(type);
  *body = steal_ptr(q.resp);
  *len = q.resp_len;
  if (!*body)
    *body = strdup("");
  reg_req_free(&q);
  return 0;
}

int reg_manifest_put(struct reg_repo *r, const char *ref, const char *body, size_t len,
                     const char *media_type, struct berr *err)
{
  char url[2048];
  snprintf(url, sizeof(url), "/v2/%s/manifests/%s", r->path, ref);
  struct reg_req q = {.method = "PUT",
                      .url = url,
                      .content_type = media_type,
                      .body = body,
                      .body_len = len,
                      .has_body = true,
                      .body_fd = -1,
                      .limit = -1};
  int rc = reg_request(r, &q, err);
  if (rc == 0 && q.status != 201 && q.status != 200 && q.status != 202)
    rc = reg_status_error(r, &q, "put manifest", err);
  reg_req_free(&q);
  return rc;
}

int reg_index_pick(const char *index, size_t len, const char *os, const char *arch,
                   const char *variant, char digest[72], struct berr *err)
{
  json_auto_t *j = json_loadb(index, len, 0, NULL);
  json_t *ms = json_object_get(j, "manifests");
  if (!json_is_array(ms))
    return berr_set(err, 0, "manifest list without manifests");
  size_t i;
  json_t *m;
  const char *fallback = NULL;
  json_array_foreach(ms, i, m)
  {
    json_t *p = json_object_get(m, "platform");
    const char *mos = json_string_value(json_object_get(p, "os"));
    const char *march = json_string_value(json_object_get(p, "architecture"));
    const char *mvar = json_string_value(json_object_get(p, "variant"));
    const char *d = json_string_value(json_object_get(m, "digest"));
    if (!d || !mos || !march || strcmp(mos, os) || strcmp(march, arch))
      continue;
    if (variant && *variant && (!mvar || strcmp(mvar, variant))) {
      continue;
    }
    if (!variant || !*variant) {
      /* without a variant asked for, prefer an entry without one */
      if (mvar && *mvar) {
        if (!fallback)
          fallback = d;
        continue;
      }
    }
    snprintf(digest, 72, "%s", d);
    return 0;
  }
  if (fallback) {
    snprintf(digest, 72, "%s", fallback);
    return 0;
  }
  berr_set(err, 0, "no matching manifest for %s/%s%s%s in the manifest list entries", os, arch,
           variant && *variant ? "/" : "", variant && *variant ? variant : "");
  err->code = ENOENT;
  return -ENOENT;
}
