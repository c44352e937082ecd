/* The default seccomp profile. Each rule names the syscalls it refuses and the capability
 * that lifts the refusal, mirroring the policy of Docker's profile. */
#include "seccomp_default.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stddef.h>

struct deny_rule {
  int cap; /* -1: always refused */
  const char *const *names;
};

static const char *const need_sys_admin[] = {
    "mount",           "umount",        "umount2",       "pivot_root",
    "setns",           "unshare",       "fsopen",        "fsconfig",
    "fsmount",         "fspick",        "move_mount",    "open_tree",
    "mount_setattr",   "quotactl",      "quotactl_fd",   "lookup_dcookie",
    "perf_event_open", "bpf",           "fanotify_init", "name_to_handle_at",
    "syslog",          "setdomainname", "sethostname",   "vm86",
    "vm86old",         "swapon",        "swapoff",       NULL};
static const char *const need_sys_module[] = {"init_module",
                                              "finit_module",
                                              "delete_module",
                                              "create_module",
                                              "query_module",
                                              "get_kernel_syms",
                                              NULL};
static const char *const need_sys_boot[] = {"reboot", "kexec_load", "kexec_file_load", NULL};
static const char *const need_sys_time[] = {"settimeofday",    "stime",    "clock_settime",
                                            "clock_settime64", "adjtimex", "clock_adjtime",
                                            "clock_adjtime64", NULL};
static const char *const need_sys_ptrace[] = {"process_vm_readv", "process_vm_writev", "kcmp",
                                              NULL};
static const char *const need_sys_pacct[] = {"acct", NULL};
static const char *const need_sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const need_sys_nice[] = {"get_mempolicy", "set_mempolicy",           "mbind",
                                            "move_pages",    "set_mempolicy_home_node", NULL};
static const char *const need_dac_read_search[] = {"open_by_handle_at", NULL};
static const char *const need_sys_tty_config[] = {"vhangup", NULL};
static const char *const never[] = {"keyctl",      "add_key",     "request_key", "uselib",
                                    "ustat",       "sysfs",       "_sysctl",     "nfsservctl",
                                    "userfaultfd", "afs_syscall", "tuxcall",     "security",
                                    "vserver",     "getpmsg",     "putpmsg",     NULL};

static const struct deny_rule rules[] = {
    {CAP_SYS_ADMIN, need_sys_admin},
    {CAP_SYS_MODULE, need_sys_module},
    {CAP_SYS_BOOT, need_sys_boot},
    {CAP_SYS_TIME, need_sys_time},
    {CAP_SYS_PTRACE, need_sys_ptrace},
    {CAP_SYS_PACCT, need_sys_pacct},
    {CAP_SYS_RAWIO, need_sys_rawio},
    {CAP_SYS_NICE, need_sys_nice},
    {CAP_DAC_READ_SEARCH, need_dac_read_search},
    {CAP_SYS_TTY_CONFIG, need_sys_tty_config},
    {-1, never},
};

static json_t *names_array(const char *const *names)
{
  json_t *a = json_array();
  for (const char *const *n = names; *n; n++)
    json_array_append_new(a, json_string(*n));
  return a;
}

json_t *execdriver_default_seccomp(uint64_t caps)
{
  json_t *syscalls = json_array();
  for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
    if (rules[i].cap >= 0 && (caps & (1ULL << rules[i].cap)))
      continue;
    json_t *names = names_array(rules[i].names);
    if (json_array_size(names) == 0) {
      json_decref(names);
      continue;
    }
    json_array_append_new(syscalls, json_pack("{s:o,s:s,s:i}", "names", names, "action",
                                              "SCMP_ACT_ERRNO", "errnoRet", EPERM));
  }
  if (!(caps & (1ULL << CAP_SYS_ADMIN))) {
    /* clone with any namespace flag: one rule per flag, so any of them is refused. */
    static const int ns_flags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                   CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
    for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
      json_array_append_new(syscalls,
                            json_pack("{s:[s],s:s,s:i,s:[{s:i,s:I,s:I,s:s}]}", "names", "clone",
                                      "action", "SCMP_ACT_ERRNO", "errnoRet", EPERM, "args",
                                      "index", 0, "value", (json_int_t)ns_flags[i], "valueTwo",
                                      (json_int_t)ns_flags[i], "op", "SCMP_CMP_MASKED_EQ"));
    /* clone3 hides its flags in memory: report it missing so libc uses clone. */
    json_array_append_new(syscalls, json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action",
                                              "SCMP_ACT_ERRNO", "errnoRet", ENOSYS));
  }
  /* socket(AF_VSOCK) is refused, as in Docker's profile. */
  json_array_append_new(syscalls,
                        json_pack("{s:[s],s:s,s:i,s:[{s:i,s:I,s:s}]}", "names", "socket", "action",
                                  "SCMP_ACT_ERRNO", "errnoRet", EPERM, "args", "index", 0, "value",
                                  (json_int_t)40, "op", "SCMP_CMP_EQ"));
  return json_pack("{s:s,s:[s,s,s],s:o}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
                   "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls", syscalls);
}
