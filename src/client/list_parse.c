/* List responses (containers, images) scanned in one pass over the text: each item's
 * members named in keys become jansson values, all others are skipped without being
 * built. jansson's parser reads a character at a time through a callback and was two
 * thirds of `ps -a` with a thousand containers (400 KB of JSON); a general parser that
 * builds the whole tree first (cJSON) still spent most of its time on members ps never
 * shows. */
#include "list_parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct scan {
  const char *p, *end;
  int depth;
};

#define MAX_DEPTH 64 /* nesting deeper than any list berthd or dockerd sends */

static void skip_ws(struct scan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

static bool eat(struct scan *s, char c)
{
  skip_ws(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return true;
  }
  return false;
}

/* At the opening quote: moves past the closing one; sets *raw_end to the closing quote and,
 * when escaped is not NULL, *escaped when the string holds a backslash. */
static bool skip_string(struct scan *s, const char **raw_end, bool *escaped)
{
  const char *start = s->p + 1, *p = start;
  bool any_escape = false;
  for (;;) {
    const char *q = memchr(p, '"', (size_t)(s->end - p));
    if (!q)
      return false;
    /* a quote after an odd number of backslashes is part of the string (p - 1 is a quote,
     * so the count stops there) */
    const char *b = q;
    while (b > p && b[-1] == '\\')
      b--;
    any_escape |= b != q;
    if ((q - b) % 2 == 0) {
      if (escaped)
        *escaped = any_escape || memchr(start, '\\', (size_t)(q - start)) != NULL;
      *raw_end = q;
      s->p = q + 1;
      return true;
    }
    p = q + 1;
  }
}

static int hex4(const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

static char *put_utf8(char *o, unsigned cp)
{
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xc0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xe0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *o++ = (char)(0xf0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  }
  return o;
}

/* The escapes of in[0..n) decoded into out (at least n bytes: decoding never grows);
 * returns the decoded length or -1 for a bad escape. */
static ssize_t unescape(const char *in, size_t n, char *out)
{
  char *o = out;
  for (size_t i = 0; i < n; i++) {
    if (in[i] != '\\') {
      *o++ = in[i];
      continue;
    }
    if (++i >= n)
      return -1;
    switch (in[i]) {
    case '"':
    case '\\':
    case '/':
      *o++ = in[i];
      break;
    case 'b':
      *o++ = '\b';
      break;
    case 'f':
      *o++ = '\f';
      break;
    case 'n':
      *o++ = '\n';
      break;
    case 'r':
      *o++ = '\r';
      break;
    case 't':
      *o++ = '\t';
      break;
    case 'u': {
      int cp = i + 4 < n ? hex4(in + i + 1) : -1;
      if (cp < 0)
        return -1;
      i += 4;
      /* a surrogate pair is one code point; a lone surrogate becomes U+FFFD */
      if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < n && in[i + 1] == '\\' && in[i + 2] == 'u') {
        int lo = hex4(in + i + 3);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i += 6;
        }
      }
      if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd;
      o = put_utf8(o, (unsigned)cp);
      break;
    }
    default:
      return -1;
    }
  }
  return o - out;
}

static json_t *string_value(const char *raw, size_t n, bool escaped)
{
  if (!escaped)
    return json_stringn_nocheck(raw, n);
  char small[256];
  char *buf = n <= sizeof(small) ? small : malloc(n);
  if (!buf)
    return NULL;
  ssize_t len = unescape(raw, n, buf);
  json_t *v = len < 0 ? NULL : json_stringn_nocheck(buf, (size_t)len);
  if (buf != small)
    free(buf);
  return v;
}

static json_t *parse_value(struct scan *s);

/* At '{' or '[': the container and everything in it. */
static json_t *parse_container(struct scan *s)
{
  bool object = *s->p == '{';
  char close = object ? '}' : ']';
  if (s->depth >= MAX_DEPTH)
    return NULL;
  s->depth++;
  s->p++;
  json_t *v = object ? json_object() : json_array();
  bool ok = v != NULL;
  if (ok && !eat(s, close)) {
    do {
      json_t *key = NULL;
      if (object) {
        skip_ws(s);
        const char *kstart = s->p + 1, *kend;
        bool kesc;
        if (s->p >= s->end || *s->p != '"' || !skip_string(s, &kend, &kesc) || !eat(s, ':') ||
            !(key = string_value(kstart, (size_t)(kend - kstart), kesc))) {
          ok = false;
          break;
        }
      }
      json_t *item = parse_value(s);
      ok = item != NULL;
      if (ok && key)
        json_object_set_new_nocheck(v, json_string_value(key), item);
      else if (ok)
        json_array_append_new(v, item);
      json_decref(key);
    } while (ok && eat(s, ','));
    ok = ok && eat(s, close);
  }
  s->depth--;
  if (!ok) {
    json_decref(v);
    return NULL;
  }
  return v;
}

static json_t *parse_number(struct scan *s)
{
  const char *start = s->p;
  bool integral = true;
  while (s->p < s->end && strchr("0123456789+-.eE", *s->p)) {
    if (*s->p == '.' || *s->p == 'e' || *s->p == 'E')
      integral = false;
    s->p++;
  }
  size_t n = (size_t)(s->p - start);
  char buf[64];
  if (n == 0 || n >= sizeof(buf))
    return NULL;
  memcpy(buf, start, n);
  buf[n] = '\0';
  char *end;
  errno = 0;
  if (integral) {
    long long v = strtoll(buf, &end, 10);
    if (*end == '\0' && errno == 0)
      return json_integer(v);
  }
  double d = strtod(buf, &end);
  return *end == '\0' ? json_real(d) : NULL;
}

static json_t *parse_value(struct scan *s)
{
  skip_ws(s);
  if (s->p >= s->end)
    return NULL;
  switch (*s->p) {
  case '{':
  case '[':
    return parse_container(s);
  case '"': {
    const char *start = s->p + 1, *end;
    bool esc;
    return skip_string(s, &end, &esc) ? string_value(start, (size_t)(end - start), esc) : NULL;
  }
  }
  static const struct {
    const char *word;
    size_t len;
  } words[] = {{"true", 4}, {"false", 5}, {"null", 4}};
  for (size_t i = 0; i < 3; i++)
    if ((size_t)(s->end - s->p) >= words[i].len && memcmp(s->p, words[i].word, words[i].len) == 0) {
      s->p += words[i].len;
      return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
    }
  return parse_number(s);
}

/* Past one value without building it. */
static bool skip_value(struct scan *s)
{
  skip_ws(s);
  if (s->p >= s->end)
    return false;
  if (*s->p == '"') {
    const char *end;
    return skip_string(s, &end, NULL);
  }
  if (*s->p == '{' || *s->p == '[') {
    /* nesting counted, strings stepped over so their brackets do not count */
    int depth = 0;
    while (s->p < s->end) {
      char c = *s->p;
      if (c == '"') {
        const char *end;
        if (!skip_string(s, &end, NULL))
          return false;
        continue;
      }
      s->p++;
      if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && --depth == 0)
        return true;
    }
    return false;
  }
  json_t *v = parse_value(s); /* a number or a literal: nothing to build */
  bool ok = v != NULL;
  json_decref(v);
  return ok;
}

/* One item: values[i] set to its member keys[i] (when keys[i] is not NULL). */
static bool parse_item(struct scan *s, const char *const *keys, size_t nkeys, json_t **values)
{
  if (!eat(s, '{'))
    return false;
  if (eat(s, '}'))
    return true;
  do {
    skip_ws(s);
    const char *kstart = s->p + 1, *kend;
    bool kesc;
    if (s->p >= s->end || *s->p != '"' || !skip_string(s, &kend, &kesc) || !eat(s, ':'))
      return false;
    size_t klen = (size_t)(kend - kstart), k = 0;
    if (!kesc)
      while (k < nkeys && (!keys[k] || keys[k][0] != kstart[0] ||
                           strncmp(keys[k], kstart, klen) != 0 || keys[k][klen] != '\0'))
        k++;
    if (kesc || k == nkeys) {
      if (!skip_value(s))
        return false;
      continue;
    }
    json_decref(values[k]); /* a repeated member: the last one counts, as in Go */
    if (!(values[k] = parse_value(s)))
      return false;
  } while (eat(s, ','));
  return eat(s, '}');
}

int list_each(const char *text, size_t len, const char *const *keys, size_t nkeys,
              int (*each)(void *ud, json_t *const *values), void *ud, struct berr *err)
{
  struct scan s = {.p = text, .end = text + len};
  json_t *values[LIST_MAX_KEYS] = {0};
  if (nkeys > LIST_MAX_KEYS)
    return berr_set(err, 0, "list_each: %zu keys, at most %d", nkeys, LIST_MAX_KEYS);
  if (!eat(&s, '['))
    return berr_set(err, 0, "invalid JSON from the daemon: expected a list");
  if (eat(&s, ']'))
    return 0;
  do {
    bool ok = parse_item(&s, keys, nkeys, values);
    int r = ok ? each(ud, values) : 0;
    for (size_t i = 0; i < nkeys; i++) {
      json_decref(values[i]);
      values[i] = NULL;
    }
    if (!ok)
      return berr_set(err, 0, "invalid JSON from the daemon: a list item does not parse");
    if (r < 0)
      return r;
  } while (eat(&s, ','));
  skip_ws(&s);
  if (!eat(&s, ']') || (skip_ws(&s), s.p != s.end))
    return berr_set(err, 0, "invalid JSON from the daemon: the list does not end");
  return 0;
}
