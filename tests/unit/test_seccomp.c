/* Unit tests for seccomp: profiles compiled here are installed in forked children on the real
 * kernel, and the tests watch what the syscalls then do (errno, SIGSYS, notifications). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/berr.h"
#include "libcontainer/security/seccomp.h"

static char tmpdir[] = "/tmp/berth-seccomp-XXXXXX";

static struct lc_seccomp *compile(const char *text, struct berr *err, int *rc)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) {
    printf("# bad test JSON: %s: %s\n", je.text, text);
    *rc = -999;
    return NULL;
  }
  struct lc_seccomp *s = NULL;
  *rc = lc_seccomp_compile(j, &s, err);
  if (*rc < 0)
    printf("# compile: %s\n", err->msg);
  json_decref(j);
  return s;
}

static struct lc_seccomp *compile_ok(const char *text)
{
  struct berr err = {0};
  int rc = 0;
  struct lc_seccomp *s = compile(text, &err, &rc);
  CHECK(rc == 0 && s != NULL);
  return s;
}

/* Compile must fail, and the message must contain `want`. */
static void compile_fails(const char *text, const char *want)
{
  struct berr err = {0};
  int rc = 0;
  struct lc_seccomp *s = compile(text, &err, &rc);
  CHECK(rc == -EINVAL && s == NULL);
  if (!strstr(err.msg, want))
    printf("# message \"%s\" lacks \"%s\"\n", err.msg, want);
  CHECK(strstr(err.msg, want) != NULL);
  lc_seccomp_free(s);
}

typedef int (*child_fn)(void *arg);

/* Fork, install the filter in the child, run fn there; returns the raw wait status. */
static int run_filtered(const struct lc_seccomp *s, child_fn fn, void *arg)
{
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* SIGSYS would dump core otherwise */
    struct berr err = {0};
    if (lc_seccomp_install(s, NULL, &err) < 0) {
      printf("# install: %s\n", err.msg);
      fflush(stdout);
      _exit(100);
    }
    _exit(fn(arg));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    return -1;
  return status;
}

static bool exited_ok(int status)
{
  if (status < 0)
    return false;
  if (WIFSIGNALED(status))
    printf("# child killed by signal %d\n", WTERMSIG(status));
  else if (WEXITSTATUS(status) != 0)
    printf("# child failed at step %d\n", WEXITSTATUS(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool dir_exists(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

struct mkdir_arg {
  const char *path;
  int want_errno;
};

static int child_mkdir(void *a)
{
  struct mkdir_arg *m = a;
  if (mkdir(m->path, 0755) == 0)
    return 1;
  if (errno != m->want_errno)
    return 2;
  /* Other syscalls still work. */
  if (getpid() <= 1 || syscall(SYS_getppid) <= 0)
    return 3;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 4;
  close(fd);
  return 0;
}

static void test_deny_mkdir(void)
{
  char path[128];
  snprintf(path, sizeof(path), "%s/denied", tmpdir);
  struct lc_seccomp *s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                                    "{\"names\":[\"mkdir\",\"mkdirat\"],"
                                    "\"action\":\"SCMP_ACT_ERRNO\"}]}");
  CHECK(!lc_seccomp_wants_notify(s));
  struct mkdir_arg m = {path, EPERM};
  CHECK(exited_ok(run_filtered(s, child_mkdir, &m)));
  CHECK(!dir_exists(path));
  /* Without the filter the same mkdir works: the denial came from seccomp. */
  CHECK(mkdir(path, 0755) == 0 && rmdir(path) == 0);
  lc_seccomp_free(s);

  /* A custom errnoRet. */
  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\","
                 "\"errnoRet\":38}]}");
  m.want_errno = 38;
  CHECK(exited_ok(run_filtered(s, child_mkdir, &m)));
  CHECK(!dir_exists(path));
  lc_seccomp_free(s);

  /* Syscalls newer than libseccomp are skipped, the rest of the rule still applies. */
  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"mseal\",\"mkdir\",\"fchmodat2\","
                 "\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}");
  m.want_errno = EACCES;
  CHECK(exited_ok(run_filtered(s, child_mkdir, &m)));
  CHECK(!dir_exists(path));
  lc_seccomp_free(s);

  /* A name that is no syscall at all is a mistake, not something to skip. */
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                "{\"names\":[\"mkdir\",\"no_such_syscall_berth\"],"
                "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "unknown syscall \"no_such_syscall_berth\"");

  /* Several architectures, and flags, in one profile. */
  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                 "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                 "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
                 "\"SECCOMP_FILTER_FLAG_TSYNC\"],"
                 "\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
                 "\"action\":\"SCMP_ACT_ERRNO\"}]}");
  CHECK(lc_seccomp_flags(s) ==
        (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC));
  m.want_errno = EPERM;
  CHECK(exited_ok(run_filtered(s, child_mkdir, &m)));
  CHECK(!dir_exists(path));
  lc_seccomp_free(s);
}

static int sock_errno(int domain, int type)
{
  int fd = socket(domain, type, 0);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno;
}

static int child_socket_unix_denied(void *a)
{
  (void)a;
  if (sock_errno(AF_UNIX, SOCK_STREAM) != EPERM)
    return 1;
  if (sock_errno(AF_INET, SOCK_DGRAM) != 0)
    return 2;
  return 0;
}

static int child_socket_unix_or_inet6_denied(void *a)
{
  (void)a;
  if (sock_errno(AF_UNIX, SOCK_STREAM) != EPERM)
    return 1;
  if (sock_errno(AF_INET6, SOCK_DGRAM) != EPERM)
    return 2;
  if (sock_errno(AF_INET, SOCK_DGRAM) != 0)
    return 3;
  return 0;
}

static int child_socket_udp4_denied(void *a)
{
  (void)a;
  if (sock_errno(AF_INET, SOCK_DGRAM) != EPERM)
    return 1;
  if (sock_errno(AF_INET, SOCK_STREAM) != 0)
    return 2;
  if (sock_errno(AF_UNIX, SOCK_DGRAM) != 0)
    return 3;
  return 0;
}

static int child_socket_cloexec_denied(void *a)
{
  (void)a;
  if (sock_errno(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) != EPERM)
    return 1;
  if (sock_errno(AF_UNIX, SOCK_STREAM) != 0)
    return 2;
  return 0;
}

static int child_socket_only_unix(void *a)
{
  (void)a;
  if (sock_errno(AF_UNIX, SOCK_STREAM) != 0)
    return 1;
  if (sock_errno(AF_INET, SOCK_STREAM) != EPERM)
    return 2;
  if (sock_errno(AF_INET6, SOCK_STREAM) != EPERM)
    return 3;
  return 0;
}

static int socketpair_errno(int domain, int type)
{
  int sv[2];
  if (socketpair(domain, type, 0, sv) < 0)
    return errno;
  close(sv[0]);
  close(sv[1]);
  return 0;
}

static int child_socket_ranges(void *a)
{
  (void)a;
  if (sock_errno(AF_INET6, SOCK_STREAM) != EPERM)
    return 1;
  if (sock_errno(AF_INET, SOCK_STREAM) != 0)
    return 2;
  if (sock_errno(AF_UNIX, SOCK_STREAM) != 0)
    return 3;
  if (sock_errno(AF_UNSPEC, SOCK_STREAM) != EPERM) /* EAFNOSUPPORT without the filter */
    return 4;
  if (socketpair_errno(AF_UNIX, SOCK_STREAM) != EPERM)
    return 5;
  if (socketpair_errno(AF_UNIX, SOCK_SEQPACKET) != 0)
    return 6;
  return 0;
}

static void test_args(void)
{
  char buf[512];
  /* One condition: socket(AF_UNIX, ...) only. */
  snprintf(buf, sizeof(buf),
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"socket\"],"
           "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":%d,"
           "\"op\":\"SCMP_CMP_EQ\"}]}]}",
           AF_UNIX);
  struct lc_seccomp *s = compile_ok(buf);
  CHECK(exited_ok(run_filtered(s, child_socket_unix_denied, NULL)));
  lc_seccomp_free(s);

  /* Two conditions on the same argument: OR (one rule each, as runc and crun do). */
  snprintf(buf, sizeof(buf),
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"socket\"],"
           "\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"},"
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"}]}]}",
           AF_UNIX, AF_INET6);
  s = compile_ok(buf);
  CHECK(exited_ok(run_filtered(s, child_socket_unix_or_inet6_denied, NULL)));
  lc_seccomp_free(s);

  /* Conditions on different arguments: AND. */
  snprintf(buf, sizeof(buf),
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"socket\"],"
           "\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"},"
           "{\"index\":1,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"}]}]}",
           AF_INET, SOCK_DGRAM);
  s = compile_ok(buf);
  CHECK(exited_ok(run_filtered(s, child_socket_udp4_denied, NULL)));
  lc_seccomp_free(s);

  /* MASKED_EQ: value is the mask, valueTwo the value to compare with. */
  snprintf(buf, sizeof(buf),
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"socket\"],"
           "\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":1,\"value\":%d,\"valueTwo\":%d,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
           SOCK_CLOEXEC, SOCK_CLOEXEC);
  s = compile_ok(buf);
  CHECK(exited_ok(run_filtered(s, child_socket_cloexec_denied, NULL)));
  lc_seccomp_free(s);

  /* NE, and the allow-list shape Docker uses: ERRNO by default, allow socket(AF_UNIX). The
   * child only makes syscalls the profile allows besides socket. */
  snprintf(buf, sizeof(buf),
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"socket\"],"
           "\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_NE\"}]}]}",
           AF_UNIX);
  s = compile_ok(buf);
  CHECK(exited_ok(run_filtered(s, child_socket_only_unix, NULL)));
  lc_seccomp_free(s);

  /* GT, LT, GE and LE: socket domains above AF_INET or below AF_UNIX are denied, and
   * socketpair(AF_UNIX or above, type SOCK_DGRAM or below). */
  snprintf(buf, sizeof(buf),
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
           "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_GT\"}]},"
           "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_LT\"}]},"
           "{\"names\":[\"socketpair\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
           "{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_GE\"},"
           "{\"index\":1,\"value\":%d,\"op\":\"SCMP_CMP_LE\"}]}]}",
           AF_INET, AF_UNIX, AF_UNIX, SOCK_DGRAM);
  s = compile_ok(buf);
  CHECK(exited_ok(run_filtered(s, child_socket_ranges, NULL)));
  lc_seccomp_free(s);
}

static int child_getppid(void *a)
{
  (void)a;
  syscall(SYS_getppid);
  return 0; /* never reached when the filter kills */
}

static void test_kill(void)
{
  struct lc_seccomp *s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                                    "{\"names\":[\"getppid\"],"
                                    "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}");
  int st = run_filtered(s, child_getppid, NULL);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
  lc_seccomp_free(s);

  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_KILL\"}]}");
  st = run_filtered(s, child_getppid, NULL);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
  lc_seccomp_free(s);

  /* TRAP sends SIGSYS, whose default action also ends the process. */
  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_TRAP\"}]}");
  st = run_filtered(s, child_getppid, NULL);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
  lc_seccomp_free(s);

  /* LOG allows (and logs). */
  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_LOG\"}]}");
  CHECK(exited_ok(run_filtered(s, child_getppid, NULL)));
  lc_seccomp_free(s);
}

/* Runs under "deny everything but write and exit_group": only raw syscalls from here on.
 * Reports the errno of: getpid (named nowhere, below the profile's largest number: the
 * default errno), syscall 400 (above every number the profile names: ENOSYS from the stub),
 * and, when x32 is in the profile, the same two as x32 numbers. */
#define X32_BIT 0x40000000L
struct allow_arg {
  int fd;
  bool x32;
};

static int child_allowlist(void *a)
{
  struct allow_arg *arg = a;
  char report[5] = {'w', 0, 0, 0, 0};
  report[1] = (char)(syscall(SYS_getpid) < 0 ? errno : 0);
  report[2] = (char)(syscall(400) < 0 ? errno : 0);
  if (arg->x32) {
    report[3] = (char)(syscall(X32_BIT | SYS_getpid) < 0 ? errno : 0);
    report[4] = (char)(syscall(X32_BIT | 400) < 0 ? errno : 0);
  }
  if (syscall(SYS_write, arg->fd, report, sizeof(report)) != (long)sizeof(report))
    syscall(SYS_exit_group, 1);
  syscall(SYS_exit_group, 0);
  return 2;
}

static void run_allowlist(struct lc_seccomp *s, bool x32, char got[5])
{
  int p[2];
  memset(got, 0, 5);
  CHECK(pipe(p) == 0);
  struct allow_arg arg = {p[1], x32};
  int st = run_filtered(s, child_allowlist, &arg);
  close(p[1]);
  CHECK(read(p[0], got, 5) == 5);
  close(p[0]);
  CHECK(exited_ok(st));
  CHECK(got[0] == 'w');
}

static void test_allowlist(void)
{
  struct lc_seccomp *s =
      compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":13,"
                 "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                 "\"syscalls\":[{\"names\":[\"write\",\"exit_group\",\"exit\"],"
                 "\"action\":\"SCMP_ACT_ALLOW\"},"
                 /* same as the default: skipped, not an error */
                 "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}");
  char got[5];
  run_allowlist(s, true, got);
  CHECK(got[1] == EACCES);
  CHECK(got[2] == ENOSYS);
  CHECK(got[3] == EACCES);
  CHECK(got[4] == ENOSYS);
  size_t with_stub = 0, without_stub = 0;
  lc_seccomp_bpf(s, &with_stub);
  lc_seccomp_free(s);

  /* A default errno of ENOSYS needs no stub (runc's rule): a shorter program, same answers
   * for numbers above the profile's. */
  s = compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                 "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                 "\"syscalls\":[{\"names\":[\"write\",\"exit_group\",\"exit\"],"
                 "\"action\":\"SCMP_ACT_ALLOW\"},"
                 "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}");
  lc_seccomp_bpf(s, &without_stub);
  CHECK(without_stub > 0 && with_stub > without_stub);
  run_allowlist(s, true, got);
  CHECK(got[1] == EACCES); /* the explicit getpid rule now differs from the default */
  CHECK(got[2] == ENOSYS);
  lc_seccomp_free(s);

  /* A long profile (over 32 entries: the binary-tree layout) behaves the same. */
  static const char *const allowed[] = {
      "read",      "write",     "exit_group", "exit",      "close",        "fstat",   "lseek",
      "mmap",      "mprotect",  "munmap",     "brk",       "rt_sigaction", "ioctl",   "pread64",
      "pwrite64",  "readv",     "writev",     "access",    "pipe",         "select",  "sched_yield",
      "mremap",    "msync",     "mincore",    "madvise",   "dup",          "dup2",    "pause",
      "nanosleep", "getitimer", "alarm",      "setitimer", "sendfile",     "connect", "accept",
      "sendto",    "recvfrom",  "sendmsg",    "recvmsg",   "shutdown",     "bind",    "listen",
  };
  json_t *prof = json_pack("{s:s, s:i, s:[]}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
                           13, "syscalls");
  json_t *calls = json_object_get(prof, "syscalls");
  for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
    json_array_append_new(
        calls, json_pack("{s:[s], s:s}", "names", allowed[i], "action", "SCMP_ACT_ALLOW"));
  struct berr err = {0};
  s = NULL;
  CHECK(lc_seccomp_compile(prof, &s, &err) == 0 && s);
  json_decref(prof);
  run_allowlist(s, false, got);
  CHECK(got[1] == EACCES);
  CHECK(got[2] == ENOSYS);
  lc_seccomp_free(s);
}

static void test_errors(void)
{
  compile_fails("{\"defaultAction\":\"SCMP_ACT_FOO\"}",
                "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\"");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                "\"action\":\"SCMP_ACT_BOGUS\"}]}",
                "linux.seccomp.syscalls[0]: unknown seccomp action \"SCMP_ACT_BOGUS\"");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,"
                "\"op\":\"SCMP_CMP_XX\"}]}]}",
                "linux.seccomp.syscalls[0].args[0]: unknown seccomp operator \"SCMP_CMP_XX\"");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,"
                "\"op\":\"SCMP_CMP_EQ\"}]}]}",
                "is not an argument index");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_VAX\"]}",
                "linux.seccomp.architectures: unknown architecture \"SCMP_ARCH_VAX\"");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}",
                "unknown seccomp flag \"SECCOMP_FILTER_FLAG_NOPE\"");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                "\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":5}]}",
                "an errno value is given for action \"SCMP_ACT_KILL\"");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "cannot be the default action");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"write\"],"
                "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                "SCMP_ACT_NOTIFY cannot be used for the write syscall");
  compile_fails("{\"syscalls\":[]}", "defaultAction");
  compile_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"]}]}",
                "action");

  /* Every little-endian architecture the spec names compiles next to x86_64 (libseccomp
   * knows them all) ... */
  struct lc_seccomp *s =
      compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":["
                 "\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\",\"SCMP_ARCH_AARCH64\","
                 "\"SCMP_ARCH_ARM\",\"SCMP_ARCH_MIPSEL\",\"SCMP_ARCH_MIPSEL64\","
                 "\"SCMP_ARCH_MIPSEL64N32\",\"SCMP_ARCH_PPC64LE\",\"SCMP_ARCH_RISCV64\"],"
                 "\"syscalls\":[{\"names\":[\"read\",\"write\",\"socket\"],"
                 "\"action\":\"SCMP_ACT_ALLOW\"}]}");
  /* ... and the big-endian ones are known names that cannot join a little-endian filter. */
  static const char *const big_endian[] = {
      "SCMP_ARCH_MIPS",  "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
      "SCMP_ARCH_PPC",   "SCMP_ARCH_PPC64",  "SCMP_ARCH_S390",
      "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
  };
  for (size_t i = 0; i < sizeof(big_endian) / sizeof(big_endian[0]); i++) {
    char buf[256];
    snprintf(buf, sizeof(buf), "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"%s\"]}",
             big_endian[i]);
    compile_fails(buf, "its endianness differs from the native architecture's");
  }
  size_t n = 0;
  CHECK(lc_seccomp_bpf(s, &n) != NULL && n > 0);
  lc_seccomp_free(s);

  /* No seccomp at all. */
  struct berr err = {0};
  s = (struct lc_seccomp *)1;
  CHECK(lc_seccomp_compile(NULL, &s, &err) == 0 && s == NULL);
  CHECK(lc_seccomp_install(NULL, NULL, &err) == 0);
}

/* Send fd over a unix socket (SCM_RIGHTS). */
static int send_fd(int sock, int fd)
{
  char byte = 'f';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
    return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

static void test_notify(void)
{
  struct lc_seccomp *s =
      compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/agent.sock\","
                 "\"listenerMetadata\":\"hello\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
                 "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],"
                 "\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}");
  CHECK(lc_seccomp_wants_notify(s));
  CHECK(lc_seccomp_listener_path(s) && strcmp(lc_seccomp_listener_path(s), "/run/agent.sock") == 0);
  CHECK(lc_seccomp_listener_metadata(s) && strcmp(lc_seccomp_listener_metadata(s), "hello") == 0);
  /* TSYNC cannot go with a listener; it is dropped. */
  CHECK(lc_seccomp_flags(s) ==
        (SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV));

  int sp[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(sp[0]);
    struct berr err = {0};
    int nfd = -1;
    if (lc_seccomp_install(s, &nfd, &err) < 0) {
      printf("# install: %s\n", err.msg);
      fflush(stdout);
      _exit(1);
    }
    if (nfd < 0)
      _exit(2);
    if (send_fd(sp[1], nfd) < 0)
      _exit(3);
    close(nfd);
    /* The agent answers 4242 instead of the real parent pid. */
    long r = syscall(SYS_getppid);
    _exit(r == 4242 ? 0 : 4);
  }
  close(sp[1]);
  int nfd = recv_fd(sp[0]);
  close(sp[0]);
  CHECK(nfd >= 0);
  if (nfd >= 0) {
    struct pollfd pfd = {.fd = nfd, .events = POLLIN};
    /* Only a guard against hanging the test run if the child went wrong. */
    int ready = poll(&pfd, 1, 30000);
    CHECK(ready == 1 && (pfd.revents & POLLIN));
    if (ready == 1 && (pfd.revents & POLLIN)) {
      struct seccomp_notif req;
      memset(&req, 0, sizeof(req));
      CHECK(ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0);
      CHECK(req.data.nr == SYS_getppid);
      CHECK(req.pid == (uint32_t)pid);
      struct seccomp_notif_resp resp = {.id = req.id, .val = 4242, .error = 0, .flags = 0};
      CHECK(ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0);
    } else {
      kill(pid, SIGKILL);
    }
    close(nfd);
  } else {
    kill(pid, SIGKILL);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(exited_ok(st));
  lc_seccomp_free(s);
}

/* The number of entries in the cache directory. */
static int cache_entries(const char *dir)
{
  int n = 0;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

static bool same_program(const struct lc_seccomp *a, const struct lc_seccomp *b)
{
  size_t na = 0, nb = 0;
  const void *pa = lc_seccomp_bpf(a, &na), *pb = lc_seccomp_bpf(b, &nb);
  return pa && pb && na == nb && memcmp(pa, pb, na * 8) == 0 &&
         lc_seccomp_flags(a) == lc_seccomp_flags(b) &&
         lc_seccomp_wants_notify(a) == lc_seccomp_wants_notify(b);
}

static void test_cache(void)
{
  const char *deny = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":"
                     "[\"SECCOMP_FILTER_FLAG_LOG\"],\"syscalls\":[{\"names\":[\"mkdir\","
                     "\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
  /* the same profile, its keys in another order: the same entry */
  const char *reordered = "{\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\",\"names\":[\"mkdir\","
                          "\"mkdirat\"]}],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
                          "\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
  struct lc_seccomp *plain = compile_ok(deny); /* no cache set: compiled */
  char root[256], dir[300];
  snprintf(root, sizeof(root), "%s/root", tmpdir);
  snprintf(dir, sizeof(dir), "%s/.seccomp-cache", root);
  CHECK(mkdir(root, 0700) == 0);
  lc_seccomp_use_cache_of(root);
  struct lc_seccomp *first = compile_ok(deny);
  CHECK(cache_entries(dir) == 1);
  struct lc_seccomp *cached = compile_ok(reordered);
  CHECK(cache_entries(dir) == 1);
  CHECK(same_program(plain, first) && same_program(first, cached));
  /* the cached program denies what the compiled one denies */
  char path[128];
  snprintf(path, sizeof(path), "%s/denied", tmpdir);
  struct mkdir_arg m = {path, EPERM};
  CHECK(exited_ok(run_filtered(cached, child_mkdir, &m)));
  CHECK(!dir_exists(path));

  /* a damaged entry is not used: the profile is compiled again and the entry rewritten */
  DIR *d = opendir(dir);
  char entry[600] = "";
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.')
      snprintf(entry, sizeof(entry), "%s/%s", dir, e->d_name);
  if (d)
    closedir(d);
  int fd = open(entry, O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && write(fd, "BSECCMP1 short", 14) == 14);
  if (fd >= 0)
    close(fd);
  struct lc_seccomp *again = compile_ok(deny);
  CHECK(same_program(plain, again));
  struct stat st;
  CHECK(stat(entry, &st) == 0 && st.st_size > 14);

  /* another profile, another entry; a notifying one keeps its listener */
  struct lc_seccomp *other = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                                        "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}],"
                                        "\"listenerPath\":\"/run/x.sock\"}");
  CHECK(cache_entries(dir) == 2);
  struct lc_seccomp *other_cached =
      compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}],"
                 "\"listenerPath\":\"/run/x.sock\"}");
  CHECK(same_program(other, other_cached) && lc_seccomp_wants_notify(other_cached));
  CHECK(lc_seccomp_listener_path(other_cached) &&
        strcmp(lc_seccomp_listener_path(other_cached), "/run/x.sock") == 0);

  lc_seccomp_set_cache_dir(NULL);
  struct lc_seccomp *all[] = {plain, first, cached, again, other, other_cached};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    lc_seccomp_free(all[i]);
  d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    char p2[600];
    snprintf(p2, sizeof(p2), "%s/%s", dir, e->d_name);
    unlink(p2);
  }
  if (d)
    closedir(d);
  rmdir(dir);
  rmdir(root);
}

int main(void)
{
  if (geteuid() != 0) {
    printf("# not root: seccomp filters need CAP_SYS_ADMIN or no_new_privs; using NNP\n");
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  }
  if (!mkdtemp(tmpdir)) {
    printf("not ok 1 - mkdtemp\n");
    return 1;
  }
  test_deny_mkdir();
  test_args();
  test_kill();
  test_allowlist();
  test_errors();
  test_notify();
  test_cache();
  rmdir(tmpdir);
  CHECK_DONE();
}
