/* Seccomp: compile the OCI linux.seccomp profile to BPF with libseccomp in the parent, and
 * install that BPF with a bare seccomp(2) call in the container process. */
#include "libcontainer/security/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "libcontainer/security/seccomp_cache.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

struct lc_seccomp {
  struct sock_fprog prog; /* prog.filter is owned */
  unsigned int flags;     /* SECCOMP_FILTER_FLAG_*, NEW_LISTENER included when notify */
  bool notify;
  char *listener_path;
  char *listener_metadata;
};

/* Syscalls added to Linux after libseccomp 2.5.4 (the oldest we build with). libseccomp
 * cannot resolve them, so a profile naming them still loads; they stay at the default
 * action. Keep in step with the kernel's syscall tables. */
static const char *const newer_syscalls[] = {
    "cachestat",
    "fchmodat2",
    "futex_requeue",
    "futex_wait",
    "futex_wake",
    "getxattrat",
    "listmount",
    "listxattrat",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lsm_set_self_attr",
    "map_shadow_stack",
    "mseal",
    "open_tree_attr",
    "removexattrat",
    "setxattrat",
    "statmount",
    "uretprobe",
    "file_getattr",
    "file_setattr",
};

bool lc_seccomp_newer_syscall(const char *name)
{
  for (size_t i = 0; i < sizeof(newer_syscalls) / sizeof(newer_syscalls[0]); i++)
    if (strcmp(name, newer_syscalls[i]) == 0)
      return true;
  return false;
}

static void seccomp_ctx_releasep(scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release(*ctx);
}

/* "SCMP_ACT_ERRNO" etc. ERRNO and TRACE carry errno_ret in their low 16 bits. */
static int seccomp_action(const char *name, uint32_t errno_ret, uint32_t *out, const char *where,
                          struct berr *err)
{
  static const struct {
    const char *name;
    uint32_t action;
  } actions[] = {
      {"SCMP_ACT_KILL", SCMP_ACT_KILL},
      {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
      {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
      {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
      {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
      {"SCMP_ACT_LOG", SCMP_ACT_LOG},
      {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
  };
  if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
    *out = SCMP_ACT_ERRNO(errno_ret);
    return 0;
  }
  if (strcmp(name, "SCMP_ACT_TRACE") == 0) {
    *out = SCMP_ACT_TRACE(errno_ret);
    return 0;
  }
  for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
    if (strcmp(name, actions[i].name) == 0) {
      *out = actions[i].action;
      return 0;
    }
  return berr_set(err, 0, "%s: unknown seccomp action \"%s\"", where, name);
}

static bool action_takes_errno(const char *name)
{
  return strcmp(name, "SCMP_ACT_ERRNO") == 0 || strcmp(name, "SCMP_ACT_TRACE") == 0;
}

static int seccomp_operator(const char *name, enum scmp_compare *out, const char *where,
                            struct berr *err)
{
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
    if (strcmp(name, ops[i].name) == 0) {
      *out = ops[i].op;
      return 0;
    }
  return berr_set(err, 0, "%s: unknown seccomp operator \"%s\"", where, name);
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" token. */
static int seccomp_arch(const char *name, uint32_t *out, struct berr *err)
{
  char lower[32];
  const char *p = name;
  if (strncmp(p, "SCMP_ARCH_", 10) == 0)
    p += 10;
  size_t n = strlen(p);
  if (n == 0 || n >= sizeof(lower))
    return berr_set(err, 0, "linux.seccomp.architectures: unknown architecture \"%s\"", name);
  for (size_t i = 0; i <= n; i++)
    lower[i] = (char)tolower((unsigned char)p[i]);
  uint32_t token = seccomp_arch_resolve_name(lower);
  if (token == 0)
    return berr_set(err, 0, "linux.seccomp.architectures: unknown architecture \"%s\"", name);
  *out = token;
  return 0;
}

static int seccomp_flag(const char *name, unsigned int *flags, struct berr *err)
{
  static const struct {
    const char *name;
    unsigned int flag;
  } known[] = {
      {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
      {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
      {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
      {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
  };
  for (size_t i = 0; i < ARRAY_SIZE(known); i++)
    if (strcmp(name, known[i].name) == 0) {
      *flags |= known[i].flag;
      return 0;
    }
  return berr_set(err, 0, "linux.seccomp.flags: unknown seccomp flag \"%s\"", name);
}

/* Read errnoRet (or defaultErrnoRet) if present; only ERRNO and TRACE may carry one. */
static int seccomp_errno_ret(json_t *obj, const char *key, const char *action, uint32_t *out,
                             const char *where, struct berr *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffff)
    return berr_set(err, 0, "%s.%s: expected an errno number", where, key);
  if (!action_takes_errno(action))
    return berr_set(err, 0, "%s.%s: an errno value is given for action \"%s\"", where, key, action);
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

struct rule_args {
  struct scmp_arg_cmp cmp[6];
  unsigned int n;
  bool same_index; /* two conditions on one argument: one rule per condition (runc/crun) */
};

static int seccomp_parse_args(json_t *args, struct rule_args *out, const char *where,
                              struct berr *err)
{
  memset(out, 0, sizeof(*out));
  if (!args || json_is_null(args))
    return 0;
  if (!json_is_array(args))
    return berr_set(err, 0, "%s.args: expected an array", where);
  if (json_array_size(args) > 6)
    return berr_set(err, 0, "%s.args: at most 6 conditions, got %zu", where, json_array_size(args));
  unsigned int seen[6] = {0};
  size_t i;
  json_t *a;
  json_array_foreach(args, i, a)
  {
    char here[96];
    snprintf(here, sizeof(here), "%s.args[%zu]", where, i);
    if (!json_is_object(a))
      return berr_set(err, 0, "%s: expected an object", here);
    int64_t index = 0, value = 0, value_two = 0;
    const char *op = NULL;
    int r = bjson_get_int(a, "index", true, &index, here, err);
    if (r >= 0)
      r = bjson_get_int(a, "value", false, &value, here, err);
    if (r >= 0)
      r = bjson_get_int(a, "valueTwo", false, &value_two, here, err);
    if (r >= 0)
      r = bjson_get_str(a, "op", true, &op, here, err);
    if (r < 0)
      return r;
    if (index < 0 || index > 5)
      return berr_set(err, 0, "%s.index: %lld is not an argument index (0-5)", here,
                      (long long)index);
    enum scmp_compare cmp = SCMP_CMP_EQ;
    r = seccomp_operator(op, &cmp, here, err);
    if (r < 0)
      return r;
    if (++seen[index] > 1)
      out->same_index = true;
    /* Values are u64 in the spec; jansson holds them as int64, same bits. */
    out->cmp[out->n++] = (struct scmp_arg_cmp){
        .arg = (unsigned int)index,
        .op = cmp,
        .datum_a = (scmp_datum_t)value,
        .datum_b = (scmp_datum_t)value_two,
    };
  }
  return 0;
}

static int seccomp_add_syscalls(scmp_filter_ctx ctx, json_t *entry, size_t idx,
                                uint32_t default_action, bool *notify, struct berr *err)
{
  char where[64];
  snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", idx);
  if (!json_is_object(entry))
    return berr_set(err, 0, "%s: expected an object", where);

  const char *action_name = NULL;
  json_t *names = NULL, *args = NULL;
  int r = bjson_get_str(entry, "action", true, &action_name, where, err);
  if (r >= 0)
    r = bjson_get_typed(entry, "names", JSON_ARRAY, false, &names, where, err);
  if (r < 0)
    return r;
  args = json_object_get(entry, "args");

  uint32_t errno_ret = EPERM;
  r = seccomp_errno_ret(entry, "errnoRet", action_name, &errno_ret, where, err);
  if (r < 0)
    return r;
  uint32_t action = 0;
  r = seccomp_action(action_name, errno_ret, &action, where, err);
  if (r < 0)
    return r;
  struct rule_args ra;
  r = seccomp_parse_args(args, &ra, where, err);
  if (r < 0)
    return r;

  if (action == SCMP_ACT_NOTIFY) {
    *notify = true;
    /* After installing, the container process must still write to hand on the listener fd
     * (runc's rule: a notified write would hang it). */
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
      if (json_is_string(n) && strcmp(json_string_value(n), "write") == 0)
        return berr_set(err, 0, "%s: SCMP_ACT_NOTIFY cannot be used for the write syscall", where);
    }
  }

  /* libseccomp refuses a rule whose action is the default one; it is redundant anyway. */
  if (action == default_action)
    return 0;

  size_t i;
  json_t *n;
  json_array_foreach(names, i, n)
  {
    if (!json_is_string(n))
      return berr_set(err, 0, "%s.names[%zu]: expected a string", where, i);
    const char *name = json_string_value(n);
    int nr = seccomp_syscall_resolve_name(name);
    /* Profiles list syscalls of newer kernels than our libseccomp knows (Docker's default
     * does): those are skipped, as runc and crun do. Any other unknown name is a mistake
     * in the profile and is refused, so a typo never silently allows a syscall. */
    if (nr == __NR_SCMP_ERROR) {
      if (lc_seccomp_newer_syscall(name))
        continue;
      return berr_set(err, 0, "%s: unknown syscall \"%s\"", where, name);
    }
    if (ra.n == 0 || !ra.same_index) {
      r = seccomp_rule_add_array(ctx, action, nr, ra.n, ra.cmp);
      if (r < 0)
        return berr_set(err, -r, "%s: add seccomp rule for %s", where, name);
    } else {
      /* Conditions on one argument cannot be ANDed by libseccomp; like runc and crun, make
       * each condition its own rule (so they OR). */
      for (unsigned int k = 0; k < ra.n; k++) {
        r = seccomp_rule_add_array(ctx, action, nr, 1, &ra.cmp[k]);
        if (r < 0)
          return berr_set(err, -r, "%s: add seccomp rule for %s", where, name);
      }
    }
  }
  return 0;
}

/* libseccomp 2.5 exports only to an fd: go through a memfd and keep the bytes. */
static int seccomp_export(scmp_filter_ctx ctx, struct sock_fprog *prog, struct berr *err)
{
  _cleanup_close_ int fd = memfd_create("berth-seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "memfd_create for the seccomp filter");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0)
    return berr_set(err, -r, "export the seccomp filter");
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berr_errno(err, "stat the seccomp filter");
  size_t len = (size_t)st.st_size;
  if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
      len / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return berr_set(err, 0,
                    "compiled seccomp filter has a bad size (%zu bytes, at most %d "
                    "instructions)",
                    len, BPF_MAXINSNS);
  _cleanup_free_ struct sock_filter *insns = malloc(len);
  if (!insns)
    return berr_set(err, ENOMEM, "seccomp filter");
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (char *)insns + done, len - done, (off_t)done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_errno(err, "read the seccomp filter");
    if (n == 0)
      return berr_set(err, 0, "read the seccomp filter: short read");
    done += (size_t)n;
  }
  prog->len = (unsigned short)(len / sizeof(struct sock_filter));
  prog->filter = steal_ptr(insns);
  return 0;
}

/* The -ENOSYS stub (what runc's patchbpf does): with a deny-by-default profile, a syscall newer
 * than every syscall the profile names would get the default errno (EPERM for Docker's
 * profile), but libc falls back to older syscalls only on ENOSYS (clone3, fchmodat2, ...).
 * So, per architecture, numbers above the largest one the profile names return ENOSYS. The
 * stub runs before libseccomp's program and either returns ENOSYS or jumps into it. */

#define X32_SYSCALL_BIT 0x40000000u
#define RET_ENOSYS (SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))

struct arch_last {
  uint32_t token; /* libseccomp arch token (an AUDIT_ARCH_* value, x32 aside) */
  int last;       /* largest syscall number the profile names for it, -1 if none */
};

static bool action_is_permissive(const char *name)
{
  return strcmp(name, "SCMP_ACT_ALLOW") == 0 || strcmp(name, "SCMP_ACT_LOG") == 0;
}

/* Largest syscall number the profile names (any rule, any action) on this arch. */
static int profile_last_syscall(json_t *syscalls, uint32_t token)
{
  int last = -1;
  size_t i, j;
  json_t *entry, *name;
  json_array_foreach(syscalls, i, entry)
  {
    json_t *names = json_object_get(entry, "names");
    json_array_foreach(names, j, name)
    {
      if (!json_is_string(name))
        continue;
      int nr = seccomp_syscall_resolve_name_arch(token, json_string_value(name));
      if (nr >= 0 && nr > last) /* negative: unknown, or a pseudo number on this arch */
        last = nr;
    }
  }
  return last;
}

#define STUB_MAX 256

struct stub {
  struct sock_filter insns[STUB_MAX];
  unsigned int n;
  bool overflow;
};

static void stub_emit(struct stub *st, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
  if (st->n >= STUB_MAX) {
    st->overflow = true;
    return;
  }
  st->insns[st->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* "nr > last: ENOSYS, else into the filter". The ja targets are patched once the stub length
 * is known (k holds a marker until then). */
#define JA_MAIN_MARK 0xffffffffu
static void stub_emit_check(struct stub *st, uint32_t last)
{
  stub_emit(st, BPF_JMP | BPF_JGT | BPF_K, 0, 1, last);
  stub_emit(st, BPF_RET | BPF_K, 0, 0, RET_ENOSYS);
  stub_emit(st, BPF_JMP | BPF_JA, 0, 0, JA_MAIN_MARK);
}

/* One block per audit arch: "jeq arch, 0, <skip block>; ld nr; checks". x86_64 and x32 share
 * AUDIT_ARCH_X86_64 and differ by X32_SYSCALL_BIT in the number. */
static int seccomp_enosys_stub(const struct arch_last *archs, size_t n, struct stub *st)
{
  bool have64 = false, have32 = false;
  uint32_t last64 = 0, last32 = 0;
  memset(st, 0, sizeof(*st));
  stub_emit(st, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, arch));
  for (size_t i = 0; i < n; i++) {
    if (archs[i].last < 0)
      continue;
    if (archs[i].token == SCMP_ARCH_X86_64) {
      have64 = true;
      last64 = (uint32_t)archs[i].last;
      continue;
    }
    if (archs[i].token == SCMP_ARCH_X32) {
      have32 = true;
      last32 = (uint32_t)archs[i].last;
      continue;
    }
    unsigned int head = st->n;
    stub_emit(st, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, archs[i].token);
    stub_emit(st, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
    if (archs[i].token == SCMP_ARCH_S390 || archs[i].token == SCMP_ARCH_S390X) {
      /* s390 multiplexes numbers the kernel does not know through setup(0): ENOSYS too. */
      stub_emit(st, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
      stub_emit(st, BPF_RET | BPF_K, 0, 0, RET_ENOSYS);
    }
    stub_emit_check(st, (uint32_t)archs[i].last);
    if (!st->overflow)
      st->insns[head].jf = (uint8_t)(st->n - head - 1);
  }
  if (have64 || have32) {
    unsigned int head = st->n;
    stub_emit(st, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, AUDIT_ARCH_X86_64);
    stub_emit(st, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
    if (have64 && have32) {
      stub_emit(st, BPF_JMP | BPF_JSET | BPF_K, 3, 0, X32_SYSCALL_BIT);
      stub_emit_check(st, last64);
      stub_emit_check(st, last32);
    } else if (have64) {
      /* x32 numbers are not this block's business: straight into the filter. */
      stub_emit(st, BPF_JMP | BPF_JSET | BPF_K, 2, 0, X32_SYSCALL_BIT);
      stub_emit_check(st, last64);
    } else {
      stub_emit(st, BPF_JMP | BPF_JSET | BPF_K, 0, 2, X32_SYSCALL_BIT);
      stub_emit_check(st, last32);
    }
    if (!st->overflow)
      st->insns[head].jf = (uint8_t)(st->n - head - 1);
  }
  if (st->overflow)
    return -E2BIG;
  for (unsigned int i = 0; i < st->n; i++)
    if (st->insns[i].code == (BPF_JMP | BPF_JA) && st->insns[i].k == JA_MAIN_MARK)
      st->insns[i].k = st->n - i - 1;
  return 0;
}

/* Prepend the stub to the compiled program (no stub when no arch has a known syscall). */
static int seccomp_prepend_enosys(struct sock_fprog *prog, const struct arch_last *archs, size_t n,
                                  struct berr *err)
{
  struct stub *st = calloc(1, sizeof(*st));
  if (!st)
    return berr_set(err, ENOMEM, "seccomp -ENOSYS stub");
  int r = seccomp_enosys_stub(archs, n, st);
  if (r < 0) {
    free(st);
    return berr_set(err, -r, "seccomp -ENOSYS stub");
  }
  if (st->n <= 1) { /* only the arch load: nothing to check */
    free(st);
    return 0;
  }
  size_t total = (size_t)st->n + prog->len;
  if (total > BPF_MAXINSNS) {
    free(st);
    return berr_set(err, 0, "seccomp filter too long (%zu instructions, at most %d)", total,
                    BPF_MAXINSNS);
  }
  struct sock_filter *insns = malloc(total * sizeof(*insns));
  if (!insns) {
    free(st);
    return berr_set(err, ENOMEM, "seccomp filter");
  }
  memcpy(insns, st->insns, st->n * sizeof(*insns));
  memcpy(insns + st->n, prog->filter, prog->len * sizeof(*insns));
  free(prog->filter);
  prog->filter = insns;
  prog->len = (unsigned short)total;
  free(st);
  return 0;
}

static int seccomp_compile_ctx(json_t *seccomp, struct lc_seccomp *s, struct berr *err)
{
  const char *where = "linux.seccomp";
  const char *default_name = NULL;
  json_t *archs = NULL, *flags = NULL, *syscalls = NULL;
  const char *lpath = NULL, *lmeta = NULL;
  int r = bjson_get_str(seccomp, "defaultAction", true, &default_name, where, err);
  if (r >= 0)
    r = bjson_get_typed(seccomp, "architectures", JSON_ARRAY, false, &archs, where, err);
  if (r >= 0)
    r = bjson_get_typed(seccomp, "flags", JSON_ARRAY, false, &flags, where, err);
  if (r >= 0)
    r = bjson_get_typed(seccomp, "syscalls", JSON_ARRAY, false, &syscalls, where, err);
  if (r >= 0)
    r = bjson_get_str(seccomp, "listenerPath", false, &lpath, where, err);
  if (r >= 0)
    r = bjson_get_str(seccomp, "listenerMetadata", false, &lmeta, where, err);
  if (r < 0)
    return r;

  uint32_t default_errno = EPERM;
  r = seccomp_errno_ret(seccomp, "defaultErrnoRet", default_name, &default_errno, where, err);
  if (r < 0)
    return r;
  uint32_t default_action = 0;
  r = seccomp_action(default_name, default_errno, &default_action, "linux.seccomp.defaultAction",
                     err);
  if (r < 0)
    return r;
  if (default_action == SCMP_ACT_NOTIFY)
    return berr_set(err, 0,
                    "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
                    "action");

  _cleanup_(seccomp_ctx_releasep) scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx)
    return berr_set(err, 0, "seccomp_init failed for default action %s", default_name);

  /* The native arch is always in a libseccomp filter, listed or not (Docker's profile leaves
   * it out on some architectures). */
  struct arch_last arch_list[32];
  size_t n_arch = 0;
  arch_list[n_arch++] = (struct arch_last){.token = seccomp_arch_native(), .last = -1};

  size_t i;
  json_t *v;
  json_array_foreach(archs, i, v)
  {
    if (!json_is_string(v))
      return berr_set(err, 0, "linux.seccomp.architectures[%zu]: expected a string", i);
    uint32_t token = 0;
    r = seccomp_arch(json_string_value(v), &token, err);
    if (r < 0)
      return r;
    bool seen = false;
    for (size_t k = 0; k < n_arch; k++)
      seen = seen || arch_list[k].token == token;
    if (!seen && n_arch < ARRAY_SIZE(arch_list))
      arch_list[n_arch++] = (struct arch_last){.token = token, .last = -1};
    r = seccomp_arch_add(ctx, token);
    /* EDOM: libseccomp cannot put big- and little-endian architectures in one filter (runc
     * and crun fail the same way; Docker's profile only lists one endianness per arch). */
    if (r == -EDOM)
      return berr_set(err, 0,
                      "add seccomp architecture %s: its endianness differs from the native "
                      "architecture's",
                      json_string_value(v));
    if (r < 0 && r != -EEXIST)
      return berr_set(err, -r, "add seccomp architecture %s", json_string_value(v));
  }

  unsigned int kflags = 0;
  json_array_foreach(flags, i, v)
  {
    if (!json_is_string(v))
      return berr_set(err, 0, "linux.seccomp.flags[%zu]: expected a string", i);
    r = seccomp_flag(json_string_value(v), &kflags, err);
    if (r < 0)
      return r;
  }

  /* Long profiles (Docker's has hundreds of names) get a binary tree instead of a linear
   * scan; runc does the same above 32 entries. Not fatal when unsupported. */
  if (json_array_size(syscalls) > 32)
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  bool notify = false;
  json_array_foreach(syscalls, i, v)
  {
    r = seccomp_add_syscalls(ctx, v, i, default_action, &notify, err);
    if (r < 0)
      return r;
  }

  r = seccomp_export(ctx, &s->prog, err);
  if (r < 0)
    return r;

  /* Like runc: only a deny-by-default profile needs the stub, and not when its default errno
   * already is ENOSYS. */
  if (!action_is_permissive(default_name) &&
      !(strcmp(default_name, "SCMP_ACT_ERRNO") == 0 && default_errno == ENOSYS)) {
    for (size_t k = 0; k < n_arch; k++)
      arch_list[k].last = profile_last_syscall(syscalls, arch_list[k].token);
    r = seccomp_prepend_enosys(&s->prog, arch_list, n_arch, err);
    if (r < 0)
      return r;
  }

  s->notify = notify;
  if (notify) {
    /* The kernel refuses TSYNC together with a listener unless TSYNC_ESRCH; the container
     * process is single-threaded at install time, so TSYNC has nothing to sync anyway. */
    kflags &= ~(unsigned int)SECCOMP_FILTER_FLAG_TSYNC;
    kflags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  }
  s->flags = kflags;
  if (lpath && !(s->listener_path = strdup(lpath)))
    return berr_set(err, ENOMEM, "seccomp listenerPath");
  if (lmeta && !(s->listener_metadata = strdup(lmeta)))
    return berr_set(err, ENOMEM, "seccomp listenerMetadata");
  return 0;
}

static char *cache_dir; /* lc_seccomp_set_cache_dir */

void lc_seccomp_set_cache_dir(const char *dir)
{
  free(cache_dir);
  cache_dir = dir ? strdup(dir) : NULL;
}

void lc_seccomp_use_cache_of(const char *root)
{
  if (!root) {
    lc_seccomp_set_cache_dir(NULL);
    return;
  }
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/.seccomp-cache", root);
  lc_seccomp_set_cache_dir(dir);
}

int lc_seccomp_compile(json_t *seccomp, struct lc_seccomp **out, struct berr *err)
{
  *out = NULL;
  if (!seccomp || json_is_null(seccomp))
    return 0;
  if (!json_is_object(seccomp))
    return berr_set(err, 0, "linux.seccomp: expected an object");
  char key[65];
  bool cacheable = cache_dir && lc_seccomp_cache_key(seccomp, key);
  if (cacheable && (*out = lc_seccomp_cache_load(cache_dir, key, seccomp)))
    return 0;
  struct lc_seccomp *s = calloc(1, sizeof(*s));
  if (!s)
    return berr_set(err, ENOMEM, "seccomp");
  int r = seccomp_compile_ctx(seccomp, s, err);
  if (r < 0) {
    lc_seccomp_free(s);
    return r;
  }
  if (cacheable)
    lc_seccomp_cache_store(cache_dir, key, s);
  *out = s;
  return 0;
}

int lc_seccomp_from_bpf(const void *insns, size_t n_insns, unsigned int flags, bool notify,
                        json_t *seccomp, struct lc_seccomp **out, struct berr *err)
{
  *out = NULL;
  const char *lpath = json_string_value(json_object_get(seccomp, "listenerPath"));
  const char *lmeta = json_string_value(json_object_get(seccomp, "listenerMetadata"));
  struct lc_seccomp *s = calloc(1, sizeof(*s));
  if (!s || !(s->prog.filter = malloc(n_insns * sizeof(struct sock_filter))) ||
      (lpath && !(s->listener_path = strdup(lpath))) ||
      (lmeta && !(s->listener_metadata = strdup(lmeta)))) {
    lc_seccomp_free(s);
    return berr_set(err, ENOMEM, "seccomp");
  }
  memcpy(s->prog.filter, insns, n_insns * sizeof(struct sock_filter));
  s->prog.len = (unsigned short)n_insns;
  s->flags = flags;
  s->notify = notify;
  *out = s;
  return 0;
}

int lc_seccomp_install(const struct lc_seccomp *s, int *notify_fd, struct berr *err)
{
  if (notify_fd)
    *notify_fd = -1;
  if (!s)
    return 0;
  /* The prog is only read by the kernel; the cast drops const for the uapi struct. */
  struct sock_fprog prog = s->prog;
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->flags, &prog);
  if (r < 0 && errno == EINVAL && !s->notify && s->flags != 0)
    /* A kernel older than one of the optional flags (LOG, SPEC_ALLOW, WAIT_KILLABLE_RECV):
     * install without them rather than fail, as crun does. */
    r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  if (r < 0 && errno == ENOSYS && !s->notify)
    r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
  if (r < 0)
    return berr_errno(err, "install the seccomp filter");
  if (s->notify) {
    if (notify_fd)
      *notify_fd = (int)r;
    else
      close((int)r);
  }
  return 0;
}

int lc_seccomp_wants_notify(const struct lc_seccomp *s)
{
  return s && s->notify;
}

const char *lc_seccomp_listener_path(const struct lc_seccomp *s)
{
  return s ? s->listener_path : NULL;
}

const char *lc_seccomp_listener_metadata(const struct lc_seccomp *s)
{
  return s ? s->listener_metadata : NULL;
}

void lc_seccomp_free(struct lc_seccomp *s)
{
  if (!s)
    return;
  free(s->prog.filter);
  free(s->listener_path);
  free(s->listener_metadata);
  free(s);
}

const void *lc_seccomp_bpf(const struct lc_seccomp *s, size_t *n_insns)
{
  if (n_insns)
    *n_insns = s ? s->prog.len : 0;
  return s ? s->prog.filter : NULL;
}

unsigned int lc_seccomp_flags(const struct lc_seccomp *s)
{
  return s ? s->flags : 0;
}
