/* docker inspect's output (an indented JSON array, or a template per object) and the loop
 * the typed inspect commands share (container, image, ...). */
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
