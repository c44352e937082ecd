/* The commands that create, start and attach: run, create, start, attach, exec. Call
 * order follows docker CLI 28 (docker-api.md §3.1-3.3): attach sent before wait, and both
 * answered before start is sent (berth sends the two before reading either answer). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "hijack.h"
#include "runopts.h"
#include "session.h"

/* docker's exit code for a failed start: 127 not found, 126 cannot execute, else 125. */
static int start_error_code(const char *msg)
{
  /* docker matches Go's lower-case texts; strerror capitalizes them, so ignore case */
  if (strstr(msg, "executable file not found") || strcasestr(msg, "no such file or directory") ||
      strstr(msg, "system cannot find the file specified"))
    return 127;
  if (strcasestr(msg, "permission denied") || strcasestr(msg, "is a directory"))
    return 126;
  return 125;
}

static void run_error(const char *cmd, struct berr *err)
{
  if (err->code == EPROTO)
    fprintf(stderr,
            "berth: Error response from daemon: %s\n\nRun 'berth %s --help' for more information\n",
            err->msg, cmd);
  else
    fprintf(stderr, "berth: %s\n\nRun 'berth %s --help' for more information\n", err->msg, cmd);
}

/* docker refuses a bad --detach-keys before doing anything */
static bool bad_detach_keys(const char *keys)
{
  char buf[16];
  if (!keys || session_parse_detach_keys(keys, buf, sizeof(buf)) > 0)
    return false;
  fprintf(stderr, "Invalid detach keys (%s) provided\n", keys);
  return true;
}

static char *wait_path(const char *id, const char *condition)
{
  struct query q = {0};
  if (condition)
    query_add(&q, "condition", condition);
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "/containers/%s/wait", id) < 0)
    return NULL;
  return query_build(base, &q);
}

/* Open POST /wait?condition=...; the fd's response headers have been read. */
static int wait_open(struct client *c, const char *id, const char *condition, struct raw_resp *resp,
                     struct berr *err)
{
  _cleanup_free_ char *path = wait_path(id, condition);
  if (!path)
    return berr_errno(err, "wait");
  return raw_request(c, "POST", path, NULL, false, resp, err);
}

/* Read the wait body: {"StatusCode":N[,"Error":{"Message":...}]}. Returns the exit code. */
static int wait_finish(int fd, struct raw_resp *resp, struct berr *err)
{
  _cleanup_free_ char *body = NULL;
  size_t len = 0;
  int r = raw_read_body(fd, resp, &body, &len, err);
  if (r < 0)
    return r;
  json_auto_t *j = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, NULL);
  if (!j)
    return berr_set(err, 0, "%.*s", (int)len, body);
  json_t *e = json_object_get(j, "Error");
  const char *m = e ? json_string_value(json_object_get(e, "Message")) : NULL;
  if (m && *m) {
    berr_set(err, 0, "%s", m);
    err->code = EPROTO;
    return HTTP_EDAEMON;
  }
  return (int)json_integer_value(json_object_get(j, "StatusCode"));
}

static int start_one(struct client *c, const char *id, struct berr *err)
{
  _cleanup_free_ char *path = NULL;
  _cleanup_free_ char *esc = url_escape(id);
  if (asprintf(&path, "/containers/%s/start", esc) < 0)
    return berr_errno(err, "start");
  struct http_resp resp;
  int r = http_do(c, "POST", path, NULL, &resp, err);
  http_resp_free(&resp);
  return r;
}

static int create_request(struct client *c, const char *name, const char *platform, json_t *body,
                          char **id, struct berr *err)
{
  struct query q = {0};
  if (name)
    query_add(&q, "name", name);
  if (platform)
    query_add(&q, "platform", platform);
  _cleanup_free_ char *path = query_build("/containers/create", &q);
  json_auto_t *resp = NULL;
  int r = http_json(c, "POST", path, body, &resp, NULL, err);
  if (r < 0)
    return r;
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(resp, "Warnings"), i, w)
  {
    fprintf(stderr, "WARNING: %s\n", json_string_value(w));
  }
  const char *s = json_string_value(json_object_get(resp, "Id"));
  if (!s)
    return berr_set(err, 0, "the daemon's create answer has no Id");
  *id = strdup(s);
  return 0;
}

/* create, pulling the image first when the daemon does not have it (docker's flow). */
static int create_container(struct client *c, struct run_opts *o, json_t *body, char **id,
                            struct berr *err)
{
  int r = create_request(c, o->name, o->platform, body, id, err);
  if (r != HTTP_EDAEMON || !strstr(err->msg, "No such image"))
    return r;
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  struct berr perr = {0};
  if (ref_normalize(o->image, &repo, &tag, &digest, &perr) < 0)
    return r;
  _cleanup_free_ char *fam = ref_familiar(repo);
  fprintf(stderr, "Unable to find image '%s%s%s' locally\n", fam, tag ? ":" : "@",
          tag ? tag : digest);
  r = image_pull(c, o->image, o->platform, false, stderr, err);
  if (r < 0)
    return r;
  return create_request(c, o->name, o->platform, body, id, err);
}

int cmd_create(struct client *c, int argc, char **argv)
{
  struct run_opts o;
  run_opts_init(&o);
  int r = run_opts_parse(&o, argc, argv, false, create_usage);
  if (r) {
    run_opts_free(&o);
    return r < 0 ? 0 : r;
  }
  struct berr err = {0};
  int rows = 0, cols = 0;
  if (o.tty)
    session_console_size(&rows, &cols);
  json_auto_t *body = NULL;
  _cleanup_free_ char *id = NULL;
  r = run_opts_body(&o, rows, cols, &body, &err);
  if (r >= 0)
    r = create_container(c, &o, body, &id, &err);
  run_opts_free(&o);
  if (r < 0) {
    run_error("create", &err);
    return 125;
  }
  printf("%s\n", id);
  return 0;
}

struct attached {
  struct client *c;
  const char *id;
  bool tty, stdin_, sig_proxy;
  const char *detach_keys;
};

static int run_session(struct attached *a, int fd, struct raw_resp *attach_resp, bool resize,
                       bool *detached, struct berr *err)
{
  _cleanup_free_ char *resize_path = NULL, *kill_path = NULL;
  if (asprintf(&resize_path, "/containers/%s/resize", a->id) < 0 ||
      asprintf(&kill_path, "/containers/%s/kill", a->id) < 0)
    return berr_errno(err, "session");
  if (a->tty && resize)
    session_resize(a->c, resize_path);
  struct session s = {.c = a->c,
                      .fd = fd,
                      .extra = attach_resp->extra,
                      .extra_len = attach_resp->extra_len,
                      .tty = a->tty,
                      .attach_stdin = a->stdin_,
                      .detach_keys = a->detach_keys,
                      .resize_path = a->tty ? resize_path : NULL,
                      .kill_path = a->sig_proxy ? kill_path : NULL};
  int r = session_run(&s, err);
  *detached = s.detached;
  return r;
}

static char *attach_path(const char *id, bool with_stdin, const char *detach_keys)
{
  struct query q = {0};
  if (detach_keys)
    query_add(&q, "detachKeys", detach_keys);
  query_add(&q, "stderr", "1");
  if (with_stdin)
    query_add(&q, "stdin", "1");
  query_add(&q, "stdout", "1");
  query_add(&q, "stream", "1");
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "/containers/%s/attach", id) < 0)
    return NULL;
  return query_build(base, &q);
}

static int attach_open(struct client *c, const char *id, bool with_stdin, const char *detach_keys,
                       struct raw_resp *resp, struct berr *err)
{
  _cleanup_free_ char *path = attach_path(id, with_stdin, detach_keys);
  if (!path)
    return berr_errno(err, "attach");
  return raw_request(c, "POST", path, NULL, true, resp, err);
}

/* Docker's order, attach then wait, both answered before start is sent; but both requests
 * go out before either answer is read, which saves a round trip to the daemon. With
 * attach false only wait is opened. On success *afd (when attaching) and *wfd are open
 * with their headers read; on failure neither is. */
static int attach_and_wait_open(struct client *c, const char *id, bool attach, bool with_stdin,
                                const char *detach_keys, const char *condition, int *afd,
                                struct raw_resp *aresp, int *wfd, struct raw_resp *wresp,
                                struct berr *err)
{
  _cleanup_free_ char *apath = attach ? attach_path(id, with_stdin, detach_keys) : NULL;
  _cleanup_free_ char *wpath = wait_path(id, condition);
  if ((attach && !apath) || !wpath)
    return berr_errno(err, "attach");
  memset(aresp, 0, sizeof(*aresp));
  memset(wresp, 0, sizeof(*wresp));
  _cleanup_close_ int a = -1;
  if (attach && (a = raw_send(c, "POST", apath, NULL, true, err)) < 0)
    return a;
  _cleanup_close_ int w = raw_send(c, "POST", wpath, NULL, false, err);
  if (w < 0)
    return w;
  int r = attach ? raw_recv(a, apath, true, aresp, err) : 0;
  if (r == 0)
    r = raw_recv(w, wpath, false, wresp, err);
  if (r < 0) {
    raw_resp_free(aresp);
    raw_resp_free(wresp);
    return r;
  }
  *afd = steal_fd(&a);
  *wfd = steal_fd(&w);
  return 0;
}

/* A run whose start failed (no such command, ...) leaves nothing behind: the container
 * it created goes, with its anonymous volumes. docker run leaves it "Created"; a container
 * that never ran is of no use, and `berth create` + `berth start` still keep theirs. */
static void remove_unstarted(struct client *c, const char *id)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/containers/%s?force=1&v=1", id) < 0)
    return;
  struct http_resp resp;
  struct berr ignored = {0};
  http_do(c, "DELETE", path, NULL, &resp, &ignored);
  http_resp_free(&resp);
}

int cmd_run(struct client *c, int argc, char **argv)
{
  struct run_opts o;
  run_opts_init(&o);
  int r = run_opts_parse(&o, argc, argv, true, run_usage);
  if (r) {
    run_opts_free(&o);
    return r < 0 ? 0 : r;
  }
  struct berr err = {0};
  if (bad_detach_keys(o.detach_keys)) {
    run_opts_free(&o);
    return 125;
  }
  if (o.tty && o.interactive && !o.detach && !isatty(STDIN_FILENO)) {
    fprintf(stderr, "the input device is not a TTY\n");
    run_opts_free(&o);
    return 1;
  }
  int rows = 0, cols = 0;
  if (o.tty)
    session_console_size(&rows, &cols);
  json_auto_t *body = NULL;
  _cleanup_free_ char *id = NULL;
  r = run_opts_body(&o, rows, cols, &body, &err);
  if (r >= 0)
    r = create_container(c, &o, body, &id, &err);
  if (r < 0) {
    run_opts_free(&o);
    run_error("run", &err);
    return 125;
  }
  const char *cond = o.rm ? "removed" : "next-exit";
  struct raw_resp wresp, aresp = {0};
  _cleanup_close_ int afd = -1;
  _cleanup_close_ int wfd = -1;
  struct attached a = {.c = c,
                       .id = id,
                       .tty = o.tty,
                       .stdin_ = o.interactive,
                       .detach_keys = o.detach_keys,
                       .sig_proxy = o.sig_proxy && !o.tty};
  run_opts_free(&o);
  bool detach = !json_is_true(json_object_get(body, "AttachStdout"));
  if (!detach)
    session_block_signals(a.tty, a.sig_proxy);
  if (attach_and_wait_open(c, id, !detach, a.stdin_, a.detach_keys, cond, &afd, &aresp, &wfd,
                           &wresp, &err) < 0) {
    run_error("run", &err);
    return 125;
  }
  if (!detach && a.tty && a.stdin_)
    session_raw_terminal();
  r = start_one(c, id, &err);
  if (r < 0) {
    session_restore_terminal();
    int code = start_error_code(err.msg);
    run_error("run", &err);
    if (json_is_true(json_object_get(json_object_get(body, "HostConfig"), "AutoRemove"))) {
      struct berr werr = {0};
      wait_finish(wfd, &wresp, &werr); /* the daemon removes it; wait for that, as docker */
    } else {
      remove_unstarted(c, id);
    }
    raw_resp_free(&aresp);
    raw_resp_free(&wresp);
    return code;
  }
  if (detach) {
    printf("%s\n", id);
    raw_resp_free(&wresp);
    return 0;
  }
  bool detached = false;
  r = run_session(&a, afd, &aresp, true, &detached, &err);
  session_restore_terminal();
  raw_resp_free(&aresp);
  if (r < 0) {
    raw_resp_free(&wresp);
    return cli_fail(&err), 125;
  }
  if (detached) {
    raw_resp_free(&wresp);
    return 0;
  }
  int status = wait_finish(wfd, &wresp, &err);
  raw_resp_free(&wresp);
  if (status < 0) {
    run_error("run", &err);
    return 125;
  }
  return status;
}

static const char start_usage[] =
    "Usage:  berth start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Start one or more stopped containers\n\nOptions:\n"
    "  -a, --attach               Attach STDOUT/STDERR and forward signals\n"
    "      --detach-keys string   Override the key sequence for detaching a container\n"
    "  -i, --interactive          Attach container's STDIN\n";

/* GET /containers/{id}/json */
static int inspect_container(struct client *c, const char *name, json_t **out, struct berr *err)
{
  _cleanup_free_ char *esc = url_escape(name);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/containers/%s/json", esc) < 0)
    return berr_errno(err, "inspect");
  return http_json(c, "GET", path, NULL, out, NULL, err);
}

static int start_attached(struct client *c, const char *name, bool interactive,
                          const char *detach_keys)
{
  struct berr err = {0};
  json_auto_t *info = NULL;
  int r = inspect_container(c, name, &info, &err);
  if (r < 0)
    return cli_fail(&err);
  json_t *cfg = json_object_get(info, "Config");
  const char *id = json_string_value(json_object_get(info, "Id"));
  struct attached a = {.c = c,
                       .id = id,
                       .tty = json_is_true(json_object_get(cfg, "Tty")),
                       .stdin_ = interactive && json_is_true(json_object_get(cfg, "OpenStdin")),
                       .detach_keys = detach_keys};
  a.sig_proxy = !a.tty;
  bool autorm = json_is_true(json_object_get(json_object_get(info, "HostConfig"), "AutoRemove"));
  struct raw_resp aresp, wresp;
  session_block_signals(a.tty, a.sig_proxy);
  _cleanup_close_ int afd = -1, wfd = -1;
  if (attach_and_wait_open(c, id, true, a.stdin_, a.detach_keys, autorm ? "removed" : "next-exit",
                           &afd, &aresp, &wfd, &wresp, &err) < 0)
    return cli_fail(&err);
  if (a.tty && a.stdin_)
    session_raw_terminal();
  r = start_one(c, id, &err);
  if (r < 0) {
    session_restore_terminal();
    raw_resp_free(&aresp);
    raw_resp_free(&wresp);
    return cli_fail(&err);
  }
  bool detached = false;
  r = run_session(&a, afd, &aresp, true, &detached, &err);
  session_restore_terminal();
  raw_resp_free(&aresp);
  if (r < 0 || detached) {
    raw_resp_free(&wresp);
    return r < 0 ? cli_fail(&err) : 0;
  }
  int status = wait_finish(wfd, &wresp, &err);
  raw_resp_free(&wresp);
  if (status < 0)
    return cli_fail(&err);
  return status;
}

int cmd_start(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"attach", no_argument, NULL, 'a'},
                                           {"interactive", no_argument, NULL, 'i'},
                                           {"detach-keys", required_argument, NULL, 'K'},
                                           {"help", no_argument, NULL, 0x7ffe},
                                           {0}};
  bool attach = false, interactive = false;
  const char *detach_keys = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "ai", longopts, "start", start_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      attach = true;
    else if (o == 'i')
      interactive = true;
    else if (o == 'K')
      detach_keys = optarg;
  }
  if (optind >= argc)
    return cli_args_error("start", start_usage, "requires at least 1 argument");
  if (bad_detach_keys(detach_keys))
    return 1;
  if (attach || interactive) {
    if (argc - optind > 1) {
      fprintf(stderr, "Error: you cannot start and attach multiple containers at once\n");
      return 1;
    }
    return start_attached(c, argv[optind], interactive, detach_keys);
  }
  _cleanup_free_ char *failed = NULL;
  for (int i = optind; i < argc; i++) {
    struct berr err = {0};
    if (start_one(c, argv[i], &err) < 0) {
      cli_print_error(&err);
      if (err.code == EHOSTDOWN)
        return 1;
      char *n = NULL;
      if (asprintf(&n, "%s%s%s", failed ? failed : "", failed ? ", " : "", argv[i]) >= 0) {
        free(failed);
        failed = n;
      }
      continue;
    }
    printf("%s\n", argv[i]);
  }
  if (failed) {
    fprintf(stderr, "Error: failed to start containers: %s\n", failed);
    return 1;
  }
  return 0;
}

static const char attach_usage[] =
    "Usage:  berth attach [OPTIONS] CONTAINER\n\n"
    "Attach local standard input, output, and error streams to a running container\n\n"
    "Options:\n"
    "      --detach-keys string   Override the key sequence for detaching a container\n"
    "      --no-stdin             Do not attach STDIN\n"
    "      --sig-proxy            Proxy all received signals to the process (default true)\n";

int cmd_attach(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"no-stdin", no_argument, NULL, 'n'},
                                           {"sig-proxy", optional_argument, NULL, 's'},
                                           {"detach-keys", required_argument, NULL, 'K'},
                                           {"help", no_argument, NULL, 0x7ffe},
                                           {0}};
  bool no_stdin = false, sig_proxy = true;
  const char *detach_keys = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "attach", attach_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'n')
      no_stdin = true;
    else if (o == 's')
      sig_proxy = !optarg || strcmp(optarg, "false") != 0;
    else if (o == 'K')
      detach_keys = optarg;
  }
  if (argc - optind != 1)
    return cli_args_error("attach", attach_usage, "requires exactly 1 argument");
  if (bad_detach_keys(detach_keys))
    return 1;
  const char *name = argv[optind];
  struct berr err = {0};
  /* docker sends the wait first, with no condition */
  struct raw_resp wresp, aresp;
  _cleanup_free_ char *esc = url_escape(name);
  _cleanup_close_ int wfd = wait_open(c, esc, NULL, &wresp, &err);
  if (wfd < 0)
    return cli_fail(&err);
  json_auto_t *info = NULL;
  if (inspect_container(c, name, &info, &err) < 0) {
    raw_resp_free(&wresp);
    return cli_fail(&err);
  }
  json_t *st = json_object_get(info, "State");
  if (!json_is_true(json_object_get(st, "Running"))) {
    raw_resp_free(&wresp);
    fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
    return 1;
  }
  if (json_is_true(json_object_get(st, "Paused"))) {
    raw_resp_free(&wresp);
    fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
    return 1;
  }
  json_t *cfg = json_object_get(info, "Config");
  struct attached a = {.c = c,
                       .id = esc,
                       .tty = json_is_true(json_object_get(cfg, "Tty")),
                       .stdin_ = !no_stdin && json_is_true(json_object_get(cfg, "OpenStdin")),
                       .detach_keys = detach_keys};
  a.sig_proxy = sig_proxy && !a.tty;
  session_block_signals(a.tty, a.sig_proxy);
  _cleanup_close_ int afd = attach_open(c, esc, a.stdin_, a.detach_keys, &aresp, &err);
  if (afd < 0) {
    raw_resp_free(&wresp);
    return cli_fail(&err);
  }
  /* docker inspects again once attached */
  json_auto_t *info2 = NULL;
  if (inspect_container(c, name, &info2, &err) < 0) {
    raw_resp_free(&wresp);
    raw_resp_free(&aresp);
    return cli_fail(&err);
  }
  if (a.tty && a.stdin_)
    session_raw_terminal();
  bool detached = false;
  int r = run_session(&a, afd, &aresp, true, &detached, &err);
  session_restore_terminal();
  raw_resp_free(&aresp);
  if (r < 0 || detached) {
    raw_resp_free(&wresp);
    return r < 0 ? cli_fail(&err) : 0;
  }
  int status = wait_finish(wfd, &wresp, &err);
  raw_resp_free(&wresp);
  return status < 0 ? cli_fail(&err) : status;
}

static const char exec_usage[] =
    "Usage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
    "Execute a command in a running container\n\nOptions:\n"
    "  -d, --detach               Detached mode: run command in the background\n"
    "      --detach-keys string   Override the key sequence for detaching a container\n"
    "  -e, --env list             Set environment variables\n"
    "      --env-file list        Read in a file of environment variables\n"
    "  -i, --interactive          Keep STDIN open even if not attached\n"
    "      --privileged           Give extended privileges to the command\n"
    "  -t, --tty                  Allocate a pseudo-TTY\n"
    "  -u, --user string          Username or UID (format: \"<name|uid>[:<group|gid>]\")\n"
    "  -w, --workdir string       Working directory inside the container\n";

int cmd_exec(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"detach", no_argument, NULL, 'd'},     {"interactive", no_argument, NULL, 'i'},
      {"tty", no_argument, NULL, 't'},        {"env", required_argument, NULL, 'e'},
      {"user", required_argument, NULL, 'u'}, {"workdir", required_argument, NULL, 'w'},
      {"privileged", no_argument, NULL, 'P'}, {"detach-keys", required_argument, NULL, 'K'},
      {"help", no_argument, NULL, 0x7ffe},    {0}};
  bool detach = false, interactive = false, tty = false, privileged = false;
  const char *user = "", *workdir = "", *detach_keys = NULL;
  json_auto_t *env = json_array();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "+dite:u:w:", longopts, "exec", exec_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    switch (o) {
    case 'd':
      detach = true;
      break;
    case 'i':
      interactive = true;
      break;
    case 't':
      tty = true;
      break;
    case 'e':
      json_array_append_new(env, json_string(optarg));
      break;
    case 'u':
      user = optarg;
      break;
    case 'w':
      workdir = optarg;
      break;
    case 'P':
      privileged = true;
      break;
    case 'K':
      detach_keys = optarg;
      break;
    }
  }
  if (argc - optind < 2)
    return cli_args_error("exec", exec_usage, "requires at least 2 arguments");
  if (bad_detach_keys(detach_keys))
    return 1;
  if (tty && interactive && !detach && !isatty(STDIN_FILENO)) {
    fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  const char *name = argv[optind];
  struct berr err = {0};
  json_auto_t *info = NULL;
  if (inspect_container(c, name, &info, &err) < 0)
    return cli_fail(&err);
  int rows = 0, cols = 0;
  if (tty)
    session_console_size(&rows, &cols);
  json_auto_t *body = json_object();
  json_object_set_new(body, "User", json_string(user));
  json_object_set_new(body, "Privileged", json_boolean(privileged));
  json_object_set_new(body, "Tty", json_boolean(tty));
  if (tty && rows)
    json_object_set_new(body, "ConsoleSize", json_pack("[i,i]", rows, cols));
  json_object_set_new(body, "AttachStdin", json_boolean(interactive && !detach));
  json_object_set_new(body, "AttachStderr", json_boolean(!detach));
  json_object_set_new(body, "AttachStdout", json_boolean(!detach));
  json_object_set_new(body, "Detach", json_boolean(detach));
  json_object_set_new(body, "DetachKeys", json_string(detach_keys ? detach_keys : ""));
  json_object_set_new(body, "Env", json_array_size(env) ? json_incref(env) : json_null());
  json_object_set_new(body, "WorkingDir", json_string(workdir));
  json_t *cmd = json_array();
  for (int i = optind + 1; i < argc; i++)
    json_array_append_new(cmd, json_string(argv[i]));
  json_object_set_new(body, "Cmd", cmd);
  _cleanup_free_ char *esc = url_escape(name);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/containers/%s/exec", esc) < 0)
    return 1;
  json_auto_t *created = NULL;
  if (http_json(c, "POST", path, body, &created, NULL, &err) < 0)
    return cli_fail(&err);
  const char *eid = json_string_value(json_object_get(created, "Id"));
  if (!eid) {
    fprintf(stderr, "the daemon's exec answer has no Id\n");
    return 1;
  }
  _cleanup_free_ char *start_path = NULL, *resize_path = NULL, *inspect_path = NULL;
  if (asprintf(&start_path, "/exec/%s/start", eid) < 0 ||
      asprintf(&resize_path, "/exec/%s/resize", eid) < 0 ||
      asprintf(&inspect_path, "/exec/%s/json", eid) < 0)
    return 1;
  json_auto_t *sbody = json_object();
  json_object_set_new(sbody, "Detach", json_boolean(detach));
  json_object_set_new(sbody, "Tty", json_boolean(tty));
  if (tty && rows)
    json_object_set_new(sbody, "ConsoleSize", json_pack("[i,i]", rows, cols));
  if (detach) {
    struct http_resp resp;
    int r = http_do(c, "POST", start_path, sbody, &resp, &err);
    http_resp_free(&resp);
    return r < 0 ? cli_fail(&err) : 0;
  }
  _cleanup_free_ char *sdump = json_dumps(sbody, JSON_COMPACT);
  _cleanup_free_ char *stext = NULL;
  if (asprintf(&stext, "%s\n", sdump) < 0)
    return 1;
  struct raw_resp aresp;
  session_block_signals(tty, false);
  _cleanup_close_ int fd = raw_request(c, "POST", start_path, stext, true, &aresp, &err);
  if (fd < 0)
    return cli_fail(&err);
  if (tty && interactive)
    session_raw_terminal();
  if (tty)
    session_resize(c, resize_path);
  struct session s = {.c = c,
                      .fd = fd,
                      .extra = aresp.extra,
                      .extra_len = aresp.extra_len,
                      .tty = tty,
                      .attach_stdin = interactive,
                      .detach_keys = detach_keys,
                      .resize_path = tty ? resize_path : NULL};
  int r = session_run(&s, &err);
  session_restore_terminal();
  raw_resp_free(&aresp);
  if (r < 0)
    return cli_fail(&err);
  if (s.detached)
    return 0;
  json_auto_t *ei = NULL;
  if (http_json(c, "GET", inspect_path, NULL, &ei, NULL, &err) < 0)
    return cli_fail(&err);
  return (int)json_integer_value(json_object_get(ei, "ExitCode"));
}
