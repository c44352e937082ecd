/* Dotted API version comparison, numeric per component (moby's versions.compare). */
#include "api_version.h"

#include <stdlib.h>

static const char *next_component(const char *s, long *out)
{
  char *end = (char *)s;
  *out = *s ? strtol(s, &end, 10) : 0;
  if (end == s && *s) /* not a number: skip a character so the walk always advances */
    end++;
  return *end == '.' ? end + 1 : end;
}

int api_version_compare(const char *a, const char *b)
{
  while (*a || *b) {
    long x, y;
    a = next_component(a, &x);
    b = next_component(b, &y);
    if (x != y)
      return x < y ? -1 : 1;
  }
  return 0;
}
