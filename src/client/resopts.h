/* The limit flags docker run, create and update share (the CLI's container.Resources flags):
 * one parser and one writer of the HostConfig / UpdateConfig fields for all three. */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct res_opts {
  int64_t memory, memory_swap, memory_reservation, nano_cpus, cpu_shares, cpu_period, cpu_quota,
      cpu_rt_period, cpu_rt_runtime, blkio_weight, pids_limit;
  const char *cpuset_cpus, *cpuset_mems;
  bool pids_limit_set;
};

/* getopt codes of the long-only flags; -m and -c are the short ones. */
enum {
  RES_O_MEMSWAP = 3000,
  RES_O_MEMRES,
  RES_O_CPUS,
  RES_O_CPUPERIOD,
  RES_O_CPUQUOTA,
  RES_O_CPURTPERIOD,
  RES_O_CPURTRUNTIME,
  RES_O_BLKIO,
  RES_O_CPUSET_CPUS,
  RES_O_CPUSET_MEMS,
  RES_O_PIDS,
};

/* Entries for a struct option table (the short option string needs "m:c:"). */
#define RES_LONGOPTS                                                                               \
  {"memory", required_argument, NULL, 'm'},                                                        \
      {"memory-swap", required_argument, NULL, RES_O_MEMSWAP},                                     \
      {"memory-reservation", required_argument, NULL, RES_O_MEMRES},                               \
      {"cpus", required_argument, NULL, RES_O_CPUS}, {"cpu-shares", required_argument, NULL, 'c'}, \
      {"cpu-period", required_argument, NULL, RES_O_CPUPERIOD},                                    \
      {"cpu-quota", required_argument, NULL, RES_O_CPUQUOTA},                                      \
      {"cpu-rt-period", required_argument, NULL, RES_O_CPURTPERIOD},                               \
      {"cpu-rt-runtime", required_argument, NULL, RES_O_CPURTRUNTIME},                             \
      {"blkio-weight", required_argument, NULL, RES_O_BLKIO},                                      \
      {"cpuset-cpus", required_argument, NULL, RES_O_CPUSET_CPUS},                                 \
      {"cpuset-mems", required_argument, NULL, RES_O_CPUSET_MEMS},                                 \
  {                                                                                                \
    "pids-limit", required_argument, NULL, RES_O_PIDS                                              \
  }

/* Handles getopt code opt with its argument for command cmd (for the usage message).
 * Returns false when opt is not a limit flag; otherwise true with *rc 0, or the exit code
 * after printing docker's usage error for a bad value. */
bool res_opt_parse(struct res_opts *r, const char *cmd, int opt, const char *arg, int *rc);

/* Sets update's body fields (an UpdateConfig), as the docker CLI sends them: every limit,
 * PidsLimit only when given. run and create write the same values at their places in the
 * HostConfig, whose key order the docker CLI's differs from (runopts.c). */
void res_opts_json(const struct res_opts *r, json_t *obj);

/* A size flag ("512m", or -1) and an integer flag, with the docker CLI's messages on bad
 * input (a usage error's exit code, else 0). */
int res_size_flag(const char *cmd, const char *flag, const char *v, int64_t *out);
int res_int_flag(const char *cmd, const char *flag, const char *v, int64_t *out);
