/* List responses through cJSON, converted to jansson for the rest of the CLI. jansson's
 * parser reads a character at a time through a callback and was two thirds of `ps -a` with
 * a thousand containers (400 KB of JSON); cJSON parses the same text about four times
 * faster, and converting only the displayed fields, one item at a time, keeps the
 * jansson side small. */
#include "list_parse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* cJSON's tree lives in one arena for the length of a parse: a node costs a pointer bump
 * instead of a malloc, and the arena's pages are mapped populated (MAP_POPULATE) in one
 * call instead of one page fault at a time, which is most of the cost on a virtual
 * machine. Past the arena (pathological input), nodes come from malloc. */
#define ARENA_MAX ((size_t)64 << 20)

static struct {
  char *base;
  size_t used, cap;
} arena;

static void *arena_alloc(size_t n)
{
  n = (n + 15) & ~(size_t)15;
  if (arena.base && arena.cap - arena.used >= n) {
    void *p = arena.base + arena.used;
    arena.used += n;
    return p;
  }
  return malloc(n);
}

static void arena_free(void *p)
{
  if (!arena.base || (char *)p < arena.base || (char *)p >= arena.base + arena.cap)
    free(p);
}

static cJSON *parse_in_arena(const char *text, size_t len)
{
  /* A list of objects takes about four times its text; past 64 MiB, nodes come from
   * malloc rather than from one huge mapping populated up front. */
  arena.cap = len * 6 + 65536;
  if (arena.cap > ARENA_MAX)
    arena.cap = ARENA_MAX;
  arena.used = 0;
  arena.base = mmap(NULL, arena.cap, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (arena.base == MAP_FAILED)
    arena.base = NULL;
  cJSON_Hooks hooks = {.malloc_fn = arena_alloc, .free_fn = arena_free};
  cJSON_InitHooks(&hooks);
  return cJSON_ParseWithLength(text, len);
}

static void delete_arena_tree(cJSON *root)
{
  cJSON_Delete(root); /* frees only what spilled past the arena */
  cJSON_InitHooks(NULL);
  if (arena.base)
    munmap(arena.base, arena.cap);
  arena.base = NULL;
}

static json_t *convert(const cJSON *n)
{
  if (cJSON_IsString(n))
    return json_string(n->valuestring);
  if (cJSON_IsNumber(n)) {
    /* cJSON keeps numbers as doubles: integral ones within 2^53 are exact integers */
    double d = n->valuedouble;
    if (d == floor(d) && fabs(d) <= 9007199254740992.0)
      return json_integer((json_int_t)d);
    return json_real(d);
  }
  if (cJSON_IsTrue(n))
    return json_true();
  if (cJSON_IsFalse(n))
    return json_false();
  if (cJSON_IsArray(n)) {
    json_t *a = json_array();
    for (const cJSON *c = n->child; a && c; c = c->next)
      json_array_append_new(a, convert(c));
    return a;
  }
  if (cJSON_IsObject(n)) {
    json_t *o = json_object();
    for (const cJSON *c = n->child; o && c; c = c->next)
      if (c->string)
        json_object_set_new(o, c->string, convert(c));
    return o;
  }
  return json_null();
}

int list_each(const char *text, size_t len, const char *const *keys,
              int (*each)(void *ud, json_t *item), void *ud, struct berr *err)
{
  cJSON *root = parse_in_arena(text, len);
  if (!cJSON_IsArray(root)) {
    delete_arena_tree(root);
    return berr_set(err, 0, "invalid JSON from the daemon: expected a list");
  }
  int r = 0;
  for (const cJSON *item = root->child; r >= 0 && item; item = item->next) {
    json_t *o = json_object();
    if (!o) {
      r = berr_set(err, ENOMEM, "list");
      break;
    }
    for (const cJSON *m = item->child; m; m = m->next)
      for (const char *const *k = keys; m->string && *k; k++)
        if (strcmp(m->string, *k) == 0) {
          json_object_set_new(o, *k, convert(m));
          break;
        }
    r = each(ud, o);
    json_decref(o);
  }
  delete_arena_tree(root);
  return r;
}
