/* The CLI's transport: HTTP/1.1 to berthd over its Unix socket (hand-written, see http.c), under
 * the /v1.50 prefix docker CLI 28 uses. Also query-string building and daemon error decoding. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/berr.h"

#define BERTH_API_PREFIX "/v1.50"
#define BERTH_DEFAULT_SOCK "/run/berth/berth.sock"

/* Returned when the socket cannot be reached; err says "Cannot connect to ...". */
#define HTTP_ENOTCONN (-EHOSTDOWN)
/* Returned when the daemon answered >= 400; err holds the daemon's message. */
#define HTTP_EDAEMON (-EPROTO)

struct client {
  char host[4200]; /* unix:///path as given */
  char sock_path[4096];
  int fd; /* the kept-alive connection, -1 when none */
  /* one more request header ("X-Registry-Auth: …") for the next requests, or NULL */
  const char *extra_header;
};

struct http_resp {
  long status;
  char *body;
  size_t len;
  char content_type[128];
  char path_stat[4096]; /* X-Docker-Container-Path-Stat (archive GET/HEAD), or "" */
};

void http_resp_free(struct http_resp *r);

int client_init(struct client *c, const char *host, struct berr *err);
void client_close(struct client *c);

/* One request; body (may be NULL) is sent as JSON. Fills resp. A status >= 400 returns
 * HTTP_EDAEMON with the daemon's message in err (resp still filled). */
int http_do(struct client *c, const char *method, const char *path, json_t *body,
            struct http_resp *resp, struct berr *err);
/* http_do plus JSON decoding of a 2xx body (out may be NULL to ignore it). */
int http_json(struct client *c, const char *method, const char *path, json_t *body, json_t **out,
              long *status, struct berr *err);

typedef int (*http_sink_fn)(void *ud, const char *data, size_t len);
/* Streams a 2xx response body into sink as it arrives; upload (may be NULL) is sent chunked
 * with upload_type. On >= 400 the body is collected for the error instead. */
int http_stream(struct client *c, const char *method, const char *path, FILE *upload,
                const char *upload_type, http_sink_fn sink, void *ud, struct http_resp *resp,
                struct berr *err);

/* Fill err from an error response like docker's client does (JSON message, raw text, or
 * the "check if the server supports the requested API version" text). */
int http_daemon_error(struct http_resp *resp, const char *path, struct berr *err);

/* Query strings as Go's url.Values.Encode: keys sorted, values escaped. */
struct query {
  struct qpair {
    char *k, *v;
  } * p;
  size_t n;
};
void query_add(struct query *q, const char *k, const char *v);
void query_addf(struct query *q, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "path" or "path?k=v&..." (malloc'd); frees q's contents. */
char *query_build(const char *path, struct query *q);
/* Escape one path component or value (Go's QueryEscape). Malloc'd. */
char *url_escape(const char *s);
