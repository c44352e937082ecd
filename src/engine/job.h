/* A job: one unit of work the engine runs for one API call. Typed arguments in, a JSON
 * result or an error out, and optionally a byte stream (logs, events, progress, tar) or a
 * hijacked connection (attach, exec). The server builds jobs from HTTP requests; tests
 * and the daemon itself can build and run them directly. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"

struct engine;
struct job;

/* How a job talks back beyond its final result. The HTTP server provides these; a direct
 * caller may provide its own (or leave them NULL when the job needs none). */
struct job_io {
  /* Start a 200 response streamed with this Content-Type. Returns an fd the job writes the
   * body to (owned by the caller: do not close it), or -1 when streaming is unavailable. */
  int (*stream_begin)(struct job *job, const char *content_type);
  /* Take over the connection: "101 UPGRADED" (or the raw 200 form) with this
   * Content-Type is sent, then the raw bidirectional socket is returned. The job owns it
   * until it calls hijack_end (which closes it). -1 when unavailable. */
  int (*hijack_begin)(struct job *job, const char *content_type);
  void (*hijack_end)(struct job *job);
  void *data; /* the caller's state */
};

struct job {
  struct engine *engine;
  const char *name;
  /* Arguments: {"path": {"id": "..."}, "query": {"k": "v" | ["v1","v2"]}, "body": <JSON or
   * null>}. Query values are strings as sent; use the job_query_* helpers. */
  json_t *args;
  /* A streamed request body (image load, import, archive PUT) spooled to this file, or NULL. */
  const char *body_file;
  const char *api_version; /* negotiated, e.g. "1.50" */

  /* Results. */
  json_t *result; /* response body, or NULL */
  /* Or the body already serialized (malloc'd JSON text, no trailing newline): for long
   * lists, where building a tree only to dump it cost more than the job. */
  char *result_text;
  int status;      /* HTTP status on success: 200 (default), 201, 204, 304 */
  int http_error;  /* explicit status on failure (e.g. 409); 0 derives it from err.code */
  struct berr err; /* on failure */
  bool streamed;   /* set once stream_begin or hijack_begin succeeded */

  const struct job_io *io;
};

/* Query parameter helpers (Docker's forms: "1"/"true"/"True" true; ""/"0"/"no"/"false"/"none"
 * false). */
const char *job_query_str(const struct job *job, const char *key);
bool job_query_bool(const struct job *job, const char *key, bool dflt);
int job_query_int(const struct job *job, const char *key, long long dflt, long long *out,
                  struct berr *err);
/* All values of a repeated key (a new JSON array of strings, never NULL). */
json_t *job_query_list(const struct job *job, const char *key);
/* `filters` in either of Docker's JSON forms, normalized to {"key": ["v1", ...]}. */
int job_query_filters(const struct job *job, json_t **out, struct berr *err);
const char *job_path(const struct job *job, const char *key);
json_t *job_body(const struct job *job);

/* Fail with a specific HTTP status and a Docker-style message. Returns -code. */
int job_fail(struct job *job, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The HTTP status for a finished job (success or failure). */
int job_http_status(const struct job *job);

int job_stream_begin(struct job *job, const char *content_type);
int job_hijack_begin(struct job *job, const char *content_type);
void job_hijack_end(struct job *job);
