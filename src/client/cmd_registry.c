/* Registry commands: push, login and logout. Credentials go to the daemon in the
 * X-Registry-Auth header (pull, push) or the /auth body (login) and are kept by
 * credentials.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "credentials.h"

static const char push_usage[] = "Usage:  berth push [OPTIONS] NAME[:TAG]\n\n"
                                 "Upload an image to a registry\n\nOptions:\n"
                                 "  -a, --all-tags   Push all tags of an image to the repository\n"
                                 "  -q, --quiet      Suppress verbose output\n";

int cmd_push(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"all-tags", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'}, HELP_OPT, {0}};
  bool all = false, quiet = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "aq", longopts, "push", push_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      all = true;
    else if (o == 'q')
      quiet = true;
  }
  if (argc - optind != 1)
    return cli_args_error("push", push_usage, "requires 1 argument");
  const char *name = argv[optind];
  struct berr err = {0};
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (ref_normalize(name, &repo, &tag, &digest, &err) < 0)
    return cli_fail(&err);
  const char *last = strrchr(name, '/');
  bool has_tag = strchr(last ? last : name, ':') != NULL;
  if (all && has_tag)
    return cli_usage_error("push", "tag can't be used with --all-tags/-a");
  if (!all && !has_tag && !digest && !quiet)
    printf("Using default tag: latest\n");
  struct query q = {0};
  if (!all)
    query_add(&q, "tag", tag ? tag : "latest");
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "/images/%s/push", repo) < 0)
    return 1;
  _cleanup_free_ char *path = query_build(base, &q);
  _cleanup_free_ char *domain = cred_image_domain(name);
  _cleanup_free_ char *key = domain ? cred_server_key(domain) : NULL;
  _cleanup_free_ char *auth = key ? cred_header(key) : NULL;
  FILE *out = stdout, *devnull = NULL;
  if (quiet)
    out = devnull = fopen("/dev/null", "we");
  struct jsonstream js = {.out = out ? out : stdout, .tty = !quiet && isatty(STDOUT_FILENO)};
  struct http_resp resp;
  c->extra_header = auth;
  int r = http_stream(c, "POST", path, NULL, NULL, jsonstream_sink, &js, &resp, &err);
  c->extra_header = NULL;
  if (js.len)
    jsonstream_sink(&js, "\n", 1);
  http_resp_free(&resp);
  if (devnull)
    fclose(devnull);
  if (r < 0) {
    jsonstream_free(&js);
    return cli_fail(&err);
  }
  if (js.failed) {
    err = js.err;
    jsonstream_free(&js);
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  jsonstream_free(&js);
  if (quiet)
    printf("%s%s%s\n", name, has_tag || all ? "" : ":", has_tag || all ? "" : "latest");
  return 0;
}

static const char login_usage[] =
    "Usage:  berth login [OPTIONS] [SERVER]\n\n"
    "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.\n\n"
    "Options:\n"
    "  -p, --password string   Password or Personal Access Token (PAT)\n"
    "      --password-stdin    Take the Password or Personal Access Token (PAT) from stdin\n"
    "  -u, --username string   Username\n";

static char *read_line(FILE *f, bool echo)
{
  struct termios old, now;
  bool tty = isatty(fileno(f)) && !echo && tcgetattr(fileno(f), &old) == 0;
  if (tty) {
    now = old;
    now.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(f), TCSANOW, &now);
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, f);
  if (tty) {
    tcsetattr(fileno(f), TCSANOW, &old);
    fputc('\n', stderr);
  }
  if (n < 0) {
    free(line);
    return NULL;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

int cmd_login(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"username", required_argument, NULL, 'u'},
                                           {"password", required_argument, NULL, 'p'},
                                           {"password-stdin", no_argument, NULL, 'S'},
                                           HELP_OPT,
                                           {0}};
  _cleanup_free_ char *user = NULL, *pass = NULL;
  bool from_stdin = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "u:p:", longopts, "login", login_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'u') {
      free(user);
      user = strdup(optarg);
    } else if (o == 'p') {
      free(pass);
      pass = strdup(optarg);
    } else if (o == 'S') {
      from_stdin = true;
    }
  }
  if (argc - optind > 1)
    return cli_args_error("login", login_usage, "requires at most 1 argument");
  const char *server = argc - optind == 1 ? argv[optind] : NULL;
  if (pass && from_stdin) {
    fprintf(stderr, "--password and --password-stdin are mutually exclusive\n");
    return 1;
  }
  if (from_stdin) {
    if (!user) {
      fprintf(stderr, "Must provide --username with --password-stdin\n");
      return 1;
    }
    pass = read_line(stdin, true);
    if (!pass)
      pass = strdup("");
  } else if (pass) {
    fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  if (!user || !pass) {
    if (!isatty(STDIN_FILENO)) {
      fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
      return 1;
    }
    if (!user) {
      fprintf(stderr, "Username: ");
      user = read_line(stdin, true);
    }
    if (!pass) {
      fprintf(stderr, "Password: ");
      pass = read_line(stdin, false);
    }
    if (!user || !*user) {
      fprintf(stderr, "Error: Non-null Username Required\n");
      return 1;
    }
    if (!pass || !*pass) {
      fprintf(stderr, "Error: Password Required\n");
      return 1;
    }
  }
  _cleanup_free_ char *key = cred_server_key(server);
  json_auto_t *body = json_pack("{s:s, s:s, s:s}", "username", user, "password", pass,
                                "serveraddress", key ? key : "");
  struct berr err = {0};
  json_auto_t *out = NULL;
  long status = 0;
  if (http_json(c, "POST", "/auth", body, &out, &status, &err) < 0)
    return cli_fail(&err);
  if (cred_store(key, user, pass, &err) < 0)
    return cli_fail(&err);
  printf("Login Succeeded\n");
  return 0;
}

static const char logout_usage[] =
    "Usage:  berth logout [SERVER]\n\n"
    "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.\n";

int cmd_logout(struct client *c, int argc, char **argv)
{
  (void)c;
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "logout", logout_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (argc - optind > 1)
    return cli_args_error("logout", logout_usage, "requires at most 1 argument");
  _cleanup_free_ char *key = cred_server_key(argc - optind == 1 ? argv[optind] : NULL);
  struct berr err = {0};
  int r = cred_erase(key, &err);
  if (r < 0)
    return cli_fail(&err);
  if (r == 0) {
    printf("Not logged in to %s\n", key);
    return 0;
  }
  printf("Removing login credentials for %s\n", key);
  return 0;
}
