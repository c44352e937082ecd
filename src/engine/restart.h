/* Restart policies (no, always, on-failure[:N], unless-stopped) with Docker's back-off:
 * 100 ms doubling up to a minute, reset once a run lasted 10 s. */
#pragma once

#include <stdbool.h>

struct engine;
struct container;

/* Engine lock held, the container's exit recorded and its monitor ended: restart it later
 * if its policy says so (state "restarting" meanwhile). */
void restart_after_exit(struct engine *e, struct container *c);

/* Engine lock held: the user stopped or killed it (no restart until the user starts it);
 * a pending restart is cancelled and the container is left exited. */
void restart_user_stop(struct engine *e, struct container *c);

/* Engine lock held, at a start: a start by the user resets RestartCount and the manual-stop
 * mark; one by the policy keeps them. */
void restart_on_start(struct container *c);

/* After the daemon recovered its containers: start those the policy restarts at daemon
 * start (always; unless-stopped not stopped by the user; on-failure after a failure). */
void restart_at_daemon_start(struct engine *e);
