/* cgroup v2 device control: the OCI device rules compiled to a BPF_PROG_TYPE_CGROUP_DEVICE
 * program and attached to the container's cgroup with bpf(2). */
#include <errno.h>

#include "cgroup_internal.h"

int lc_cg_v2_devices_apply(const char *dir, const struct lc_cg_device_rule *rules, size_t n,
                           struct berr *err)
{
  if (n == 0)
    return 0;
  return berr_set(err, ENOTSUP, "devices: not supported on cgroup v2 yet");
}
