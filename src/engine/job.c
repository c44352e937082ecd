/* Job helpers: Docker's query forms (bools, repeated keys, filters), failing with an HTTP
 * status, the status of a finished job, and the stream/hijack calls into job->io. */
#include "job.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bjson.h"

static json_t *query_value(const struct job *job, const char *key)
{
  if (!job->args)
    return NULL;
  json_t *q = json_object_get(job->args, "query");
  return json_is_object(q) ? json_object_get(q, key) : NULL;
}

/* The first value of a key, as moby's r.Form.Get. */
const char *job_query_str(const struct job *job, const char *key)
{
  json_t *v = query_value(job, key);
  if (json_is_array(v))
    v = json_array_get(v, 0);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* moby httputils.BoolValue: trimmed, lower-cased; "", "0", "no", "false", "none" are false,
 * anything else true. An absent key gives dflt (BoolValueOrDefault). */
bool job_query_bool(const struct job *job, const char *key, bool dflt)
{
  const char *s = job_query_str(job, key);
  if (!s)
    return dflt;
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  static const char *const falses[] = {"", "0", "no", "false", "none"};
  for (size_t i = 0; i < sizeof(falses) / sizeof(falses[0]); i++)
    if (strlen(falses[i]) == n && strncasecmp(s, falses[i], n) == 0)
      return false;
  return true;
}

int job_query_int(const struct job *job, const char *key, long long dflt, long long *out,
                  struct berr *err)
{
  const char *s = job_query_str(job, key);
  if (!s || !*s) {
    *out = dflt;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    return berr_set(err, 0, "invalid value for %s: %s: not an integer", key, s);
  *out = v;
  return 0;
}

json_t *job_query_list(const struct job *job, const char *key)
{
  json_t *out = json_array();
  if (!out)
    return NULL;
  json_t *v = query_value(job, key);
  if (json_is_string(v)) {
    json_array_append(out, v);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
      if (json_is_string(it))
        json_array_append(out, it);
    }
  }
  return out;
}

/* moby filters.FromJSON: {"k":{"v":true}} (CLI) or the legacy {"k":["v"]} (docker-py).
 * Both become {"k":["v", ...]}; an absent or empty parameter is no filter at all. */
int job_query_filters(const struct job *job, json_t **out, struct berr *err)
{
  const char *raw = job_query_str(job, "filters");
  _cleanup_json_ json_t *norm = json_object();
  if (!norm)
    return berr_set(err, ENOMEM, "filters");
  if (!raw || !*raw) {
    *out = steal_ptr(norm);
    return 0;
  }
  json_error_t jerr;
  _cleanup_json_ json_t *in = json_loads(raw, JSON_DECODE_ANY, &jerr);
  if (!in)
    return berr_set(err, 0, "invalid filter: %s", jerr.text);
  if (json_is_null(in)) {
    *out = steal_ptr(norm);
    return 0;
  }
  if (!json_is_object(in))
    return berr_set(err, 0, "invalid filter: expected a JSON object, got %s", raw);
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v)
  {
    json_t *list = json_array();
    if (!list || json_object_set_new(norm, k, list) < 0)
      return berr_set(err, ENOMEM, "filters");
    if (json_is_object(v)) {
      const char *val;
      json_t *b;
      json_object_foreach(v, val, b)
      {
        if (!json_is_boolean(b))
          return berr_set(err, 0, "invalid filter: '%s' values must be booleans", k);
        json_array_append_new(list, json_string(val));
      }
    } else if (json_is_array(v)) {
      size_t i;
      json_t *s;
      json_array_foreach(v, i, s)
      {
        if (!json_is_string(s))
          return berr_set(err, 0, "invalid filter: '%s' values must be strings", k);
        json_array_append(list, s);
      }
    } else {
      return berr_set(err, 0, "invalid filter: '%s' must be an object or a list", k);
    }
  }
  *out = steal_ptr(norm);
  return 0;
}

const char *job_path(const struct job *job, const char *key)
{
  if (!job->args)
    return NULL;
  json_t *p = json_object_get(job->args, "path");
  json_t *v = json_is_object(p) ? json_object_get(p, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* NULL for an absent or empty (JSON null) body. */
json_t *job_body(const struct job *job)
{
  if (!job->args)
    return NULL;
  json_t *b = json_object_get(job->args, "body");
  return json_is_null(b) ? NULL : b;
}

static int errno_for_status(int status)
{
  switch (status) {
  case 400:
    return EINVAL;
  case 401:
  case 403:
    return EPERM;
  case 404:
    return ENOENT;
  case 409:
    return EEXIST;
  case 501:
    return ENOSYS;
  case 503:
    return EAGAIN;
  default:
    return EIO;
  }
}

int job_fail(struct job *job, int http_status, const char *fmt, ...)
{
  job->http_error = http_status;
  job->err.code = errno_for_status(http_status);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(job->err.msg, sizeof(job->err.msg), fmt, ap);
  va_end(ap);
  return -job->err.code;
}

int job_http_status(const struct job *job)
{
  if (job->http_error)
    return job->http_error;
  switch (job->err.code) {
  case 0:
    return job->status ? job->status : 200;
  case ENOENT:
    return 404;
  case EEXIST:
  case EBUSY:
  case EALREADY:
    return 409;
  case EINVAL:
    return 400;
  case EPERM:
  case EACCES:
    return 403;
  case ENOTSUP:
  case ENOSYS:
    return 501;
  case EAGAIN:
    return 503;
  default:
    return 500;
  }
}

int job_stream_begin(struct job *job, const char *content_type)
{
  if (!job->io || !job->io->stream_begin || job->streamed)
    return -1;
  int fd = job->io->stream_begin(job, content_type);
  if (fd >= 0)
    job->streamed = true;
  return fd;
}

int job_hijack_begin(struct job *job, const char *content_type)
{
  if (!job->io || !job->io->hijack_begin || job->streamed)
    return -1;
  int fd = job->io->hijack_begin(job, content_type);
  if (fd >= 0)
    job->streamed = true;
  return fd;
}

void job_hijack_end(struct job *job)
{
  if (job->io && job->io->hijack_end)
    job->io->hijack_end(job);
}
