/* A Go text/template subset over JSON values, enough for docker's --format:
 * {{.Field.Sub}}, {{json .X}}, {{join .X ","}}, {{upper}}/{{lower}}/{{title}}, {{index .M "k"}},
 * {{.Label "k"}}, {{if}}/{{else}}/{{end}}, {{range [$k, $v :=] .X}}...{{end}}, pipes, {{- -}}. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/berr.h"

struct tmpl;

int tmpl_parse(const char *src, struct tmpl **out, struct berr *err);
void tmpl_free(struct tmpl *t);
/* Whether rendering may read dot's field `name` ({{.Name}}, {{.Name.X}}, or the whole dot:
 * {{json .}}, anything under range or with). Lets a caller skip fields nobody shows. */
bool tmpl_uses_field(const struct tmpl *t, const char *name);
/* A template of text and plain {{.Field}} actions only ("flat"): fills fields[] with the
 * field each action reads, in order, and returns how many (at most max); 0 when the
 * template is anything else (functions, pipes, if/range/with, deeper paths) or reads
 * nothing, so a caller falls back to JSON rows. */
size_t tmpl_flat_fields(const struct tmpl *t, const char **fields, size_t max);
/* Render a flat template: values[i] is what action i prints (NULL: a null member). */
void tmpl_render_flat(const struct tmpl *t, const char *const *values, FILE *out);
/* Render with dot = `dot`. `labels` (may be NULL) answers {{.Label "k"}}. */
int tmpl_render(struct tmpl *t, json_t *dot, json_t *labels, FILE *out, struct berr *err);
/* Render a table header: dot = field -> column name; functions return their argument. */
int tmpl_render_header(struct tmpl *t, json_t *headers, FILE *out, struct berr *err);
/* Render into a malloc'd string. */
int tmpl_render_string(struct tmpl *t, json_t *dot, json_t *labels, char **out, struct berr *err);
/* An object's keys in the order Go walks a map (sorted), borrowed from obj; free the array. */
const char **tmpl_sorted_keys(json_t *obj, size_t *n);
/* Go's %v of a JSON value, the way a template prints it. */
void tmpl_print_value(FILE *out, json_t *v);
/* Go's json.Marshal of a value (compact, <>& escaped as \u003c \u003e \u0026). */
void tmpl_print_json(FILE *out, json_t *v);
/* The same with object keys sorted, as Go marshals a map. */
void tmpl_print_json_sorted(FILE *out, json_t *v);

static inline void tmpl_freep(struct tmpl **t)
{
  if (*t)
    tmpl_free(*t);
}
#define _cleanup_tmpl_ __attribute__((cleanup(tmpl_freep)))
