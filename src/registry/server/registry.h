/* berth-registry: shared types of the OCI Distribution server (config, storage, auth,
 * per-request state) and the prototypes that tie its files together. */
#pragma once

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "common/bdigest.h"
#include "common/berr.h"

/* ---- configuration (config.c) ---- */

enum reg_action { REG_PULL = 1, REG_PUSH = 2 };

/* One access rule: the first rule whose glob matches a repository decides who may do what. */
struct reg_rule {
  char *pattern;
  unsigned anonymous;     /* REG_PULL|REG_PUSH bits granted to anyone */
  unsigned authenticated; /* granted to any authenticated user ("*") */
  char **users;           /* NULL-terminated names, parallel to user_actions */
  unsigned *user_actions;
};

struct reg_config {
  char *addr; /* HOST:PORT */
  char *root;
  char *htpasswd;
  char *realm;
  /* token endpoint of our own: served at /token when token_realm is set */
  char *token_realm;
  char *token_service;
  long token_expires;
  char *tls_cert;
  char *tls_key;
  uint64_t max_manifest_bytes;
  uint64_t max_upload_bytes; /* 0 = unlimited */
  long max_requests;         /* requests served at once; past it 429 (0 = unlimited) */
  /* advertised as OCI-Chunk-Min-Length when an upload starts (0: no header); a hint to
   * clients, not enforced: the last chunk may be smaller and only the client knows it */
  uint64_t chunk_min_bytes;
  struct reg_rule *rules;
  size_t n_rules;
};

int reg_config_load(const char *path, struct reg_config *cfg, struct berr *err);
void reg_config_defaults(struct reg_config *cfg);
void reg_config_free(struct reg_config *cfg);
int reg_parse_actions(const char *s, unsigned *out);

/* ---- names, tags, digests (names.c) ---- */

int reg_names_init(void);
bool reg_name_valid(const char *name);
bool reg_tag_valid(const char *tag);
/* "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>". */
bool reg_digest_valid(const char *digest);
bool reg_upload_id_valid(const char *id);

/* ---- storage (store.c) ---- */

#define REG_DIGEST_MAX BDIGEST_MAX

struct reg_store {
  char *root;
};

int store_init(struct reg_store *st, const char *root, struct berr *err);
/* Shared lock while writing links/blobs, exclusive while garbage collecting. Returns fd. */
int store_lock(struct reg_store *st, bool exclusive, struct berr *err);
void store_blob_path(struct reg_store *st, const char *digest, char *out, size_t len);
bool store_repo_exists(struct reg_store *st, const char *name);
bool store_repo_has_blob(struct reg_store *st, const char *name, const char *digest);
int store_link_blob(struct reg_store *st, const char *name, const char *digest, struct berr *err);
int store_unlink_blob(struct reg_store *st, const char *name, const char *digest, struct berr *err);

int store_upload_create(struct reg_store *st, const char *name, char id[33], struct berr *err);
void store_upload_dir(struct reg_store *st, const char *name, const char *id, char *out,
                      size_t len);
bool store_upload_exists(struct reg_store *st, const char *name, const char *id);
/* Size so far, or -ENOENT. */
int64_t store_upload_size(struct reg_store *st, const char *name, const char *id);
/* Opens the upload's data for appending with an exclusive flock held on the fd. */
int store_upload_open(struct reg_store *st, const char *name, const char *id, int *fd,
                      struct berr *err);
/* Verifies the data against digest; on success the blob enters the store and the repo.
 * -EBADMSG when the content does not match (the upload is removed). */
int store_upload_commit(struct reg_store *st, const char *name, const char *id, const char *digest,
                        struct berr *err);
int store_upload_cancel(struct reg_store *st, const char *name, const char *id, struct berr *err);

/* Stores the exact bytes as a manifest revision of the repo and points each of the ntags
 * tags at it. desc is the descriptor for referrers when the manifest has a subject (may be
 * NULL). */
int store_manifest_put(struct reg_store *st, const char *name, const char *digest,
                       const char *media_type, const void *buf, size_t len, const char *const *tags,
                       size_t ntags, const char *subject, json_t *desc, struct berr *err);
/* ref is a tag or a digest; -ENOENT when unknown. */
int store_manifest_get(struct reg_store *st, const char *name, const char *ref, char **buf,
                       size_t *len, char **media_type, char digest[REG_DIGEST_MAX],
                       struct berr *err);
int store_manifest_delete(struct reg_store *st, const char *name, const char *ref,
                          struct berr *err);
bool store_manifest_exists(struct reg_store *st, const char *name, const char *digest);
int store_tags(struct reg_store *st, const char *name, char ***out, size_t *n, struct berr *err);
int store_catalog(struct reg_store *st, char ***out, size_t *n, struct berr *err);
/* Descriptors of manifests in the repo whose subject is digest. */
int store_referrers(struct reg_store *st, const char *name, const char *digest, json_t **out,
                    struct berr *err);

/* ---- garbage collection (gc.c) ---- */

struct reg_gc_stats {
  size_t blobs_kept, blobs_removed, links_removed, uploads_removed, temps_removed;
};
int reg_gc(const char *root, long grace_seconds, long upload_grace_seconds, bool dry_run,
           struct reg_gc_stats *stats, struct berr *err);

/* ---- auth (auth.c) ---- */

struct reg_auth;
int reg_auth_new(const struct reg_config *cfg, struct reg_auth **out, struct berr *err);
void reg_auth_free(struct reg_auth *a);
bool reg_auth_enabled(const struct reg_auth *a);
/* Who sent the request: fills user ("" for anonymous). Returns 0, or -EACCES for bad
 * credentials. For a Bearer token, *token_access is its access list (caller unrefs). */
int reg_auth_identify(struct reg_auth *a, const char *authorization, char *user, size_t ulen,
                      json_t **token_access);
/* Actions (REG_PULL|REG_PUSH) the identity may do on repo. */
unsigned reg_auth_allowed(struct reg_auth *a, const char *user, bool authenticated,
                          json_t *token_access, const char *repo);
/* The WWW-Authenticate value for a 401 on repo (NULL repo for /v2/). A token realm that is
 * a path ("/token") is made absolute with the request's Host. */
void reg_auth_challenge(struct reg_auth *a, const char *repo, unsigned actions, const char *host,
                        char *out, size_t len);
/* The token endpoint: answers a GET /token?service=&scope=… */
int reg_auth_issue_token(struct reg_auth *a, const char *user, bool authenticated, char **scopes,
                         size_t n_scopes, char **json_out, struct berr *err);

/* ---- HTTP (http.c, blobs.c, uploads.c, manifests.c, listing.c) ---- */

struct reg_server {
  struct reg_config *cfg;
  struct reg_store store;
  struct reg_auth *auth;
  struct MHD_Daemon *mhd;
  long inflight; /* requests being served (atomic) */
};

enum reg_route {
  R_NONE,
  R_BASE,
  R_CATALOG,
  R_TOKEN,
  R_TAGS,
  R_BLOB,
  R_UPLOAD_START,
  R_UPLOAD,
  R_MANIFEST,
  R_REFERRERS,
};

/* room for an OCI-Tag header per tag of a PUT with ?tag= (REG_MAX_TAGS) */
#define REG_MAX_TAGS 16
#define REG_MAX_HEADERS (REG_MAX_TAGS + 8)

struct reg_req {
  struct reg_server *srv;
  struct MHD_Connection *conn;
  char method[16];
  char *url;
  enum reg_route route;
  char *name;
  char *ref;
  char user[128];
  bool authenticated;
  json_t *token_access;
  /* request body: kept in memory (manifests) or appended to an upload's data (blobs) */
  bool body_mem;
  char *mem;
  size_t mem_len, mem_cap;
  int body_fd;
  uint64_t body_len;
  uint64_t upload_start; /* the upload's size before this request's body */
  int64_t range_len;     /* from Content-Range, -1 without */
  uint64_t body_limit;   /* 0 = none */
  /* an error decided before the body was read: answered once the body is drained */
  bool failed;
  unsigned fail_status;
  char fail_code[32];
  char fail_msg[512];
  /* the upload this request writes to, created by the request when new_upload */
  char upload_id[33];
  bool new_upload;
  /* extra response headers */
  char *hdr_name[REG_MAX_HEADERS];
  char *hdr_value[REG_MAX_HEADERS];
  size_t n_hdrs;
  /* for the access log */
  unsigned status;
  uint64_t resp_bytes;
  struct timespec started;
  bool counted; /* in srv->inflight */
};

int reg_server_start(struct reg_server *srv, struct berr *err);
void reg_server_stop(struct reg_server *srv);

/* Response helpers (http.c). Each queues the response and returns MHD's result. */
void reg_header(struct reg_req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result reg_reply(struct reg_req *r, unsigned status, const char *ctype, const void *body,
                          size_t len);
enum MHD_Result reg_reply_json(struct reg_req *r, unsigned status, json_t *j);
enum MHD_Result reg_reply_error(struct reg_req *r, unsigned status, const char *code,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
enum MHD_Result reg_reply_fd(struct reg_req *r, unsigned status, int fd, uint64_t off, uint64_t len,
                             const char *ctype);
/* Undo what this request appended to its upload (a rejected or broken body) and release it. */
void reg_body_discard(struct reg_req *r);
/* Decide an error now, answer it after the body (so the client is not reset mid-send). */
void reg_fail(struct reg_req *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *reg_query(struct reg_req *r, const char *key);
/* Every value of a repeated query parameter (?tag=a&tag=b), at most max; returns how many
 * there are (may exceed max). */
size_t reg_query_all(struct reg_req *r, const char *key, const char **out, size_t max);
/* Whether the request's Accept headers take media type mt: no Accept header, a wildcard
 * (a star or application with a star subtype) or mt itself. */
bool reg_accepts(struct reg_req *r, const char *mt);
const char *reg_hdr_in(struct reg_req *r, const char *key);

/* Per-route handlers. *_begin runs when the headers arrived (may prepare the body sink or
 * reg_fail), *_finish when the body is complete. */
void blobs_upload_begin(struct reg_req *r);
enum MHD_Result blobs_handle(struct reg_req *r);
enum MHD_Result uploads_handle(struct reg_req *r);
void manifests_begin(struct reg_req *r);
enum MHD_Result manifests_handle(struct reg_req *r);
enum MHD_Result referrers_handle(struct reg_req *r);
enum MHD_Result listing_tags(struct reg_req *r);
enum MHD_Result listing_catalog(struct reg_req *r);
