/* Read-only container jobs: list (docker ps), inspect, top. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "jobs.h"
#include "lifecycle.h"
#include "libcontainer/container.h"
#include "repository.h"
#include "runtimes.h"

/* v when it is of the type, else an empty one of the type. */
static void write_typed(struct textbuf *b, json_t *v, json_type type)
{
  if (v && json_typeof(v) == type)
    bjson_write_value(b, v);
  else
    tb_puts(b, type == JSON_OBJECT ? "{}" : "[]");
}

/* As moby's Command: the path and the arguments, one with a space shown in single quotes. */
static void command_write(struct textbuf *b, json_t *doc)
{
  struct textbuf cmd = {0};
  const char *path = json_string_value(json_object_get(doc, "Path"));
  tb_puts(&cmd, path ? path : "");
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(doc, "Args"), i, a)
  {
    const char *arg = json_string_value(a) ?: "";
    bool quote = strchr(arg, ' ') != NULL;
    tb_puts(&cmd, quote ? " '" : " ");
    tb_puts(&cmd, arg);
    if (quote)
      tb_putc(&cmd, '\'');
  }
  bjson_write_string(b, cmd.data && !cmd.failed ? cmd.data : "");
  tb_free(&cmd);
}

/* The members of a list entry that never change after create (see container.h). */
static char *fixed_members(const struct container *c)
{
  json_t *doc = c->doc, *config = json_object_get(doc, "Config");
  struct textbuf b = {0};
  tb_puts(&b, ",\"Image\":");
  bjson_write_string(&b, json_string_value(json_object_get(config, "Image")) ?: "");
  tb_puts(&b, ",\"ImageID\":");
  bjson_write_value(&b, json_object_get(doc, "Image"));
  tb_puts(&b, ",\"Command\":");
  command_write(&b, doc);
  tb_printf(&b, ",\"Created\":%lld,\"Labels\":", c->created_ns / 1000000000LL);
  write_typed(&b, json_object_get(config, "Labels"), JSON_OBJECT);
  const char *netmode =
      json_string_value(json_object_get(json_object_get(doc, "HostConfig"), "NetworkMode"));
  tb_puts(&b, ",\"HostConfig\":{\"NetworkMode\":");
  bjson_write_string(&b, netmode ?: "default");
  tb_puts(&b, "},\"Mounts\":");
  write_typed(&b, json_object_get(doc, "Mounts"), JSON_ARRAY);
  return tb_steal(&b);
}

/* One element of GET /containers/json, written as text: building a jansson tree per
 * container only to dump it was most of `ps -a` with a thousand containers. Names, ports,
 * state and networks change; the rest is written once per container. */
static void summary_write(struct container *c, struct textbuf *b)
{
  if (!c->list_fixed)
    c->list_fixed = fixed_members(c); /* engine lock held: one writer */
  char status[128];
  ctr_status_text(c, status, sizeof(status));
  tb_puts(b, "{\"Id\":\"");
  tb_puts(b, c->id); /* 64 hex digits */
  char slash[300];
  size_t nl = strnlen(c->name, sizeof(slash) - 2);
  slash[0] = '/';
  memcpy(slash + 1, c->name, nl);
  slash[nl + 1] = '\0';
  tb_puts(b, "\",\"Names\":[");
  bjson_write_string(b, slash);
  tb_putc(b, ']');
  tb_puts(b, c->list_fixed ? c->list_fixed : "");
  json_t *netset = json_object_get(c->doc, "NetworkSettings");
  tb_puts(b, ",\"Ports\":");
  write_typed(b, json_object_get(netset, "PortsSummary"), JSON_ARRAY);
  tb_puts(b, ",\"State\":");
  bjson_write_string(b, ctr_state_name(c->state));
  tb_puts(b, ",\"Status\":");
  bjson_write_string(b, status);
  tb_puts(b, ",\"NetworkSettings\":{\"Networks\":");
  write_typed(b, json_object_get(netset, "Networks"), JSON_OBJECT);
  tb_puts(b, "}}");
}

static bool any_match(json_t *values, bool (*pred)(const struct container *, const char *),
                      const struct container *c)
{
  size_t i;
  json_t *v;
  if (!json_array_size(values))
    return true;
  json_array_foreach(values, i, v)
  {
    if (json_is_string(v) && pred(c, json_string_value(v)))
      return true;
  }
  return false;
}

static bool match_status(const struct container *c, const char *v)
{
  return strcmp(ctr_state_name(c->state), v) == 0;
}

static bool match_name(const struct container *c, const char *v)
{
  /* Docker matches the name as a regular expression (unanchored). */
  regex_t re;
  if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
    return strstr(c->name, v) != NULL;
  char slash[300];
  snprintf(slash, sizeof(slash), "/%s", c->name);
  bool m = regexec(&re, slash, 0, NULL, 0) == 0;
  regfree(&re);
  return m;
}

static bool match_id(const struct container *c, const char *v)
{
  return strncmp(c->id, v, strlen(v)) == 0;
}

static bool match_label(const struct container *c, const char *v)
{
  json_t *labels = json_object_get(json_object_get(c->doc, "Config"), "Labels");
  const char *eq = strchr(v, '=');
  char key[256];
  snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - v) : (int)strlen(v), v);
  json_t *val = json_object_get(labels, key);
  if (!val)
    return false;
  return !eq || (json_is_string(val) && strcmp(json_string_value(val), eq + 1) == 0);
}

/* volume=NAME or volume=DESTINATION, as moby. */
static bool match_volume(const struct container *c, const char *v)
{
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c->doc, "Mounts"), i, m)
  {
    const char *n = json_string_value(json_object_get(m, "Name"));
    const char *d = json_string_value(json_object_get(m, "Destination"));
    if ((n && strcmp(n, v) == 0) || (d && strcmp(d, v) == 0))
      return true;
  }
  return false;
}

static bool match_exited(const struct container *c, const char *v)
{
  json_t *code = json_object_get(json_object_get(c->doc, "State"), "ExitCode");
  return c->state == CTR_EXITED && json_integer_value(code) == atoll(v);
}

static bool match_ancestor(const struct container *c, const char *v)
{
  const char *image =
      json_string_value(json_object_get(json_object_get(c->doc, "Config"), "Image"));
  const char *id = json_string_value(json_object_get(c->doc, "Image"));
  if (image && strcmp(image, v) == 0)
    return true;
  /* "busybox" also matches "busybox:latest", and an ID or its short form matches. */
  char with_tag[512];
  snprintf(with_tag, sizeof(with_tag), "%s:latest", v);
  if (image && strcmp(image, with_tag) == 0)
    return true;
  snprintf(with_tag, sizeof(with_tag), "%s:latest", image ? image : "");
  if (strcmp(with_tag, v) == 0)
    return true;
  const char *hex = id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
  const char *vhex = strncmp(v, "sha256:", 7) == 0 ? v + 7 : v;
  return hex && strlen(vhex) >= 4 && strncmp(hex, vhex, strlen(vhex)) == 0;
}

static int job_container_list(struct job *job)
{
  struct engine *e = job->engine;
  json_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return -EINVAL;
  static const char *const known[] = {"status",   "name",    "id",     "label",     "exited",
                                      "ancestor", "before",  "since",  "health",    "volume",
                                      "network",  "publish", "expose", "isolation", "is-task"};
  const char *key;
  json_t *v;
  json_object_foreach(filters, key, v)
  {
    bool ok = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
      ok |= strcmp(key, known[i]) == 0;
    if (!ok) {
      json_decref(filters);
      return job_fail(job, 400, "invalid filter '%s'", key);
    }
  }
  bool all = job_query_bool(job, "all", false);
  long long limit = -1;
  if (job_query_int(job, "limit", -1, &limit, &job->err) < 0) {
    json_decref(filters);
    return -EINVAL;
  }
  json_t *status = json_object_get(filters, "status");
  if (json_array_size(status) || json_array_size(json_object_get(filters, "exited")))
    all = true;
  /* since/before (filters, or the old query parameters docker-py still sends): only containers
   * created after / before the named one; like moby they imply all. */
  const char *since_ref = json_string_value(json_array_get(json_object_get(filters, "since"), 0));
  const char *before_ref = json_string_value(json_array_get(json_object_get(filters, "before"), 0));
  if (!since_ref)
    since_ref = job_query_str(job, "since");
  if (!before_ref)
    before_ref = job_query_str(job, "before");
  long long since_ns = -1, before_ns = -1;

  pthread_mutex_lock(&e->lock);
  for (int pass = 0; pass < 2; pass++) {
    const char *ref = pass == 0 ? since_ref : before_ref;
    if (!ref || !*ref)
      continue;
    struct container *rc = repo_find(e, ref, &job->err);
    if (!rc) {
      pthread_mutex_unlock(&e->lock);
      json_decref(filters);
      return -job->err.code;
    }
    long long t = ctr_time_ns(json_string_value(json_object_get(rc->doc, "Created")));
    *(pass == 0 ? &since_ns : &before_ns) = t;
    all = true;
  }
  json_t *by_name = json_object_get(filters, "name"), *by_id = json_object_get(filters, "id"),
         *by_exited = json_object_get(filters, "exited"),
         *by_ancestor = json_object_get(filters, "ancestor"),
         *by_volume = json_object_get(filters, "volume"),
         *by_label = json_object_get(filters, "label");
  size_t shown = 0, n = e->n_ctrs;
  struct textbuf out = {0};
  tb_reserve(&out, n * 384); /* about an item's length without labels, ports or mounts */
  tb_putc(&out, '[');
  for (size_t i = n; i-- > 0;) { /* the repository keeps them oldest first */
    struct container *c = e->ctrs[i];
    long long created = c->created_ns;
    if (limit > 0 && (long long)shown >= limit)
      break;
    if (!all && limit <= 0 && c->state != CTR_RUNNING && c->state != CTR_PAUSED &&
        c->state != CTR_RESTARTING)
      continue;
    if ((since_ns >= 0 && created <= since_ns) || (before_ns >= 0 && created >= before_ns))
      continue;
    if (json_object_size(filters) &&
        (!any_match(status, match_status, c) || !any_match(by_name, match_name, c) ||
         !any_match(by_id, match_id, c) || !any_match(by_exited, match_exited, c) ||
         !any_match(by_ancestor, match_ancestor, c) || !any_match(by_volume, match_volume, c)))
      continue;
    bool labels_ok = true;
    size_t k;
    json_t *lv;
    json_array_foreach(by_label, k, lv)
    {
      labels_ok &= json_is_string(lv) && match_label(c, json_string_value(lv));
    }
    if (!labels_ok)
      continue;
    if (shown++)
      tb_putc(&out, ',');
    summary_write(c, &out);
  }
  pthread_mutex_unlock(&e->lock);
  tb_putc(&out, ']');
  json_decref(filters);
  char *text = tb_steal(&out);
  if (!text)
    return job_fail(job, 500, "list containers: out of memory");
  job->result_text = text;
  return 0;
}

static int job_container_inspect(struct job *job)
{
  struct engine *e = job->engine;
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  if (c) {
    ctr_sync_state(c);
    job->result = json_deep_copy(c->doc);
    json_object_del(job->result, "HasBeenManuallyStopped"); /* the daemon's own mark */
    json_t *ids = json_array();
    for (size_t i = 0; i < e->n_execs; i++)
      if (strcmp(e->execs[i]->container_id, c->id) == 0 && e->execs[i]->running)
        json_array_append_new(ids, json_string(e->execs[i]->id));
    json_object_set_new(job->result, "ExecIDs", json_array_size(ids) ? ids : json_null());
    if (!json_array_size(ids))
      json_decref(ids);
    if (job_query_bool(job, "size", false)) {
      json_object_set_new(job->result, "SizeRw", json_integer(0));
      json_object_set_new(job->result, "SizeRootFs", json_integer(0));
    }
  }
  pthread_mutex_unlock(&e->lock);
  return c ? 0 : -job->err.code;
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

/* docker top: the host's ps, filtered to the container's processes (as moby does). */
static int job_container_top(struct job *job)
{
  struct engine *e = job->engine;
  char id[65];
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  bool running = c && (c->state == CTR_RUNNING || c->state == CTR_PAUSED);
  char rt[128] = "";
  if (c) {
    memcpy(id, c->id, sizeof(id));
    snprintf(rt, sizeof(rt), "%s", runtime_of(c->doc) ?: "");
  }
  pthread_mutex_unlock(&e->lock);
  if (!c)
    return -job->err.code;
  if (!running)
    return job_fail(job, 409, "container %s is not running", id);
  _cleanup_free_ pid_t *pids = NULL;
  size_t npids = 0;
  if (runtime_pids(e, id, rt[0] ? rt : NULL, &pids, &npids, &job->err) < 0)
    return -job->err.code;

  const char *ps_args = job_query_str(job, "ps_args");
  char *argv[64] = {"ps"};
  int argc = 1;
  _cleanup_free_ char *copy = strdup(ps_args && *ps_args ? ps_args : "-ef");
  char *save = NULL;
  for (char *t = strtok_r(copy, " ", &save); t && argc < 62; t = strtok_r(NULL, " ", &save))
    argv[argc++] = t;
  argv[argc] = NULL;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return job_fail(job, 500, "pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child == 0) {
    dup2(pfd[1], STDOUT_FILENO);
    execvp("ps", argv);
    _exit(127);
  }
  close(pfd[1]);
  _cleanup_free_ char *out = NULL;
  size_t len = 0;
  int r = bf_read_fd_all(pfd[0], &out, &len, &job->err);
  close(pfd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (r < 0)
    return r;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return job_fail(job, 500, "ps: failed (ps_args %s)", ps_args ? ps_args : "-ef");
  char *lsave = NULL;
  char *line = strtok_r(out, "\n", &lsave);
  json_t *titles = json_array(), *procs = json_array();
  int pid_col = -1, ncols = 0;
  if (line) {
    char *s2 = NULL;
    _cleanup_free_ char *hdr = strdup(line);
    for (char *t = strtok_r(hdr, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2), ncols++) {
      if (strcmp(t, "PID") == 0)
        pid_col = ncols;
      json_array_append_new(titles, json_string(t));
    }
  }
  if (pid_col < 0) {
    json_decref(titles);
    json_decref(procs);
    return job_fail(job, 500, "Couldn't find PID field in ps output");
  }
  while ((line = strtok_r(NULL, "\n", &lsave))) {
    /* The last column (the command) may hold spaces: split ncols-1 times. */
    json_t *row = json_array();
    char *p = line;
    for (int col = 0; col < ncols; col++) {
      while (*p == ' ' || *p == '\t')
        p++;
      if (col == ncols - 1) {
        json_array_append_new(row, json_string(p));
        break;
      }
      size_t w = strcspn(p, " \t");
      json_array_append_new(row, json_stringn(p, w));
      p += w;
    }
    const char *pidstr = json_string_value(json_array_get(row, (size_t)pid_col));
    if (pidstr && has_pid(pids, npids, atol(pidstr)))
      json_array_append_new(procs, row);
    else
      json_decref(row);
  }
  job->result = json_pack("{s:o,s:o}", "Titles", titles, "Processes", procs);
  return 0;
}

void jobs_container_info_register(struct engine *e)
{
  engine_register(e, "container.list", job_container_list);
  engine_register(e, "container.inspect", job_container_inspect);
  engine_register(e, "container.top", job_container_top);
}
