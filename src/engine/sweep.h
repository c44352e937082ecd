/* Start-up sweep of containers' leftovers (layers, directories) that have no record. */
#pragma once

struct engine;

/* Call once at start-up, after the repository is loaded and before jobs are served. */
void sweep_leftovers(struct engine *e);
