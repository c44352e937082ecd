/* Shared CLI plumbing: error reporting as docker prints it, option-parsing errors,
 * reference normalization and JSON-message stream rendering. */
#include "cli.h"
#include "credentials.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "template.h"
#include "xalloc.h"

void cli_print_error(struct berr *err)
{
  if (err->code == EPROTO)
    fprintf(stderr, "Error response from daemon: %s\n", err->msg);
  else
    fprintf(stderr, "%s\n", err->msg);
}

int cli_fail(struct berr *err)
{
  cli_print_error(err);
  return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nSee 'berth %s --help'.\n", cmd);
  return 125;
}

int cli_args_error(const char *cmd, const char *usage, const char *requirement)
{
  /* the usage line is the first line of the help text */
  size_t l = strcspn(usage, "\n");
  fprintf(stderr, "\"berth %s\" %s.\nSee 'berth %s --help'.\n\n%.*s\n", cmd, requirement, cmd,
          (int)l, usage);
  return 1;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd, const char *usage)
{
  opterr = 0;
  int idx = 0;
  int o = getopt_long(argc, argv, shortopts, longopts, &idx);
  if (o == '?') {
    const char *arg = argv[optind - 1];
    if (optopt && optopt < 256 && !strchr(shortopts, optopt))
      cli_usage_error(cmd, "unknown shorthand flag: '%c' in %s", optopt, arg);
    else if (optopt)
      cli_usage_error(cmd, "flag needs an argument: %s", arg);
    else
      cli_usage_error(cmd, "unknown flag: %s", arg);
    return -2;
  }
  if (o == ':') {
    cli_usage_error(cmd, "flag needs an argument: %s", argv[optind - 1]);
    return -2;
  }
  if (o == 0x7ffe) { /* --help */
    fputs(usage, stdout);
    return -3;
  }
  return o;
}

static bool is_domain(const char *s, size_t n)
{
  if (n == 9 && strncmp(s, "localhost", 9) == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '.' || s[i] == ':')
      return true;
  /* moby also takes any component with an upper-case letter as a domain */
  for (size_t i = 0; i < n; i++)
    if (isupper((unsigned char)s[i]))
      return true;
  return false;
}

int ref_normalize(const char *in, char **repo, char **tag, char **digest, struct berr *err)
{
  *repo = *tag = NULL;
  if (digest)
    *digest = NULL;
  if (!*in)
    return berr_set(err, 0, "invalid reference format");
  _cleanup_free_ char *s = strdup(in);
  char *at = strchr(s, '@');
  if (at) {
    *at = 0;
    if (digest)
      *digest = strdup(at + 1);
  }
  char *slash = strrchr(s, '/');
  char *colon = strrchr(s, ':');
  if (colon && (!slash || colon > slash)) {
    *colon = 0;
    if (!at)
      *tag = strdup(colon + 1);
  } else if (!at) {
    *tag = strdup("latest");
  }
  for (char *p = s; *p; p++)
    if (isupper((unsigned char)*p) && (!strchr(s, '/') || p > strchr(s, '/')))
      return berr_set(err, 0, "invalid reference format: repository name (%s) must be lowercase",
                      s);
  const char *first_slash = strchr(s, '/');
  if (first_slash && is_domain(s, (size_t)(first_slash - s)))
    *repo = strdup(s);
  else if (asprintf(repo, first_slash ? "docker.io/%s" : "docker.io/library/%s", s) < 0)
    return berr_errno(err, "reference");
  return 0;
}

int ref_tag_query(struct query *q, const char *ref, struct berr *err)
{
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  int r = ref_normalize(ref, &repo, &tag, &digest, err);
  if (r < 0)
    return r;
  if (digest)
    return berr_set(err, 0, "refusing to create a tag with a digest reference");
  query_add(q, "repo", repo);
  query_add(q, "tag", tag);
  return 0;
}

/* GCC 12 with -fsanitize wrongly sizes the text after a strncmp-tested prefix as 0 bytes
 * (stringop-overread false positive); the strings here are NUL-terminated. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
char *ref_familiar(const char *name)
{
  if (strncmp(name, "docker.io/library/", 18) == 0 && !strchr(name + 18, '/'))
    return strdup(name + 18);
  if (strncmp(name, "docker.io/", 10) == 0)
    return strdup(name + 10);
  return strdup(name);
}
#pragma GCC diagnostic pop

static void jsonstream_tty_line(struct jsonstream *js, json_t *m);

static void jsonstream_line(struct jsonstream *js, const char *line, size_t len)
{
  json_auto_t *m = json_loadb(line, len, 0, NULL);
  if (!m)
    return;
  json_t *ed = json_object_get(m, "errorDetail");
  if (ed) {
    const char *msg = json_string_value(json_object_get(ed, "message"));
    berr_set(&js->err, 0, "%s", msg ? msg : "unknown error");
    js->err.code = EPROTO;
    js->code = (int)json_integer_value(json_object_get(ed, "code"));
    js->failed = true;
    return;
  }
  const char *stream = json_string_value(json_object_get(m, "stream"));
  if (stream) {
    fputs(stream, js->out);
    fflush(js->out);
    return;
  }
  if (js->tty) {
    jsonstream_tty_line(js, m);
    return;
  }
  const char *status = json_string_value(json_object_get(m, "status"));
  if (!status)
    return;
  /* non-TTY: progress updates with numbers are skipped, as docker's jsonmessage does */
  json_t *pd = json_object_get(m, "progressDetail");
  if (pd && (json_integer_value(json_object_get(pd, "current")) > 0 ||
             json_integer_value(json_object_get(pd, "total")) > 0))
    return;
  const char *id = json_string_value(json_object_get(m, "id"));
  if (id && *id)
    fprintf(js->out, "%s: ", id);
  fprintf(js->out, "%s\n", status);
  fflush(js->out);
}

/* Terminal rendering: each layer id keeps its line, rewritten in place (cursor up, clear,
 * write, cursor back down), like docker's jsonmessage on a TTY. */
static void jsonstream_tty_line(struct jsonstream *js, json_t *m)
{
  const char *status = json_string_value(json_object_get(m, "status"));
  const char *id = json_string_value(json_object_get(m, "id"));
  const char *progress = json_string_value(json_object_get(m, "progress"));
  if (!status)
    return;
  if (!id || !*id) {
    fprintf(js->out, "%s\n", status);
    js->lines++;
    fflush(js->out);
    return;
  }
  size_t i = 0;
  for (; i < js->nids; i++)
    if (!strcmp(js->ids[i], id))
      break;
  if (i == js->nids) {
    js->ids = xrealloc(js->ids, (js->nids + 1) * sizeof(char *));
    js->id_line = xrealloc(js->id_line, (js->nids + 1) * sizeof(int));
    js->ids[i] = xstrdup(id);
    js->id_line[i] = js->lines;
    js->nids++;
    fprintf(js->out, "%s: %s%s%s\n", id, status, progress ? " " : "", progress ? progress : "");
    js->lines++;
  } else {
    int up = js->lines - js->id_line[i];
    fprintf(js->out, "\033[%dA\r\033[2K%s: %s%s%s\033[%dB\r", up, id, status, progress ? " " : "",
            progress ? progress : "", up);
  }
  fflush(js->out);
}

void jsonstream_free(struct jsonstream *js)
{
  for (size_t i = 0; i < js->nids; i++)
    free(js->ids[i]);
  free(js->ids);
  free(js->id_line);
  free(js->buf);
  js->ids = NULL;
  js->id_line = NULL;
  js->buf = NULL;
  js->nids = 0;
}

int jsonstream_sink(void *ud, const char *data, size_t len)
{
  struct jsonstream *js = ud;
  js->buf = xrealloc(js->buf, js->len + len + 1);
  memcpy(js->buf + js->len, data, len);
  js->len += len;
  js->buf[js->len] = 0;
  /* objects are separated by \r\n or \n; decode each complete line */
  char *start = js->buf, *nl;
  while ((nl = memchr(start, '\n', js->len - (size_t)(start - js->buf)))) {
    size_t l = (size_t)(nl - start);
    if (l && start[l - 1] == '\r')
      l--;
    if (l)
      jsonstream_line(js, start, l);
    start = nl + 1;
  }
  size_t rest = js->len - (size_t)(start - js->buf);
  memmove(js->buf, start, rest);
  js->len = rest;
  return 0;
}

void print_json_indented(FILE *out, json_t *v)
{
  _cleanup_free_ char *s = json_dumps(v, JSON_INDENT(4) | JSON_ENCODE_ANY);
  if (s)
    fprintf(out, "%s\n", s);
}

int image_pull(struct client *c, const char *image, const char *platform, bool all_tags, FILE *out,
               struct berr *err)
{
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  int r = ref_normalize(image, &repo, &tag, &digest, err);
  if (r < 0)
    return r;
  struct query q = {0};
  query_add(&q, "fromImage", repo);
  if (platform)
    query_add(&q, "platform", platform);
  /* all tags: no tag parameter at all, as the docker CLI sends it */
  if (all_tags)
    ;
  else if (tag)
    query_add(&q, "tag", tag);
  else if (digest)
    query_add(&q, "tag", digest);
  _cleanup_free_ char *path = query_build("/images/create", &q);
  struct jsonstream js = {.out = out, .tty = isatty(fileno(out))};
  struct http_resp resp;
  _cleanup_free_ char *domain = cred_image_domain(image);
  _cleanup_free_ char *key = domain ? cred_server_key(domain) : NULL;
  _cleanup_free_ char *auth = key ? cred_header(key) : NULL;
  c->extra_header = auth;
  r = http_stream(c, "POST", path, NULL, NULL, jsonstream_sink, &js, &resp, err);
  c->extra_header = NULL;
  if (js.len)
    jsonstream_line(&js, js.buf, js.len);
  jsonstream_free(&js);
  http_resp_free(&resp);
  if (r < 0)
    return r;
  if (js.failed) {
    *err = js.err;
    return HTTP_EDAEMON;
  }
  return 0;
}

bool cli_confirm(const char *warning)
{
  fputs(warning, stdout);
  fputs("Are you sure you want to continue? [y/N] ", stdout);
  fflush(stdout);
  char ans[16] = "";
  return fgets(ans, sizeof(ans), stdin) && (ans[0] == 'y' || ans[0] == 'Y');
}
