/* JSON helpers over jansson. */
#include "bjson.h"

#include <errno.h>
#include <string.h>

#include "fileutil.h"

int bjson_load_file(const char *path, json_t **out, struct berr *err)
{
  json_error_t je;
  json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (!j) {
    if (access(path, R_OK) < 0)
      return berr_errno(err, "open %s", path);
    return berr_set(err, 0, "parse %s: line %d column %d: %s", path, je.line, je.column, je.text);
  }
  *out = j;
  return 0;
}

int bjson_load_string(const char *text, size_t len, json_t **out, struct berr *err)
{
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!j)
    return berr_set(err, 0, "invalid JSON: line %d column %d: %s", je.line, je.column, je.text);
  *out = j;
  return 0;
}

int bjson_write_file(const char *path, json_t *j, struct berr *err)
{
  _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
  if (!s)
    return berr_set(err, ENOMEM, "serialize JSON for %s", path);
  return bf_write_atomic(path, s, strlen(s), 0644, err);
}

static json_t *field(json_t *obj, const char *key)
{
  return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static int missing_or_wrong(json_t *v, bool required, const char *what, const char *where,
                            const char *key, struct berr *err)
{
  if (!v || json_is_null(v)) {
    if (required)
      return berr_set(err, 0, "%s.%s: required field is missing", where, key);
    return 1;
  }
  return berr_set(err, 0, "%s.%s: expected %s", where, key, what);
}

int bjson_get_str(json_t *obj, const char *key, bool required, const char **out, const char *where,
                  struct berr *err)
{
  json_t *v = field(obj, key);
  if (json_is_string(v)) {
    *out = json_string_value(v);
    return 0;
  }
  int r = missing_or_wrong(v, required, "a string", where, key, err);
  return r > 0 ? 0 : r;
}

int bjson_get_int(json_t *obj, const char *key, bool required, int64_t *out, const char *where,
                  struct berr *err)
{
  json_t *v = field(obj, key);
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  int r = missing_or_wrong(v, required, "an integer", where, key, err);
  return r > 0 ? 0 : r;
}

int bjson_get_bool(json_t *obj, const char *key, bool required, bool *out, const char *where,
                   struct berr *err)
{
  json_t *v = field(obj, key);
  if (json_is_boolean(v)) {
    *out = json_is_true(v);
    return 0;
  }
  int r = missing_or_wrong(v, required, "a boolean", where, key, err);
  return r > 0 ? 0 : r;
}

int bjson_get_typed(json_t *obj, const char *key, json_type type, bool required, json_t **out,
                    const char *where, struct berr *err)
{
  json_t *v = field(obj, key);
  *out = NULL;
  if (v && json_typeof(v) == type) {
    *out = v;
    return 0;
  }
  int r = missing_or_wrong(v, required, type == JSON_OBJECT ? "an object" : "an array", where, key,
                           err);
  return r > 0 ? 0 : r;
}

int bjson_strv(json_t *arr, char ***out, const char *where, struct berr *err)
{
  size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
  if (arr && !json_is_array(arr) && !json_is_null(arr))
    return berr_set(err, 0, "%s: expected an array of strings", where);
  char **v = calloc(n + 1, sizeof(char *));
  if (!v)
    return berr_set(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(arr, i);
    if (!json_is_string(s)) {
      strvfreep(&v);
      return berr_set(err, 0, "%s[%zu]: expected a string", where, i);
    }
    v[i] = strdup(json_string_value(s));
    if (!v[i]) {
      strvfreep(&v);
      return berr_set(err, ENOMEM, "%s", where);
    }
  }
  *out = v;
  return 0;
}

void bjson_write_string(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", f);
      break;
    case '\\':
      fputs("\\\\", f);
      break;
    case '\n':
      fputs("\\n", f);
      break;
    case '\r':
      fputs("\\r", f);
      break;
    case '\t':
      fputs("\\t", f);
      break;
    case '\b':
      fputs("\\b", f);
      break;
    case '\f':
      fputs("\\f", f);
      break;
    default:
      if (*p < 0x20)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

void bjson_write_value(FILE *f, json_t *v)
{
  if (json_is_object(v) && json_object_size(v) == 0)
    fputs("{}", f);
  else if (json_is_array(v) && json_array_size(v) == 0)
    fputs("[]", f);
  else if (json_is_string(v))
    bjson_write_string(f, json_string_value(v));
  else if (!v)
    fputs("null", f);
  else
    json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY);
}
