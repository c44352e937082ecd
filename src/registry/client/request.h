/* One HTTP exchange with a registry (internal to the client): libcurl underneath, the
 * repository's Authorization attached, and a 401 answered once by the auth challenge. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lazy_curl.h"
#include "regclient.h"

struct reg_repo {
  char *base; /* "http://127.0.0.1:5000" */
  char *host; /* "127.0.0.1:5000": the certs.d directory name */
  char *path; /* "library/busybox" */
  bool push;
  bool loopback_only;
  char *username, *password, *registrytoken;
  char *ca_file; /* certs.d ca.crt, trusted besides the system CAs */
  char *client_cert, *client_key;
  pthread_mutex_t lock; /* authz and last_status are shared by download threads */
  char *authz;          /* "Bearer …" / "Basic …" once a challenge was answered */
  int last_status;
};

struct reg_req {
  const char *method;
  const char *url; /* absolute, or a path under base */
  const char *accept;
  const char *content_type;
  const char *range;
  const char *send_content_range; /* chunk uploads: "<start>-<end>" */
  bool no_auth_retry;
  bool no_authz; /* a redirect to another host: our Authorization is not sent there */
  /* request body: memory, or fd (pread from body_off, body_size bytes) */
  const char *body;
  size_t body_len;
  int body_fd;
  int64_t body_off, body_size;
  bool has_body;
  reg_progress_fn progress;
  void *progress_ud;
  int64_t progress_base, progress_total;
  /* response: a 2xx body goes to sink (bounded by limit) when set, else to resp */
  const struct reg_sink *sink;
  int64_t limit;
  int sink_err;
  int64_t received;
  long status;
  char *resp;
  size_t resp_len;
  char *location, *ctype, *digest, *www_auth, *range_hdr, *content_range, *link;
  char *chunk_min; /* OCI-Chunk-Min-Length */
  /* internal */
  int64_t sent;
  bool restarted; /* a Range request answered 200: the sink was reset */
  CURLcode curl_rc;
  char curl_msg[CURL_ERROR_SIZE];
};

/* "127.0.0.1:5000", "[::1]:5000", "localhost": an address of this machine (repo.c). */
bool reg_host_is_loopback(const char *hostport);
/* The host[:port] of a URL. */
void reg_url_host(const char *url, char *out, size_t n);

/* Runs the request (answering one 401 challenge, following up to 5 redirects of a GET or
 * HEAD, each checked against loopback_only before any name is looked up). Returns 0 when a response
 * arrived (any status: look at q->status), or an error for transport failures. */
int reg_request(struct reg_repo *r, struct reg_req *q, struct berr *err);
void reg_req_free(struct reg_req *q);
/* The registry's error body as one line ("manifest unknown: manifest unknown"), or the
 * status text. */
int reg_status_error(struct reg_repo *r, struct reg_req *q, const char *what, struct berr *err);

/* One WWW-Authenticate challenge: scheme and the parameters the token flow uses. */
struct reg_challenge {
  char scheme[16];
  char realm[1024], service[512], scope[1024];
};
int reg_challenge_parse(const char *header, struct reg_challenge *c, struct berr *err);

/* WWW-Authenticate handling (auth.c): sets r->authz for the challenge. */
int reg_auth_answer(struct reg_repo *r, const char *challenge, struct berr *err);
