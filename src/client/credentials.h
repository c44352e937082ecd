/* Registry credentials as Docker keeps them: {"auths": {"SERVER": {"auth": base64(user:pass)}}}
 * in berth's own ~/.berth/config.json (or $BERTH_CONFIG/config.json), with Docker's
 * ~/.docker/config.json (or $DOCKER_CONFIG/config.json) read as well. */
#pragma once

#include "common/berr.h"

/* The key credentials are stored under: "https://index.docker.io/v1/" for Docker Hub,
 * else host[:port]. Malloc'd. */
char *cred_server_key(const char *domain_or_server);
/* The registry domain of an image reference ("busybox" -> docker.io). Malloc'd. */
char *cred_image_domain(const char *image);

/* Looks up credentials for server key; user and pass are malloc'd, both NULL when none. */
int cred_lookup(const char *key, char **user, char **pass);
int cred_store(const char *key, const char *user, const char *pass, struct berr *err);
/* 1 when something was removed, 0 when nothing was stored, <0 on error. */
int cred_erase(const char *key, struct berr *err);

/* "X-Registry-Auth: <base64url JSON>" for the daemon (malloc'd); an empty AuthConfig when
 * no credentials are known. */
char *cred_header(const char *key);
