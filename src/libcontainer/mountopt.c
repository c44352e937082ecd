/* Mount option table: which strings are mount(2) flags, which set propagation, and
 * which pass through to the filesystem as data. */
#include "mountopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"

struct opt {
  const char *name;
  unsigned long set;
  unsigned long clear;
};

static const struct opt flag_opts[] = {
    {"defaults", 0, 0},
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"suid", 0, MS_NOSUID},
    {"nosuid", MS_NOSUID, 0},
    {"dev", 0, MS_NODEV},
    {"nodev", MS_NODEV, 0},
    {"exec", 0, MS_NOEXEC},
    {"noexec", MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", MS_REMOUNT, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"atime", 0, MS_NOATIME},
    {"noatime", MS_NOATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
    {"silent", MS_SILENT, 0},
    {"loud", 0, MS_SILENT},
};

static const struct opt propagation_opts[] = {
    {"private", MS_PRIVATE, 0},       {"rprivate", MS_PRIVATE | MS_REC, 0},
    {"shared", MS_SHARED, 0},         {"rshared", MS_SHARED | MS_REC, 0},
    {"slave", MS_SLAVE, 0},           {"rslave", MS_SLAVE | MS_REC, 0},
    {"unbindable", MS_UNBINDABLE, 0}, {"runbindable", MS_UNBINDABLE | MS_REC, 0},
};

/* Options that only matter to other runtimes or are handled implicitly. */
static const char *const ignored_opts[] = {"tmpcopyup",    "nosymfollow",  "idmap",        "ridmap",
                                           "copy-symlink", "src-nofollow", "dest-nofollow"};

int lc_propagation_from_name(const char *name, unsigned long *out)
{
  for (size_t i = 0; i < ARRAY_SIZE(propagation_opts); i++)
    if (strcmp(name, propagation_opts[i].name) == 0) {
      *out = propagation_opts[i].set;
      return 0;
    }
  *out = 0;
  return -EINVAL;
}

static int append_data(char **data, const char *opt)
{
  size_t old = *data ? strlen(*data) : 0;
  char *n = realloc(*data, old + strlen(opt) + 2);
  if (!n)
    return -ENOMEM;
  if (old)
    n[old++] = ',';
  strcpy(n + old, opt);
  *data = n;
  return 0;
}

int lc_mount_parse_options(json_t *options, struct lc_mount *m, struct berr *err)
{
  size_t i;
  json_t *v;
  if (options && !json_is_array(options))
    return berr_set(err, 0, "mount %s: options must be an array", m->destination);
  json_array_foreach(options, i, v)
  {
    if (!json_is_string(v))
      return berr_set(err, 0, "mount %s: options[%zu] must be a string", m->destination, i);
    const char *o = json_string_value(v);
    bool done = false;
    if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
      m->bind = true;
      m->flags |= MS_BIND | (o[0] == 'r' ? MS_REC : 0);
      continue;
    }
    for (size_t k = 0; k < ARRAY_SIZE(flag_opts) && !done; k++)
      if (strcmp(o, flag_opts[k].name) == 0) {
        m->flags = (m->flags | flag_opts[k].set) & ~flag_opts[k].clear;
        m->clear_flags |= flag_opts[k].clear;
        done = true;
      }
    for (size_t k = 0; k < ARRAY_SIZE(propagation_opts) && !done; k++)
      if (strcmp(o, propagation_opts[k].name) == 0) {
        m->propagation = propagation_opts[k].set;
        done = true;
      }
    for (size_t k = 0; k < ARRAY_SIZE(ignored_opts) && !done; k++)
      if (strcmp(o, ignored_opts[k]) == 0)
        done = true;
    if (!done && append_data(&m->data, o) < 0)
      return berr_set(err, ENOMEM, "mount options");
  }
  return 0;
}
