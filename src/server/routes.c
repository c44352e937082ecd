/* The Docker Engine API routes berthd serves and the job each one runs; matching of a
 * path against a route pattern. Handlers for jobs not registered answer 501. */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "server.h"

#define SPOOL SERVER_ROUTE_SPOOL_BODY

const struct server_route server_routes[] = {
    /* system */
    {"GET", "/_ping", "system.ping", SERVER_ROUTE_PING},
    {"HEAD", "/_ping", "system.ping", SERVER_ROUTE_PING},
    {"GET", "/version", "system.version", 0},
    {"GET", "/info", "system.info", 0},
    {"GET", "/events", "system.events", 0},
    {"GET", "/system/df", "system.df", 0},
    {"POST", "/auth", "auth", 0},

    /* containers: fixed paths before {id} ones */
    {"POST", "/containers/create", "container.create", 0},
    {"GET", "/containers/json", "container.list", 0},
    {"POST", "/containers/prune", "container.prune", 0},
    {"GET", "/containers/{id}/json", "container.inspect", 0},
    {"POST", "/containers/{id}/start", "container.start", 0},
    {"POST", "/containers/{id}/stop", "container.stop", 0},
    {"POST", "/containers/{id}/restart", "container.restart", 0},
    {"POST", "/containers/{id}/kill", "container.kill", 0},
    {"POST", "/containers/{id}/pause", "container.pause", 0},
    {"POST", "/containers/{id}/unpause", "container.unpause", 0},
    {"POST", "/containers/{id}/rename", "container.rename", 0},
    {"POST", "/containers/{id}/wait", "container.wait", 0},
    {"POST", "/containers/{id}/attach", "container.attach", 0},
    {"POST", "/containers/{id}/resize", "container.resize", 0},
    {"POST", "/containers/{id}/update", "container.update", 0},
    {"DELETE", "/containers/{id}", "container.delete", 0},
    {"GET", "/containers/{id}/logs", "container.logs", 0},
    {"GET", "/containers/{id}/top", "container.top", 0},
    {"GET", "/containers/{id}/stats", "container.stats", 0},
    {"GET", "/containers/{id}/changes", "container.changes", 0},
    {"GET", "/containers/{id}/export", "container.export", 0},
    {"GET", "/containers/{id}/archive", "container.archive.get", 0},
    {"HEAD", "/containers/{id}/archive", "container.archive.head", 0},
    {"PUT", "/containers/{id}/archive", "container.archive.put", SPOOL},
    {"POST", "/containers/{id}/exec", "exec.create", 0},
    {"POST", "/commit", "container.commit", 0},

    /* exec */
    {"POST", "/exec/{id}/start", "exec.start", 0},
    {"POST", "/exec/{id}/resize", "exec.resize", 0},
    {"GET", "/exec/{id}/json", "exec.inspect", 0},

    /* images: fixed paths first, then suffix matches on names containing '/' and ':' */
    {"GET", "/images/json", "image.list", 0},
    {"POST", "/images/create", "image.create", SERVER_ROUTE_SPOOL_IF_FROMSRC},
    {"POST", "/images/load", "image.load", SPOOL},
    {"GET", "/images/get", "image.save", 0},
    {"POST", "/images/prune", "image.prune", 0},
    {"GET", "/images/{name*}/json", "image.inspect", 0},
    {"GET", "/images/{name*}/history", "image.history", 0},
    {"GET", "/images/{name*}/get", "image.get", 0},
    {"POST", "/images/{name*}/tag", "image.tag", 0},
    {"POST", "/images/{name*}/push", "image.push", 0},
    {"DELETE", "/images/{name*}", "image.delete", 0},
    {"POST", "/build", "build", SPOOL},
    {"POST", "/build/prune", "build.prune", 0},

    /* networks */
    {"GET", "/networks", "network.list", 0},
    {"POST", "/networks/create", "network.create", 0},
    {"POST", "/networks/prune", "network.prune", 0},
    {"GET", "/networks/{id}", "network.inspect", 0},
    {"DELETE", "/networks/{id}", "network.delete", 0},
    {"POST", "/networks/{id}/connect", "network.connect", 0},
    {"POST", "/networks/{id}/disconnect", "network.disconnect", 0},

    /* volumes */
    {"GET", "/volumes", "volume.list", 0},
    {"POST", "/volumes/create", "volume.create", 0},
    {"POST", "/volumes/prune", "volume.prune", 0},
    {"GET", "/volumes/{name}", "volume.inspect", 0},
    {"DELETE", "/volumes/{name}", "volume.delete", 0},
};

const size_t server_n_routes = sizeof(server_routes) / sizeof(server_routes[0]);

/* Split "/a/b/c" into segments (in place in buf); returns the count or -1 when too many.
 * Empty segments (a trailing or doubled '/') are kept so "/containers/json/" does not
 * silently match "/containers/json". */
static int split_path(char *buf, char **segs, int max)
{
  int n = 0;
  char *p = buf;
  if (*p == '/')
    p++;
  if (*p == '\0')
    return 0;
  for (;;) {
    if (n == max)
      return -1;
    segs[n++] = p;
    char *slash = strchr(p, '/');
    if (!slash)
      break;
    *slash = '\0';
    p = slash + 1;
  }
  return n;
}

static bool param_name(const char *seg, char *name, size_t size, bool *greedy)
{
  size_t len = strlen(seg);
  if (len < 3 || seg[0] != '{' || seg[len - 1] != '}')
    return false;
  len -= 2;
  *greedy = len > 0 && seg[len] == '*';
  if (*greedy)
    len--;
  if (len == 0 || len >= size)
    return false;
  memcpy(name, seg + 1, len);
  name[len] = '\0';
  return true;
}

#define MAX_SEGS 64

bool server_route_match(const char *pattern, const char *path, json_t **params)
{
  char pbuf[256], ubuf[4096];
  if (strlen(pattern) >= sizeof(pbuf) || strlen(path) >= sizeof(ubuf))
    return false;
  strcpy(pbuf, pattern);
  strcpy(ubuf, path);
  char *ps[MAX_SEGS], *us[MAX_SEGS];
  int np = split_path(pbuf, ps, MAX_SEGS), nu = split_path(ubuf, us, MAX_SEGS);
  if (np < 0 || nu < 0)
    return false;

  int greedy_at = -1;
  char name[64];
  bool greedy;
  for (int i = 0; i < np; i++)
    if (param_name(ps[i], name, sizeof(name), &greedy) && greedy)
      greedy_at = i;
  if (greedy_at < 0 ? nu != np : nu < np)
    return false;

  json_t *out = json_object();
  if (!out)
    return false;
  /* Segments before the greedy one align from the front, those after it from the back. */
  for (int i = 0; i < np; i++) {
    int ui = (greedy_at >= 0 && i > greedy_at) ? nu - (np - i) : i;
    if (param_name(ps[i], name, sizeof(name), &greedy)) {
      if (greedy) {
        /* Rejoin the middle segments with '/'. */
        int last = nu - (np - i);
        char joined[4096] = "";
        size_t off = 0;
        for (int k = i; k <= last; k++) {
          int w = snprintf(joined + off, sizeof(joined) - off, "%s%s", k > i ? "/" : "", us[k]);
          if (w < 0 || (size_t)w >= sizeof(joined) - off)
            goto fail;
          off += (size_t)w;
        }
        if (off == 0 || json_object_set_new(out, name, json_string(joined)) < 0)
          goto fail;
      } else {
        /* json_string refuses invalid UTF-8: such a path matches nothing. */
        if (us[ui][0] == '\0' || json_object_set_new(out, name, json_string(us[ui])) < 0)
          goto fail;
      }
    } else if (strcmp(ps[i], us[ui]) != 0) {
      goto fail;
    }
  }
  *params = out;
  return true;
fail:
  json_decref(out);
  return false;
}
