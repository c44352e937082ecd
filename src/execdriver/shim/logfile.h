/* Docker's json-file log: one JSON object per line ({"log","stream","time"}), with
 * size-based rotation (max-size, max-file) as `docker logs` and log tools expect. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct logfile;

/* max_size 0 = no rotation; max_files counts the live file (so 1 = truncate in place). */
struct logfile *logfile_open(const char *path, uint64_t max_size, unsigned max_files);
/* Write one chunk of a stream (1 stdout, 2 stderr); complete lines become entries, a partial line
 * is held back until its newline (or 16 KiB, Docker's split size) or logfile_flush. */
void logfile_write(struct logfile *l, int stream, const char *buf, size_t len);
void logfile_flush(struct logfile *l);
void logfile_close(struct logfile *l);
