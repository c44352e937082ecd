/* docker run/create flags -> the create request body. The body keeps docker CLI 28's key
 * order and defaults exactly (Appendix A of docker-api.md), so daemons see what docker sends. */
#include "runopts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "units.h"

#define RUN_FLAGS                                                                                  \
  "  -a, --attach list                  Attach to STDIN, STDOUT or STDERR\n"                       \
  "      --add-host list                Add a custom host-to-IP mapping (host:ip)\n"               \
  "      --blkio-weight uint16          Block IO (relative weight), between 10 and 1000, or 0 "    \
  "to disable (default 0)\n"                                                                       \
  "      --cap-add list                 Add Linux capabilities\n"                                  \
  "      --cap-drop list                Drop Linux capabilities\n"                                 \
  "      --cgroup-parent string         Optional parent cgroup for the container\n"                \
  "      --cgroupns string              Cgroup namespace to use (host|private)\n"                  \
  "      --cpu-period int               Limit CPU CFS (Completely Fair Scheduler) period\n"        \
  "      --cpu-quota int                Limit CPU CFS (Completely Fair Scheduler) quota\n"         \
  "      --cpu-rt-period int            Limit CPU real-time period in microseconds\n"              \
  "      --cpu-rt-runtime int           Limit CPU real-time runtime in microseconds\n"             \
  "  -c, --cpu-shares int               CPU shares (relative weight)\n"                            \
  "      --cpus decimal                 Number of CPUs\n"                                          \
  "      --cpuset-cpus string           CPUs in which to allow execution (0-3, 0,1)\n"             \
  "      --cpuset-mems string           MEMs in which to allow execution (0-3, 0,1)\n"             \
  "      --device list                  Add a host device to the container\n"                      \
  "      --dns list                     Set custom DNS servers\n"                                  \
  "      --dns-option list              Set DNS options\n"                                         \
  "      --dns-search list              Set custom DNS search domains\n"                           \
  "      --domainname string            Container NIS domain name\n"                               \
  "      --entrypoint string            Overwrite the default ENTRYPOINT of the image\n"           \
  "  -e, --env list                     Set environment variables\n"                               \
  "      --env-file list                Read in a file of environment variables\n"                 \
  "      --expose list                  Expose a port or a range of ports\n"                       \
  "      --group-add list               Add additional groups to join\n"                           \
  "      --health-cmd string            Command to run to check health\n"                          \
  "      --health-interval duration     Time between running the check (ms|s|m|h) (default 0s)\n"  \
  "      --health-retries int           Consecutive failures needed to report unhealthy\n"         \
  "      --health-start-interval duration  Time between running the check during the start "       \
  "period (ms|s|m|h) (default 0s)\n"                                                               \
  "      --health-start-period duration  Start period for the container to initialize before "     \
  "starting health-retries countdown (ms|s|m|h) (default 0s)\n"                                    \
  "      --health-timeout duration      Maximum time to allow one check to run (ms|s|m|h) "        \
  "(default 0s)\n"                                                                                 \
  "  -h, --hostname string              Container host name\n"                                     \
  "      --init                         Run an init inside the container that forwards "           \
  "signals and reaps processes\n"                                                                  \
  "  -i, --interactive                  Keep STDIN open even if not attached\n"                    \
  "      --ip string                    IPv4 address (e.g., 172.30.100.104)\n"                     \
  "      --ipc string                   IPC mode to use\n"                                         \
  "  -l, --label list                   Set meta data on a container\n"                            \
  "      --log-driver string            Logging driver for the container\n"                        \
  "      --log-opt list                 Log driver options\n"                                      \
  "      --mac-address string           Container MAC address (e.g., 92:d0:c6:0a:29:33)\n"         \
  "  -m, --memory bytes                 Memory limit\n"                                            \
  "      --memory-reservation bytes     Memory soft limit\n"                                       \
  "      --memory-swap bytes            Swap limit equal to memory plus swap: '-1' to enable "     \
  "unlimited swap\n"                                                                               \
  "      --mount mount                  Attach a filesystem mount to the container\n"              \
  "      --name string                  Assign a name to the container\n"                          \
  "      --network network              Connect a container to a network\n"                        \
  "      --network-alias list           Add network-scoped alias for the container\n"              \
  "      --no-healthcheck               Disable any container-specified HEALTHCHECK\n"             \
  "      --oom-kill-disable             Disable OOM Killer\n"                                      \
  "      --pid string                   PID namespace to use\n"                                    \
  "      --pids-limit int               Tune container pids limit (set -1 for unlimited)\n"        \
  "      --platform string              Set platform if server is multi-platform capable\n"        \
  "      --privileged                   Give extended privileges to this container\n"              \
  "  -p, --publish list                 Publish a container's port(s) to the host\n"               \
  "  -P, --publish-all                  Publish all exposed ports to random ports\n"               \
  "      --read-only                    Mount the container's root filesystem as read only\n"      \
  "      --restart string               Restart policy to apply when a container exits "           \
  "(default \"no\")\n"                                                                             \
  "      --runtime string               Runtime to use for this container\n"                       \
  "      --security-opt list            Security Options\n"                                        \
  "      --shm-size bytes               Size of /dev/shm\n"                                        \
  "      --stop-signal string           Signal to stop the container\n"                            \
  "      --stop-timeout int             Timeout (in seconds) to stop a container\n"                \
  "      --sysctl map                   Sysctl options\n"                                          \
  "      --tmpfs list                   Mount a tmpfs directory\n"                                 \
  "  -t, --tty                          Allocate a pseudo-TTY\n"                                   \
  "      --ulimit ulimit                Ulimit options\n"                                          \
  "  -u, --user string                  Username or UID (format: <name|uid>[:<group|gid>])\n"      \
  "      --userns string                User namespace to use\n"                                   \
  "      --uts string                   UTS namespace to use\n"                                    \
  "  -v, --volume list                  Bind mount a volume\n"                                     \
  "      --volumes-from list            Mount volumes from the specified container(s)\n"           \
  "  -w, --workdir string               Working directory inside the container\n"

const char run_usage[] =
    "Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
    "Create and run a new container from an image\n\nOptions:\n"
    "  -d, --detach                       Run container in background and print container ID\n"
    "      --detach-keys string           Override the key sequence for detaching a container\n"
    "      --rm                           Automatically remove the container and its associated "
    "anonymous volumes when it exits\n"
    "      --sig-proxy                    Proxy received signals to the process (default "
    "true)\n" RUN_FLAGS;

const char create_usage[] = "Usage:  berth create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
                            "Create a new container\n\nOptions:\n"
                            "      --rm                           Automatically remove the "
                            "container when it exits\n" RUN_FLAGS;

enum {
  O_RM = 1000,
  O_NAME,
  O_ENVFILE,
  O_ENTRYPOINT,
  O_INIT,
  O_EXPOSE,
  O_MOUNT,
  O_TMPFS,
  O_VOLUMES_FROM,
  O_NETWORK,
  O_ALIAS,
  O_IP,
  O_MAC,
  O_RESTART,
  O_ADDHOST,
  O_DNS,
  O_DNSOPT,
  O_DNSSEARCH,
  O_CAPADD,
  O_CAPDROP,
  O_PRIV,
  O_RO,
  O_STOPSIG,
  O_STOPTIMEOUT,
  O_ULIMIT,
  O_SHM,
  O_LOGDRIVER,
  O_LOGOPT,
  O_OOMKD,
  O_SECOPT,
  O_SIGPROXY,
  O_PLATFORM,
  O_DETACHKEYS,
  O_GROUPADD,
  O_DEVICE,
  O_IPC,
  O_PID,
  O_UTS,
  O_USERNS,
  O_CGROUPNS,
  O_SYSCTL,
  O_DOMAIN,
  O_CGPARENT,
  O_RUNTIME,
  O_HEALTH_CMD,
  O_HEALTH_INTERVAL,
  O_HEALTH_TIMEOUT,
  O_HEALTH_RETRIES,
  O_HEALTH_START_PERIOD,
  O_HEALTH_START_INTERVAL,
  O_NO_HEALTHCHECK,
  O_HELP = 0x7ffe,
};

static const struct option run_longopts[] = {
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"rm", optional_argument, NULL, O_RM},
    {"name", required_argument, NULL, O_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, O_ENVFILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
    {"label", required_argument, NULL, 'l'},
    {"hostname", required_argument, NULL, 'h'},
    {"domainname", required_argument, NULL, O_DOMAIN},
    {"init", optional_argument, NULL, O_INIT},
    {"publish", required_argument, NULL, 'p'},
    {"publish-all", no_argument, NULL, 'P'},
    {"expose", required_argument, NULL, O_EXPOSE},
    {"volume", required_argument, NULL, 'v'},
    {"mount", required_argument, NULL, O_MOUNT},
    {"tmpfs", required_argument, NULL, O_TMPFS},
    {"volumes-from", required_argument, NULL, O_VOLUMES_FROM},
    {"network", required_argument, NULL, O_NETWORK},
    {"net", required_argument, NULL, O_NETWORK},
    {"network-alias", required_argument, NULL, O_ALIAS},
    {"ip", required_argument, NULL, O_IP},
    {"mac-address", required_argument, NULL, O_MAC},
    {"restart", required_argument, NULL, O_RESTART},
    RES_LONGOPTS,
    {"health-cmd", required_argument, NULL, O_HEALTH_CMD},
    {"health-interval", required_argument, NULL, O_HEALTH_INTERVAL},
    {"health-timeout", required_argument, NULL, O_HEALTH_TIMEOUT},
    {"health-retries", required_argument, NULL, O_HEALTH_RETRIES},
    {"health-start-period", required_argument, NULL, O_HEALTH_START_PERIOD},
    {"health-start-interval", required_argument, NULL, O_HEALTH_START_INTERVAL},
    {"no-healthcheck", optional_argument, NULL, O_NO_HEALTHCHECK},
    {"add-host", required_argument, NULL, O_ADDHOST},
    {"dns", required_argument, NULL, O_DNS},
    {"dns-option", required_argument, NULL, O_DNSOPT},
    {"dns-search", required_argument, NULL, O_DNSSEARCH},
    {"cap-add", required_argument, NULL, O_CAPADD},
    {"cap-drop", required_argument, NULL, O_CAPDROP},
    {"privileged", optional_argument, NULL, O_PRIV},
    {"read-only", optional_argument, NULL, O_RO},
    {"stop-signal", required_argument, NULL, O_STOPSIG},
    {"stop-timeout", required_argument, NULL, O_STOPTIMEOUT},
    {"ulimit", required_argument, NULL, O_ULIMIT},
    {"shm-size", required_argument, NULL, O_SHM},
    {"log-driver", required_argument, NULL, O_LOGDRIVER},
    {"log-opt", required_argument, NULL, O_LOGOPT},
    {"oom-kill-disable", optional_argument, NULL, O_OOMKD},
    {"security-opt", required_argument, NULL, O_SECOPT},
    {"sig-proxy", optional_argument, NULL, O_SIGPROXY},
    {"platform", required_argument, NULL, O_PLATFORM},
    {"detach-keys", required_argument, NULL, O_DETACHKEYS},
    {"group-add", required_argument, NULL, O_GROUPADD},
    {"device", required_argument, NULL, O_DEVICE},
    {"ipc", required_argument, NULL, O_IPC},
    {"pid", required_argument, NULL, O_PID},
    {"uts", required_argument, NULL, O_UTS},
    {"userns", required_argument, NULL, O_USERNS},
    {"cgroupns", required_argument, NULL, O_CGROUPNS},
    {"cgroup-parent", required_argument, NULL, O_CGPARENT},
    {"runtime", required_argument, NULL, O_RUNTIME},
    {"sysctl", required_argument, NULL, O_SYSCTL},
    {"attach", required_argument, NULL, 'a'},
    {"help", no_argument, NULL, O_HELP},
    {0},
};

void run_opts_init(struct run_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->sig_proxy = true;
  o->env = json_array();
  o->env_files = json_array();
  o->labels = json_object();
  o->publish = json_array();
  o->expose = json_array();
  o->volumes = json_array();
  o->mounts = json_array();
  o->tmpfs = json_array();
  o->volumes_from = json_array();
  o->aliases = json_array();
  o->add_hosts = json_array();
  o->dns = json_array();
  o->dns_opts = json_array();
  o->dns_search = json_array();
  o->cap_add = json_array();
  o->cap_drop = json_array();
  o->ulimits = json_array();
  o->log_opts = json_object();
  o->security_opts = json_array();
  o->group_add = json_array();
  o->devices = json_array();
  o->sysctls = json_object();
}

void run_opts_free(struct run_opts *o)
{
  json_t **all[] = {&o->env,     &o->env_files,   &o->labels,        &o->publish,   &o->expose,
                    &o->volumes, &o->mounts,      &o->tmpfs,         &o->aliases,   &o->add_hosts,
                    &o->dns,     &o->dns_opts,    &o->dns_search,    &o->cap_add,   &o->cap_drop,
                    &o->ulimits, &o->log_opts,    &o->security_opts, &o->group_add, &o->devices,
                    &o->sysctls, &o->volumes_from};
  for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
    json_decref(*all[i]);
    *all[i] = NULL;
  }
}

static bool parse_bool_arg(const char *a)
{
  return !a || strcmp(a, "true") == 0 || strcmp(a, "1") == 0 || strcmp(a, "t") == 0 ||
         strcmp(a, "TRUE") == 0 || strcmp(a, "True") == 0;
}

static void add_kv(json_t *obj, const char *kv)
{
  const char *eq = strchr(kv, '=');
  if (eq) {
    _cleanup_free_ char *k = strndup(kv, (size_t)(eq - kv));
    json_object_set_new(obj, k, json_string(eq + 1));
  } else {
    json_object_set_new(obj, kv, json_string(""));
  }
}

int run_opts_parse(struct run_opts *o, int argc, char **argv, bool is_run, const char *usage)
{
  const char *cmd = is_run ? "run" : "create";
  optind = 0;
  int opt;
  int r;
  int64_t n;
  while ((opt = cli_getopt(argc, argv, "+dita:e:w:u:l:h:p:Pv:m:c:", run_longopts, cmd, usage)) !=
         -1) {
    switch (opt) {
    case -2:
      return 125;
    case -3:
      return -1;
    case 'd':
      if (!is_run)
        return cli_usage_error(cmd, "unknown shorthand flag: 'd' in -d");
      o->detach = true;
      break;
    case 'i':
      o->interactive = true;
      break;
    case 't':
      o->tty = true;
      break;
    case 'a':
      break; /* stdout/stderr are attached by default; -a only narrows them */
    case O_RM:
      o->rm = parse_bool_arg(optarg);
      break;
    case O_NAME:
      o->name = optarg;
      break;
    case 'e':
      json_array_append_new(o->env, json_string(optarg));
      break;
    case O_ENVFILE:
      json_array_append_new(o->env_files, json_string(optarg));
      break;
    case 'w':
      o->workdir = optarg;
      break;
    case 'u':
      o->user = optarg;
      break;
    case O_ENTRYPOINT:
      o->entrypoint = optarg;
      o->entrypoint_set = true;
      break;
    case 'l':
      add_kv(o->labels, optarg);
      break;
    case 'h':
      o->hostname = optarg;
      break;
    case O_DOMAIN:
      o->domainname = optarg;
      break;
    case O_INIT:
      o->init = parse_bool_arg(optarg);
      o->init_set = true;
      break;
    case 'p':
      json_array_append_new(o->publish, json_string(optarg));
      break;
    case 'P':
      o->publish_all = true;
      break;
    case O_EXPOSE:
      json_array_append_new(o->expose, json_string(optarg));
      break;
    case 'v':
      json_array_append_new(o->volumes, json_string(optarg));
      break;
    case O_MOUNT:
      json_array_append_new(o->mounts, json_string(optarg));
      break;
    case O_TMPFS:
      json_array_append_new(o->tmpfs, json_string(optarg));
      break;
    case O_VOLUMES_FROM:
      json_array_append_new(o->volumes_from, json_string(optarg));
      break;
    case O_NETWORK:
      o->network = optarg;
      break;
    case O_ALIAS:
      json_array_append_new(o->aliases, json_string(optarg));
      break;
    case O_IP:
      o->ip = optarg;
      break;
    case O_MAC:
      o->mac = optarg;
      break;
    case O_RESTART:
      o->restart = optarg;
      break;
    case O_SHM:
      if ((r = res_size_flag(cmd, "--shm-size", optarg, &o->shm_size)))
        return r;
      break;
    case O_HEALTH_CMD:
      o->health_cmd = optarg;
      o->health_set = true;
      break;
    case O_HEALTH_INTERVAL:
    case O_HEALTH_TIMEOUT:
    case O_HEALTH_START_PERIOD:
    case O_HEALTH_START_INTERVAL: {
      static const char *const names[] = {"--health-interval", "--health-timeout",
                                          "--health-start-period", "--health-start-interval"};
      int k = opt == O_HEALTH_INTERVAL       ? 0
              : opt == O_HEALTH_TIMEOUT      ? 1
              : opt == O_HEALTH_START_PERIOD ? 2
                                             : 3;
      int64_t ns;
      if (units_parse_go_duration(optarg, &ns) < 0)
        return cli_usage_error(cmd,
                               "invalid argument \"%s\" for \"%s\" flag: time: invalid "
                               "duration \"%s\"",
                               optarg, names[k], optarg);
      if (ns < 0) {
        fprintf(stderr, "%s cannot be negative\n", names[k]);
        return 125;
      }
      int64_t *dst[] = {&o->health_interval, &o->health_timeout, &o->health_start_period,
                        &o->health_start_interval};
      *dst[k] = ns;
      o->health_set = true;
      break;
    }
    case O_HEALTH_RETRIES:
      if ((r = res_int_flag(cmd, "--health-retries", optarg, &o->health_retries)))
        return r;
      if (o->health_retries < 0) {
        fprintf(stderr, "--health-retries cannot be negative\n");
        return 125;
      }
      o->health_set = true;
      break;
    case O_NO_HEALTHCHECK:
      o->no_healthcheck = parse_bool_arg(optarg);
      break;
    case O_ADDHOST:
      json_array_append_new(o->add_hosts, json_string(optarg));
      break;
    case O_DNS:
      json_array_append_new(o->dns, json_string(optarg));
      break;
    case O_DNSOPT:
      json_array_append_new(o->dns_opts, json_string(optarg));
      break;
    case O_DNSSEARCH:
      json_array_append_new(o->dns_search, json_string(optarg));
      break;
    case O_CAPADD:
    case O_CAPDROP: {
      _cleanup_free_ char *cap = NULL;
      _cleanup_free_ char *up = strdup(optarg);
      for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
      if (strcmp(up, "ALL") == 0 || strncmp(up, "CAP_", 4) == 0)
        cap = strdup(up);
      else if (asprintf(&cap, "CAP_%s", up) < 0)
        return 1;
      json_array_append_new(opt == O_CAPADD ? o->cap_add : o->cap_drop, json_string(cap));
      break;
    }
    case O_PRIV:
      o->privileged = parse_bool_arg(optarg);
      break;
    case O_RO:
      o->read_only = parse_bool_arg(optarg);
      break;
    case O_STOPSIG:
      o->stop_signal = optarg;
      break;
    case O_STOPTIMEOUT:
      if ((r = res_int_flag(cmd, "--stop-timeout", optarg, &n)))
        return r;
      o->stop_timeout = (int)n;
      o->stop_timeout_set = true;
      break;
    case O_ULIMIT: {
      /* name=soft[:hard] */
      const char *eq = strchr(optarg, '=');
      if (!eq)
        return cli_usage_error(
            cmd, "invalid argument \"%s\" for \"--ulimit\" flag: invalid ulimit argument: %s",
            optarg, optarg);
      _cleanup_free_ char *name = strndup(optarg, (size_t)(eq - optarg));
      char *end;
      long long soft = strtoll(eq + 1, &end, 10), hard = soft;
      if (*end == ':')
        hard = strtoll(end + 1, &end, 10);
      if (*end)
        return cli_usage_error(
            cmd, "invalid argument \"%s\" for \"--ulimit\" flag: invalid ulimit argument: %s",
            optarg, optarg);
      json_array_append_new(o->ulimits, json_pack("{s:s,s:I,s:I}", "Name", name, "Hard",
                                                  (json_int_t)hard, "Soft", (json_int_t)soft));
      break;
    }
    case O_LOGDRIVER:
      o->log_driver = optarg;
      break;
    case O_LOGOPT:
      add_kv(o->log_opts, optarg);
      break;
    case O_OOMKD:
      o->oom_kill_disable = parse_bool_arg(optarg);
      break;
    case O_SECOPT:
      /* seccomp=FILE: docker sends the profile's content, compacted. */
      if ((strncmp(optarg, "seccomp=", 8) == 0 || strncmp(optarg, "seccomp:", 8) == 0) &&
          strcmp(optarg + 8, "unconfined") && strcmp(optarg + 8, "builtin")) {
        json_error_t je;
        json_auto_t *prof = json_load_file(optarg + 8, 0, &je);
        if (!prof) {
          fprintf(stderr, "opening seccomp profile (%s) failed: %s\n", optarg + 8, je.text);
          return 125;
        }
        _cleanup_free_ char *text = json_dumps(prof, JSON_COMPACT);
        _cleanup_free_ char *secopt = NULL;
        if (!text || asprintf(&secopt, "seccomp=%s", text) < 0)
          return 125;
        json_array_append_new(o->security_opts, json_string(secopt));
        break;
      }
      json_array_append_new(o->security_opts, json_string(optarg));
      break;
    case O_SIGPROXY:
      o->sig_proxy = parse_bool_arg(optarg);
      break;
    case O_PLATFORM:
      o->platform = optarg;
      break;
    case O_DETACHKEYS:
      o->detach_keys = optarg;
      break;
    case O_GROUPADD:
      json_array_append_new(o->group_add, json_string(optarg));
      break;
    case O_DEVICE:
      json_array_append_new(o->devices, json_string(optarg));
      break;
    case O_IPC:
      o->ipc = optarg;
      break;
    case O_PID:
      o->pid = optarg;
      break;
    case O_UTS:
      o->uts = optarg;
      break;
    case O_USERNS:
      o->userns = optarg;
      break;
    case O_CGROUPNS:
      o->cgroupns = optarg;
      break;
    case O_CGPARENT:
      o->cgroup_parent = optarg;
      break;
    case O_RUNTIME:
      o->runtime = optarg;
      break;
    case O_SYSCTL:
      add_kv(o->sysctls, optarg);
      break;
    default:
      if (!res_opt_parse(&o->res, cmd, opt, optarg, &r))
        return 125;
      if (r)
        return r;
      break;
    }
  }
  if (optind >= argc)
    return cli_args_error(cmd, usage, "requires at least 1 argument") ? 125 : 125;
  o->image = argv[optind];
  if (optind + 1 < argc) {
    o->cmd = &argv[optind + 1];
    o->ncmd = argc - optind - 1;
  }
  if (o->no_healthcheck && o->health_set) {
    fprintf(stderr, "--no-healthcheck conflicts with --health-* options\n");
    return 125;
  }
  if (o->rm && o->restart && strcmp(o->restart, "no") != 0 && *o->restart)
    return cli_usage_error(cmd, "Conflicting options: --restart and --rm");
  return 0;
}

/* -e FOO without a value takes FOO from our environment, or goes bare. */
static void add_env(json_t *env, const char *e)
{
  if (strchr(e, '=')) {
    json_array_append_new(env, json_string(e));
    return;
  }
  const char *v = getenv(e);
  if (v) {
    _cleanup_free_ char *kv = NULL;
    if (asprintf(&kv, "%s=%s", e, v) >= 0)
      json_array_append_new(env, json_string(kv));
  } else {
    json_array_append_new(env, json_string(e));
  }
}

static int read_env_file(const char *path, json_t *env, struct berr *err)
{
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return berr_errno(err, "open %s", path);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) >= 0) {
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = 0;
    char *s = line;
    while (isspace((unsigned char)*s))
      s++;
    if (!*s || *s == '#')
      continue;
    if (strchr(s, '=') == s) {
      free(line);
      return berr_set(err, 0, "invalid environment variable: %s", s);
    }
    add_env(env, s);
  }
  free(line);
  return 0;
}

static json_t *endpoint_settings(void)
{
  return json_pack("{s:n,s:n,s:n,s:s,s:n,s:i,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:n}", "IPAMConfig",
                   "Links", "Aliases", "MacAddress", "", "DriverOpts", "GwPriority", 0, "NetworkID",
                   "", "EndpointID", "", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0,
                   "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                   "DNSNames");
}

/* "80", "80/udp", "8000-8001" -> first,last,proto */
static int parse_port_range(const char *s, unsigned *first, unsigned *last)
{
  char *end;
  unsigned long a = strtoul(s, &end, 10);
  if (end == s || a > 65535)
    return -EINVAL;
  unsigned long b = a;
  if (*end == '-') {
    const char *s2 = end + 1;
    b = strtoul(s2, &end, 10);
    if (end == s2 || b > 65535 || b < a)
      return -EINVAL;
  }
  if (*end)
    return -EINVAL;
  *first = (unsigned)a;
  *last = (unsigned)b;
  return 0;
}

static int add_publish(const char *spec, json_t *exposed, json_t *bindings, struct berr *err)
{
  _cleanup_free_ char *s = strdup(spec);
  const char *proto = "tcp";
  char *slash = strrchr(s, '/');
  if (slash) {
    *slash = 0;
    proto = slash + 1;
  }
  /* [ip:][hostPort:]containerPort; an IPv6 ip comes in brackets */
  char *ip = NULL, *hostport = NULL, *cport = s;
  char *last_colon = strrchr(s, ':');
  if (last_colon) {
    *last_colon = 0;
    cport = last_colon + 1;
    char *rest = s;
    char *c2 = NULL;
    if (rest[0] == '[') {
      char *rb = strchr(rest, ']');
      if (rb && rb[1] == ':')
        c2 = rb + 1;
      else if (rb && !rb[1])
        c2 = NULL;
    } else {
      c2 = strrchr(rest, ':');
    }
    if (c2) {
      *c2 = 0;
      ip = rest;
      hostport = c2 + 1;
    } else if (rest[0] == '[') {
      ip = rest;
    } else {
      hostport = rest;
    }
  }
  if (ip && ip[0] == '[') {
    ip++;
    ip[strlen(ip) - 1] = 0;
  }
  unsigned cf, cl, hf = 0, hl = 0;
  if (parse_port_range(cport, &cf, &cl) < 0)
    return berr_set(err, 0, "invalid containerPort: %s", cport);
  if (hostport && *hostport && parse_port_range(hostport, &hf, &hl) < 0)
    return berr_set(err, 0, "invalid hostPort: %s", hostport);
  if (hostport && *hostport && hl - hf != cl - cf && cl != cf)
    return berr_set(err, 0, "invalid ranges specified for container and host Ports: %s and %s",
                    cport, hostport);
  for (unsigned p = cf; p <= cl; p++) {
    char key[32], hp[32] = "";
    snprintf(key, sizeof(key), "%u/%s", p, proto);
    if (hostport && *hostport) {
      if (cl == cf && hl != hf)
        snprintf(hp, sizeof(hp), "%u-%u", hf, hl);
      else
        snprintf(hp, sizeof(hp), "%u", hf + (p - cf));
    }
    json_object_set_new(exposed, key, json_object());
    json_t *list = json_object_get(bindings, key);
    if (!list) {
      list = json_array();
      json_object_set_new(bindings, key, list);
    }
    json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", ip ? ip : "", "HostPort", hp));
  }
  return 0;
}

static bool mount_bool(const char *v, bool has_value)
{
  return !has_value || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* --mount type=bind|volume|tmpfs,source=,target=,readonly,bind-propagation=,volume-opt=,
 * volume-label=,volume-nocopy,tmpfs-size=,tmpfs-mode= into Docker's mount.Mount. */
static int add_mount(const char *spec, json_t *mounts, struct berr *err)
{
  json_auto_t *m = json_object();
  json_object_set_new(m, "Type", json_string("volume"));
  json_auto_t *bind = json_object(), *vol = json_object(), *tmpfs = json_object();
  json_auto_t *vopts = json_object(), *vlabels = json_object();
  _cleanup_free_ char *s = strdup(spec);
  char *save = NULL;
  const char *src = NULL, *dst = NULL;
  bool ro = false;
  for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    const char *v = eq ? eq + 1 : "";
    if (eq)
      *eq = 0;
    if (strcmp(kv, "type") == 0) {
      json_object_set_new(m, "Type", json_string(v));
    } else if (strcmp(kv, "source") == 0 || strcmp(kv, "src") == 0) {
      src = v;
    } else if (strcmp(kv, "target") == 0 || strcmp(kv, "dst") == 0 ||
               strcmp(kv, "destination") == 0) {
      dst = v;
    } else if (strcmp(kv, "readonly") == 0 || strcmp(kv, "ro") == 0) {
      ro = mount_bool(v, eq != NULL);
    } else if (strcmp(kv, "bind-propagation") == 0) {
      json_object_set_new(bind, "Propagation", json_string(v));
    } else if (strcmp(kv, "bind-nonrecursive") == 0) {
      json_object_set_new(bind, "NonRecursive", json_boolean(mount_bool(v, eq != NULL)));
    } else if (strcmp(kv, "volume-nocopy") == 0) {
      json_object_set_new(vol, "NoCopy", json_boolean(mount_bool(v, eq != NULL)));
    } else if (strcmp(kv, "volume-driver") == 0) {
      json_object_set_new(vol, "DriverConfig", json_pack("{s:s}", "Name", v));
    } else if (strcmp(kv, "volume-opt") == 0 || strcmp(kv, "volume-label") == 0) {
      const char *veq = strchr(v, '=');
      if (!veq)
        return berr_set(err, 0,
                        "invalid argument \"%s\" for \"--mount\" flag: invalid field '%s' must "
                        "be a key=value pair",
                        spec, kv);
      _cleanup_free_ char *k = strndup(v, (size_t)(veq - v));
      json_object_set_new(strcmp(kv, "volume-opt") == 0 ? vopts : vlabels, k, json_string(veq + 1));
    } else if (strcmp(kv, "tmpfs-size") == 0) {
      char *end;
      double n = strtod(v, &end);
      double mult = 1;
      switch (*end) {
      case 'k':
      case 'K':
        mult = 1024;
        break;
      case 'm':
      case 'M':
        mult = 1024 * 1024;
        break;
      case 'g':
      case 'G':
        mult = 1024.0 * 1024 * 1024;
        break;
      case '\0':
      case 'b':
      case 'B':
        break;
      default:
        return berr_set(err, 0,
                        "invalid argument \"%s\" for \"--mount\" flag: invalid value for "
                        "tmpfs-size: %s",
                        spec, v);
      }
      json_object_set_new(tmpfs, "SizeBytes", json_integer((json_int_t)(n * mult)));
    } else if (strcmp(kv, "tmpfs-mode") == 0) {
      char *end;
      long mode = strtol(v, &end, 8);
      if (*end || !*v)
        return berr_set(err, 0,
                        "invalid argument \"%s\" for \"--mount\" flag: invalid value for "
                        "tmpfs-mode: %s",
                        spec, v);
      json_object_set_new(tmpfs, "Mode", json_integer(mode));
    } else if (strcmp(kv, "consistency") != 0) {
      return berr_set(err, 0,
                      "invalid argument \"%s\" for \"--mount\" flag: unexpected key '%s' in '%s'",
                      spec, kv, kv);
    }
  }
  if (!dst)
    return berr_set(err, 0, "invalid argument \"%s\" for \"--mount\" flag: target is required",
                    spec);
  if (src)
    json_object_set_new(m, "Source", json_string(src));
  json_object_set_new(m, "Target", json_string(dst));
  if (ro)
    json_object_set_new(m, "ReadOnly", json_true());
  if (json_object_size(bind))
    json_object_set(m, "BindOptions", bind);
  if (json_object_size(vopts)) {
    json_t *dc = json_object_get(vol, "DriverConfig");
    if (!dc) {
      dc = json_pack("{s:s}", "Name", "local");
      json_object_set_new(vol, "DriverConfig", dc);
    }
    json_object_set(dc, "Options", vopts);
  }
  if (json_object_size(vlabels))
    json_object_set(vol, "Labels", vlabels);
  if (json_object_size(vol))
    json_object_set(m, "VolumeOptions", vol);
  if (json_object_size(tmpfs))
    json_object_set(m, "TmpfsOptions", tmpfs);
  json_array_append(mounts, m);
  return 0;
}

static json_t *strv_or_null(json_t *arr)
{
  return json_array_size(arr) ? json_incref(arr) : json_null();
}

int run_opts_body(struct run_opts *o, int rows, int cols, json_t **out, struct berr *err)
{
  json_auto_t *env = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(o->env_files, i, e)
  {
    int r = read_env_file(json_string_value(e), env, err);
    if (r < 0)
      return r;
  }
  json_array_foreach(o->env, i, e)
  {
    add_env(env, json_string_value(e));
  }

  json_auto_t *exposed = json_object();
  json_auto_t *bindings = json_object();
  json_array_foreach(o->publish, i, e)
  {
    int r = add_publish(json_string_value(e), exposed, bindings, err);
    if (r < 0)
      return r;
  }
  json_array_foreach(o->expose, i, e)
  {
    _cleanup_free_ char *s = strdup(json_string_value(e));
    const char *proto = "tcp";
    char *slash = strchr(s, '/');
    if (slash) {
      *slash = 0;
      proto = slash + 1;
    }
    unsigned f, l;
    if (parse_port_range(s, &f, &l) < 0)
      return berr_set(err, 0, "invalid range format for --expose: %s", json_string_value(e));
    for (unsigned p = f; p <= l; p++) {
      char key[32];
      snprintf(key, sizeof(key), "%u/%s", p, proto);
      json_object_set_new(exposed, key, json_object());
    }
  }

  json_auto_t *volumes = json_object();
  json_auto_t *binds = json_array();
  json_array_foreach(o->volumes, i, e)
  {
    const char *spec = json_string_value(e);
    const char *colon = strchr(spec, ':');
    if (!colon) {
      json_object_set_new(volumes, spec, json_object());
      continue;
    }
    if (spec[0] == '.' || (spec[0] == '~')) {
      /* relative host paths are made absolute client-side, as docker does */
      char cwd[PATH_MAX];
      if (!getcwd(cwd, sizeof(cwd)))
        return berr_errno(err, "getcwd");
      _cleanup_free_ char *src = strndup(spec, (size_t)(colon - spec));
      _cleanup_free_ char *abs = NULL;
      const char *rel = src;
      while (strncmp(rel, "./", 2) == 0)
        rel += 2;
      if (strcmp(rel, ".") == 0)
        rel = "";
      if (asprintf(&abs, "%s%s%s%s", cwd, *rel ? "/" : "", rel, colon) < 0)
        return berr_errno(err, "volume");
      json_array_append_new(binds, json_string(abs));
    } else {
      json_array_append_new(binds, json_string(spec));
    }
  }
  json_auto_t *mounts = json_array();
  json_array_foreach(o->mounts, i, e)
  {
    int r = add_mount(json_string_value(e), mounts, err);
    if (r < 0)
      return r;
  }
  json_auto_t *tmpfs = json_object();
  json_array_foreach(o->tmpfs, i, e)
  {
    const char *spec = json_string_value(e);
    const char *colon = strchr(spec, ':');
    if (colon) {
      _cleanup_free_ char *k = strndup(spec, (size_t)(colon - spec));
      json_object_set_new(tmpfs, k, json_string(colon + 1));
    } else {
      json_object_set_new(tmpfs, spec, json_string(""));
    }
  }

  /* restart policy */
  const char *rp_name = "no";
  int rp_count = 0;
  _cleanup_free_ char *rp = o->restart && *o->restart ? strdup(o->restart) : NULL;
  if (rp) {
    char *colon = strchr(rp, ':');
    if (colon) {
      *colon = 0;
      char *end;
      rp_count = (int)strtol(colon + 1, &end, 10);
      if (*end || strcmp(rp, "on-failure") != 0)
        return berr_set(err, 0, "invalid restart policy format: %s", o->restart);
    }
    if (strcmp(rp, "no") && strcmp(rp, "always") && strcmp(rp, "unless-stopped") &&
        strcmp(rp, "on-failure"))
      return berr_set(err, 0, "invalid restart policy format: %s", o->restart);
    rp_name = rp;
  }

  bool attach = !o->detach;
  json_t *body = json_object();
  json_object_set_new(body, "Hostname", json_string(o->hostname ? o->hostname : ""));
  json_object_set_new(body, "Domainname", json_string(o->domainname ? o->domainname : ""));
  json_object_set_new(body, "User", json_string(o->user ? o->user : ""));
  json_object_set_new(body, "AttachStdin", json_boolean(attach && o->interactive));
  json_object_set_new(body, "AttachStdout", json_boolean(attach));
  json_object_set_new(body, "AttachStderr", json_boolean(attach));
  if (json_object_size(exposed))
    json_object_set(body, "ExposedPorts", exposed);
  json_object_set_new(body, "Tty", json_boolean(o->tty));
  json_object_set_new(body, "OpenStdin", json_boolean(o->interactive));
  json_object_set_new(body, "StdinOnce", json_boolean(attach && o->interactive));
  json_object_set_new(body, "Env", strv_or_null(env));
  json_t *cmd = json_null();
  if (o->ncmd) {
    cmd = json_array();
    for (int k = 0; k < o->ncmd; k++)
      json_array_append_new(cmd, json_string(o->cmd[k]));
  }
  json_object_set_new(body, "Cmd", cmd);
  json_object_set_new(body, "Image", json_string(o->image));
  json_object_set(body, "Volumes", volumes);
  json_object_set_new(body, "WorkingDir", json_string(o->workdir ? o->workdir : ""));
  json_object_set_new(body, "Entrypoint",
                      o->entrypoint_set ? json_pack("[s]", o->entrypoint) : json_null());
  json_object_set_new(body, "OnBuild", json_null());
  json_object_set(body, "Labels", o->labels);
  if (o->no_healthcheck)
    json_object_set_new(body, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
  else if (o->health_set)
    json_object_set_new(
        body, "Healthcheck",
        json_pack("{s:o,s:I,s:I,s:I,s:I,s:I}", "Test",
                  o->health_cmd ? json_pack("[s,s]", "CMD-SHELL", o->health_cmd) : json_null(),
                  "Interval", (json_int_t)o->health_interval, "Timeout",
                  (json_int_t)o->health_timeout, "StartPeriod", (json_int_t)o->health_start_period,
                  "StartInterval", (json_int_t)o->health_start_interval, "Retries",
                  (json_int_t)o->health_retries));
  if (o->stop_signal)
    json_object_set_new(body, "StopSignal", json_string(o->stop_signal));
  if (o->stop_timeout_set)
    json_object_set_new(body, "StopTimeout", json_integer(o->stop_timeout));

  json_t *hc = json_object();
  json_object_set_new(body, "HostConfig", hc);
  json_object_set_new(hc, "Binds", strv_or_null(binds));
  json_object_set_new(hc, "ContainerIDFile", json_string(""));
  json_object_set_new(
      hc, "LogConfig",
      json_pack("{s:s,s:O}", "Type", o->log_driver ? o->log_driver : "", "Config", o->log_opts));
  const char *netmode = o->network ? o->network : "default";
  json_object_set_new(hc, "NetworkMode", json_string(netmode));
  json_object_set(hc, "PortBindings", bindings);
  json_object_set_new(hc, "RestartPolicy",
                      json_pack("{s:s,s:i}", "Name", rp_name, "MaximumRetryCount", rp_count));
  json_object_set_new(hc, "AutoRemove", json_boolean(o->rm));
  json_object_set_new(hc, "VolumeDriver", json_string(""));
  json_object_set_new(hc, "VolumesFrom", strv_or_null(o->volumes_from));
  json_object_set_new(hc, "ConsoleSize", json_pack("[i,i]", o->tty ? rows : 0, o->tty ? cols : 0));
  json_object_set_new(hc, "CapAdd", strv_or_null(o->cap_add));
  json_object_set_new(hc, "CapDrop", strv_or_null(o->cap_drop));
  json_object_set_new(hc, "CgroupnsMode", json_string(o->cgroupns ? o->cgroupns : ""));
  json_object_set(hc, "Dns", o->dns);
  json_object_set(hc, "DnsOptions", o->dns_opts);
  json_object_set(hc, "DnsSearch", o->dns_search);
  json_object_set_new(hc, "ExtraHosts", strv_or_null(o->add_hosts));
  json_object_set_new(hc, "GroupAdd", strv_or_null(o->group_add));
  json_object_set_new(hc, "IpcMode", json_string(o->ipc ? o->ipc : ""));
  json_object_set_new(hc, "Cgroup", json_string(""));
  json_object_set_new(hc, "Links", json_null());
  json_object_set_new(hc, "OomScoreAdj", json_integer(0));
  json_object_set_new(hc, "PidMode", json_string(o->pid ? o->pid : ""));
  json_object_set_new(hc, "Privileged", json_boolean(o->privileged));
  json_object_set_new(hc, "PublishAllPorts", json_boolean(o->publish_all));
  json_object_set_new(hc, "ReadonlyRootfs", json_boolean(o->read_only));
  json_object_set_new(hc, "SecurityOpt", strv_or_null(o->security_opts));
  if (json_object_size(tmpfs))
    json_object_set(hc, "Tmpfs", tmpfs);
  json_object_set_new(hc, "UTSMode", json_string(o->uts ? o->uts : ""));
  json_object_set_new(hc, "UsernsMode", json_string(o->userns ? o->userns : ""));
  json_object_set_new(hc, "ShmSize", json_integer(o->shm_size));
  if (json_object_size(o->sysctls))
    json_object_set(hc, "Sysctls", o->sysctls);
  if (o->runtime)
    json_object_set_new(hc, "Runtime", json_string(o->runtime));
  json_object_set_new(hc, "Isolation", json_string(""));
  json_object_set_new(hc, "CpuShares", json_integer(o->res.cpu_shares));
  json_object_set_new(hc, "Memory", json_integer(o->res.memory));
  json_object_set_new(hc, "NanoCpus", json_integer(o->res.nano_cpus));
  json_object_set_new(hc, "CgroupParent", json_string(o->cgroup_parent ? o->cgroup_parent : ""));
  json_object_set_new(hc, "BlkioWeight", json_integer(o->res.blkio_weight));
  json_object_set_new(hc, "BlkioWeightDevice", json_array());
  json_object_set_new(hc, "BlkioDeviceReadBps", json_array());
  json_object_set_new(hc, "BlkioDeviceWriteBps", json_array());
  json_object_set_new(hc, "BlkioDeviceReadIOps", json_array());
  json_object_set_new(hc, "BlkioDeviceWriteIOps", json_array());
  json_object_set_new(hc, "CpuPeriod", json_integer(o->res.cpu_period));
  json_object_set_new(hc, "CpuQuota", json_integer(o->res.cpu_quota));
  json_object_set_new(hc, "CpuRealtimePeriod", json_integer(o->res.cpu_rt_period));
  json_object_set_new(hc, "CpuRealtimeRuntime", json_integer(o->res.cpu_rt_runtime));
  json_object_set_new(hc, "CpusetCpus", json_string(o->res.cpuset_cpus ? o->res.cpuset_cpus : ""));
  json_object_set_new(hc, "CpusetMems", json_string(o->res.cpuset_mems ? o->res.cpuset_mems : ""));
  json_t *devices = json_array();
  json_array_foreach(o->devices, i, e)
  {
    /* --device /dev/x[:/dev/y[:rwm]] */
    _cleanup_free_ char *s = strdup(json_string_value(e));
    char *c1 = strchr(s, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c1)
      *c1 = 0;
    if (c2)
      *c2 = 0;
    json_array_append_new(devices,
                          json_pack("{s:s,s:s,s:s}", "PathOnHost", s, "PathInContainer",
                                    c1 ? c1 + 1 : s, "CgroupPermissions", c2 ? c2 + 1 : "rwm"));
  }
  json_object_set_new(hc, "Devices", devices);
  json_object_set_new(hc, "DeviceCgroupRules", json_null());
  json_object_set_new(hc, "DeviceRequests", json_null());
  json_object_set_new(hc, "MemoryReservation", json_integer(o->res.memory_reservation));
  json_object_set_new(hc, "MemorySwap", json_integer(o->res.memory_swap));
  json_object_set_new(hc, "MemorySwappiness", json_integer(-1));
  json_object_set_new(hc, "OomKillDisable", json_boolean(o->oom_kill_disable));
  json_object_set_new(hc, "PidsLimit", json_integer(o->res.pids_limit));
  json_object_set(hc, "Ulimits", o->ulimits);
  json_object_set_new(hc, "CpuCount", json_integer(0));
  json_object_set_new(hc, "CpuPercent", json_integer(0));
  json_object_set_new(hc, "IOMaximumIOps", json_integer(0));
  json_object_set_new(hc, "IOMaximumBandwidth", json_integer(0));
  if (json_array_size(mounts))
    json_object_set(hc, "Mounts", mounts);
  json_object_set_new(hc, "MaskedPaths", json_null());
  json_object_set_new(hc, "ReadonlyPaths", json_null());
  if (o->init_set)
    json_object_set_new(hc, "Init", json_boolean(o->init));

  json_t *eps = json_object();
  if (!o->network && !json_array_size(o->aliases) && !o->ip && !o->mac) {
    json_object_set_new(eps, "default", endpoint_settings());
  } else if (json_array_size(o->aliases) || o->ip || o->mac) {
    json_t *ep = endpoint_settings();
    if (o->ip)
      json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", o->ip));
    if (o->mac)
      json_object_set_new(ep, "MacAddress", json_string(o->mac));
    if (json_array_size(o->aliases))
      json_object_set(ep, "Aliases", o->aliases);
    /* on the default network too: the daemon refuses them there, as docker's does */
    json_object_set_new(eps, o->network ? o->network : "default", ep);
  }
  json_object_set_new(body, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
  *out = body;
  return 0;
}
