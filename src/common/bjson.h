/* JSON helpers over jansson: typed field access with clear errors, file load/store. */
#pragma once

#include <jansson.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "berr.h"
#include "cleanup.h"
#include "textbuf.h"

/* jansson provides json_decrefp for its own json_auto_t. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Parse a whole file; the error names the file, line and column. */
int bjson_load_file(const char *path, json_t **out, struct berr *err);
int bjson_load_string(const char *text, size_t len, json_t **out, struct berr *err);

/* Serialize compactly and write atomically (temp + fsync + rename). */
int bjson_write_file(const char *path, json_t *j, struct berr *err);

/* Typed getters: a missing optional key leaves *out untouched and returns 0; a present key
 * of the wrong type, or a missing required one, is an error naming `where.key`. */
int bjson_get_str(json_t *obj, const char *key, bool required, const char **out, const char *where,
                  struct berr *err);
int bjson_get_int(json_t *obj, const char *key, bool required, int64_t *out, const char *where,
                  struct berr *err);
int bjson_get_bool(json_t *obj, const char *key, bool required, bool *out, const char *where,
                   struct berr *err);
/* Object or array field (type must match `type`), NULL when absent. */
int bjson_get_typed(json_t *obj, const char *key, json_type type, bool required, json_t **out,
                    const char *where, struct berr *err);

/* A NULL-terminated strv from a JSON array of strings (NULL array gives an empty strv). */
int bjson_strv(json_t *arr, char ***out, const char *where, struct berr *err);

/* Writing JSON text straight to a buffer, for long lists built without a tree: a string
 * (quoted, escaped as jansson escapes), and any value (compact; empty objects and arrays
 * without a call into jansson). */
void bjson_write_string(struct textbuf *b, const char *s);
void bjson_write_value(struct textbuf *b, json_t *v);
