/* --userns-remap (dockerd's): resolving the remap user and its subordinate ranges, the
 * idmapped view of the layer store that shows image files as the mapped root's, and the
 * rules a remapped container follows. */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "graph/graph.h"
#include "graph/rwlayer.h"
#include "libcontainer/idmap.h"
#include "supervisor.h"

#define DEFAULT_REMAP_USER "dockremap"
#define DEFAULT_RANGE_START 100000u
#define DEFAULT_RANGE_SIZE 65536u

extern char **environ;

struct range {
  unsigned long start, size;
};

/* The ranges of name (or of its numeric id) in /etc/subuid-like file, sorted by start. */
static int read_ranges(const char *file, const char *name, unsigned long id, struct range **out,
                       size_t *n, struct berr *err)
{
  *out = NULL;
  *n = 0;
  _cleanup_fclose_ FILE *f = fopen(file, "re");
  if (!f)
    return errno == ENOENT ? 0 : berr_errno(err, "open %s", file);
  char line[512];
  char idstr[32];
  snprintf(idstr, sizeof(idstr), "%lu", id);
  while (fgets(line, sizeof(line), f)) {
    char *save = NULL, *who = strtok_r(line, ":\n", &save), *s = strtok_r(NULL, ":\n", &save),
         *c = strtok_r(NULL, ":\n", &save);
    if (!who || !s || !c || *who == '#' || (strcmp(who, name) != 0 && strcmp(who, idstr) != 0))
      continue;
    struct range *more = realloc(*out, (*n + 1) * sizeof(**out));
    if (!more)
      return berr_set(err, ENOMEM, "%s", file);
    *out = more;
    (*out)[(*n)++] = (struct range){strtoul(s, NULL, 10), strtoul(c, NULL, 10)};
  }
  for (size_t a = 1; a < *n; a++)
    for (size_t b = a; b > 0 && (*out)[b - 1].start > (*out)[b].start; b--) {
      struct range t = (*out)[b];
      (*out)[b] = (*out)[b - 1];
      (*out)[b - 1] = t;
    }
  return 0;
}

/* Contiguous container ids from 0 over the host ranges, as dockerd's idtools. */
static int ranges_to_maps(const struct range *r, size_t n, struct lc_idmap **out, size_t *nout,
                          struct berr *err)
{
  *out = calloc(n ? n : 1, sizeof(**out));
  if (!*out)
    return berr_set(err, ENOMEM, "id map");
  unsigned long next = 0;
  for (size_t i = 0; i < n; i++) {
    (*out)[i] = (struct lc_idmap){(unsigned)next, (unsigned)r[i].start, (unsigned)r[i].size};
    next += r[i].size;
  }
  *nout = n;
  return 0;
}

static int run_tool(char *const argv[], struct berr *err)
{
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (r != 0)
    return berr_set(err, r, "run %s", argv[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return berr_set(err, 0, "%s %s failed (status %d)", argv[0], argv[1], WEXITSTATUS(st));
  return 0;
}

/* The first gap of `size` ids at or above 100000 among every range of `file`. */
static unsigned long free_range(const char *file, unsigned long size)
{
  unsigned long start = DEFAULT_RANGE_START;
  _cleanup_fclose_ FILE *f = fopen(file, "re");
  if (!f)
    return start;
  for (bool moved = true; moved;) {
    moved = false;
    rewind(f);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
      char *save = NULL;
      strtok_r(line, ":\n", &save);
      char *s = strtok_r(NULL, ":\n", &save), *c = strtok_r(NULL, ":\n", &save);
      if (!s || !c)
        continue;
      unsigned long rs = strtoul(s, NULL, 10), rc = strtoul(c, NULL, 10);
      if (start < rs + rc && rs < start + size) {
        start = rs + rc;
        moved = true;
      }
    }
  }
  return start;
}

/* dockerd's "default": the system user dockremap (useradd) with a 65536-id range of
 * its own in /etc/subuid and /etc/subgid (usermod -v/-w), made when missing. */
static int ensure_default_user(struct berr *err)
{
  if (!getpwnam(DEFAULT_REMAP_USER)) {
    char *argv[] = {"useradd", "--system", "-s", "/bin/false", DEFAULT_REMAP_USER, NULL};
    if (run_tool(argv, err) < 0)
      return berr_wrap(err, "add the user " DEFAULT_REMAP_USER);
  }
  struct passwd *pw = getpwnam(DEFAULT_REMAP_USER);
  if (!pw)
    return berr_set(err, ENOENT, "user " DEFAULT_REMAP_USER " missing after useradd");
  const char *files[2] = {"/etc/subuid", "/etc/subgid"};
  const char *flags[2] = {"-v", "-w"};
  for (int k = 0; k < 2; k++) {
    _cleanup_free_ struct range *r = NULL;
    size_t n = 0;
    if (read_ranges(files[k], DEFAULT_REMAP_USER, k ? pw->pw_gid : pw->pw_uid, &r, &n, err) < 0)
      return -err->code;
    if (n)
      continue;
    unsigned long start = free_range(files[k], DEFAULT_RANGE_SIZE);
    char span[64];
    snprintf(span, sizeof(span), "%lu-%lu", start, start + DEFAULT_RANGE_SIZE - 1);
    char *argv[] = {"usermod", (char *)flags[k], span, DEFAULT_REMAP_USER, NULL};
    if (run_tool(argv, err) < 0)
      return berr_wrap(err, "add subordinate ids for " DEFAULT_REMAP_USER);
  }
  return 0;
}

int userns_remap_resolve(const char *spec, struct userns_remap *out, struct berr *err)
{
  memset(out, 0, sizeof(*out));
  if (!spec || !*spec)
    return berr_set(err, 0, "--userns-remap: empty");
  _cleanup_free_ char *user = NULL, *group = NULL;
  if (strcmp(spec, "default") == 0) {
    if (ensure_default_user(err) < 0)
      return -err->code;
    user = strdup(DEFAULT_REMAP_USER);
    group = strdup(DEFAULT_REMAP_USER);
  } else {
    const char *colon = strchr(spec, ':');
    user = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
    group = colon ? strdup(colon + 1) : NULL;
  }
  if (!user)
    return berr_set(err, ENOMEM, "userns-remap");
  /* Names or numeric ids; the ranges are looked up by name, as dockerd. */
  char *end;
  unsigned long num = strtoul(user, &end, 10);
  struct passwd *pw = *end == '\0' && *user ? getpwuid((uid_t)num) : getpwnam(user);
  if (!pw)
    return berr_set(err, 0, "--userns-remap: no such user: %s", user);
  free(user);
  user = strdup(pw->pw_name);
  unsigned long uid = pw->pw_uid;
  unsigned long gid;
  if (!group || !*group) {
    /* No group given: the user's name as a group name, else its primary group. */
    struct group *gr = getgrnam(user);
    gr = gr ? gr : getgrgid(pw->pw_gid);
    if (!gr)
      return berr_set(err, 0, "--userns-remap: no group for user %s", user);
    free(group);
    group = strdup(gr->gr_name);
    gid = gr->gr_gid;
  } else {
    num = strtoul(group, &end, 10);
    struct group *gr = *end == '\0' ? getgrgid((gid_t)num) : getgrnam(group);
    if (!gr)
      return berr_set(err, 0, "--userns-remap: no such group: %s", group);
    free(group);
    group = strdup(gr->gr_name);
    gid = gr->gr_gid;
  }
  if (!user || !group)
    return berr_set(err, ENOMEM, "userns-remap");
  _cleanup_free_ struct range *ur = NULL, *gr = NULL;
  size_t nu = 0, ng = 0;
  if (read_ranges("/etc/subuid", user, uid, &ur, &nu, err) < 0 ||
      read_ranges("/etc/subgid", group, gid, &gr, &ng, err) < 0)
    return -err->code;
  if (!nu)
    return berr_set(err, 0, "no subuid ranges found for user \"%s\"", user);
  if (!ng)
    return berr_set(err, 0, "no subgid ranges found for group \"%s\"", group);
  if (ranges_to_maps(ur, nu, &out->uids, &out->n_uids, err) < 0 ||
      ranges_to_maps(gr, ng, &out->gids, &out->n_gids, err) < 0) {
    userns_remap_free(out);
    return -err->code;
  }
  out->layer_uids = calloc(out->n_uids, sizeof(*out->layer_uids));
  out->layer_gids = calloc(out->n_gids, sizeof(*out->layer_gids));
  if (!out->layer_uids || !out->layer_gids) {
    userns_remap_free(out);
    return berr_set(err, ENOMEM, "id map");
  }
  for (size_t i = 0; i < out->n_uids; i++)
    out->layer_uids[i] =
        (struct gd_id_range){out->uids[i].container_id, out->uids[i].host_id, out->uids[i].size};
  for (size_t i = 0; i < out->n_gids; i++)
    out->layer_gids[i] =
        (struct gd_id_range){out->gids[i].container_id, out->gids[i].host_id, out->gids[i].size};
  out->layer_unmap =
      (struct gd_id_unmap){out->layer_uids, out->layer_gids, out->n_uids, out->n_gids};
  out->uid = out->uids[0].host_id;
  out->gid = out->gids[0].host_id;
  out->user = steal_ptr(user);
  out->group = steal_ptr(group);
  return 0;
}

void userns_remap_free(struct userns_remap *r)
{
  free(r->user);
  free(r->group);
  free(r->uids);
  free(r->gids);
  free(r->layer_uids);
  free(r->layer_gids);
  memset(r, 0, sizeof(*r));
}

static unsigned map_id(const struct lc_idmap *m, size_t n, unsigned id)
{
  for (size_t i = 0; i < n; i++)
    if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
      return m[i].host_id + (id - m[i].container_id);
  return id;
}

unsigned userns_host_uid(const struct userns_remap *r, unsigned id)
{
  return map_id(r->uids, r->n_uids, id);
}

unsigned userns_host_gid(const struct userns_remap *r, unsigned id)
{
  return map_id(r->gids, r->n_gids, id);
}

static unsigned unmap_id(const struct lc_idmap *m, size_t n, unsigned id)
{
  for (size_t i = 0; i < n; i++)
    if (id >= m[i].host_id && id - m[i].host_id < m[i].size)
      return m[i].container_id + (id - m[i].host_id);
  return id;
}

unsigned userns_container_uid(const struct userns_remap *r, unsigned id)
{
  return unmap_id(r->uids, r->n_uids, id);
}

unsigned userns_container_gid(const struct userns_remap *r, unsigned id)
{
  return unmap_id(r->gids, r->n_gids, id);
}

static void layers_view_path(const struct engine *e, char *buf, size_t len)
{
  snprintf(buf, len, "%s/userns-layers", e->cfg.exec_root);
}

int userns_init(struct engine *e, struct berr *err)
{
  const struct userns_remap *r = e->cfg.userns;
  e->userns_fd = -1;
  if (!r)
    return 0;
  struct gd_driver *d = graph_driver(e->graph);
  if (strcmp(gd_driver_name(d), "overlay2") != 0)
    return berr_set(err, 0, "--userns-remap needs the overlay2 storage driver (not %s)",
                    gd_driver_name(d));
  char view[PATH_MAX];
  layers_view_path(e, view, sizeof(view));
  /* A view left by a daemon that did not shut down is replaced: the map may differ. */
  while (umount2(view, MNT_DETACH) == 0)
    ;
  if (bf_mkdir_p(view, 0700, err) < 0)
    return -err->code;
  int fd = lc_userns_open(r->uids, r->n_uids, r->gids, r->n_gids, err);
  if (fd < 0)
    return berr_wrap(err, "user namespace for --userns-remap");
  if (lc_idmap_mount(gd_home(d), view, fd, err) < 0) {
    close(fd);
    return berr_wrap(err, "--userns-remap");
  }
  e->userns_fd = fd;
  /* The remapped root must reach its rootfs, volumes and per-container files: those
   * directories are root:<remap gid> 0710, as dockerd's. The layer store is 0711 root:root
   * instead: seen through the idmapped view a group outside the map would shut host root
   * out of it (the kernel grants no override on an unmapped owner). */
  if (chown(e->cfg.data_root, 0, r->gid) < 0 || chmod(e->cfg.data_root, 0710) < 0)
    return berr_errno(err, "chown %s", e->cfg.data_root);
  if (chmod(gd_home(d), 0711) < 0)
    return berr_errno(err, "chmod %s", gd_home(d));
  char p[PATH_MAX];
  const char *subs[] = {"containers", "volumes"};
  for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", e->cfg.data_root, subs[i]);
    if (bf_mkdir_p(p, 0710, err) < 0)
      return -err->code;
    if (chown(p, 0, r->gid) < 0 || chmod(p, 0710) < 0)
      return berr_errno(err, "chown %s", p);
  }
  return 0;
}

void userns_shutdown(struct engine *e)
{
  if (!e->cfg.userns || e->userns_fd < 0)
    return;
  char view[PATH_MAX];
  layers_view_path(e, view, sizeof(view));
  /* Containers that keep running (live restore) hold their own references to it. */
  umount2(view, MNT_DETACH);
  rmdir(view);
  close(e->userns_fd);
  e->userns_fd = -1;
}

bool userns_remapped(const struct engine *e, json_t *host)
{
  const char *mode = json_string_value(json_object_get(host, "UsernsMode"));
  return e->cfg.userns && !(mode && strcmp(mode, "host") == 0);
}

int userns_check_create(const struct engine *e, json_t *host, struct berr *err)
{
  const char *mode = json_string_value(json_object_get(host, "UsernsMode"));
  if (mode && *mode && strcmp(mode, "host") != 0)
    return berr_set(err, 0, "invalid UsernsMode: %s", mode);
  if (!userns_remapped(e, host))
    return 0;
  if (json_is_true(json_object_get(host, "Privileged")))
    return berr_set(err, 0,
                    "privileged mode is incompatible with user namespaces.  You must run the "
                    "container in the host namespace when running privileged mode");
  const char *net = json_string_value(json_object_get(host, "NetworkMode"));
  if (net && strcmp(net, "host") == 0)
    return berr_set(err, 0,
                    "cannot share the host's network namespace when user namespaces "
                    "are enabled");
  const char *pid = json_string_value(json_object_get(host, "PidMode"));
  if (pid && strcmp(pid, "host") == 0)
    return berr_set(err, 0,
                    "cannot share the host PID namespace when user namespaces are "
                    "enabled");
  return 0;
}

int userns_mount_rootfs(struct engine *e, const char *layer, char **rootfs, struct berr *err)
{
  char view[PATH_MAX];
  layers_view_path(e, view, sizeof(view));
  if (graph_rwlayer_mount_mapped(e->graph, layer, view, rootfs, err) < 0)
    return -err->code;
  /* The merged root directory is the upper layer's: the container's root must own it to
   * create files at /, as dockerd chowns a remapped container's layer root. */
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s/..", *rootfs); /* <layers>/<id>: the root passes through */
  if (chown(dir, 0, e->cfg.userns->gid) < 0 || chmod(dir, 0710) < 0) {
    int r = berr_errno(err, "chown %s", dir);
    free(*rootfs);
    *rootfs = NULL;
    return r;
  }
  struct stat st;
  if (stat(*rootfs, &st) == 0 &&
      (st.st_uid != e->cfg.userns->uid || st.st_gid != e->cfg.userns->gid) &&
      chown(*rootfs, e->cfg.userns->uid, e->cfg.userns->gid) < 0) {
    int r = berr_errno(err, "chown rootfs %s", *rootfs);
    free(*rootfs);
    *rootfs = NULL;
    return r;
  }
  return 0;
}

int userns_own_etc_files(struct engine *e, const char *id, struct berr *err)
{
  char dir[PATH_MAX], p[PATH_MAX + 32];
  sup_container_dir(e, id, dir, sizeof(dir));
  static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
    if (chown(p, e->cfg.userns->uid, e->cfg.userns->gid) < 0 && errno != ENOENT)
      return berr_errno(err, "chown %s", p);
  }
  return 0;
}

const struct gd_id_unmap *userns_layer_unmap(const struct engine *e, json_t *host)
{
  return userns_remapped(e, host) ? &e->cfg.userns->layer_unmap : NULL;
}

json_t *userns_oci_maps(const struct engine *e, bool gids)
{
  const struct userns_remap *r = e->cfg.userns;
  const struct lc_idmap *m = gids ? r->gids : r->uids;
  size_t n = gids ? r->n_gids : r->n_uids;
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:I,s:I,s:I}", "containerID",
                                       (json_int_t)m[i].container_id, "hostID",
                                       (json_int_t)m[i].host_id, "size", (json_int_t)m[i].size));
  return a;
}
