/* A tiny TAP-style checker for C unit tests run by `meson test`. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    check_count++;                                                                                 \
    if (!(cond)) {                                                                                 \
      check_failures++;                                                                            \
      printf("not ok %d - %s:%d: %s\n", check_count, __FILE__, __LINE__, #cond);                   \
    } else {                                                                                       \
      printf("ok %d - %s\n", check_count, #cond);                                                  \
    }                                                                                              \
  } while (0)

#define CHECK_STREQ(a, b) CHECK(strcmp((a), (b)) == 0)

#define CHECK_DONE()                                                                               \
  do {                                                                                             \
    printf("1..%d\n", check_count);                                                                \
    return check_failures ? 1 : 0;                                                                 \
  } while (0)
