/* Content discovery: tag lists and the catalog, sorted, with n/last pagination and a Link
 * header to the next page. */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bjson.h"
#include "common/cleanup.h"

/* n: -1 when absent; -2 when invalid. */
static long parse_n(const char *s)
{
  if (!s)
    return -1;
  char *e;
  long v = strtol(s, &e, 10);
  if (!*s || *e || v < 0)
    return -2;
  return v;
}

/* One page of sorted items after `last`, and a Link to the rest. */
static enum MHD_Result reply_page(struct reg_req *r, char **items, size_t count, const char *path,
                                  const char *key, const char *name)
{
  long n = parse_n(reg_query(r, "n"));
  if (n == -2)
    return reg_reply_error(r, 400, "PAGINATION_NUMBER_INVALID", "invalid number of results");
  const char *last = reg_query(r, "last");
  size_t start = 0;
  if (last)
    while (start < count && strcmp(items[start], last) <= 0)
      start++;
  size_t end = count;
  if (n >= 0 && start + (size_t)n < count)
    end = start + (size_t)n;
  json_auto_t *arr = json_array();
  for (size_t i = start; i < end; i++)
    json_array_append_new(arr, json_string(items[i]));
  if (n > 0 && end < count)
    reg_header(r, "Link", "<%s?n=%ld&last=%s>; rel=\"next\"", path, n, items[end - 1]);
  json_auto_t *j =
      name ? json_pack("{s:s,s:O}", "name", name, key, arr) : json_pack("{s:O}", key, arr);
  return reg_reply_json(r, 200, j);
}

enum MHD_Result listing_tags(struct reg_req *r)
{
  struct berr err;
  if (!store_repo_exists(&r->srv->store, r->name))
    return reg_reply_error(r, 404, "NAME_UNKNOWN", "repository name not known to registry");
  _cleanup_strv_ char **tags = NULL;
  size_t n = 0;
  if (store_tags(&r->srv->store, r->name, &tags, &n, &err) < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  char path[512];
  snprintf(path, sizeof(path), "/v2/%s/tags/list", r->name);
  return reply_page(r, tags, n, path, "tags", r->name);
}

enum MHD_Result listing_catalog(struct reg_req *r)
{
  struct berr err;
  _cleanup_strv_ char **repos = NULL;
  size_t n = 0;
  if (store_catalog(&r->srv->store, &repos, &n, &err) < 0)
    return reg_reply_error(r, 500, "UNKNOWN", "%s", err.msg);
  /* only what the caller may pull */
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (reg_auth_allowed(r->srv->auth, r->user, r->authenticated, NULL, repos[i]) & REG_PULL)
      repos[kept++] = repos[i];
    else
      free(repos[i]);
    repos[i] = i < kept ? repos[i] : NULL;
  }
  return reply_page(r, repos, kept, "/v2/_catalog", "repositories", NULL);
}
