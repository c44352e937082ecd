/* Compiled seccomp programs kept on disk, keyed by what they were compiled from: libseccomp
 * takes 1.5-3 ms to compile Docker's default profile in a fresh process, every container
 * start and every exec, for the same few profiles. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct lc_seccomp;

/* The key of a profile: SHA-256 over our binary's build ID, libseccomp's version and the
 * profile's canonical JSON, as hex. False (no caching) when the binary has no build ID. */
bool lc_seccomp_cache_key(json_t *seccomp, char key[65]);

/* A program compiled earlier from the same key, or NULL (missing or not a valid entry). */
struct lc_seccomp *lc_seccomp_cache_load(const char *dir, const char *key, json_t *seccomp);

/* Keeps s under key in dir (made 0700 if missing); failures only mean no cache. */
void lc_seccomp_cache_store(const char *dir, const char *key, const struct lc_seccomp *s);
