/* docker inspect's output, the loop of the typed inspect commands and the plain ones whole. */
#include "inspect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "format.h"
#include "http.h"
#include "template.h"

/* Print the collected objects as docker does: an indented JSON array, or one template
 * rendering per object. */
int inspect_print(json_t *items, const char *format)
{
  if (!format || !*format || strcmp(format, "json") == 0) {
    if (json_array_size(items) == 0)
      printf("[]\n");
    else
      print_json_indented(stdout, items);
    return 0;
  }
  struct berr err = {0};
  _cleanup_tmpl_ struct tmpl *t = NULL;
  char *fmt = strdup(format);
  /* \t and \n in a --format value mean tab and newline, as in docker */
  for (char *p = fmt, *q = fmt;; p++) {
    if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
      *q++ = p[1] == 't' ? '\t' : '\n';
      p++;
    } else {
      *q++ = *p;
      if (!*p)
        break;
    }
  }
  int r = tmpl_parse(fmt, &t, &err);
  free(fmt);
  if (r < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it)
  {
    if (tmpl_render(t, it, NULL, stdout, &err) < 0) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
    fputc('\n', stdout);
  }
  return 0;
}

int inspect_objects(struct client *c, char **names, int n, const char *prefix, const char *suffix,
                    bool escape, const char *noun, const char *format)
{
  json_auto_t *items = json_array();
  int rc = 0;
  for (int i = 0; i < n; i++) {
    _cleanup_free_ char *esc = escape ? url_escape(names[i]) : strdup(names[i]);
    _cleanup_free_ char *path = NULL;
    if (!esc || asprintf(&path, "%s%s%s", prefix, esc, suffix) < 0)
      return 1;
    json_t *j = NULL;
    struct berr err = {0};
    long status = 0;
    if (http_json(c, "GET", path, NULL, &j, &status, &err) < 0) {
      if (err.code == EHOSTDOWN)
        return cli_fail(&err);
      rc = 1;
      if (status == 404)
        fprintf(stderr, "Error: No such %s: %s\n", noun, names[i]);
      else
        cli_print_error(&err);
      continue;
    }
    json_array_append_new(items, j);
  }
  int r = inspect_print(items, format);
  return rc ? rc : r;
}

int inspect_command(struct client *c, int argc, char **argv, const struct inspect_kind *kind)
{
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'}, HELP_OPT, {0}};
  const char *format = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:", longopts, kind->cmd, kind->usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      format = optarg;
  }
  if (optind >= argc)
    return cli_args_error(kind->cmd, kind->usage, "requires at least 1 argument");
  return inspect_objects(c, argv + optind, argc - optind, kind->prefix, kind->suffix, kind->escape,
                         kind->noun, format);
}
