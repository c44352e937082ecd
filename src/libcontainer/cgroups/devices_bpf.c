/* cgroup v2 device control: the OCI device rules compiled to a BPF_PROG_TYPE_CGROUP_DEVICE
 * program and attached to the container's cgroup with bpf(2). Like runc and crun, the
 * rules are a white-list over "deny everything", applied in order: the last matching rule
 * decides, and a wildcard rule hides every rule before it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/cleanup.h"

#define INSN(c, d, s, o, i)                                                                        \
  ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm) INSN(BPF_JMP | (op) | BPF_K, dst, 0, 0, imm) /* off fixed later */
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

struct prog {
  struct bpf_insn *v;
  size_t n, cap;
};

static int emit(struct prog *p, const struct bpf_insn *insns, size_t n)
{
  if (p->n + n > p->cap) {
    size_t cap = (p->n + n) * 2 + 16;
    struct bpf_insn *nv = realloc(p->v, cap * sizeof(*nv));
    if (!nv)
      return -ENOMEM;
    p->v = nv;
    p->cap = cap;
  }
  memcpy(p->v + p->n, insns, n * sizeof(*insns));
  p->n += n;
  return 0;
}

static int access_bits(const char *access)
{
  int a = 0;
  for (const char *c = access; *c; c++)
    a |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  return a;
}

/* One rule: a run of "skip to the next rule unless it matches" tests, then the verdict.
 * Returns 1 when the rule matches every request (nothing before it can matter). */
static int emit_rule(struct prog *p, const struct lc_cg_device_rule *d)
{
  struct bpf_insn b[12];
  size_t n = 0;
  int acc = access_bits(d->access);
  if (d->type != 'a')
    b[n++] = JMP_IMM(BPF_JNE, BPF_REG_2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (acc != ACC_ALL) {
    b[n++] = MOV32_REG(BPF_REG_1, BPF_REG_3);
    if (d->allow) {
      /* allow only when every requested access is allowed */
      b[n++] = ALU32_IMM(BPF_AND, BPF_REG_1, ~acc & ACC_ALL);
      b[n++] = JMP_IMM(BPF_JNE, BPF_REG_1, 0);
    } else {
      /* deny when any requested access is denied */
      b[n++] = ALU32_IMM(BPF_AND, BPF_REG_1, acc);
      b[n++] = JMP_IMM(BPF_JEQ, BPF_REG_1, 0);
    }
  }
  if (d->type != 'a' && d->major >= 0)
    b[n++] = JMP_IMM(BPF_JNE, BPF_REG_4, (int32_t)d->major);
  if (d->type != 'a' && d->minor >= 0)
    b[n++] = JMP_IMM(BPF_JNE, BPF_REG_5, (int32_t)d->minor);
  bool wildcard = n == 0;
  b[n++] = MOV64_IMM(BPF_REG_0, d->allow ? 1 : 0);
  b[n++] = EXIT();
  /* Conditional jumps skip the rest of this rule's block. */
  for (size_t j = 0; j < n; j++)
    if (BPF_CLASS(b[j].code) == BPF_JMP && BPF_OP(b[j].code) != BPF_EXIT)
      b[j].off = (int16_t)(n - j - 1);
  if (emit(p, b, n) < 0)
    return -ENOMEM;
  return wildcard ? 1 : 0;
}

static int build(const struct lc_cg_device_rule *rules, size_t n, struct prog *p, struct berr *err)
{
  /* ctx is struct bpf_cgroup_dev_ctx: access_type = (access << 16) | type, major, minor */
  const struct bpf_insn pre[] = {
      LDX_W(BPF_REG_2, BPF_REG_1, 0), ALU32_IMM(BPF_AND, BPF_REG_2, 0xFFFF),
      LDX_W(BPF_REG_3, BPF_REG_1, 0), ALU32_IMM(BPF_RSH, BPF_REG_3, 16),
      LDX_W(BPF_REG_4, BPF_REG_1, 4), LDX_W(BPF_REG_5, BPF_REG_1, 8),
  };
  if (emit(p, pre, ARRAY_SIZE(pre)) < 0)
    return berr_set(err, ENOMEM, "devices program");
  /* Last rule first: the first match in the program is the last one in the list. */
  for (size_t i = n; i-- > 0;) {
    if (rules[i].major > INT32_MAX || rules[i].minor > INT32_MAX)
      return berr_set(err, 0, "devices[%zu]: major/minor out of range", i);
    int r = emit_rule(p, &rules[i]);
    if (r < 0)
      return berr_set(err, ENOMEM, "devices program");
    if (r == 1)
      return 0; /* earlier rules are unreachable; no default needed */
  }
  /* No rule matched: deny. */
  const struct bpf_insn dflt[] = {MOV64_IMM(BPF_REG_0, 0), EXIT()};
  if (emit(p, dflt, ARRAY_SIZE(dflt)) < 0)
    return berr_set(err, ENOMEM, "devices program");
  return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
  return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct prog *p, struct berr *err)
{
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)p->v;
  attr.insn_cnt = (uint32_t)p->n;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  int fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0 && errno == EPERM) {
    /* Before Linux 5.11 programs count against RLIMIT_MEMLOCK. */
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &rl);
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
  }
  if (fd >= 0)
    return fd;
  int saved = errno;
  /* Ask again with the verifier's log so the error says why. */
  char log[4096] = "";
  attr.log_level = 1;
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof(log);
  fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  log[strcspn(log, "\n")] = '\0';
  errno = saved;
  return berr_errno(err, "load device BPF program%s%s", log[0] ? ": " : "", log);
}

/* The ids of the device programs attached directly to the cgroup. */
static int query(int dirfd, uint32_t *ids, uint32_t *n, struct berr *err)
{
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = (uint32_t)dirfd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
  attr.query.prog_cnt = *n;
  if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
    return berr_errno(err, "query device BPF programs");
  *n = attr.query.prog_cnt;
  return 0;
}

int lc_cg_v2_devices_apply(const char *dir, const struct lc_cg_device_rule *rules, size_t n,
                           struct berr *err)
{
  struct prog p = {0};
  int r = build(rules, n, &p, err);
  if (r < 0) {
    free(p.v);
    return r;
  }
  _cleanup_close_ int prog = load(&p, err);
  free(p.v);
  if (prog < 0)
    return prog;
  _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return berr_errno(err, "open %s", dir);
  uint32_t old[64], nold = ARRAY_SIZE(old);
  if ((r = query(dirfd, old, &nold, err)) < 0)
    return r;

  /* Attach the new program next to the old ones, then detach those: there is no moment
   * without a filter (BPF_F_ALLOW_MULTI runs all; any deny wins meanwhile). */
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = (uint32_t)dirfd;
  attr.attach_bpf_fd = (uint32_t)prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
    return berr_errno(err, "attach device BPF program to %s", dir);
  for (uint32_t i = 0; i < nold; i++) {
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = old[i];
    _cleanup_close_ int ofd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (ofd < 0) {
      if (errno == ENOENT)
        continue;
      return berr_errno(err, "open device BPF program %u", old[i]);
    }
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)dirfd;
    attr.attach_bpf_fd = (uint32_t)ofd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
      return berr_errno(err, "detach old device BPF program from %s", dir);
  }
  return 0;
}
