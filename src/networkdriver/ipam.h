/* IP address management in the daemon's SQLite database: one row per address handed
 * out (network, ip, owner), so an address is never given twice (primary key), survives
 * a crash with its owner, and is released by owner when a container stops. */
#pragma once

#include <stdint.h>

#include "cidr.h"
#include "common/berr.h"

typedef struct sqlite3 sqlite3;

int netdrv_ipam_init(sqlite3 *db, struct berr *err);

/* An address of subnet (within range when range is not NULL), not the network,
 * broadcast or gateway address, not held: `want` when non-zero (an error if it is
 * outside or taken), else the lowest free one. Recorded for owner. */
int netdrv_ipam_request(sqlite3 *db, const char *network, const struct netdrv_cidr *subnet,
                        const struct netdrv_cidr *range, uint32_t gateway, uint32_t want,
                        const char *owner, uint32_t *out, struct berr *err);
/* Release what owner holds (on network, or on every network when network is NULL). */
int netdrv_ipam_release(sqlite3 *db, const char *network, const char *owner, struct berr *err);
/* Release everything on a network (it is removed). */
int netdrv_ipam_release_network(sqlite3 *db, const char *network, struct berr *err);
/* The owners that hold addresses (a NULL-terminated list to free with strv_free). */
int netdrv_ipam_owners(sqlite3 *db, char ***out, struct berr *err);
/* How many addresses are held on network (a network in use cannot be removed). */
int netdrv_ipam_count(sqlite3 *db, const char *network, struct berr *err);
