/* berthd's HTTP API server: Docker's Engine API over a Unix socket. Each request becomes
 * one engine job run on its own thread; jobs may stream a chunked response or take over
 * the connection (attach, exec). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"
#include "engine/engine.h"

/* Route flags. */
enum {
  /* The request body is streamed to a temp file (job->body_file), not parsed as JSON. */
  SERVER_ROUTE_SPOOL_BODY = 1 << 0,
  /* Spool only when the query has fromSrc=- (image import); otherwise a JSON body. */
  SERVER_ROUTE_SPOOL_IF_FROMSRC = 1 << 1,
  /* /_ping: text/plain "OK" and the ping headers (Builder-Version, Swarm, ...). */
  SERVER_ROUTE_PING = 1 << 2,
};

/* One route: a method, a path pattern (without the /v1.NN prefix) and the job it runs.
 * "{id}" matches one path segment; "{name*}" matches one or more segments (image names
 * with '/'), the rest of the pattern then matches the path's suffix. Path parameters land
 * in job args.path under their names. */
struct server_route {
  const char *method;
  const char *pattern;
  const char *job;
  unsigned flags;
};

struct server_config {
  const char *socket_path; /* required, e.g. /run/berth/berth.sock */
  /* Group owning the socket (mode 0660); NULL means "berth" when that group exists. */
  const char *socket_group;
  const char *spool_dir; /* temp files for streamed request bodies; NULL: /var/tmp */
  size_t max_body;       /* bound on JSON request bodies; 0: 16 MiB */
  /* Routes tried before the production table (tests register their own jobs here). */
  const struct server_route *extra_routes;
  size_t n_extra_routes;
};

/* Response headers beyond the standard ones (e.g. X-Docker-Container-Path-Stat for archive
 * GET and HEAD): before it calls job_stream_begin / job_hijack_begin, or before it returns,
 * a job puts an object of string values under args.response_headers, e.g.
 * json_object_set_new(job->args, "response_headers", json_pack("{s:s}", name, value)). */

struct server;

/* Create the socket and serve. Registers default "system.version" and "system.ping" jobs
 * when the engine has none. Ignores SIGPIPE process-wide (streams report EPIPE). */
int server_start(struct engine *e, const struct server_config *cfg, struct server **out,
                 struct berr *err);
/* Stop accepting, cancel streams and hijacked connections (their jobs see EPIPE/EOF), wait
 * for every running job to return, close all connections, remove the socket, free. */
void server_stop(struct server *s);

/* The production route table (routes.c). */
extern const struct server_route server_routes[];
extern const size_t server_n_routes;

/* Match "path" (no version prefix, no query) against one pattern; on success fills
 * params (a new object of path parameters). Exposed for tests. */
bool server_route_match(const char *pattern, const char *path, json_t **params);

/* The default system.version / system.ping handlers (system_jobs.c). */
int server_job_version(struct job *job);
int server_job_ping(struct job *job);
