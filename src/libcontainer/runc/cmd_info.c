/* berth-runc list, ps and features: read-only views of containers and of the runtime. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "libcontainer/container.h"
#include "libcontainer/state.h"

static int parse_format(int argc, char **argv, const char *name, const char *shortopts, bool *json,
                        bool *quiet, struct berr *err)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
        return berr_set(err, 0, "invalid format option \"%s\"", optarg);
      *json = strcmp(optarg, "json") == 0;
      break;
    case 'q':
      if (quiet)
        *quiet = true;
      break;
    case 'h':
      cli_command_help(name);
      return 1;
    default:
      return berr_set(err, 0, "%s: bad option; see --help", name);
    }
  }
  return 0;
}

int cmd_list(struct cli *cli, int argc, char **argv, struct berr *err)
{
  bool json = false, quiet = false;
  int r = parse_format(argc, argv, "list", "+f:qh", &json, &quiet, err);
  if (r != 0)
    return r > 0 ? 0 : r;
  _cleanup_strv_ char **ids = NULL;
  if (lc_state_list(cli->root, &ids, err) < 0)
    return -err->code;
  json_t *all = json_array();
  if (!json && !quiet)
    printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
           "OWNER");
  for (char **id = ids; *id; id++) {
    json_t *st = NULL;
    struct berr e;
    if (lc_container_state(cli->root, *id, &st, &e) < 0)
      continue;
    if (quiet)
      printf("%s\n", *id);
    else if (!json)
      printf("%-12s %-8lld %-10s %-40s %-30s %s\n", *id,
             (long long)json_integer_value(json_object_get(st, "pid")),
             json_string_value(json_object_get(st, "status")),
             json_string_value(json_object_get(st, "bundle")),
             json_string_value(json_object_get(st, "created")), "root");
    json_array_append_new(all, st);
  }
  if (json && !quiet) {
    char *s = json_dumps(all, JSON_COMPACT);
    printf("%s\n", s ? s : "[]");
    free(s);
  }
  json_decref(all);
  return 0;
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

/* Like runc: run the host's ps and keep the header and the container's rows. */
static int ps_table(const pid_t *pids, size_t n, int argc, char **argv, struct berr *err)
{
  int pfd[2];
  if (pipe(pfd) < 0)
    return berr_errno(err, "pipe");
  pid_t child = fork();
  if (child < 0)
    return berr_errno(err, "fork");
  if (child == 0) {
    dup2(pfd[1], STDOUT_FILENO);
    close(pfd[0]);
    close(pfd[1]);
    char *args[64] = {"ps"};
    int k = 1;
    if (argc == 0)
      args[k++] = "-ef";
    for (int i = 0; i < argc && k < 63; i++)
      args[k++] = argv[i];
    args[k] = NULL;
    execvp("ps", args);
    _exit(127);
  }
  close(pfd[1]);
  _cleanup_free_ char *out = NULL;
  int r = bf_read_fd_all(pfd[0], &out, NULL, err);
  close(pfd[0]);
  int status;
  waitpid(child, &status, 0);
  if (r < 0)
    return r;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return berr_set(err, 0, "ps failed");
  char *save = NULL;
  char *line = strtok_r(out, "\n", &save);
  if (!line)
    return 0;
  /* Find the PID column in the header. */
  int col = -1, idx = 0;
  {
    char hdr[4096];
    snprintf(hdr, sizeof(hdr), "%s", line);
    char *s2 = NULL;
    for (char *t = strtok_r(hdr, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2), idx++)
      if (strcmp(t, "PID") == 0)
        col = idx;
  }
  if (col < 0)
    return berr_set(err, 0, "couldn't find PID field in ps output");
  printf("%s\n", line);
  while ((line = strtok_r(NULL, "\n", &save))) {
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", line);
    char *s2 = NULL, *t = strtok_r(copy, " \t", &s2);
    for (int i = 0; t && i < col; i++)
      t = strtok_r(NULL, " \t", &s2);
    if (t && has_pid(pids, n, atol(t)))
      printf("%s\n", line);
  }
  return 0;
}

int cmd_ps(struct cli *cli, int argc, char **argv, struct berr *err)
{
  bool json = false;
  int r = parse_format(argc, argv, "ps", "+f:h", &json, NULL, err);
  if (r != 0)
    return r > 0 ? 0 : r;
  if (argc - optind < 1)
    return berr_set(err, 0, "\"ps\" requires a container id");
  const char *id = argv[optind];
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (lc_container_pids(cli->root, id, &pids, &n, err) < 0)
    return -err->code;
  if (!json)
    return ps_table(pids, n, argc - optind - 1, argv + optind + 1, err);
  printf("[");
  for (size_t i = 0; i < n; i++)
    printf("%s%d", i ? "," : "", pids[i]);
  printf("]\n");
  return 0;
}

int cmd_features(struct cli *cli, int argc, char **argv, struct berr *err)
{
  (void)cli;
  (void)argc;
  (void)argv;
  (void)err;
  static const char features[] =
      "{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.2.0\","
      "\"hooks\":[\"prestart\",\"createRuntime\",\"createContainer\",\"startContainer\","
      "\"poststart\",\"poststop\"],"
      "\"mountOptions\":[\"async\",\"atime\",\"bind\",\"defaults\",\"dev\",\"diratime\","
      "\"dirsync\",\"exec\",\"mand\",\"noatime\",\"nodev\",\"nodiratime\",\"noexec\","
      "\"nomand\",\"norelatime\",\"nostrictatime\",\"nosuid\",\"private\",\"rbind\","
      "\"relatime\",\"remount\",\"ro\",\"rprivate\",\"rshared\",\"rslave\",\"runbindable\","
      "\"rw\",\"shared\",\"slave\",\"strictatime\",\"suid\",\"sync\",\"unbindable\"],"
      "\"linux\":{\"namespaces\":[\"cgroup\",\"ipc\",\"mount\",\"network\",\"pid\",\"user\","
      "\"uts\"],"
      "\"capabilities\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_DAC_READ_SEARCH\","
      "\"CAP_FOWNER\",\"CAP_FSETID\",\"CAP_KILL\",\"CAP_SETGID\",\"CAP_SETUID\","
      "\"CAP_SETPCAP\",\"CAP_LINUX_IMMUTABLE\",\"CAP_NET_BIND_SERVICE\","
      "\"CAP_NET_BROADCAST\",\"CAP_NET_ADMIN\",\"CAP_NET_RAW\",\"CAP_IPC_LOCK\","
      "\"CAP_IPC_OWNER\",\"CAP_SYS_MODULE\",\"CAP_SYS_RAWIO\",\"CAP_SYS_CHROOT\","
      "\"CAP_SYS_PTRACE\",\"CAP_SYS_PACCT\",\"CAP_SYS_ADMIN\",\"CAP_SYS_BOOT\","
      "\"CAP_SYS_NICE\",\"CAP_SYS_RESOURCE\",\"CAP_SYS_TIME\",\"CAP_SYS_TTY_CONFIG\","
      "\"CAP_MKNOD\",\"CAP_LEASE\",\"CAP_AUDIT_WRITE\",\"CAP_AUDIT_CONTROL\","
      "\"CAP_SETFCAP\",\"CAP_MAC_OVERRIDE\",\"CAP_MAC_ADMIN\",\"CAP_SYSLOG\","
      "\"CAP_WAKE_ALARM\",\"CAP_BLOCK_SUSPEND\",\"CAP_AUDIT_READ\",\"CAP_PERFMON\","
      "\"CAP_BPF\",\"CAP_CHECKPOINT_RESTORE\"],"
      "\"cgroup\":{\"v1\":true,\"v2\":true,\"systemd\":false,\"systemdUser\":false},"
      "\"seccomp\":{\"enabled\":true,\"actions\":[\"SCMP_ACT_ALLOW\",\"SCMP_ACT_ERRNO\","
      "\"SCMP_ACT_KILL\",\"SCMP_ACT_KILL_PROCESS\",\"SCMP_ACT_KILL_THREAD\",\"SCMP_ACT_LOG\","
      "\"SCMP_ACT_NOTIFY\",\"SCMP_ACT_TRACE\",\"SCMP_ACT_TRAP\"],"
      "\"operators\":[\"SCMP_CMP_EQ\",\"SCMP_CMP_GE\",\"SCMP_CMP_GT\",\"SCMP_CMP_LE\","
      "\"SCMP_CMP_LT\",\"SCMP_CMP_MASKED_EQ\",\"SCMP_CMP_NE\"],"
      "\"archs\":[\"SCMP_ARCH_AARCH64\",\"SCMP_ARCH_ARM\",\"SCMP_ARCH_X32\","
      "\"SCMP_ARCH_X86\",\"SCMP_ARCH_X86_64\"]},"
      "\"apparmor\":{\"enabled\":false},\"selinux\":{\"enabled\":false}},"
      "\"annotations\":{\"org.opencontainers.runtime-spec.features\":\"berth-runc\"}}";
  json_error_t je;
  json_t *j = json_loads(features, 0, &je);
  cli_print_json(j);
  json_decref(j);
  return 0;
}
