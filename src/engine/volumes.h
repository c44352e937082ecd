/* The local volume driver: named and anonymous volumes under <data-root>/volumes/<name>/_data,
 * recorded in berth.db (table volumes), optionally backed by a mount (type/device/o options)
 * made at first use. Every function is called with the engine lock held. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"

struct engine;

/* Docker's label on volumes made for a container's anonymous mount points. */
#define VOL_ANON_LABEL "com.docker.volume.anonymous"

/* Create a volume (name NULL: an anonymous one with a random name). An existing volume of
 * that name is returned as it is, as Docker does. *out: a new reference to its record
 * (Docker's Volume JSON). */
int vol_create(struct engine *e, const char *name, const char *driver, json_t *labels, json_t *opts,
               bool anonymous, json_t **out, struct berr *err);
/* A new reference to the record, or ENOENT "get NAME: no such volume". */
int vol_get(struct engine *e, const char *name, json_t **out, struct berr *err);
/* Every volume record (a new array). */
json_t *vol_list(struct engine *e, struct berr *err);
/* IDs of the containers whose mounts use the volume (a new array). */
json_t *vol_users(struct engine *e, const char *name);
/* Remove a volume: EBUSY when a container uses it; ENOENT unless force. */
int vol_remove(struct engine *e, const char *name, bool force, struct berr *err);
/* Make the volume ready to be bound into a container (mounts a volume with options once);
 * *path (malloc'd) is its _data directory. */
int vol_mount(struct engine *e, const char *name, char **path, struct berr *err);
bool vol_is_anonymous(json_t *vol);
bool vol_name_valid(const char *name);
/* Undo vol_mount of a volume with a backing mount (no-op for plain ones). */
void vol_unmount(struct engine *e, const char *name);
/* Unmount every volume with a backing mount (at daemon shutdown). */
void vol_unmount_all(struct engine *e);
