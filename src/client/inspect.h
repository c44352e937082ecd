/* docker inspect's output (an indented JSON array, or a template per object), the loop the
 * typed inspect commands share (container, image, ...) and the whole of the plain ones. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct client;

/* Prints items as docker does; returns the exit code (1 on a bad template). */
int inspect_print(json_t *items, const char *format);

/* GETs prefix + name (URL-escaped when escape) + suffix for each name and prints what came
 * back; a 404 prints "Error: No such <noun>: <name>" and the exit code becomes 1, as
 * docker's. */
int inspect_objects(struct client *c, char **names, int n, const char *prefix, const char *suffix,
                    bool escape, const char *noun, const char *format);

/* An inspect subcommand that takes -f/--format and one or more names (image, network and
 * volume inspect). */
struct inspect_kind {
  const char *cmd; /* "network inspect" */
  const char *usage;
  const char *prefix, *suffix; /* the GET path around each name */
  bool escape;                 /* URL-escape the name */
  const char *noun;            /* "Error: No such <noun>: ..." */
};
int inspect_command(struct client *c, int argc, char **argv, const struct inspect_kind *kind);
