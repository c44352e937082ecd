/* The Engine API versions berthd speaks and the Docker-style identity it announces. */
#pragma once

#include <stdbool.h>

#define API_VERSION_MAX "1.50"
#define API_VERSION_MIN "1.24"
/* Docker clients read the OS from the "(linux)" suffix of this header. */
#define SERVER_HEADER "Docker/" BERTH_VERSION " (linux)"

/* Compare dotted versions numerically ("1.9" < "1.24"), as moby's versions.compare. */
int api_version_compare(const char *a, const char *b);
