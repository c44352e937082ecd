/* Image references normalized as Docker does: "busybox" is docker.io/library/busybox:latest,
 * "host:5000/x/y@sha256:…" keeps its registry; names must be lowercase. */
#pragma once

#include "common/berr.h"

struct graph_ref {
  char *domain; /* "docker.io", "localhost:5000" */
  char *path;   /* "library/busybox" */
  char *tag;    /* NULL when only a digest was given and no tag */
  char *digest; /* "sha256:…" or NULL */
};

/* Parses and normalizes; when neither tag nor digest is present the tag is "latest". */
int graph_ref_parse(const char *s, struct graph_ref *out, struct berr *err);
/* Like graph_ref_parse, but a reference with a digest is refused (targets of `tag`). */
int graph_ref_parse_tag(const char *s, struct graph_ref *out, struct berr *err);
void graph_ref_clear(struct graph_ref *r);

/* "docker.io/library/busybox" */
char *graph_ref_name(const struct graph_ref *r);
/* The stored key: "docker.io/library/busybox:latest" or "…/busybox@sha256:…" (digest wins). */
char *graph_ref_key(const struct graph_ref *r);
/* How Docker shows a stored key: "busybox:latest", "localhost:5000/x:1", "x/y@sha256:…". */
char *graph_ref_familiar(const char *key);
