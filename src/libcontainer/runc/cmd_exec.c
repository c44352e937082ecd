/* berth-runc exec: a process JSON from -p, or one built from the command line on top of
 * the container's own process settings (as runc does). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/bjson.h"
#include "common/cleanup.h"
#include "libcontainer/container.h"

enum {
  OPT_CONSOLE = 1000,
  OPT_PID_FILE,
  OPT_CWD,
  OPT_NNP,
  OPT_PRESERVE,
  OPT_IGNORED_ARG,
  OPT_IGNORED
};

static int parse_user(const char *s, json_t *user, struct berr *err)
{
  char *end;
  unsigned long uid = strtoul(s, &end, 10);
  /* Strict: "1:x" or "x" must not silently become root (CVE-2026-30892). */
  if (end == s || (*end && *end != ':'))
    return berr_set(err, 0, "invalid --user \"%s\": want UID[:GID]", s);
  json_object_set_new(user, "uid", json_integer((json_int_t)uid));
  if (*end == ':') {
    const char *g = end + 1;
    unsigned long gid = strtoul(g, &end, 10);
    if (end == g || *end)
      return berr_set(err, 0, "invalid --user \"%s\": want UID[:GID]", s);
    json_object_set_new(user, "gid", json_integer((json_int_t)gid));
  }
  return 0;
}

static json_t *base_process(struct cli *cli, const char *id, struct berr *err)
{
  json_t *st = NULL;
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s/state.json", cli->root, id);
  if (bjson_load_file(path, &st, err) < 0) {
    berr_set(err, ENOENT, "container \"%s\" does not exist", id);
    return NULL;
  }
  json_t *p = json_deep_copy(json_object_get(json_object_get(st, "config"), "process"));
  json_decref(st);
  if (!p)
    p = json_object();
  json_object_set_new(p, "terminal", json_false());
  return p;
}

int cmd_exec(struct cli *cli, int argc, char **argv, struct berr *err)
{
  static const struct option opts[] = {
      {"process", required_argument, NULL, 'p'},
      {"tty", no_argument, NULL, 't'},
      {"detach", no_argument, NULL, 'd'},
      {"console-socket", required_argument, NULL, OPT_CONSOLE},
      {"pid-file", required_argument, NULL, OPT_PID_FILE},
      {"env", required_argument, NULL, 'e'},
      {"cwd", required_argument, NULL, OPT_CWD},
      {"user", required_argument, NULL, 'u'},
      {"additional-gids", required_argument, NULL, 'g'},
      {"cap", required_argument, NULL, 'c'},
      {"no-new-privs", no_argument, NULL, OPT_NNP},
      {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
      {"process-label", required_argument, NULL, OPT_IGNORED_ARG},
      {"apparmor", required_argument, NULL, OPT_IGNORED_ARG},
      {"cgroup", required_argument, NULL, OPT_IGNORED_ARG},
      {"ignore-paused", no_argument, NULL, OPT_IGNORED},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  struct lc_exec_opts o = {.root = cli->root};
  const char *process_file = NULL, *cwd = NULL, *user = NULL;
  bool tty = false, nnp = false;
  json_auto_t *envs = json_array(), *gids = json_array(), *caps = json_array();
  int c;
  while ((c = getopt_long(argc, argv, "+p:tde:u:g:c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'p':
      process_file = optarg;
      break;
    case 't':
      tty = true;
      break;
    case 'd':
      o.detach = true;
      break;
    case OPT_CONSOLE:
      o.console_socket = optarg;
      break;
    case OPT_PID_FILE:
      o.pid_file = optarg;
      break;
    case 'e':
      json_array_append_new(envs, json_string(optarg));
      break;
    case OPT_CWD:
      cwd = optarg;
      break;
    case 'u':
      user = optarg;
      break;
    case 'g':
      json_array_append_new(gids, json_integer(atoll(optarg)));
      break;
    case 'c':
      json_array_append_new(caps, json_string(optarg));
      break;
    case OPT_NNP:
      nnp = true;
      break;
    case OPT_PRESERVE:
      o.preserve_fds = atoi(optarg);
      break;
    case OPT_IGNORED:
    case OPT_IGNORED_ARG:
      break;
    case 'h':
      cli_command_help("exec");
      return 0;
    default:
      return berr_set(err, 0, "exec: bad option; see --help");
    }
  }
  if (argc - optind < 1)
    return berr_set(err, 0, "\"exec\" requires a container id");
  o.id = argv[optind++];
  json_auto_t *proc = NULL;
  if (process_file) {
    if (bjson_load_file(process_file, &proc, err) < 0)
      return -err->code;
  } else {
    if (argc - optind < 1)
      return berr_set(err, 0, "\"exec\" requires a command (or --process)");
    proc = base_process(cli, o.id, err);
    if (!proc)
      return -err->code;
    json_t *args = json_array();
    for (int i = optind; i < argc; i++)
      json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(proc, "args", args);
  }
  if (tty)
    json_object_set_new(proc, "terminal", json_true());
  if (cwd)
    json_object_set_new(proc, "cwd", json_string(cwd));
  if (nnp)
    json_object_set_new(proc, "noNewPrivileges", json_true());
  if (json_array_size(envs)) {
    json_t *env = json_object_get(proc, "env");
    if (!json_is_array(env)) {
      env = json_array();
      json_object_set_new(proc, "env", env);
    }
    json_array_extend(env, envs);
  }
  if (user || json_array_size(gids)) {
    json_t *u = json_object_get(proc, "user");
    if (!json_is_object(u)) {
      u = json_object();
      json_object_set_new(proc, "user", u);
    }
    if (user && parse_user(user, u, err) < 0)
      return -EINVAL;
    if (json_array_size(gids))
      json_object_set(u, "additionalGids", gids);
  }
  if (json_array_size(caps)) {
    json_t *cp = json_object_get(proc, "capabilities");
    if (!json_is_object(cp)) {
      cp = json_object();
      json_object_set_new(proc, "capabilities", cp);
    }
    const char *sets[] = {"bounding", "effective", "permitted"};
    for (size_t i = 0; i < 3; i++) {
      json_t *s = json_object_get(cp, sets[i]);
      if (!json_is_array(s)) {
        s = json_array();
        json_object_set_new(cp, sets[i], s);
      }
      json_array_extend(s, caps);
    }
  }
  o.process = proc;
  int status = 0;
  if (lc_container_exec(&o, &status, err) < 0)
    return -err->code;
  return o.detach ? 0 : status;
}
