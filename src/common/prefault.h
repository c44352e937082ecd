/* Faulting in a large buffer about to be written in one call. Touching it page by page
 * costs a fault per 4 KiB, and faults are dear on virtual machines (a third of the list
 * job answering `ps -a` for a thousand containers, a tenth of the CLI reading it). */
#pragma once

#include <stddef.h>

/* Only for buffers of 128 KiB and more (malloc maps those on their own, so the pages
 * touched are new ones); a hint: failures are ignored. */
void mem_prefault(void *buf, size_t len);
