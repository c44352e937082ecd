/* An OCI Distribution client (libcurl): endpoints for a registry domain (mirrors, scheme,
 * TLS material), token/Basic auth, manifests and blobs. Library only: never prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

#define REG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

struct reg_config {
  char **insecure;       /* "host[:port]" spoken to over plain HTTP (strv, may be NULL) */
  char **mirrors;        /* base URLs tried for docker.io pulls, in order (strv, may be NULL) */
  const char *certs_dir; /* per-registry TLS material: <dir>/HOST[:PORT]/{ca.crt,client.cert,
                          * client.key}; NULL means /etc/berth/certs.d */
  bool loopback_only;    /* contact no address outside 127.0.0.0/8 and ::1 (tests) */
};

struct reg_creds {
  const char *username;
  const char *password;
  const char *identitytoken; /* an OAuth refresh token (sent as the password for now) */
  const char *registrytoken; /* a bearer token used as is */
};

struct reg_repo;

/* Base URLs to try for domain: mirrors first for docker.io pulls, then the registry itself
 * (https://registry-1.docker.io for docker.io; http:// for loopback and insecure ones).
 * Refuses a non-loopback registry when loopback_only is set. */
int reg_endpoints(const struct reg_config *cfg, const char *domain, bool push, char ***urls,
                  struct berr *err);

/* A repository (path "library/busybox") at one endpoint. push asks for pull+push scope. */
int reg_repo_open(const struct reg_config *cfg, const char *base_url, const char *path,
                  const struct reg_creds *creds, bool push, struct reg_repo **out,
                  struct berr *err);
void reg_repo_free(struct reg_repo *r);
const char *reg_repo_url(const struct reg_repo *r);
/* HTTP status of the last failed request (404, 401, ...), 0 for transport errors. */
int reg_repo_last_status(const struct reg_repo *r);

/* GET /v2/ with the credentials: checks that they are accepted (login). */
int reg_ping(struct reg_repo *r, struct berr *err);

/* Every tag of the repository (GET /v2/<name>/tags/list, following Link pagination): a
 * NULL-terminated strv, in the registry's order. */
int reg_tags_list(struct reg_repo *r, char ***tags, struct berr *err);

/* GET a manifest by tag or digest. *digest is sha256 of the body (verified against ref when
 * ref is a digest). */
int reg_manifest_get(struct reg_repo *r, const char *ref, char **body, size_t *len,
                     char **media_type, char digest[72], struct berr *err);
int reg_manifest_put(struct reg_repo *r, const char *ref, const char *body, size_t len,
                     const char *media_type, struct berr *err);

/* Picks the manifest for os/arch[/variant] out of an OCI index or Docker manifest list:
 * the digest of the first match. */
int reg_index_pick(const char *index, size_t len, const char *os, const char *arch,
                   const char *variant, char digest[72], struct berr *err);

/* Receives blob bytes in order. reset() is called when a resumed download has to start
 * over (the server ignored Range); it returns <0 when the sink cannot start over. */
struct reg_sink {
  int (*write)(void *ud, const void *buf, size_t len);
  int (*reset)(void *ud);
  void *ud;
};

/* GET a blob into sink: retries a broken transfer (up to 5 times) and resumes it with Range
 * where the server allows. size (-1 unknown) bounds what is accepted. The caller verifies
 * the digest of what it received. */
int reg_blob_get(struct reg_repo *r, const char *digest, int64_t size, const struct reg_sink *sink,
                 struct berr *err);
/* HEAD: *exists when the repository already has the blob. */
int reg_blob_exists(struct reg_repo *r, const char *digest, bool *exists, struct berr *err);
/* Cross-repository mount from repository `from` on the same registry: *mounted on 201. */
int reg_blob_mount(struct reg_repo *r, const char *digest, const char *from, bool *mounted,
                   struct berr *err);

typedef void (*reg_progress_fn)(void *ud, int64_t done, int64_t total);
/* Uploads size bytes of fd (read with pread from 0) as blob digest: POST then a monolithic
 * PUT, or PATCH chunks of chunk bytes then PUT when chunk > 0. */
int reg_blob_upload(struct reg_repo *r, const char *digest, int fd, int64_t size, int64_t chunk,
                    reg_progress_fn progress, void *ud, struct berr *err);

/* Standard base64 (login's auth field) and its decoder (accepts base64url too). */
char *reg_base64(const void *buf, size_t len);
int reg_base64_decode(const char *s, char **out, size_t *len);
