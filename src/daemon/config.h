/* berthd's configuration: built-in defaults, then /etc/berth/daemon.json (or
 * --config-file), then command-line flags, which win. */
#pragma once

#include <stdbool.h>

#include "common/berr.h"

struct daemon_config {
  char *data_root;
  char *exec_root;
  char *host; /* unix:///run/berth/berth.sock */
  char *config_file;
  char *log_level;
  char *pidfile;
  char *storage_driver;
  char *group;
  char *bridge;        /* -b / "bridge": the default bridge's device, or "none" */
  char *bip;           /* --bip / "bip" */
  char *address_pools; /* "default-address-pools", as JSON text */
  int mtu;             /* --mtu / "mtu": the default bridge's; 0 for 1500 */
  char *userns_remap;  /* --userns-remap / "userns-remap": "default", "user[:group]" */
  long long cpu_rt_period, cpu_rt_runtime; /* --cpu-rt-period/--cpu-rt-runtime (µs) */
  bool live_restore;
  bool debug;
  /* registries (daemon.json only) */
  char **insecure_registries; /* "host[:port]" spoken to over plain HTTP */
  char **registry_mirrors;    /* URLs tried first for docker.io pulls */
  int max_concurrent_downloads;
  int max_concurrent_uploads;
  bool registry_loopback_only;          /* never contact a registry off this machine (tests) */
  char *registry_certs_dir;             /* default /etc/berth/certs.d */
  long long registry_upload_chunk_size; /* push in PATCH chunks of this size; 0 monolithic */
};

/* 0, 1 when --help/--version was handled (exit 0), or -errno with err filled. */
int daemon_config_load(int argc, char **argv, struct daemon_config *cfg, struct berr *err);
void daemon_config_free(struct daemon_config *cfg);
/* The socket path of cfg->host ("unix://" stripped). */
const char *daemon_socket_path(const struct daemon_config *cfg);
