/* Parsing the long lists berthd answers (containers, images) fast enough for `ps` with a
 * thousand containers: only the fields the CLI shows are kept. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "common/berr.h"

#define LIST_MAX_KEYS 32

/* text: a JSON array of objects. Calls each(ud, values) for every object in order:
 * values[i] is the item's member keys[i] converted whole, NULL when the item lacks it or
 * keys[i] is NULL (not wanted). No object is built per item and the values are freed
 * after the call, so memory stays that of one item. A callback returning < 0 stops the
 * walk with that value. nkeys is at most LIST_MAX_KEYS. */
int list_each(const char *text, size_t len, const char *const *keys, size_t nkeys,
              int (*each)(void *ud, json_t *const *values), void *ud, struct berr *err);
