/* Parsing the long lists berthd answers (containers, images) fast enough for `ps` with a
 * thousand containers: only the fields the CLI shows are kept. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "common/berr.h"

/* text: a JSON array of objects. Calls each(ud, item) for every object in order, item
 * holding only its members named in keys (a NULL-terminated list), values converted
 * whole; item is freed after the call, so memory stays that of one item. A callback
 * returning < 0 stops the walk with that value. */
int list_each(const char *text, size_t len, const char *const *keys,
              int (*each)(void *ud, json_t *item), void *ud, struct berr *err);
