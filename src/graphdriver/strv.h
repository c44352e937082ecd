/* A growable NULL-terminated string vector (graph and graphdriver collect names from
 * directory listings and database rows into them). */
#pragma once

#include <errno.h>
#include <stdlib.h>

struct gd_strv {
  char **v; /* NULL-terminated once anything was pushed */
  size_t n, cap;
};

/* Takes ownership of s (which may be NULL from a failed strdup: then -ENOMEM). */
static inline int gd_strv_push(struct gd_strv *sv, char *s)
{
  if (!s)
    return -ENOMEM;
  if (sv->n + 2 > sv->cap) {
    size_t ncap = sv->cap ? sv->cap * 2 : 16;
    char **nv = realloc(sv->v, ncap * sizeof(char *));
    if (!nv) {
      free(s);
      return -ENOMEM;
    }
    sv->v = nv;
    sv->cap = ncap;
  }
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
  return 0;
}

/* Hands the vector over (an empty one when nothing was pushed); NULL on ENOMEM. */
static inline char **gd_strv_steal(struct gd_strv *sv)
{
  char **v = sv->v ? sv->v : calloc(1, sizeof(char *));
  sv->v = NULL;
  sv->n = sv->cap = 0;
  return v;
}

static inline void gd_strv_clear(struct gd_strv *sv)
{
  for (size_t i = 0; i < sv->n; i++)
    free(sv->v[i]);
  free(sv->v);
  sv->v = NULL;
  sv->n = sv->cap = 0;
}
