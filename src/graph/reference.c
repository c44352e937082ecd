/* Reference grammar after distribution/reference: name components [a-z0-9]+ joined by
 * ".", "_", "__" or "-"+; tags [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; sha256 digests. */
#include "reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "graph/digest.h"

static bool alnum_lower(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool component_valid(const char *s, size_t n)
{
  if (n == 0 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++) {
    if (alnum_lower(s[i]))
      continue;
    if (s[i] == '.' || s[i] == '-') {
      if (s[i] == '.' && !alnum_lower(s[i + 1]))
        return false;
      continue;
    }
    if (s[i] == '_') {
      if (s[i + 1] == '_')
        i++;
      if (!alnum_lower(s[i + 1]))
        return false;
      continue;
    }
    return false;
  }
  return true;
}

static bool tag_valid(const char *t)
{
  size_t n = strlen(t);
  if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static bool domain_valid(const char *d)
{
  if (!*d)
    return false;
  for (const char *p = d; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' ||
          *p == ']'))
      return false;
  return true;
}

void graph_ref_clear(struct graph_ref *r)
{
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof(*r));
}

int graph_ref_parse(const char *s, struct graph_ref *out, struct berr *err)
{
  memset(out, 0, sizeof(*out));
  if (!s || !*s)
    return berr_set(err, 0, "invalid reference format: empty reference");
  _cleanup_free_ char *copy = strdup(s);
  if (!copy)
    return berr_set(err, ENOMEM, "reference");
  char *at = strchr(copy, '@');
  if (at) {
    *at = '\0';
    if (!graph_digest_valid(at + 1))
      /* cppcheck-suppress memleak ; copy is freed by its cleanup attribute */
      return berr_set(err, 0, "invalid reference format: bad digest in \"%s\"", s);
    out->digest = strdup(at + 1);
  }
  char *slash = strrchr(copy, '/');
  char *colon = strrchr(slash ? slash : copy, ':');
  if (colon) {
    *colon = '\0';
    if (!tag_valid(colon + 1)) {
      graph_ref_clear(out);
      /* cppcheck-suppress memleak ; copy is freed by its cleanup attribute */
      return berr_set(err, 0, "invalid reference format: bad tag in \"%s\"", s);
    }
    out->tag = strdup(colon + 1);
  }
  char *name = copy;
  char *first = strchr(name, '/');
  const char *domain = "docker.io";
  const char *rest = name;
  if (first) {
    *first = '\0';
    if (strchr(name, '.') || strchr(name, ':') || !strcmp(name, "localhost")) {
      domain = name;
      rest = first + 1;
    } else {
      bool upper = false;
      for (char *p = name; *p; p++)
        upper |= isupper((unsigned char)*p);
      if (upper) {
        domain = name;
        rest = first + 1;
      } else {
        *first = '/';
      }
    }
  }
  if (!strcmp(domain, "index.docker.io"))
    domain = "docker.io";
  if (!domain_valid(domain)) {
    graph_ref_clear(out);
    return berr_set(err, 0, "invalid reference format: bad registry in \"%s\"", s);
  }
  for (const char *p = rest; *p; p++)
    if (isupper((unsigned char)*p)) {
      graph_ref_clear(out);
      return berr_set(err, 0, "invalid reference format: repository name (%s) must be lowercase",
                      rest);
    }
  /* each path component */
  for (const char *p = rest;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (!component_valid(p, n)) {
      graph_ref_clear(out);
      return berr_set(err, 0, "invalid reference format: \"%s\"", s);
    }
    if (!e)
      break;
    p = e + 1;
  }
  out->domain = strdup(domain);
  if (!strcmp(domain, "docker.io") && !strchr(rest, '/')) {
    if (asprintf(&out->path, "library/%s", rest) < 0)
      out->path = NULL;
  } else {
    out->path = strdup(rest);
  }
  if (!out->tag && !out->digest)
    out->tag = strdup("latest");
  if (!out->domain || !out->path || (!out->tag && !out->digest)) {
    graph_ref_clear(out);
    return berr_set(err, ENOMEM, "reference");
  }
  if (strlen(out->domain) + 1 + strlen(out->path) > 255) {
    graph_ref_clear(out);
    return berr_set(err, 0,
                    "invalid reference format: repository name must not be more than "
                    "255 characters");
  }
  return 0;
}

int graph_ref_parse_tag(const char *s, struct graph_ref *out, struct berr *err)
{
  int r = graph_ref_parse(s, out, err);
  if (r < 0)
    return r;
  if (out->digest) {
    graph_ref_clear(out);
    return berr_set(err, 0, "refusing to create a tag with a digest reference: \"%s\"", s);
  }
  return 0;
}

char *graph_ref_name(const struct graph_ref *r)
{
  char *s = NULL;
  return asprintf(&s, "%s/%s", r->domain, r->path) < 0 ? NULL : s;
}

char *graph_ref_key(const struct graph_ref *r)
{
  char *s = NULL;
  int n = r->digest ? asprintf(&s, "%s/%s@%s", r->domain, r->path, r->digest)
                    : asprintf(&s, "%s/%s:%s", r->domain, r->path, r->tag);
  return n < 0 ? NULL : s;
}

char *graph_ref_familiar(const char *key)
{
  const char *p = key;
  if (!strncmp(p, "docker.io/", 10)) {
    p += 10;
    if (!strncmp(p, "library/", 8) && !strchr(p + 8, '/'))
      p += 8;
  }
  return strdup(p);
}
