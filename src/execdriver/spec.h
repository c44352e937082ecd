/* A container's Docker configuration (Config + HostConfig, with the image's settings
 * already merged in) turned into an OCI runtime config.json, with Docker's defaults:
 * capabilities, seccomp, masked and read-only paths, /dev/shm, hostname and the
 * /etc/hosts, /etc/hostname and /etc/resolv.conf the daemon keeps per container. */
#pragma once

#include <jansson.h>

#include "common/berr.h"

struct execdriver_spec_in {
  const char *id;
  json_t *config;            /* Docker Config */
  json_t *host_config;       /* Docker HostConfig */
  const char *rootfs;        /* the mounted rootfs */
  const char *container_dir; /* holds hostname, hosts, resolv.conf */
  const char *init_path;     /* berth-init, bound into the container for --init */
  const char *netns_path;    /* join this network namespace; NULL = a new one (or host) */
  json_t *extra_mounts;      /* OCI mounts of volumes, binds and tmpfs; they replace defaults */
  /* --userns-remap: OCI uidMappings/gidMappings for a new user namespace; NULL: none */
  json_t *uid_maps, *gid_maps;
};

int execdriver_spec(const struct execdriver_spec_in *in, json_t **out, struct berr *err);

/* The args a container runs: Entrypoint + Cmd (already merged with the image's). */
int execdriver_args(json_t *config, json_t **args, struct berr *err);

/* HostConfig's limits as OCI linux.resources (memory, cpu, pids, blockIO; a deny-all
 * device rule the runtime completes with its defaults). A new reference. */
json_t *execdriver_resources(json_t *host);
