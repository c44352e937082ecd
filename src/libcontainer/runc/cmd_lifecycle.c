/* berth-runc create, run, start, state, kill, delete, pause, resume. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "libcontainer/container.h"

enum {
  OPT_PID_FILE = 1000,
  OPT_CONSOLE,
  OPT_PRESERVE,
  OPT_NO_PIVOT,
  OPT_NO_KEYRING,
  OPT_KEEP,
  OPT_NO_SUBREAPER,
  OPT_PIDFD_SOCKET
};

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
    {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
    {"no-new-keyring", no_argument, NULL, OPT_NO_KEYRING},
    {"detach", no_argument, NULL, 'd'},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
    {"pidfd-socket", required_argument, NULL, OPT_PIDFD_SOCKET},
    {"help", no_argument, NULL, 'h'},
    {0, 0, 0, 0},
};

/* systemd socket activation: LISTEN_FDS adds to --preserve-fds. */
static int listen_fds(void)
{
  const char *v = getenv("LISTEN_FDS");
  int n = v ? atoi(v) : 0;
  return n > 0 ? n : 0;
}

static int create_or_run(struct cli *cli, int argc, char **argv, bool run, struct berr *err)
{
  struct lc_create_opts o = {.root = cli->root, .bundle = ".", .no_cgroup = cli->no_cgroup};
  bool detach = false;
  int c;
  while ((c = getopt_long(argc, argv, "+b:dh", create_opts, NULL)) != -1) {
    switch (c) {
    case 'b':
      o.bundle = optarg;
      break;
    case OPT_PID_FILE:
      o.pid_file = optarg;
      break;
    case OPT_CONSOLE:
      o.console_socket = optarg;
      break;
    case OPT_PRESERVE:
      o.preserve_fds = atoi(optarg);
      break;
    case OPT_NO_PIVOT:
      o.no_pivot = true;
      break;
    case OPT_NO_KEYRING:
      o.no_new_keyring = true;
      break;
    case 'd':
      detach = true;
      break;
    case OPT_KEEP:
    case OPT_NO_SUBREAPER:
    case OPT_PIDFD_SOCKET:
      break;
    case 'h':
      cli_command_help(run ? "run" : "create");
      return 0;
    default:
      return berr_set(err, 0, "%s: bad option; see --help", run ? "run" : "create");
    }
  }
  if (cli_one_id(argc, argv, run ? "run" : "create", &o.id, err) < 0)
    return -EINVAL;
  o.listen_fds = listen_fds();
  enum lc_run_mode mode = !run ? LC_RUN_CREATE : detach ? LC_RUN_DETACHED : LC_RUN_FOREGROUND;
  int status = 0;
  if (lc_container_run(&o, mode, &status, err) < 0)
    return -err->code;
  return mode == LC_RUN_FOREGROUND ? status : 0;
}

int cmd_create(struct cli *cli, int argc, char **argv, struct berr *err)
{
  return create_or_run(cli, argc, argv, false, err);
}

int cmd_run(struct cli *cli, int argc, char **argv, struct berr *err)
{
  return create_or_run(cli, argc, argv, true, err);
}

/* Commands whose only argument is the id, with an optional -h. */
static int id_only(int argc, char **argv, const char *name, const char **id, struct berr *err)
{
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    if (c == 'h') {
      cli_command_help(name);
      return 1;
    }
    return berr_set(err, 0, "%s: bad option; see --help", name);
  }
  return cli_one_id(argc, argv, name, id, err);
}

int cmd_start(struct cli *cli, int argc, char **argv, struct berr *err)
{
  const char *id;
  int r = id_only(argc, argv, "start", &id, err);
  if (r != 0)
    return r > 0 ? 0 : r;
  return lc_container_start(cli->root, id, err);
}

int cmd_state(struct cli *cli, int argc, char **argv, struct berr *err)
{
  const char *id;
  int r = id_only(argc, argv, "state", &id, err);
  if (r != 0)
    return r > 0 ? 0 : r;
  json_t *st = NULL;
  if (lc_container_state(cli->root, id, &st, err) < 0)
    return -err->code;
  cli_print_json(st);
  json_decref(st);
  return 0;
}

int cmd_kill(struct cli *cli, int argc, char **argv, struct berr *err)
{
  static const struct option opts[] = {
      {"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  bool all = false;
  int c;
  while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
    if (c == 'a')
      all = true;
    else if (c == 'h') {
      cli_command_help("kill");
      return 0;
    } else
      return berr_set(err, 0, "kill: bad option; see --help");
  }
  int n = argc - optind;
  if (n < 1 || n > 2)
    return berr_set(err, 0, "\"kill\" requires a container id and an optional signal");
  const char *id = argv[optind];
  int sig = 15;
  if (n == 2 && (sig = cli_parse_signal(argv[optind + 1])) < 0)
    return berr_set(err, 0, "unknown signal \"%s\"", argv[optind + 1]);
  return lc_container_kill(cli->root, id, sig, all, err);
}

int cmd_delete(struct cli *cli, int argc, char **argv, struct berr *err)
{
  static const struct option opts[] = {
      {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  bool force = false;
  int c;
  while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
    if (c == 'f')
      force = true;
    else if (c == 'h') {
      cli_command_help("delete");
      return 0;
    } else
      return berr_set(err, 0, "delete: bad option; see --help");
  }
  const char *id;
  if (cli_one_id(argc, argv, "delete", &id, err) < 0)
    return -EINVAL;
  return lc_container_delete(cli->root, id, force, err);
}

int cmd_pause(struct cli *cli, int argc, char **argv, struct berr *err)
{
  const char *id;
  int r = id_only(argc, argv, "pause", &id, err);
  if (r != 0)
    return r > 0 ? 0 : r;
  return lc_container_pause(cli->root, id, true, err);
}

int cmd_resume(struct cli *cli, int argc, char **argv, struct berr *err)
{
  const char *id;
  int r = id_only(argc, argv, "resume", &id, err);
  if (r != 0)
    return r > 0 ? 0 : r;
  return lc_container_pause(cli->root, id, false, err);
}
