/* Mount option strings ("ro", "nosuid", "rbind", "rprivate", "size=65536k", ...) to
 * mount(2) flags, propagation and filesystem data. */
#pragma once

#include <jansson.h>

#include "common/berr.h"
#include "config.h"

/* Fill m->flags, m->propagation, m->clear_flags, m->bind and m->data from an options array. */
int lc_mount_parse_options(json_t *options, struct lc_mount *m, struct berr *err);

/* Parse a propagation name ("rprivate", "shared", ...); 0 with -EINVAL when unknown. */
int lc_propagation_from_name(const char *name, unsigned long *out);
