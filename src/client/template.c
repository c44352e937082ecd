/* A Go text/template subset over JSON values (docker's --format). The tree is parsed once
 * and rendered per row; errors name what was not understood, as Go's would. */
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "xalloc.h"

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };

enum arg_kind { A_FIELD, A_STRING, A_NUMBER, A_FUNC, A_VAR, A_PAREN };

struct pipeline;

struct arg {
  enum arg_kind kind;
  char *name;  /* function or variable name, string literal */
  char **path; /* field path after . or $var */
  size_t npath;
  double number;
  struct pipeline *sub; /* A_PAREN */
};

struct cmd {
  struct arg *args;
  size_t nargs;
};

struct pipeline {
  char *decl[2]; /* $k, $v := */
  size_t ndecl;
  struct cmd *cmds;
  size_t ncmds;
};

struct node {
  enum node_kind kind;
  char *text;
  struct pipeline *pipe;
  struct node *body, *else_body;
  struct node *next;
};

struct tmpl {
  struct node *root;
};

/* ---------- lexing of one action ---------- */

struct lexer {
  const char *p, *end;
};

static void skip_ws(struct lexer *l)
{
  while (l->p < l->end && isspace((unsigned char)*l->p))
    l->p++;
}

static void free_pipeline(struct pipeline *pl);

static void free_arg(struct arg *a)
{
  free(a->name);
  for (size_t i = 0; i < a->npath; i++)
    free(a->path[i]);
  free(a->path);
  if (a->sub)
    free_pipeline(a->sub);
}

static void free_pipeline(struct pipeline *pl)
{
  if (!pl)
    return;
  for (size_t i = 0; i < pl->ncmds; i++) {
    for (size_t j = 0; j < pl->cmds[i].nargs; j++)
      free_arg(&pl->cmds[i].args[j]);
    free(pl->cmds[i].args);
  }
  free(pl->cmds);
  free(pl->decl[0]);
  free(pl->decl[1]);
  free(pl);
}

static void free_nodes(struct node *n)
{
  while (n) {
    struct node *next = n->next;
    free(n->text);
    free_pipeline(n->pipe);
    free_nodes(n->body);
    free_nodes(n->else_body);
    free(n);
    n = next;
  }
}

void tmpl_free(struct tmpl *t)
{
  free_nodes(t->root);
  free(t);
}

/* ---------- which fields a template reads ---------- */

static bool pipe_uses(const struct pipeline *p, const char *name);

static bool arg_uses(const struct arg *a, const char *name)
{
  switch (a->kind) {
  case A_FIELD:
    /* the dot itself hands every field over (json ., a function of .) */
    return a->npath == 0 || strcmp(a->path[0], name) == 0;
  case A_VAR:
    /* $ is the top dot; other variables are declared by range and answered below */
    return strcmp(a->name, "$") != 0 || a->npath == 0 || strcmp(a->path[0], name) == 0;
  case A_PAREN:
    return pipe_uses(a->sub, name);
  default:
    return false;
  }
}

static bool pipe_uses(const struct pipeline *p, const char *name)
{
  for (size_t i = 0; p && i < p->ncmds; i++)
    for (size_t k = 0; k < p->cmds[i].nargs; k++)
      if (arg_uses(&p->cmds[i].args[k], name))
        return true;
  return false;
}

static bool nodes_use(const struct node *n, const char *name)
{
  for (; n; n = n->next) {
    /* inside range and with the dot is something else: count everything as read */
    if (n->kind == N_RANGE || n->kind == N_WITH)
      return true;
    if (pipe_uses(n->pipe, name) || nodes_use(n->body, name) || nodes_use(n->else_body, name))
      return true;
  }
  return false;
}

bool tmpl_uses_field(const struct tmpl *t, const char *name)
{
  return nodes_use(t->root, name);
}

static int parse_path(struct lexer *l, struct arg *a)
{
  /* at '.', read .A.B.C; a lone "." is the dot itself */
  while (l->p < l->end && *l->p == '.') {
    l->p++;
    const char *s = l->p;
    while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '_'))
      l->p++;
    if (l->p == s)
      break;
    a->path = xrealloc(a->path, (a->npath + 1) * sizeof(char *));
    a->path[a->npath++] = strndup(s, (size_t)(l->p - s));
  }
  return 0;
}

static int parse_pipeline(struct lexer *l, struct pipeline **out, bool in_paren, struct berr *err);

static int parse_arg(struct lexer *l, struct arg *a, struct berr *err)
{
  memset(a, 0, sizeof(*a));
  char c = *l->p;
  if (c == '.') {
    a->kind = A_FIELD;
    return parse_path(l, a);
  }
  if (c == '$') {
    const char *s = l->p++;
    while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '_'))
      l->p++;
    a->kind = A_VAR;
    a->name = strndup(s, (size_t)(l->p - s));
    return parse_path(l, a);
  }
  if (c == '"' || c == '`') {
    char q = c;
    l->p++;
    size_t cap = (size_t)(l->end - l->p) + 1, n = 0;
    a->name = malloc(cap);
    while (l->p < l->end && *l->p != q) {
      if (q == '"' && *l->p == '\\' && l->p + 1 < l->end) {
        l->p++;
        char e = *l->p;
        a->name[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        a->name[n++] = *l->p;
      }
      l->p++;
    }
    if (l->p >= l->end)
      return berr_set(err, 0, "template: unterminated quoted string");
    l->p++;
    a->name[n] = 0;
    a->kind = A_STRING;
    return 0;
  }
  if (isdigit((unsigned char)c) || c == '-') {
    char *end;
    a->number = strtod(l->p, &end);
    l->p = end;
    a->kind = A_NUMBER;
    return 0;
  }
  if (c == '(') {
    l->p++;
    a->kind = A_PAREN;
    int r = parse_pipeline(l, &a->sub, true, err);
    if (r < 0)
      return r;
    if (l->p >= l->end || *l->p != ')')
      return berr_set(err, 0, "template: unclosed left paren");
    l->p++;
    return parse_path(l, a);
  }
  if (isalpha((unsigned char)c)) {
    const char *s = l->p;
    while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '_'))
      l->p++;
    a->kind = A_FUNC;
    a->name = strndup(s, (size_t)(l->p - s));
    return 0;
  }
  return berr_set(err, 0, "template: unexpected \"%c\" in command", c);
}

static int parse_pipeline(struct lexer *l, struct pipeline **out, bool in_paren, struct berr *err)
{
  struct pipeline *pl = calloc(1, sizeof(*pl));
  skip_ws(l);
  /* declarations: $a [, $b] := */
  const char *save = l->p;
  if (*l->p == '$') {
    char *names[2] = {NULL, NULL};
    size_t n = 0;
    while (n < 2 && l->p < l->end && *l->p == '$') {
      const char *s = l->p++;
      while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '_'))
        l->p++;
      names[n++] = strndup(s, (size_t)(l->p - s));
      skip_ws(l);
      if (l->p < l->end && *l->p == ',') {
        l->p++;
        skip_ws(l);
      } else {
        break;
      }
    }
    if (l->end - l->p >= 2 && l->p[0] == ':' && l->p[1] == '=') {
      l->p += 2;
      pl->decl[0] = names[0];
      pl->decl[1] = names[1];
      pl->ndecl = n;
    } else {
      free(names[0]);
      free(names[1]);
      l->p = save;
    }
  }
  for (;;) {
    skip_ws(l);
    struct cmd cmd = {0};
    while (l->p < l->end && *l->p != '|' && !(in_paren && *l->p == ')')) {
      cmd.args = xrealloc(cmd.args, (cmd.nargs + 1) * sizeof(struct arg));
      int r = parse_arg(l, &cmd.args[cmd.nargs], err);
      cmd.nargs++;
      if (r < 0) {
        pl->cmds = xrealloc(pl->cmds, (pl->ncmds + 1) * sizeof(struct cmd));
        pl->cmds[pl->ncmds++] = cmd;
        free_pipeline(pl);
        return r;
      }
      skip_ws(l);
    }
    if (cmd.nargs == 0) {
      free(cmd.args);
      free_pipeline(pl);
      return berr_set(err, 0, "template: missing value for command");
    }
    pl->cmds = xrealloc(pl->cmds, (pl->ncmds + 1) * sizeof(struct cmd));
    pl->cmds[pl->ncmds++] = cmd;
    if (l->p < l->end && *l->p == '|') {
      l->p++;
      continue;
    }
    break;
  }
  *out = pl;
  return 0;
}

/* ---------- parsing the template into nodes ---------- */

struct parser {
  const char *src;
  const char *p;
};

/* Returns the keyword that ended this list ("end", "else") through *stop. */
static int parse_list(struct parser *ps, struct node **out, char *stop, size_t stoplen,
                      struct berr *err)
{
  struct node *head = NULL, **tail = &head;
  bool trim_next = false;
  *stop = 0;
  for (;;) {
    const char *open = strstr(ps->p, "{{");
    const char *text_end = open ? open : ps->p + strlen(ps->p);
    const char *ts = ps->p;
    if (trim_next)
      while (ts < text_end && isspace((unsigned char)*ts))
        ts++;
    const char *te = text_end;
    bool trim_left = open && open[2] == '-' && isspace((unsigned char)open[3]);
    if (trim_left)
      while (te > ts && isspace((unsigned char)te[-1]))
        te--;
    if (te > ts) {
      struct node *n = calloc(1, sizeof(*n));
      n->kind = N_TEXT;
      n->text = strndup(ts, (size_t)(te - ts));
      *tail = n;
      tail = &n->next;
    }
    if (!open) {
      ps->p = text_end;
      break;
    }
    const char *as = open + 2 + (trim_left ? 1 : 0);
    const char *close = strstr(as, "}}");
    if (!close) {
      free_nodes(head);
      return berr_set(err, 0, "template: unclosed action");
    }
    const char *ae = close;
    trim_next = false;
    if (ae - as >= 2 && ae[-1] == '-' && isspace((unsigned char)ae[-2])) {
      ae--;
      trim_next = true;
    }
    ps->p = close + 2;
    struct lexer l = {as, ae};
    skip_ws(&l);
    /* keywords */
    const char *kw = l.p;
    while (l.p < l.end && isalpha((unsigned char)*l.p))
      l.p++;
    size_t kwlen = (size_t)(l.p - kw);
    enum node_kind kind = N_ACTION;
    if (kwlen == 3 && strncmp(kw, "end", 3) == 0) {
      snprintf(stop, stoplen, "end");
      break;
    }
    if (kwlen == 4 && strncmp(kw, "else", 4) == 0) {
      snprintf(stop, stoplen, "else");
      break;
    }
    if (kwlen == 2 && strncmp(kw, "if", 2) == 0)
      kind = N_IF;
    else if (kwlen == 5 && strncmp(kw, "range", 5) == 0)
      kind = N_RANGE;
    else if (kwlen == 4 && strncmp(kw, "with", 4) == 0)
      kind = N_WITH;
    else
      l.p = kw;
    struct node *n = calloc(1, sizeof(*n));
    n->kind = kind;
    *tail = n;
    tail = &n->next;
    skip_ws(&l);
    if (l.p >= l.end) {
      free_nodes(head);
      return berr_set(err, 0, "template: missing value for command");
    }
    int r = parse_pipeline(&l, &n->pipe, false, err);
    if (r < 0) {
      free_nodes(head);
      return r;
    }
    skip_ws(&l);
    if (l.p < l.end) {
      free_nodes(head);
      return berr_set(err, 0, "template: unexpected \"%c\" in operand", *l.p);
    }
    if (kind != N_ACTION) {
      char s[8];
      r = parse_list(ps, &n->body, s, sizeof(s), err);
      if (r < 0) {
        free_nodes(head);
        return r;
      }
      if (strcmp(s, "else") == 0) {
        r = parse_list(ps, &n->else_body, s, sizeof(s), err);
        if (r < 0) {
          free_nodes(head);
          return r;
        }
      }
      if (strcmp(s, "end") != 0) {
        free_nodes(head);
        return berr_set(err, 0, "template: unexpected EOF");
      }
    }
  }
  *out = head;
  return 0;
}

int tmpl_parse(const char *src, struct tmpl **out, struct berr *err)
{
  struct parser ps = {src, src};
  struct tmpl *t = calloc(1, sizeof(*t));
  char stop[8];
  int r = parse_list(&ps, &t->root, stop, sizeof(stop), err);
  if (r < 0) {
    free(t);
    return r;
  }
  if (stop[0]) {
    tmpl_free(t);
    return berr_set(err, 0, "template: unexpected {{%s}}", stop);
  }
  *out = t;
  return 0;
}

/* ---------- flat templates: text and plain {{.Field}} only ---------- */

static bool is_flat_action(const struct node *n)
{
  if (n->kind != N_ACTION || n->pipe->ndecl || n->pipe->ncmds != 1 || n->pipe->cmds[0].nargs != 1)
    return false;
  const struct arg *a = &n->pipe->cmds[0].args[0];
  return a->kind == A_FIELD && a->npath == 1;
}

size_t tmpl_flat_fields(const struct tmpl *t, const char **fields, size_t max)
{
  size_t n = 0;
  for (const struct node *nd = t->root; nd; nd = nd->next) {
    if (nd->kind == N_TEXT)
      continue;
    if (!is_flat_action(nd) || n == max)
      return 0;
    fields[n++] = nd->pipe->cmds[0].args[0].path[0];
  }
  return n;
}

void tmpl_render_flat(const struct tmpl *t, const char *const *values, FILE *out)
{
  size_t i = 0;
  for (const struct node *nd = t->root; nd; nd = nd->next) {
    if (nd->kind == N_TEXT)
      fputs(nd->text, out);
    else if (values[i++])
      fputs(values[i - 1], out);
    else
      tmpl_print_value(out, json_null()); /* a null member, as Go prints nil */
  }
}

/* ---------- evaluation ---------- */

struct var {
  const char *name;
  json_t *value;
};

struct ctx {
  bool header; /* docker's HeaderFunctions: every function returns its argument */
  json_t *root;
  json_t *labels;
  struct var vars[32];
  size_t nvars;
};

static int cmp_keys(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **tmpl_sorted_keys(json_t *obj, size_t *n)
{
  *n = json_object_size(obj);
  const char **keys = xrealloc(NULL, (*n ? *n : 1) * sizeof(char *));
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v)
  {
    keys[i++] = k;
  }
  qsort(keys, *n, sizeof(char *), cmp_keys);
  return keys;
}

static json_t *missing_value(void)
{
  /* Go prints "<no value>" for a missing map key; a tagged null carries that. */
  static json_t *marker;
  if (!marker)
    marker = json_pack("{s:b}", "\x01missing", 1);
  return json_incref(marker);
}

static bool is_missing(json_t *v)
{
  return json_is_object(v) && json_object_get(v, "\x01missing");
}

static json_t *walk(json_t *v, char **path, size_t n, struct berr *err, int *r)
{
  json_incref(v);
  for (size_t i = 0; i < n; i++) {
    json_t *next;
    if (json_is_object(v) && !is_missing(v)) {
      next = json_object_get(v, path[i]);
      next = next ? json_incref(next) : missing_value();
    } else if (json_is_null(v) || is_missing(v)) {
      /* Go: nil pointer evaluating .X; keep going quietly as "<no value>" */
      next = missing_value();
    } else {
      json_decref(v);
      *r = berr_set(err, 0, "template: can't evaluate field %s", path[i]);
      return NULL;
    }
    json_decref(v);
    v = next;
  }
  return v;
}

static bool truthy(json_t *v)
{
  if (!v || json_is_null(v) || json_is_false(v) || is_missing(v))
    return false;
  if (json_is_string(v))
    return json_string_length(v) > 0;
  if (json_is_integer(v))
    return json_integer_value(v) != 0;
  if (json_is_real(v))
    return json_real_value(v) != 0;
  if (json_is_array(v))
    return json_array_size(v) > 0;
  if (json_is_object(v))
    return json_object_size(v) > 0;
  return true;
}

static char *value_string(json_t *v)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  tmpl_print_value(f, v);
  fclose(f);
  return buf;
}

static int eval_pipeline(struct ctx *c, json_t *dot, struct pipeline *pl, json_t **out,
                         struct berr *err);

static int eval_arg(struct ctx *c, json_t *dot, struct arg *a, json_t **out, struct berr *err)
{
  int r = 0;
  switch (a->kind) {
  case A_FIELD:
    *out = walk(dot, a->path, a->npath, err, &r);
    return r;
  case A_VAR: {
    json_t *base = NULL;
    if (strcmp(a->name, "$") == 0)
      base = c->root;
    for (size_t i = c->nvars; !base && i > 0; i--)
      if (strcmp(c->vars[i - 1].name, a->name) == 0)
        base = c->vars[i - 1].value;
    if (!base)
      return berr_set(err, 0, "template: undefined variable \"%s\"", a->name);
    *out = walk(base, a->path, a->npath, err, &r);
    return r;
  }
  case A_STRING:
    *out = json_string(a->name);
    return 0;
  case A_NUMBER:
    if (a->number == (double)(json_int_t)a->number)
      *out = json_integer((json_int_t)a->number);
    else
      *out = json_real(a->number);
    return 0;
  case A_PAREN: {
    json_t *v;
    r = eval_pipeline(c, dot, a->sub, &v, err);
    if (r < 0)
      return r;
    *out = walk(v, a->path, a->npath, err, &r);
    json_decref(v);
    return r;
  }
  case A_FUNC:
    return berr_set(err, 0, "template: %s is not a value", a->name);
  }
  return 0;
}

static char *title_case(const char *s)
{
  char *o = strdup(s);
  bool start = true;
  for (char *p = o; *p; p++) {
    if (isspace((unsigned char)*p)) {
      start = true;
    } else if (start) {
      *p = (char)toupper((unsigned char)*p);
      start = false;
    }
  }
  return o;
}

static int call_func(const char *name, json_t **argv, size_t argc, json_t **out, struct berr *err)
{
  if (strcmp(name, "json") == 0) {
    if (argc != 1)
      return berr_set(err, 0, "template: json takes one argument");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tmpl_print_json(f, argv[0]);
    fclose(f);
    *out = json_string(buf);
    free(buf);
    return 0;
  }
  if (strcmp(name, "upper") == 0 || strcmp(name, "lower") == 0 || strcmp(name, "title") == 0) {
    if (argc != 1)
      return berr_set(err, 0, "template: %s takes one argument", name);
    _cleanup_free_ char *s = value_string(argv[0]);
    if (name[0] == 't') {
      _cleanup_free_ char *t = title_case(s);
      *out = json_string(t);
      return 0;
    }
    for (char *p = s; *p; p++)
      *p = (char)(name[0] == 'u' ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    *out = json_string(s);
    return 0;
  }
  if (strcmp(name, "join") == 0) {
    if (argc != 2)
      return berr_set(err, 0, "template: join takes two arguments");
    _cleanup_free_ char *sep = value_string(argv[1]);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    size_t i;
    json_t *e;
    json_array_foreach(argv[0], i, e)
    {
      if (i)
        fputs(sep, f);
      tmpl_print_value(f, e);
    }
    fclose(f);
    *out = json_string(buf);
    free(buf);
    return 0;
  }
  if (strcmp(name, "split") == 0) {
    if (argc != 2)
      return berr_set(err, 0, "template: split takes two arguments");
    _cleanup_free_ char *s = value_string(argv[0]);
    _cleanup_free_ char *sep = value_string(argv[1]);
    json_t *arr = json_array();
    char *p = s;
    size_t sl = strlen(sep);
    for (char *q; sl && (q = strstr(p, sep)); p = q + sl)
      json_array_append_new(arr, json_stringn(p, (size_t)(q - p)));
    json_array_append_new(arr, json_string(p));
    *out = arr;
    return 0;
  }
  if (strcmp(name, "truncate") == 0) {
    if (argc != 2 || !json_is_integer(argv[1]))
      return berr_set(err, 0, "template: truncate takes a string and a length");
    _cleanup_free_ char *s = value_string(argv[0]);
    size_t n = (size_t)json_integer_value(argv[1]);
    if (strlen(s) > n)
      s[n] = 0;
    *out = json_string(s);
    return 0;
  }
  if (strcmp(name, "pad") == 0) {
    if (argc != 3)
      return berr_set(err, 0, "template: pad takes three arguments");
    _cleanup_free_ char *s = value_string(argv[0]);
    int l = (int)json_integer_value(argv[1]), rr = (int)json_integer_value(argv[2]);
    char *o = NULL;
    if (asprintf(&o, "%*s%s%*s", l, "", s, rr, "") < 0)
      return berr_errno(err, "pad");
    *out = json_string(o);
    free(o);
    return 0;
  }
  if (strcmp(name, "index") == 0) {
    if (argc < 2)
      return berr_set(err, 0, "template: index takes at least two arguments");
    json_t *v = argv[0];
    for (size_t i = 1; i < argc; i++) {
      if (json_is_object(v) && json_is_string(argv[i]))
        v = json_object_get(v, json_string_value(argv[i]));
      else if (json_is_array(v) && json_is_integer(argv[i]))
        v = json_array_get(v, (size_t)json_integer_value(argv[i]));
      else
        v = NULL;
      if (!v)
        break;
    }
    *out = v ? json_incref(v) : missing_value();
    return 0;
  }
  if (strcmp(name, "len") == 0) {
    if (argc != 1)
      return berr_set(err, 0, "template: len takes one argument");
    size_t n = json_is_array(argv[0])    ? json_array_size(argv[0])
               : json_is_object(argv[0]) ? json_object_size(argv[0])
               : json_is_string(argv[0]) ? json_string_length(argv[0])
                                         : 0;
    *out = json_integer((json_int_t)n);
    return 0;
  }
  if (strcmp(name, "eq") == 0 || strcmp(name, "ne") == 0) {
    if (argc < 2)
      return berr_set(err, 0, "template: %s takes two arguments", name);
    bool eq = false;
    for (size_t i = 1; i < argc && !eq; i++)
      eq = json_equal(argv[0], argv[i]);
    *out = json_boolean(name[0] == 'e' ? eq : !eq);
    return 0;
  }
  if (strcmp(name, "not") == 0) {
    if (argc != 1)
      return berr_set(err, 0, "template: not takes one argument");
    *out = json_boolean(!truthy(argv[0]));
    return 0;
  }
  if (strcmp(name, "print") == 0 || strcmp(name, "println") == 0) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (size_t i = 0; i < argc; i++) {
      if (i && (name[5] == 'l' || (!json_is_string(argv[i]) && !json_is_string(argv[i - 1]))))
        fputc(' ', f);
      tmpl_print_value(f, argv[i]);
    }
    if (name[5] == 'l')
      fputc('\n', f);
    fclose(f);
    *out = json_string(buf);
    free(buf);
    return 0;
  }
  return berr_set(err, 0, "template: function \"%s\" not defined", name);
}

static int eval_cmd(struct ctx *c, json_t *dot, struct cmd *cmd, json_t *piped, json_t **out,
                    struct berr *err)
{
  struct arg *head = &cmd->args[0];
  /* {{.Label "k"}}: docker's per-row label lookup */
  if (head->kind == A_FIELD && head->npath == 1 && strcmp(head->path[0], "Label") == 0 &&
      cmd->nargs == 2 && cmd->args[1].kind == A_STRING) {
    if (c->header) {
      *out = json_string("LABEL");
      return 0;
    }
    json_t *v = c->labels ? json_object_get(c->labels, cmd->args[1].name) : NULL;
    *out = json_string(v && json_is_string(v) ? json_string_value(v) : "");
    return 0;
  }
  if (head->kind != A_FUNC) {
    if (cmd->nargs > 1 || piped)
      return berr_set(err, 0, "template: can't give argument to non-function");
    return eval_arg(c, dot, head, out, err);
  }
  size_t argc = cmd->nargs - 1 + (piped ? 1 : 0);
  json_t **argv = calloc(argc + 1, sizeof(json_t *));
  int r = 0;
  size_t n = 0;
  for (size_t i = 1; i < cmd->nargs && r >= 0; i++, n++)
    r = eval_arg(c, dot, &cmd->args[i], &argv[n], err);
  if (r >= 0 && piped)
    argv[n++] = json_incref(piped);
  if (r >= 0 && c->header)
    *out = n ? json_incref(argv[0]) : json_string("");
  else if (r >= 0)
    r = call_func(head->name, argv, n, out, err);
  for (size_t i = 0; i < argc; i++)
    json_decref(argv[i]);
  free(argv);
  return r;
}

static int eval_pipeline(struct ctx *c, json_t *dot, struct pipeline *pl, json_t **out,
                         struct berr *err)
{
  json_t *v = NULL;
  for (size_t i = 0; i < pl->ncmds; i++) {
    json_t *next = NULL;
    int r = eval_cmd(c, dot, &pl->cmds[i], v, &next, err);
    json_decref(v);
    if (r < 0)
      return r;
    v = next;
  }
  *out = v;
  return 0;
}

static int exec_nodes(struct ctx *c, json_t *dot, struct node *n, FILE *out, struct berr *err);

static void push_var(struct ctx *c, const char *name, json_t *v)
{
  if (c->nvars < ARRAY_SIZE(c->vars))
    c->vars[c->nvars++] = (struct var){name, v};
}

static int exec_node(struct ctx *c, json_t *dot, struct node *n, FILE *out, struct berr *err)
{
  if (n->kind == N_TEXT) {
    fputs(n->text, out);
    return 0;
  }
  json_t *v = NULL;
  int r = eval_pipeline(c, dot, n->pipe, &v, err);
  if (r < 0)
    return r;
  size_t saved = c->nvars;
  switch (n->kind) {
  case N_ACTION:
    if (n->pipe->ndecl)
      push_var(c, n->pipe->decl[0], v); /* {{$x := ...}} prints nothing */
    else
      tmpl_print_value(out, v);
    break;
  case N_IF:
    r = exec_nodes(c, dot, truthy(v) ? n->body : n->else_body, out, err);
    break;
  case N_WITH:
    r = truthy(v) ? exec_nodes(c, v, n->body, out, err)
                  : exec_nodes(c, dot, n->else_body, out, err);
    break;
  case N_RANGE:
    if (!truthy(v)) {
      r = exec_nodes(c, dot, n->else_body, out, err);
    } else if (json_is_array(v)) {
      size_t i;
      json_t *e;
      json_array_foreach(v, i, e)
      {
        c->nvars = saved;
        json_t *idx = json_integer((json_int_t)i);
        if (n->pipe->ndecl == 1)
          push_var(c, n->pipe->decl[0], e);
        else if (n->pipe->ndecl == 2) {
          push_var(c, n->pipe->decl[0], idx);
          push_var(c, n->pipe->decl[1], e);
        }
        r = exec_nodes(c, e, n->body, out, err);
        json_decref(idx);
        if (r < 0)
          break;
      }
    } else if (json_is_object(v)) {
      /* Go ranges over maps in sorted key order */
      size_t nk, i;
      const char **keys = tmpl_sorted_keys(v, &nk);
      json_t *e;
      for (i = 0; i < nk && r >= 0; i++) {
        c->nvars = saved;
        e = json_object_get(v, keys[i]);
        json_t *key = json_string(keys[i]);
        if (n->pipe->ndecl == 1)
          push_var(c, n->pipe->decl[0], e);
        else if (n->pipe->ndecl == 2) {
          push_var(c, n->pipe->decl[0], key);
          push_var(c, n->pipe->decl[1], e);
        }
        r = exec_nodes(c, e, n->body, out, err);
        json_decref(key);
      }
      free(keys);
    } else {
      r = berr_set(err, 0, "template: range can't iterate over a value that is not a list or map");
    }
    break;
  default:
    break;
  }
  c->nvars = saved;
  if (n->kind == N_ACTION && n->pipe->ndecl && c->nvars < ARRAY_SIZE(c->vars)) {
    /* keep the declared variable for the rest of the template (owned by the value list) */
    c->vars[c->nvars++] = (struct var){n->pipe->decl[0], v};
    return r; /* leaks one ref per declaration per render: acceptable for a CLI */
  }
  json_decref(v);
  return r;
}

static int exec_nodes(struct ctx *c, json_t *dot, struct node *n, FILE *out, struct berr *err)
{
  for (; n; n = n->next) {
    int r = exec_node(c, dot, n, out, err);
    if (r < 0)
      return r;
  }
  return 0;
}

int tmpl_render(struct tmpl *t, json_t *dot, json_t *labels, FILE *out, struct berr *err)
{
  struct ctx c = {.root = dot, .labels = labels};
  return exec_nodes(&c, dot, t->root, out, err);
}

int tmpl_render_header(struct tmpl *t, json_t *headers, FILE *out, struct berr *err)
{
  struct ctx c = {.header = true, .root = headers, .labels = NULL};
  return exec_nodes(&c, headers, t->root, out, err);
}

int tmpl_render_string(struct tmpl *t, json_t *dot, json_t *labels, char **out, struct berr *err)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return berr_errno(err, "open_memstream");
  int r = tmpl_render(t, dot, labels, f, err);
  fclose(f);
  if (r < 0) {
    free(buf);
    return r;
  }
  *out = buf;
  return 0;
}

static void print_real(FILE *out, double d)
{
  /* Go's %v of a float64: shortest repr, exponent for large values */
  if (d == (double)(long long)d && d < 1e21 && d > -1e21) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%.17g", d);
    if (strchr(buf, 'e'))
      fprintf(out, "%g", d);
    else
      fputs(buf, out);
    return;
  }
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  fputs(buf, out);
}

void tmpl_print_value(FILE *out, json_t *v)
{
  if (!v || is_missing(v)) {
    fputs("<no value>", out);
    return;
  }
  switch (json_typeof(v)) {
  case JSON_STRING:
    fwrite(json_string_value(v), 1, json_string_length(v), out);
    break;
  case JSON_INTEGER:
    fprintf(out, "%lld", (long long)json_integer_value(v));
    break;
  case JSON_REAL:
    print_real(out, json_real_value(v));
    break;
  case JSON_TRUE:
    fputs("true", out);
    break;
  case JSON_FALSE:
    fputs("false", out);
    break;
  case JSON_NULL:
    fputs("<nil>", out);
    break;
  case JSON_ARRAY: {
    fputc('[', out);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
      if (i)
        fputc(' ', out);
      tmpl_print_value(out, e);
    }
    fputc(']', out);
    break;
  }
  case JSON_OBJECT: {
    fputs("map[", out);
    size_t nk, i;
    const char **keys = tmpl_sorted_keys(v, &nk);
    for (i = 0; i < nk; i++) {
      if (i)
        fputc(' ', out);
      fprintf(out, "%s:", keys[i]);
      tmpl_print_value(out, json_object_get(v, keys[i]));
    }
    free(keys);
    fputc(']', out);
    break;
  }
  }
}

static void print_json_flags(FILE *out, json_t *v, size_t flags)
{
  if (!v || is_missing(v)) {
    fputs("null", out);
    return;
  }
  _cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags);
  if (!s)
    return;
  for (char *p = s; *p; p++) {
    if (*p == '<')
      fputs("\\u003c", out);
    else if (*p == '>')
      fputs("\\u003e", out);
    else if (*p == '&')
      fputs("\\u0026", out);
    else
      fputc(*p, out);
  }
}

void tmpl_print_json(FILE *out, json_t *v)
{
  print_json_flags(out, v, 0);
}

void tmpl_print_json_sorted(FILE *out, json_t *v)
{
  print_json_flags(out, v, JSON_SORT_KEYS);
}
