/* The engine's side of berth-shim: spawn it, connect to it, send it work, and a monitor
 * thread per running container that turns the shim's events into state changes. */
#pragma once

#include <jansson.h>

#include "common/berr.h"
#include "container.h"

struct engine;

/* Paths of one container's runtime files. */
void sup_bundle_dir(struct engine *e, const char *id, char *buf, size_t len);
void sup_container_dir(struct engine *e, const char *id, char *buf, size_t len);
void sup_log_path(struct engine *e, const char *id, char *buf, size_t len);

/* Spawn the shim for a container whose bundle (config.json) is written; then hand it the
 * pending attaches and start the process. Called without the engine lock; the caller
 * has marked the container busy. On success the container runs and is monitored. */
int sup_start(struct engine *e, struct container *c, struct berr *err);

/* After a daemon restart: reconnect to a running container's shim. -ENOENT when the shim
 * is gone (the caller then reads exit.json). */
int sup_reconnect(struct engine *e, struct container *c, struct berr *err);

/* Send a message (and optionally an fd) to the container's shim. */
int sup_send(struct container *c, json_t *msg, int fd, struct berr *err);
/* The pty of the container's init (exec_id NULL) or of one exec gets h rows, w columns. */
int sup_resize(struct container *c, const char *exec_id, long long h, long long w,
               struct berr *err);

/* Read <bundle>/exit.json left by a shim: 0 and the code, or -ENOENT. */
int sup_read_exit(struct engine *e, const char *id, int *code, bool *oom, char *finished,
                  size_t len);

/* Record an exit (engine lock held): state, times, events, auto-remove. */
void sup_handle_exit(struct engine *e, struct container *c, int code, bool oom,
                     const char *finished);
