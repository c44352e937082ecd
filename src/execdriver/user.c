/* User and group resolution inside the container's rootfs. */
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "libcontainer/safepath.h"

static bool parse_id(const char *s, unsigned long *out)
{
  char *end;
  if (!*s)
    return false;
  errno = 0;
  *out = strtoul(s, &end, 10);
  return !*end && !errno && *out < 0xffffffffUL;
}

/* Split a passwd/group line into fields in place. */
static int split(char *line, char **f, int max)
{
  int n = 0;
  line[strcspn(line, "\n")] = '\0';
  char *p = line;
  while (n < max) {
    f[n++] = p;
    p = strchr(p, ':');
    if (!p)
      break;
    *p++ = '\0';
  }
  return n;
}

static FILE *open_in_root(int rootfd, const char *path)
{
  struct berr ignored;
  int fd = lc_safe_open(rootfd, path, O_RDONLY, 0, &ignored);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "re");
  if (!f)
    close(fd);
  return f;
}

static int find_group(int rootfd, const char *name, gid_t *gid)
{
  unsigned long v;
  if (parse_id(name, &v)) {
    *gid = (gid_t)v;
    return 0;
  }
  _cleanup_fclose_ FILE *f = open_in_root(rootfd, "/etc/group");
  char line[4096];
  while (f && fgets(line, sizeof(line), f)) {
    char *fl[4];
    if (split(line, fl, 4) >= 3 && strcmp(fl[0], name) == 0 && parse_id(fl[2], &v)) {
      *gid = (gid_t)v;
      return 0;
    }
  }
  return -ENOENT;
}

static void add_group(struct execdriver_user *u, gid_t g)
{
  for (size_t i = 0; i < u->ngroups; i++)
    if (u->groups[i] == g)
      return;
  if (u->ngroups < sizeof(u->groups) / sizeof(u->groups[0]))
    u->groups[u->ngroups++] = g;
}

int execdriver_resolve_user(int rootfd, const char *spec, const char *const *group_add,
                            struct execdriver_user *out, struct berr *err)
{
  char user[256] = "", group[256] = "";
  memset(out, 0, sizeof(*out));
  if (spec && *spec) {
    const char *colon = strchr(spec, ':');
    snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
    if (colon)
      snprintf(group, sizeof(group), "%s", colon + 1);
  }
  if (!*user)
    snprintf(user, sizeof(user), "0");

  unsigned long v = 0;
  bool by_id = parse_id(user, &v);
  bool found = false;
  char name[256] = "";
  _cleanup_fclose_ FILE *f = open_in_root(rootfd, "/etc/passwd");
  char line[4096];
  while (f && fgets(line, sizeof(line), f)) {
    char *fl[7];
    unsigned long uid, gid;
    if (split(line, fl, 7) < 4 || !parse_id(fl[2], &uid) || !parse_id(fl[3], &gid))
      continue;
    if ((by_id && uid == v) || (!by_id && strcmp(fl[0], user) == 0)) {
      out->uid = (uid_t)uid;
      out->gid = (gid_t)gid;
      snprintf(name, sizeof(name), "%s", fl[0]);
      found = true;
      break;
    }
  }
  if (!found) {
    if (!by_id)
      return berr_set(err, 0, "unable to find user %s: no matching entries in passwd file", user);
    out->uid = (uid_t)v;
    out->gid = 0;
  }
  if (*group) {
    gid_t g;
    if (find_group(rootfd, group, &g) < 0)
      return berr_set(err, 0, "unable to find group %s: no matching entries in group file", group);
    out->gid = g;
  }
  /* Supplementary groups: every /etc/group entry listing the user by name. */
  if (*name) {
    _cleanup_fclose_ FILE *g = open_in_root(rootfd, "/etc/group");
    while (g && fgets(line, sizeof(line), g)) {
      char *fl[4];
      unsigned long gid;
      if (split(line, fl, 4) < 4 || !parse_id(fl[2], &gid))
        continue;
      char *save = NULL;
      for (char *m = strtok_r(fl[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, name) == 0 && gid != out->gid)
          add_group(out, (gid_t)gid);
    }
  }
  for (const char *const *ga = group_add; ga && *ga; ga++) {
    gid_t g;
    if (find_group(rootfd, *ga, &g) < 0)
      return berr_set(err, 0, "unable to find group %s: no matching entries in group file", *ga);
    add_group(out, g);
  }
  return 0;
}
