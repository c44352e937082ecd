/* berth-runc: a runc-compatible OCI runtime on top of libcontainer. Global options come
 * before the command, as containerd's and conmon's callers pass them. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "libcontainer/cloned_binary.h"
#include "common/log.h"

static const struct cli_command commands[] = {
    {"create", cmd_create, "create [options] <container-id>",
     "Create a container from a bundle; its process waits for `start`.\n"
     "  -b, --bundle DIR          bundle directory (default: current directory)\n"
     "      --pid-file FILE       write the container process's pid here\n"
     "      --console-socket SOCK send the pty master to this AF_UNIX socket\n"
     "      --preserve-fds N      pass N extra fds (3 .. 3+N-1) to the process\n"
     "      --no-pivot            use MS_MOVE + chroot instead of pivot_root\n"
     "      --no-new-keyring      keep the caller's session keyring"},
    {"run", cmd_run, "run [options] <container-id>",
     "Create and start a container; without -d, wait for it and return its exit code.\n"
     "  the create options, plus\n"
     "  -d, --detach              return once the container has started\n"
     "      --keep                do not delete the container after it exits"},
    {"start", cmd_start, "start <container-id>", "Start the process of a created container."},
    {"state", cmd_state, "state <container-id>", "Print the container's OCI state as JSON."},
    {"kill", cmd_kill, "kill [options] <container-id> [signal]",
     "Send a signal (default SIGTERM) to the container's init process.\n"
     "  -a, --all                 send it to every process in the container"},
    {"delete", cmd_delete, "delete [options] <container-id>",
     "Delete a container and everything it holds.\n"
     "  -f, --force               kill a running container first"},
    {"pause", cmd_pause, "pause <container-id>", "Freeze every process in the container."},
    {"resume", cmd_resume, "resume <container-id>", "Thaw a paused container."},
    {"exec", cmd_exec, "exec [options] <container-id> [command [args...]]",
     "Run a new process in a running container.\n"
     "  -p, --process FILE        a runtime-spec process JSON (instead of a command)\n"
     "  -t, --tty                 allocate a pseudo-terminal\n"
     "  -d, --detach              do not wait for the process\n"
     "      --console-socket SOCK send the pty master to this socket\n"
     "      --pid-file FILE       write the process's pid here\n"
     "  -e, --env KEY=VALUE       add an environment variable\n"
     "      --cwd DIR             working directory\n"
     "  -u, --user UID[:GID]      user to run as\n"
     "  -g, --additional-gids GID extra group\n"
     "  -c, --cap CAP             add a capability\n"
     "      --no-new-privs        set no_new_privs\n"
     "      --preserve-fds N      pass N extra fds"},
    {"ps", cmd_ps, "ps [options] <container-id> [ps options]",
     "List the processes in a container.\n"
     "  -f, --format table|json   output format (default table)"},
    {"list", cmd_list, "list [options]",
     "List containers under --root.\n"
     "  -f, --format table|json   output format (default table)\n"
     "  -q, --quiet               print only the ids"},
    {"update", cmd_update, "update [options] <container-id>",
     "Change a container's resource limits.\n"
     "  -r, --resources FILE      linux.resources JSON (\"-\" reads stdin)\n"
     "      --memory BYTES --memory-reservation BYTES --memory-swap BYTES\n"
     "      --cpu-shares N --cpu-quota N --cpu-period N --cpuset-cpus LIST --cpuset-mems LIST\n"
     "      --pids-limit N --blkio-weight N"},
    {"spec", cmd_spec, "spec [options]",
     "Write a default config.json into the bundle directory.\n"
     "  -b, --bundle DIR          where to write it (default: current directory)\n"
     "      --rootless            a spec for an unprivileged user"},
    {"features", cmd_features, "features", "Print the runtime's features as JSON."},
};

static void usage(FILE *out)
{
  fprintf(out, "usage: berth-runc [global options] <command> [options] <container-id>\n\n"
               "A runc-compatible OCI runtime, part of berth.\n\n"
               "Global options:\n"
               "  --root DIR             state directory (default /run/berth-runc)\n"
               "  --log FILE             log file (default stderr)\n"
               "  --log-format text|json log format\n"
               "  --debug                log debug messages\n"
               "  --systemd-cgroup       (not supported: berth-runc manages cgroupfs)\n"
               "  --cgroup-manager cgroupfs|disabled\n"
               "  --rootless true|false|auto (accepted and ignored)\n"
               "  -v, --version          print the version\n\n"
               "Commands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %s\n", commands[i].usage);
}

void cli_command_help(const char *name)
{
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, name) == 0)
      printf("usage: berth-runc %s\n\n%s\n", commands[i].usage, commands[i].help);
}

int main(int argc, char **argv)
{
  struct cli cli = {.root = "/run/berth-runc"};
  const char *log_format = "text";
  const char *cgroup_manager = "cgroupfs";
  bool systemd = false;
  static const struct option opts[] = {
      {"root", required_argument, NULL, 'r'},
      {"log", required_argument, NULL, 'l'},
      {"log-format", required_argument, NULL, 'F'},
      {"log-level", required_argument, NULL, 'L'},
      {"debug", no_argument, NULL, 'D'},
      {"systemd-cgroup", no_argument, NULL, 'S'},
      {"cgroup-manager", required_argument, NULL, 'C'},
      {"rootless", required_argument, NULL, 'R'},
      {"criu", required_argument, NULL, 'c'},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      cli.root = optarg;
      break;
    case 'l':
      cli.log_path = optarg;
      break;
    case 'F':
      log_format = optarg;
      break;
    case 'D':
      cli.debug = true;
      break;
    case 'S':
      systemd = true;
      break;
    case 'C':
      cgroup_manager = optarg;
      break;
    case 'L':
    case 'R':
    case 'c':
      break;
    case 'v':
      printf("berth-runc version %s\nspec: 1.2.0\n+SECCOMP +CAP +CGROUPFS\n", BERTH_VERSION);
      return 0;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (strcmp(log_format, "json") != 0 && strcmp(log_format, "text") != 0) {
    fprintf(stderr, "berth-runc: unknown --log-format %s (want text or json)\n", log_format);
    return 2;
  }
  cli.log_json = strcmp(log_format, "json") == 0;
  if (blog_open(cli.log_path, cli.log_json, cli.debug ? BLOG_DEBUG : BLOG_WARN) < 0) {
    fprintf(stderr, "berth-runc: open log %s: %s\n", cli.log_path, strerror(errno));
    return 1;
  }
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  const char *name = argv[optind];
  const struct cli_command *cmd = NULL;
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, name) == 0)
      cmd = &commands[i];
  if (!cmd) {
    fprintf(stderr, "berth-runc: unknown command \"%s\"\n", name);
    usage(stderr);
    return 2;
  }

  struct berr err = {0};
  int rc;
  if (systemd || (strcmp(cgroup_manager, "systemd") == 0)) {
    berr_set(&err, 0, "the systemd cgroup manager is not supported; use --cgroup-manager cgroupfs");
    rc = -EINVAL;
  } else if (strcmp(cgroup_manager, "cgroupfs") != 0 && strcmp(cgroup_manager, "disabled") != 0) {
    berr_set(&err, 0, "unknown --cgroup-manager %s", cgroup_manager);
    rc = -EINVAL;
  } else {
    cli.no_cgroup = strcmp(cgroup_manager, "disabled") == 0;
    bool enters =
        strcmp(name, "create") == 0 || strcmp(name, "run") == 0 || strcmp(name, "exec") == 0;
    /* Commands that put our image inside a container first re-run from a sealed copy. */
    rc = enters ? lc_ensure_cloned_binary(argv, &err) : 0;
    if (rc == 0) {
      int sub_argc = argc - optind;
      char **sub_argv = argv + optind;
      optind = 0; /* glibc: restart getopt for the command's own options */
      rc = cmd->run(&cli, sub_argc, sub_argv, &err);
    }
  }
  if (rc < 0) {
    /* One clear line for people; the log (JSON for containerd) gets it too. */
    fprintf(stderr, "berth-runc: %s\n", err.msg);
    if (cli.log_path)
      blog(BLOG_ERROR, "%s", err.msg);
    return 1;
  }
  return rc;
}
