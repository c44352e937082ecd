/* Output formatting shared by ps, images, history, inspect: docker's --format values
 * ("table", "table TEMPLATE", "json", a raw template) and a Go text/tabwriter clone. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/berr.h"
#include "template.h"

/* Go's tabwriter.NewWriter(out, minwidth, 1, padding, ' ', 0) over tab-separated lines. */
void tabwrite(FILE *out, const char *text, size_t minwidth, size_t padding);

struct formatter {
  bool table;
  bool json; /* --format json: each row as Go marshals a map (keys sorted) */
  struct tmpl *tmpl;
  json_t *headers; /* borrowed: field name -> column title */
  char *buf;
  size_t len;
  FILE *rows;
  /* flat template (text and {{.Field}} only): where each action's value sits in the rows
   * formatter_row_fields gets, worked out at its first row */
  enum { FLAT_UNKNOWN, FLAT_YES, FLAT_NO } flat;
  size_t nflat;
  size_t flat_idx[32];
};

/* formatter_row_fields' value for a member that is JSON null (docker's "Platform"). */
extern const char fmt_null[];

/* format: NULL/"" or "table" => default_table; "table X" => X with a header row;
 * "json" => {{json .}}; anything else a raw template, no header. \t and \n are unescaped. */
int formatter_init(struct formatter *f, const char *format, const char *default_table,
                   json_t *headers, struct berr *err);
/* Whether a row's field `name` can show (the template reads it, or --format json). */
bool formatter_uses(const struct formatter *f, const char *name);
int formatter_row(struct formatter *f, json_t *row, json_t *labels, struct berr *err);
/* A row given as parallel lists of field names and values (NULL: the row has no such
 * field; fmt_null: the field is null). A flat template prints the values as they are,
 * without building a JSON row; any other format gets the row as JSON. names must be the
 * same list, in the same order, at every row. */
int formatter_row_fields(struct formatter *f, const char *const *names, const char *const *values,
                         size_t n, json_t *labels, struct berr *err);
/* Writes the header (table mode) and the rows, aligned, then frees. */
int formatter_finish(struct formatter *f, FILE *out, struct berr *err);
void formatter_free(struct formatter *f);
