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

void bjson_write_string(struct textbuf *b, const char *s)
{
  tb_putc(b, '"');
  const char *run = s; /* bytes written as they are, copied in one go */
  for (const char *p = s;; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    tb_put(b, run, (size_t)(p - run));
    run = p + 1;
    if (!c)
      break;
    switch (c) {
    case '"':
      tb_put(b, "\\\"", 2);
      break;
    case '\\':
      tb_put(b, "\\\\", 2);
      break;
    case '\n':
      tb_put(b, "\\n", 2);
      break;
    case '\r':
      tb_put(b, "\\r", 2);
      break;
    case '\t':
      tb_put(b, "\\t", 2);
      break;
    case '\b':
      tb_put(b, "\\b", 2);
      break;
    case '\f':
      tb_put(b, "\\f", 2);
      break;
    default:
      tb_printf(b, "\\u%04x", c);
    }
  }
  tb_putc(b, '"');
}

static int dump_to_textbuf(const char *buffer, size_t size, void *data)
{
  tb_put(data, buffer, size);
  return 0;
}

void bjson_write_value(struct textbuf *b, json_t *v)
{
  if (json_is_object(v) && json_object_size(v) == 0)
    tb_put(b, "{}", 2);
  else if (json_is_array(v) && json_array_size(v) == 0)
    tb_put(b, "[]", 2);
  else if (json_is_string(v))
    bjson_write_string(b, json_string_value(v));
  else if (!v)
    tb_put(b, "null", 4);
  else
    json_dump_callback(v, dump_to_textbuf, b, JSON_COMPACT | JSON_ENCODE_ANY);
}
