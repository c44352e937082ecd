/* Work that may finish after the request that caused it: removing a container's files
 * (unmounting its rootfs syncs the filesystem, which takes milliseconds to tens of them)
 * once its record is gone. One worker thread runs the jobs in order. A crash before a job
 * ran leaves files that start-up recovery removes, so deferral never loses consistency. */
#pragma once

struct reaper;

/* NULL when out of memory or threads: reaper_defer then runs jobs inline. */
struct reaper *reaper_new(void);
/* Runs fn(arg) on the worker, or at once (in the caller) when r is NULL or cannot queue. */
void reaper_defer(struct reaper *r, void (*fn)(void *arg), void *arg);
/* Waits until every job deferred so far has run. */
void reaper_drain(struct reaper *r);
/* Drains, stops the worker and frees r. */
void reaper_free(struct reaper *r);
