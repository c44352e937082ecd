/* Registration of every group of job handlers berthd serves. */
#pragma once

struct engine;

void jobs_container_register(struct engine *e);      /* jobs_container.c */
void jobs_container_info_register(struct engine *e); /* jobs_container_info.c: list, inspect, top */
void jobs_container_io_register(
    struct engine *e);                         /* jobs_container_io.c: wait, attach, logs, resize */
void jobs_exec_register(struct engine *e);     /* jobs_exec.c */
void jobs_image_register(struct engine *e);    /* jobs_image.c */
void jobs_system_register(struct engine *e);   /* jobs_system.c: info, events, df */
void jobs_network_register(struct engine *e);  /* jobs_network.c: networks */
void jobs_volume_register(struct engine *e);   /* jobs_volume.c: volumes */
void jobs_registry_register(struct engine *e); /* jobs_registry.c: push, auth */
void jobs_archive_register(struct engine *e);  /* jobs_archive.c: cp archive, changes, export */
struct job;
/* image.create with fromImage: a pull (jobs_registry.c) */
int jobs_registry_pull(struct job *job);
void jobs_resources_register(struct engine *e); /* jobs_resources.c: update, stats, prune */
