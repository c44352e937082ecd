/* berthd flags and daemon.json. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bjson.h"

static void usage(FILE *out)
{
  fprintf(out,
          "usage: berthd [options]\n\n"
          "The berth daemon: serves the Docker Engine API on a Unix socket.\n\n"
          "  --data-root DIR        persistent state (default /var/lib/berth)\n"
          "  --exec-root DIR        runtime state: sockets, shims (default /run/berth)\n"
          "  -H, --host unix://PATH the API socket (default unix:///run/berth/berth.sock)\n"
          "  --config-file FILE     daemon.json (default /etc/berth/daemon.json)\n"
          "  --log-level LEVEL      error|warn|info|debug (default warn)\n"
          "  -D, --debug            --log-level debug\n"
          "  --pidfile FILE         (default <exec-root>/berthd.pid)\n"
          "  -s, --storage-driver D overlay2 (default) or vfs\n"
          "  -G, --group GROUP      group owning the socket (default berth, when it exists)\n"
          "  -b, --bridge NAME      the default bridge network's device (default berth0),\n"
          "                         or none for no default bridge\n"
          "  --bip CIDR             the default bridge's address, e.g. 172.18.0.1/16\n"
          "  --mtu N                the default bridge's MTU (default 1500)\n"
          "  --live-restore[=BOOL]  keep containers running while berthd is down (default true)\n"
          "  --cpu-rt-period N      the real-time period of the containers' parent cgroup (µs)\n"
          "  --cpu-rt-runtime N     its real-time runtime (µs; default 0: containers get none)\n"
          "  --userns-remap USER[:GROUP]|default\n"
          "                         run containers in a user namespace whose root is USER's\n"
          "                         subordinate range (/etc/subuid, /etc/subgid); default makes\n"
          "                         and uses the user dockremap. State moves to\n"
          "                         <data-root>/<uid>.<gid>\n"
          "  -v, --version          print the version\n\n"
          "daemon.json takes the keys of these options and: bridge, bip, mtu,\n"
          "default-address-pools [{\"base\": \"10.10.0.0/16\", \"size\": 24}] (subnets for user\n"
          "networks and the default bridge), insecure-registries [\"host:port\"] (plain HTTP;\n"
          "loopback registries always are), registry-mirrors [\"http://127.0.0.1:5000\"] (tried\n"
          "first for docker.io), max-concurrent-downloads N (default 3),\n"
          "max-concurrent-uploads N (default 5), registry-certs-dir DIR\n"
          "(default /etc/berth/certs.d: HOST:PORT/ca.crt, client.cert, client.key),\n"
          "registry-upload-chunk-size BYTES (push in chunks; 0 = one upload), and\n"
          "registry-loopback-only true: no registry off this machine is ever contacted (docker.io\n"
          "then works only through a loopback mirror; test daemons use this).\n");
}

static int set(char **dst, const char *v)
{
  free(*dst);
  *dst = v ? strdup(v) : NULL;
  return v && !*dst ? -ENOMEM : 0;
}

/* daemon.json keys as Docker names them; flags given later override them. */
static int apply_file(struct daemon_config *cfg, bool required, struct berr *err)
{
  if (access(cfg->config_file, F_OK) < 0) {
    if (!required)
      return 0;
    return berr_errno(err, "config file %s", cfg->config_file);
  }
  json_auto_t *j = NULL;
  if (bjson_load_file(cfg->config_file, &j, err) < 0)
    return -EINVAL;
  if (!json_is_object(j))
    return berr_set(err, 0, "%s: expected a JSON object", cfg->config_file);
  static const struct {
    const char *key;
    size_t off;
  } strs[] = {
      {"data-root", offsetof(struct daemon_config, data_root)},
      {"exec-root", offsetof(struct daemon_config, exec_root)},
      {"log-level", offsetof(struct daemon_config, log_level)},
      {"pidfile", offsetof(struct daemon_config, pidfile)},
      {"storage-driver", offsetof(struct daemon_config, storage_driver)},
      {"group", offsetof(struct daemon_config, group)},
      {"registry-certs-dir", offsetof(struct daemon_config, registry_certs_dir)},
      {"bridge", offsetof(struct daemon_config, bridge)},
      {"bip", offsetof(struct daemon_config, bip)},
      {"userns-remap", offsetof(struct daemon_config, userns_remap)},
  };
  const char *key;
  json_t *v;
  json_auto_t *unknown = NULL;
  json_object_foreach(j, key, v)
  {
    bool known = false;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
      if (strcmp(key, strs[i].key) == 0) {
        if (!json_is_string(v))
          return berr_set(err, 0, "%s: %s must be a string", cfg->config_file, key);
        set((char **)((char *)cfg + strs[i].off), json_string_value(v));
        known = true;
      }
    if (strcmp(key, "hosts") == 0) {
      if (!json_is_array(v) || !json_is_string(json_array_get(v, 0)))
        return berr_set(err, 0, "%s: hosts must be an array of strings", cfg->config_file);
      set(&cfg->host, json_string_value(json_array_get(v, 0)));
      known = true;
    } else if (strcmp(key, "live-restore") == 0 || strcmp(key, "debug") == 0) {
      if (!json_is_boolean(v))
        return berr_set(err, 0, "%s: %s must be true or false", cfg->config_file, key);
      if (key[0] == 'l')
        cfg->live_restore = json_is_true(v);
      else
        cfg->debug = json_is_true(v);
      known = true;
    } else if (strcmp(key, "insecure-registries") == 0 || strcmp(key, "registry-mirrors") == 0) {
      char ***dst = key[0] == 'i' ? &cfg->insecure_registries : &cfg->registry_mirrors;
      char **sv = NULL;
      if (!json_is_array(v) || bjson_strv(v, &sv, key, err) < 0)
        return berr_set(err, 0, "%s: %s must be an array of strings", cfg->config_file, key);
      strvfreep(dst);
      *dst = sv;
      known = true;
    } else if (strcmp(key, "max-concurrent-downloads") == 0 ||
               strcmp(key, "max-concurrent-uploads") == 0 ||
               strcmp(key, "registry-upload-chunk-size") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 0)
        return berr_set(err, 0, "%s: %s must be a non-negative integer", cfg->config_file, key);
      if (key[0] == 'm') {
        if (json_integer_value(v) < 1 || json_integer_value(v) > 32)
          return berr_set(err, 0, "%s: %s must be 1..32", cfg->config_file, key);
        if (!strcmp(key, "max-concurrent-uploads"))
          cfg->max_concurrent_uploads = (int)json_integer_value(v);
        else
          cfg->max_concurrent_downloads = (int)json_integer_value(v);
      } else {
        cfg->registry_upload_chunk_size = json_integer_value(v);
      }
      known = true;
    } else if (strcmp(key, "cpu-rt-period") == 0 || strcmp(key, "cpu-rt-runtime") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 0)
        return berr_set(err, 0, "%s: %s must be a non-negative integer", cfg->config_file, key);
      *(strcmp(key, "cpu-rt-period") == 0 ? &cfg->cpu_rt_period : &cfg->cpu_rt_runtime) =
          json_integer_value(v);
      known = true;
    } else if (strcmp(key, "registry-loopback-only") == 0) {
      if (!json_is_boolean(v))
        return berr_set(err, 0, "%s: %s must be true or false", cfg->config_file, key);
      cfg->registry_loopback_only = json_is_true(v);
      known = true;
    }
    if (strcmp(key, "mtu") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 68 || json_integer_value(v) > 65535)
        return berr_set(err, 0, "%s: mtu must be a number from 68 to 65535", cfg->config_file);
      cfg->mtu = (int)json_integer_value(v);
      known = true;
    }
    if (strcmp(key, "default-address-pools") == 0) {
      if (!json_is_array(v))
        return berr_set(err, 0, "%s: default-address-pools must be an array", cfg->config_file);
      free(cfg->address_pools);
      cfg->address_pools = json_dumps(v, JSON_COMPACT);
      known = true;
    }
    /* runtimes is read by the engine itself (src/engine/runtimes.c) */
    known |= strcmp(key, "runtimes") == 0;
    if (!known) {
      if (!unknown)
        unknown = json_array();
      json_array_append_new(unknown, json_string(key));
    }
  }
  /* As dockerd: a key berthd does not know is an error, not silently ignored. */
  if (json_array_size(unknown)) {
    char list[1024] = "";
    size_t i;
    json_t *k;
    json_array_foreach(unknown, i, k)
    {
      size_t used = strlen(list);
      snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", json_string_value(k));
    }
    return berr_set(err, 0,
                    "unable to configure the berth daemon with file %s: the following directives "
                    "don't match any configuration option: %s",
                    cfg->config_file, list);
  }
  return 0;
}

int daemon_config_load(int argc, char **argv, struct daemon_config *cfg, struct berr *err)
{
  static const struct option opts[] = {
      {"data-root", required_argument, NULL, 'd'},
      {"exec-root", required_argument, NULL, 'e'},
      {"host", required_argument, NULL, 'H'},
      {"config-file", required_argument, NULL, 'c'},
      {"log-level", required_argument, NULL, 'l'},
      {"debug", no_argument, NULL, 'D'},
      {"pidfile", required_argument, NULL, 'p'},
      {"storage-driver", required_argument, NULL, 's'},
      {"group", required_argument, NULL, 'G'},
      {"live-restore", optional_argument, NULL, 'L'},
      {"bridge", required_argument, NULL, 'b'},
      {"bip", required_argument, NULL, 'B'},
      {"mtu", required_argument, NULL, 'M'},
      {"userns-remap", required_argument, NULL, 'U'},
      {"cpu-rt-period", required_argument, NULL, 'P'},
      {"cpu-rt-runtime", required_argument, NULL, 'R'},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  memset(cfg, 0, sizeof(*cfg));
  cfg->live_restore = true;
  set(&cfg->data_root, "/var/lib/berth");
  set(&cfg->exec_root, "/run/berth");
  set(&cfg->config_file, "/etc/berth/daemon.json");
  set(&cfg->log_level, "warn");

  /* First pass: only --config-file, so the file can be applied before the other flags. */
  bool explicit_file = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "H:Ds:G:b:vh", opts, NULL)) != -1)
    if (c == 'c') {
      set(&cfg->config_file, optarg);
      explicit_file = true;
    }
  if (apply_file(cfg, explicit_file, err) < 0)
    return -EINVAL;
  optind = 0;
  opterr = 1;
  bool host_set = cfg->host != NULL, pid_set = cfg->pidfile != NULL;
  while ((c = getopt_long(argc, argv, "H:Ds:G:b:vh", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      set(&cfg->data_root, optarg);
      break;
    case 'e':
      set(&cfg->exec_root, optarg);
      break;
    case 'H':
      set(&cfg->host, optarg);
      host_set = true;
      break;
    case 'c':
      break;
    case 'l':
      set(&cfg->log_level, optarg);
      break;
    case 'D':
      cfg->debug = true;
      break;
    case 'p':
      set(&cfg->pidfile, optarg);
      pid_set = true;
      break;
    case 's':
      set(&cfg->storage_driver, optarg);
      break;
    case 'G':
      set(&cfg->group, optarg);
      break;
    case 'b':
      set(&cfg->bridge, optarg);
      break;
    case 'B':
      set(&cfg->bip, optarg);
      break;
    case 'U':
      set(&cfg->userns_remap, optarg);
      break;
    case 'P':
    case 'R': {
      char *end;
      long long v = strtoll(optarg, &end, 10);
      if (*end || end == optarg || v < 0)
        return berr_set(err, 0, "--cpu-rt-%s: want a number of microseconds, got %s",
                        c == 'P' ? "period" : "runtime", optarg);
      *(c == 'P' ? &cfg->cpu_rt_period : &cfg->cpu_rt_runtime) = v;
      break;
    }
    case 'M': {
      char *end;
      long m = strtol(optarg, &end, 10);
      if (*end || m < 68 || m > 65535)
        return berr_set(err, 0, "--mtu: want a number from 68 to 65535, got %s", optarg);
      cfg->mtu = (int)m;
      break;
    }
    case 'L':
      cfg->live_restore = !optarg || strcmp(optarg, "true") == 0 || strcmp(optarg, "1") == 0;
      if (optarg && !cfg->live_restore && strcmp(optarg, "false") && strcmp(optarg, "0"))
        return berr_set(err, 0, "--live-restore: want true or false, got %s", optarg);
      break;
    case 'v':
      printf("berthd version %s\n", BERTH_VERSION);
      return 1;
    case 'h':
      usage(stdout);
      return 1;
    default:
      usage(stderr);
      return berr_set(err, 0, "bad command line");
    }
  }
  if (optind < argc)
    return berr_set(err, 0, "unexpected argument %s", argv[optind]);
  if (cfg->debug)
    set(&cfg->log_level, "debug");
  char buf[4096];
  if (!host_set || !cfg->host) {
    snprintf(buf, sizeof(buf), "unix://%s/berth.sock", cfg->exec_root);
    set(&cfg->host, buf);
  }
  if (!pid_set || !cfg->pidfile) {
    snprintf(buf, sizeof(buf), "%s/berthd.pid", cfg->exec_root);
    set(&cfg->pidfile, buf);
  }
  if (strncmp(cfg->host, "unix://", 7) != 0 && cfg->host[0] != '/')
    return berr_set(err, 0, "-H %s: only unix:// sockets are supported", cfg->host);
  return 0;
}

const char *daemon_socket_path(const struct daemon_config *cfg)
{
  return strncmp(cfg->host, "unix://", 7) == 0 ? cfg->host + 7 : cfg->host;
}

void daemon_config_free(struct daemon_config *cfg)
{
  free(cfg->data_root);
  free(cfg->exec_root);
  free(cfg->host);
  free(cfg->config_file);
  free(cfg->log_level);
  free(cfg->pidfile);
  free(cfg->storage_driver);
  free(cfg->group);
  free(cfg->registry_certs_dir);
  strvfreep(&cfg->insecure_registries);
  strvfreep(&cfg->registry_mirrors);
  free(cfg->bridge);
  free(cfg->bip);
  free(cfg->address_pools);
  free(cfg->userns_remap);
}
