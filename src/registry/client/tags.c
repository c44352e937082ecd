/* A repository's tag list (for `pull --all-tags`), page after page as the registry's Link
 * headers lead. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "request.h"

#define MAX_PAGES 1000

/* The target of `Link: </v2/x/tags/list?n=100&last=b>; rel="next"`, or NULL. */
static char *next_link(const char *link)
{
  if (!link || !strstr(link, "rel=\"next\""))
    return NULL;
  const char *a = strchr(link, '<'), *b = a ? strchr(a, '>') : NULL;
  return a && b ? strndup(a + 1, (size_t)(b - a - 1)) : NULL;
}

int reg_tags_list(struct reg_repo *r, char ***tags, struct berr *err)
{
  char first[2048];
  snprintf(first, sizeof(first), "/v2/%s/tags/list", r->path);
  _cleanup_free_ char *url = strdup(first);
  char **v = calloc(1, sizeof(char *));
  size_t n = 0;
  int rc = url && v ? 0 : berr_set(err, ENOMEM, "tags");
  for (int page = 0; rc == 0 && url && page < MAX_PAGES; page++) {
    struct reg_req q = {.method = "GET", .url = url, .body_fd = -1, .limit = -1};
    if ((rc = reg_request(r, &q, err)) < 0)
      break;
    if (q.status != 200) {
      rc = reg_status_error(r, &q, "list tags", err);
      reg_req_free(&q);
      break;
    }
    json_auto_t *j = json_loadb(q.resp ? q.resp : "", q.resp_len, 0, NULL);
    json_t *list = json_object_get(j, "tags");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
      const char *s = json_string_value(t);
      char **nv = s ? realloc(v, (n + 2) * sizeof(char *)) : NULL;
      if (!s)
        continue;
      if (!nv || !(nv[n] = strdup(s))) {
        if (nv)
          v = nv;
        rc = berr_set(err, ENOMEM, "tags");
        break;
      }
      v = nv;
      v[++n] = NULL;
    }
    free(url);
    url = next_link(q.link);
    reg_req_free(&q);
  }
  if (rc < 0) {
    strvfreep(&v);
    return rc;
  }
  *tags = v;
  return 0;
}
