/* berthd: start-up (config, data-root lock, image graph, engine, recovery of running
 * containers, API socket) and shutdown on SIGTERM/SIGINT. With live restore the
 * containers keep running in their shims while berthd is away. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/lazy_archive.h"
#include "common/log.h"
#include "config.h"
#include "engine/daemon_state.h"
#include "engine/engine.h"
#include "engine/userns.h"
#include "graph/graph.h"
#include "registry/client/regclient.h"
#include "server/server.h"

/* One berthd per data root: an flock held for the daemon's life. */
static int lock_data_root(const char *root, struct berr *err)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/berthd.lock", root);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_errno(err, "open %s", path);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    char pid[32] = "?";
    ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(fd);
    berr_set(err, 0, "another berthd (pid %s) is already running with data root %s", pid, root);
    err->code = EBUSY;
    return -EBUSY;
  }
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%d\n", getpid());
  if (ftruncate(fd, 0) == 0)
    bf_write_all(fd, buf, (size_t)n);
  return fd;
}

static void sibling_path(const char *name, char *out, size_t len)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  snprintf(out, len, "%s/%s", n > 0 ? self : ".", name);
}

int main(int argc, char **argv)
{
  /* Blocks of 128 KiB and more are mapped on their own and unmapped when freed, always:
   * glibc otherwise raises that threshold after the first such free, and the large
   * passing buffers of libnftables (megabytes per ruleset change), SQLite and libarchive
   * then stay in the heap of a daemon that is mostly idle. */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  struct daemon_config cfg;
  struct berr err = {0};
  int r = daemon_config_load(argc, argv, &cfg, &err);
  if (r != 0) {
    if (r < 0)
      fprintf(stderr, "berthd: %s\n", err.msg);
    daemon_config_free(&cfg);
    return r > 0 ? 0 : 1;
  }
  enum blog_level level = BLOG_WARN;
  if (blog_parse_level(cfg.log_level, &level) < 0) {
    fprintf(stderr, "berthd: unknown --log-level %s\n", cfg.log_level);
    return 1;
  }
  blog_open(NULL, false, level);
  /* libarchive and what it pulls in (libxml2, ICU, the compressors: ~2.5 MiB resident) are
   * needed only while images move: unloaded again 10 s after the last archive closes */
  lazy_archive_unload_when_idle(10);

  /* --userns-remap, as dockerd: the remap user's ranges, and the state of a remapped daemon
   * in <data-root>/<uid>.<gid> (images there are its own). */
  struct userns_remap remap = {0};
  bool remapped = cfg.userns_remap && *cfg.userns_remap;
  if (remapped) {
    if (userns_remap_resolve(cfg.userns_remap, &remap, &err) < 0) {
      fprintf(stderr, "berthd: %s\n", err.msg);
      return 1;
    }
    if (bf_mkdir_p(cfg.data_root, 0711, &err) < 0 || chmod(cfg.data_root, 0711) < 0) {
      fprintf(stderr, "berthd: %s: %s\n", cfg.data_root, err.msg[0] ? err.msg : strerror(errno));
      return 1;
    }
    char *sub = NULL;
    if (asprintf(&sub, "%s/%u.%u", cfg.data_root, remap.uid, remap.gid) < 0)
      return 1;
    free(cfg.data_root);
    cfg.data_root = sub;
  }

  char runtime_root[PATH_MAX], containers_dir[PATH_MAX], shim[PATH_MAX], spool[PATH_MAX];
  snprintf(runtime_root, sizeof(runtime_root), "%s/runtime", cfg.exec_root);
  snprintf(containers_dir, sizeof(containers_dir), "%s/containers", cfg.exec_root);
  snprintf(spool, sizeof(spool), "%s/tmp", cfg.data_root);
  if (bf_mkdir_p(cfg.data_root, 0711, &err) < 0 || bf_mkdir_p(cfg.exec_root, 0711, &err) < 0 ||
      bf_mkdir_p(runtime_root, 0700, &err) < 0 || bf_mkdir_p(containers_dir, 0700, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  int lock_fd = lock_data_root(cfg.data_root, &err);
  if (lock_fd < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  sibling_path("berth-shim", shim, sizeof(shim));
  if (access(shim, X_OK) < 0) {
    fprintf(stderr, "berthd: %s not found next to berthd\n", shim);
    return 1;
  }

  struct graph *graph = NULL;
  struct graph_opts gopts = {.root = cfg.data_root, .driver = cfg.storage_driver};
  if (graph_open(&gopts, &graph, &err) < 0) {
    fprintf(stderr, "berthd: image store: %s\n", err.msg);
    return 1;
  }
  bf_mkdir_p(spool, 0700, &err);
  struct reg_config rcfg = {.insecure = cfg.insecure_registries,
                            .mirrors = cfg.registry_mirrors,
                            .certs_dir = cfg.registry_certs_dir,
                            .loopback_only = cfg.registry_loopback_only};
  struct engine_config ecfg = {.data_root = cfg.data_root,
                               .exec_root = cfg.exec_root,
                               .storage_driver = cfg.storage_driver,
                               .shim_path = shim,
                               .config_file = cfg.config_file,
                               .live_restore = cfg.live_restore,
                               .registry = &rcfg,
                               .max_concurrent_downloads = cfg.max_concurrent_downloads,
                               .max_concurrent_uploads = cfg.max_concurrent_uploads,
                               .upload_chunk_size = cfg.registry_upload_chunk_size,
                               .bridge = cfg.bridge,
                               .bip = cfg.bip,
                               .address_pools = cfg.address_pools,
                               .mtu = cfg.mtu,
                               .userns = remapped ? &remap : NULL,
                               .cpu_rt_period = cfg.cpu_rt_period,
                               .cpu_rt_runtime = cfg.cpu_rt_runtime};
  struct engine *engine = NULL;
  if (engine_new(&ecfg, &engine, &err) < 0 || engine_daemon_init(engine, graph, &err) < 0) {
    fprintf(stderr, "berthd: engine: %s\n", err.msg);
    return 1;
  }

  /* Signals are taken synchronously below; block them before any thread starts. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct server_config scfg = {
      .socket_path = daemon_socket_path(&cfg), .socket_group = cfg.group, .spool_dir = spool};
  struct server *server = NULL;
  if (server_start(engine, &scfg, &server, &err) < 0) {
    fprintf(stderr, "berthd: API socket: %s\n", err.msg);
    engine_daemon_shutdown(engine); /* no bridge or nft table left by a daemon that never ran */
    return 1;
  }
  char pidbuf[32];
  int n = snprintf(pidbuf, sizeof(pidbuf), "%d\n", getpid());
  bf_write_atomic(cfg.pidfile, pidbuf, (size_t)n, 0644, &err);
  blog(BLOG_INFO, "berthd %s listening on %s", BERTH_VERSION, cfg.host);

  int sig = 0;
  do
    sigwait(&sigs, &sig);
  while (sig == SIGHUP);
  blog(BLOG_INFO, "berthd: %s, shutting down", strsignal(sig));
  server_stop(server);
  if (!cfg.live_restore)
    engine_daemon_stop_all(engine, 10);
  engine_daemon_shutdown(engine);
  engine_free(engine);
  graph_close(graph);
  unlink(cfg.pidfile);
  close(lock_fd);
  daemon_config_free(&cfg);
  userns_remap_free(&remap);
  return 0;
}
