/* Blob files mapped for serving (see blobmap.c): one mapping per inode, shared by the GETs
 * that send it, a few kept after them for the next. */
#pragma once

#include <stdint.h>

#include "common/berr.h"

struct blobmap_entry;

/* A reference to the mapping of the blob file open on fd (the caller still closes fd). */
struct blobmap_entry *blobmap_get(int fd, struct berr *err);
/* The bytes [off, off+len) of the blob, NULL when outside it. */
const void *blobmap_data(const struct blobmap_entry *e, uint64_t off, uint64_t len);
/* Drops the reference; an entry that could not be cached is unmapped with its last one. */
void blobmap_put(struct blobmap_entry *e);
