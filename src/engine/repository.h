/* The container repository: every container by ID and name, in memory for speed and in
 * SQLite (berth.db, table containers) so nothing is lost when berthd stops or crashes.
 * Callers hold the engine lock. */
#pragma once

#include "common/berr.h"
#include "container.h"

struct engine;

int repo_open(struct engine *e, struct berr *err);
void repo_close(struct engine *e);

/* Full ID, name (with or without '/'), or a unique ID prefix. NULL with err filled:
 * ENOENT "No such container: ref", or EINVAL for an ambiguous prefix. */
struct container *repo_find(struct engine *e, const char *ref, struct berr *err);
struct container *repo_by_name(struct engine *e, const char *name);

/* e->ctrs stays ordered oldest first (by Created, then the greater ID first): the list
 * job walks it from the end for docker's newest-first `ps`. */
int repo_add(struct engine *e, struct container *c, struct berr *err);
/* Persist the container's current document (and name). */
int repo_save(struct engine *e, struct container *c, struct berr *err);
int repo_remove(struct engine *e, struct container *c, struct berr *err);
void ctr_free(struct container *c);
/* Drop a reference taken to keep c alive across unlocked waits (lock held); frees a
 * container that was removed meanwhile. */
void ctr_unref(struct engine *e, struct container *c);
