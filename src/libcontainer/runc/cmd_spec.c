/* berth-runc spec: the default config.json, the same document runc and crun write. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/bjson.h"

static const char default_spec[] =
    "{\"ociVersion\":\"1.0.2-dev\","
    "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
    "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
    "\"TERM=xterm\"],\"cwd\":\"/\","
    "\"capabilities\":{"
    "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"runc\","
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
    "\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":["
    "\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":["
    "\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":["
    "\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":["
    "\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":"
    "[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
    "{\"type\":\"uts\"},{\"type\":\"mount\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
    "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
    "\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
    "\"/proc/sysrq-trigger\"]}}";

/* runc's rootless variant: a user namespace mapping the caller, no network namespace,
 * sysfs bound from the host, no cgroup mount or device rules. */
static void make_rootless(json_t *spec)
{
  json_t *linux_ = json_object_get(spec, "linux");
  json_object_del(linux_, "resources");
  json_t *ns = json_array();
  const char *keep[] = {"pid", "ipc", "uts", "mount", "user"};
  for (size_t i = 0; i < 5; i++)
    json_array_append_new(ns, json_pack("{s:s}", "type", keep[i]));
  json_object_set_new(linux_, "namespaces", ns);
  json_object_set_new(
      linux_, "uidMappings",
      json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
  json_object_set_new(
      linux_, "gidMappings",
      json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
  json_t *mounts = json_object_get(spec, "mounts"), *out = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m)
  {
    const char *dest = json_string_value(json_object_get(m, "destination"));
    if (strcmp(dest, "/sys/fs/cgroup") == 0)
      continue;
    if (strcmp(dest, "/sys") == 0)
      m = json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s]}", "destination", "/sys", "type", "none", "source",
                    "/sys", "options", "rbind", "nosuid", "noexec", "nodev", "ro");
    else
      json_incref(m);
    json_array_append_new(out, m);
  }
  json_object_set_new(spec, "mounts", out);
}

int cmd_spec(struct cli *cli, int argc, char **argv, struct berr *err)
{
  static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                       {"rootless", no_argument, NULL, 'R'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0, 0, 0, 0}};
  const char *bundle = ".";
  bool rootless = false;
  int c;
  (void)cli;
  while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
    if (c == 'b')
      bundle = optarg;
    else if (c == 'R')
      rootless = true;
    else if (c == 'h') {
      cli_command_help("spec");
      return 0;
    } else
      return berr_set(err, 0, "spec: bad option; see --help");
  }
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  if (access(path, F_OK) == 0)
    return berr_set(err, EEXIST, "File %s exists. Remove it first", path);
  json_error_t je;
  json_auto_t *spec = json_loads(default_spec, 0, &je);
  if (!spec)
    return berr_set(err, 0, "default spec: %s", je.text);
  if (rootless)
    make_rootless(spec);
  char *text = json_dumps(spec, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
  if (!text)
    return berr_set(err, ENOMEM, "spec");
  FILE *f = fopen(path, "wx");
  int r = 0;
  if (!f || fprintf(f, "%s\n", text) < 0)
    r = berr_errno(err, "write %s", path);
  if (f && fclose(f) != 0 && r == 0)
    r = berr_errno(err, "write %s", path);
  free(text);
  return r;
}
