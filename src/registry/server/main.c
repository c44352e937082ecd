/* berth-registry: an OCI Distribution server (`serve`) and its garbage collector (`gc`). */
#include "registry.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

static const char usage_main[] = "Usage: berth-registry COMMAND [OPTIONS]\n"
                                 "\n"
                                 "An OCI Distribution (v1.1) registry server.\n"
                                 "\n"
                                 "Commands:\n"
                                 "  serve   serve the registry API over HTTP or HTTPS\n"
                                 "  gc      remove blobs no manifest references\n"
                                 "\n"
                                 "Run 'berth-registry COMMAND --help' for a command's options.\n";

static const char usage_serve[] =
    "Usage: berth-registry serve [--addr HOST:PORT] [--root DIR] [--config FILE]\n"
    "\n"
    "Serve the registry. Options given here override the configuration file.\n"
    "\n"
    "  --addr HOST:PORT   listen address (default 127.0.0.1:5000; port 0 picks a free one)\n"
    "  --root DIR         storage root (default /var/lib/berth-registry)\n"
    "  --config FILE      JSON configuration: addr, root, auth {htpasswd, realm,\n"
    "                     token {realm, service, expires_in}}, tls {cert, key},\n"
    "                     limits {manifest_bytes, upload_bytes, requests},\n"
    "                     access [{repository, anonymous, authenticated, users}]\n"
    "  -h, --help         show this help\n"
    "\n"
    "An access log line per request goes to stderr.\n";

static const char usage_gc[] =
    "Usage: berth-registry gc --root DIR [--grace SECONDS] [--upload-grace SECONDS] [--dry-run]\n"
    "\n"
    "Remove blobs that no manifest in any repository references. Safe while the server runs:\n"
    "blobs younger than the grace period (default 3600 s) are kept, and uploads are removed\n"
    "only after being idle for the upload grace period (default 86400 s).\n"
    "\n"
    "  --root DIR              storage root\n"
    "  --config FILE           take the root from this configuration file\n"
    "  --grace SECONDS         keep unreferenced blobs younger than this\n"
    "  --upload-grace SECONDS  remove uploads idle for longer than this\n"
    "  --dry-run               report, remove nothing\n"
    "  -h, --help              show this help\n";

static int cmd_serve(int argc, char **argv)
{
  static const struct option opts[] = {{"addr", required_argument, NULL, 'a'},
                                       {"root", required_argument, NULL, 'r'},
                                       {"config", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *addr = NULL, *root = NULL, *config = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'a':
      addr = optarg;
      break;
    case 'r':
      root = optarg;
      break;
    case 'c':
      config = optarg;
      break;
    case 'h':
      fputs(usage_serve, stdout);
      return 0;
    default:
      fputs(usage_serve, stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "berth-registry serve: unexpected argument %s\n", argv[optind]);
    return 2;
  }
  struct reg_config cfg;
  struct berr err;
  reg_config_defaults(&cfg);
  if (config && reg_config_load(config, &cfg, &err) < 0) {
    fprintf(stderr, "berth-registry: config %s: %s\n", config, err.msg);
    reg_config_free(&cfg);
    return 1;
  }
  if (addr) {
    free(cfg.addr);
    cfg.addr = strdup(addr);
  }
  if (root) {
    free(cfg.root);
    cfg.root = strdup(root);
  }
  if (!cfg.addr)
    cfg.addr = strdup("127.0.0.1:5000");
  if (!cfg.root)
    cfg.root = strdup("/var/lib/berth-registry");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct reg_server srv = {.cfg = &cfg};
  int rc = 1;
  if (store_init(&srv.store, cfg.root, &err) < 0 || reg_auth_new(&cfg, &srv.auth, &err) < 0 ||
      reg_server_start(&srv, &err) < 0) {
    fprintf(stderr, "berth-registry: %s\n", err.msg);
  } else {
    int sig;
    sigwait(&set, &sig);
    fprintf(stderr, "berth-registry: signal %d, stopping\n", sig);
    reg_server_stop(&srv);
    rc = 0;
  }
  reg_auth_free(srv.auth);
  free(srv.store.root);
  reg_config_free(&cfg);
  return rc;
}

static int cmd_gc(int argc, char **argv)
{
  static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                       {"config", required_argument, NULL, 'c'},
                                       {"grace", required_argument, NULL, 'g'},
                                       {"upload-grace", required_argument, NULL, 'u'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *root = NULL, *config = NULL;
  long grace = 3600, upload_grace = 86400;
  bool dry = false;
  int c;
  char *end;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      root = optarg;
      break;
    case 'c':
      config = optarg;
      break;
    case 'g':
    case 'u': {
      long v = strtol(optarg, &end, 10);
      if (*end || v < 0) {
        fprintf(stderr, "berth-registry gc: bad number of seconds %s\n", optarg);
        return 2;
      }
      *(c == 'g' ? &grace : &upload_grace) = v;
      break;
    }
    case 'n':
      dry = true;
      break;
    case 'h':
      fputs(usage_gc, stdout);
      return 0;
    default:
      fputs(usage_gc, stderr);
      return 2;
    }
  }
  struct reg_config cfg;
  struct berr err;
  reg_config_defaults(&cfg);
  if (config && reg_config_load(config, &cfg, &err) < 0) {
    fprintf(stderr, "berth-registry: config %s: %s\n", config, err.msg);
    reg_config_free(&cfg);
    return 1;
  }
  if (!root)
    root = cfg.root;
  if (!root) {
    fputs("berth-registry gc: --root is required\n", stderr);
    reg_config_free(&cfg);
    return 2;
  }
  struct reg_gc_stats st;
  int r = reg_gc(root, grace, upload_grace, dry, &st, &err);
  if (r < 0) {
    fprintf(stderr, "berth-registry: %s\n", err.msg);
    reg_config_free(&cfg);
    return 1;
  }
  printf("%sblobs kept: %zu, blobs removed: %zu, links removed: %zu, uploads removed: %zu, "
         "temp files removed: %zu\n",
         dry ? "(dry run) " : "", st.blobs_kept, st.blobs_removed, st.links_removed,
         st.uploads_removed, st.temps_removed);
  reg_config_free(&cfg);
  return 0;
}

int main(int argc, char **argv)
{
  if (reg_names_init() < 0) {
    fputs("berth-registry: cannot compile the name grammar\n", stderr);
    return 1;
  }
  if (argc < 2) {
    fputs(usage_main, stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(usage_main, stdout);
    return 0;
  }
  if (strcmp(argv[1], "serve") == 0)
    return cmd_serve(argc - 1, argv + 1);
  if (strcmp(argv[1], "gc") == 0)
    return cmd_gc(argc - 1, argv + 1);
  fprintf(stderr, "berth-registry: unknown command %s\n\n%s", argv[1], usage_main);
  return 2;
}
