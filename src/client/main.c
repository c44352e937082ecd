/* berth: the docker-compatible command line client. Global flags, then one command
 * (or a management group such as `container ls`, `image rm`) dispatched by name. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"

struct alias {
  const char *group, *sub;
  int (*fn)(struct client *c, int argc, char **argv);
};

static const struct {
  const char *name;
  int (*fn)(struct client *c, int argc, char **argv);
  const char *summary;
} commands[] = {
    {"attach", cmd_attach,
     "Attach local standard input, output, and error streams to a running container"},
    {"commit", cmd_commit, "Create a new image from a container's changes"},
    {"cp", cmd_cp, "Copy files/folders between a container and the local filesystem"},
    {"create", cmd_create, "Create a new container"},
    {"diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem"},
    {"events", cmd_events, "Get real time events from the server"},
    {"exec", cmd_exec, "Execute a command in a running container"},
    {"export", cmd_export, "Export a container's filesystem as a tar archive"},
    {"history", cmd_history, "Show the history of an image"},
    {"images", cmd_images, "List images"},
    {"import", cmd_import, "Import the contents from a tarball to create a filesystem image"},
    {"info", cmd_info, "Display system-wide information"},
    {"inspect", cmd_inspect, "Return low-level information on berth objects"},
    {"kill", cmd_kill, "Kill one or more running containers"},
    {"load", cmd_load, "Load an image from a tar archive or STDIN"},
    {"logs", cmd_logs, "Fetch the logs of a container"},
    {"network", cmd_network, "Manage networks"},
    {"pause", cmd_pause, "Pause all processes within one or more containers"},
    {"port", cmd_port, "List port mappings or a specific mapping for the container"},
    {"ps", cmd_ps, "List containers"},
    {"login", cmd_login, "Authenticate to a registry"},
    {"logout", cmd_logout, "Log out from a registry"},
    {"pull", cmd_pull, "Download an image from a registry"},
    {"push", cmd_push, "Upload an image to a registry"},
    {"rename", cmd_rename, "Rename a container"},
    {"restart", cmd_restart, "Restart one or more containers"},
    {"rm", cmd_rm, "Remove one or more containers"},
    {"rmi", cmd_rmi, "Remove one or more images"},
    {"run", cmd_run, "Create and run a new container from an image"},
    {"save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)"},
    {"start", cmd_start, "Start one or more stopped containers"},
    {"stats", cmd_stats, "Display a live stream of container(s) resource usage statistics"},
    {"stop", cmd_stop, "Stop one or more running containers"},
    {"tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"top", cmd_top, "Display the running processes of a container"},
    {"unpause", cmd_unpause, "Unpause all processes within one or more containers"},
    {"update", cmd_update, "Update configuration of one or more containers"},
    {"version", cmd_version, "Show the berth version information"},
    {"volume", cmd_volume, "Manage volumes"},
    {"wait", cmd_wait, "Block until one or more containers stop, then print their exit codes"},
};

static const struct alias aliases[] = {
    {"container", "attach", cmd_attach},
    {"container", "commit", cmd_commit},
    {"container", "cp", cmd_cp},
    {"container", "diff", cmd_diff},
    {"container", "export", cmd_export},
    {"container", "create", cmd_create},
    {"container", "exec", cmd_exec},
    {"container", "inspect", cmd_container_inspect},
    {"container", "kill", cmd_kill},
    {"container", "logs", cmd_logs},
    {"container", "ls", cmd_ps},
    {"container", "list", cmd_ps},
    {"container", "ps", cmd_ps},
    {"container", "pause", cmd_pause},
    {"container", "port", cmd_port},
    {"container", "rename", cmd_rename},
    {"container", "restart", cmd_restart},
    {"container", "rm", cmd_rm},
    {"container", "remove", cmd_rm},
    {"container", "run", cmd_run},
    {"container", "start", cmd_start},
    {"container", "stop", cmd_stop},
    {"container", "top", cmd_top},
    {"container", "unpause", cmd_unpause},
    {"container", "update", cmd_update},
    {"container", "stats", cmd_stats},
    {"container", "wait", cmd_wait},
    {"image", "history", cmd_history},
    {"image", "import", cmd_import},
    {"image", "inspect", cmd_image_inspect},
    {"image", "load", cmd_load},
    {"image", "ls", cmd_images},
    {"image", "list", cmd_images},
    {"image", "prune", cmd_image_prune},
    {"image", "pull", cmd_pull},
    {"image", "push", cmd_push},
    {"image", "rm", cmd_rmi},
    {"image", "remove", cmd_rmi},
    {"image", "save", cmd_save},
    {"image", "tag", cmd_tag},
    {"system", "info", cmd_info},
    {"system", "df", cmd_system_df},
    {"system", "prune", cmd_system_prune},
    {"container", "prune", cmd_container_prune},
    {"system", "events", cmd_events},
};

static void usage(FILE *out)
{
  fprintf(out, "Usage:  berth [OPTIONS] COMMAND\n\n"
               "A self-sufficient runtime for containers\n\n"
               "Commands:\n");
  for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nManagement Commands:\n"
               "  container  Manage containers\n"
               "  image      Manage images\n"
               "  network    Manage networks\n"
               "  system     Manage berth\n\n"
               "Global Options:\n"
               "  -H, --host string   Daemon socket to connect to (default "
               "unix://" BERTH_DEFAULT_SOCK ", or $BERTH_HOST)\n"
               "  -v, --version       Print version information and quit\n\n"
               "Run 'berth COMMAND --help' for more information on a command.\n");
}

static void group_usage(const char *group)
{
  printf("Usage:  berth %s COMMAND\n\nCommands:\n", group);
  for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
    if (strcmp(aliases[i].group, group) == 0)
      printf("  %s\n", aliases[i].sub);
  printf("\nRun 'berth %s COMMAND --help' for more information on a command.\n", group);
}

int main(int argc, char **argv)
{
  /* a closed pipe (berth ps | head) ends us quietly, as docker */
  signal(SIGPIPE, SIG_IGN);
  const char *host = getenv("BERTH_HOST");
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "flag needs an argument: %s\nSee 'berth --help'.\n", a);
        return 125;
      }
      host = argv[++i];
    } else if (strncmp(a, "--host=", 7) == 0) {
      host = a + 7;
    } else if (strncmp(a, "-H", 2) == 0) {
      host = a + 2;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("berth version %s\n", BERTH_VERSION);
      return 0;
    } else if (strcmp(a, "-D") == 0 || strcmp(a, "--debug") == 0) {
      continue;
    } else {
      fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
      return 125;
    }
  }
  if (i >= argc) {
    usage(stdout);
    return 0;
  }
  int (*fn)(struct client *, int, char **) = NULL;
  int cargc = argc - i;
  char **cargv = argv + i;
  const char *name = cargv[0];
  if (strcmp(name, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(name, "container") == 0 || strcmp(name, "image") == 0 || strcmp(name, "system") == 0) {
    if (cargc < 2 || strcmp(cargv[1], "--help") == 0) {
      group_usage(name);
      return 0;
    }
    for (size_t k = 0; k < ARRAY_SIZE(aliases); k++)
      if (strcmp(aliases[k].group, name) == 0 && strcmp(aliases[k].sub, cargv[1]) == 0)
        fn = aliases[k].fn;
    if (!fn) {
      fprintf(stderr,
              "berth: unknown command: berth %s %s\n\nRun 'berth %s --help' for more "
              "information\n",
              name, cargv[1], name);
      return 1;
    }
    cargc--;
    cargv++;
  } else {
    for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
      if (strcmp(commands[k].name, name) == 0)
        fn = commands[k].fn;
    if (!fn) {
      fprintf(stderr,
              "berth: unknown command: berth %s\n\nRun 'berth --help' for more "
              "information\n",
              name);
      return 1;
    }
  }
  struct client c;
  struct berr err = {0};
  if (client_init(&c, host, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  int rc = fn(&c, cargc, cargv);
  fflush(stdout);
  client_close(&c);
  return rc;
}
