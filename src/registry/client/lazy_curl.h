/* libcurl, loaded on first use (see common/lazylib.h): berthd needs it only while it talks
 * to a registry, and linking it would map libcurl and its TLS stack into every daemon.
 * Include this instead of <curl/curl.h>; call reg_curl_load() before the first curl call
 * (reg_request does). A function not listed below fails to link: add it there. */
#pragma once

#include <stdbool.h>

/* the type-checking macros of curl.h would hide the declarations the table is typed from */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "common/berr.h"

#define LAZY_CURL_SYMBOLS(X)                                                                       \
  X(curl_global_init)                                                                              \
  X(curl_easy_init)                                                                                \
  X(curl_easy_setopt)                                                                              \
  X(curl_easy_perform)                                                                             \
  X(curl_easy_getinfo)                                                                             \
  X(curl_easy_cleanup)                                                                             \
  X(curl_easy_strerror)                                                                            \
  X(curl_easy_escape)                                                                              \
  X(curl_free)                                                                                     \
  X(curl_slist_append)                                                                             \
  X(curl_slist_free_all)

/* Loads libcurl once per process (and runs curl_global_init). */
int reg_curl_load(struct berr *err);

#ifndef LAZY_CURL_IMPL
#define LAZY_CURL_DECLARE(f) extern __typeof__(&f) lazy_##f;
LAZY_CURL_SYMBOLS(LAZY_CURL_DECLARE)
#undef LAZY_CURL_DECLARE
#define curl_global_init (*lazy_curl_global_init)
#define curl_easy_init (*lazy_curl_easy_init)
/* curl.h defines these two as macros that check the argument count */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_setopt (*lazy_curl_easy_setopt)
#define curl_easy_perform (*lazy_curl_easy_perform)
#define curl_easy_getinfo (*lazy_curl_easy_getinfo)
#define curl_easy_cleanup (*lazy_curl_easy_cleanup)
#define curl_easy_strerror (*lazy_curl_easy_strerror)
#define curl_easy_escape (*lazy_curl_easy_escape)
#define curl_free (*lazy_curl_free)
#define curl_slist_append (*lazy_curl_slist_append)
#define curl_slist_free_all (*lazy_curl_slist_free_all)
#endif
