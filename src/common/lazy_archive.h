/* libarchive, loaded on first use (see lazylib.h): include this instead of <archive.h> and
 * <archive_entry.h> and call libarchive as usual. Every archive or entry starts with one of
 * the constructors (archive_read_new, archive_write_new, archive_entry_new, ...), which load
 * the library and return NULL (errno ELIBACC) when it cannot be loaded; every other call
 * takes an object a constructor made, so it finds the library loaded; the destructors
 * check too, so freeing the NULL of a failed constructor is safe. A function not in the
 * list below fails to link: add it there.
 * Archives (read, write, write-disk) and link resolvers are counted from constructor to
 * destructor, so a process that asks for it (lazy_archive_unload_when_idle) can unload the
 * library when none is left. Entries are not counted (libarchive makes and frees some of
 * its own): an entry lives inside the session of an archive, never beyond it. */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>

#define LAZY_ARCHIVE_SYMBOLS(X)                                                                    \
  X(archive_entry_atime)                                                                           \
  X(archive_entry_atime_is_set)                                                                    \
  X(archive_entry_atime_nsec)                                                                      \
  X(archive_entry_copy_pathname)                                                                   \
  X(archive_entry_copy_stat)                                                                       \
  X(archive_entry_copy_symlink)                                                                    \
  X(archive_entry_filetype)                                                                        \
  X(archive_entry_free)                                                                            \
  X(archive_entry_gid)                                                                             \
  X(archive_entry_hardlink)                                                                        \
  X(archive_entry_linkify)                                                                         \
  X(archive_entry_linkresolver_free)                                                               \
  X(archive_entry_linkresolver_new)                                                                \
  X(archive_entry_linkresolver_set_strategy)                                                       \
  X(archive_entry_mtime)                                                                           \
  X(archive_entry_mtime_nsec)                                                                      \
  X(archive_entry_new)                                                                             \
  X(archive_entry_pathname)                                                                        \
  X(archive_entry_perm)                                                                            \
  X(archive_entry_rdev)                                                                            \
  X(archive_entry_set_atime)                                                                       \
  X(archive_entry_set_filetype)                                                                    \
  X(archive_entry_set_gid)                                                                         \
  X(archive_entry_set_gname)                                                                       \
  X(archive_entry_set_hardlink)                                                                    \
  X(archive_entry_set_mtime)                                                                       \
  X(archive_entry_set_pathname)                                                                    \
  X(archive_entry_set_perm)                                                                        \
  X(archive_entry_set_size)                                                                        \
  X(archive_entry_set_symlink)                                                                     \
  X(archive_entry_set_uid)                                                                         \
  X(archive_entry_set_uname)                                                                       \
  X(archive_entry_size)                                                                            \
  X(archive_entry_symlink)                                                                         \
  X(archive_entry_uid)                                                                             \
  X(archive_entry_unset_ctime)                                                                     \
  X(archive_entry_xattr_add_entry)                                                                 \
  X(archive_entry_xattr_next)                                                                      \
  X(archive_entry_xattr_reset)                                                                     \
  X(archive_errno)                                                                                 \
  X(archive_error_string)                                                                          \
  X(archive_filter_code)                                                                           \
  X(archive_filter_name)                                                                           \
  X(archive_read_data_block)                                                                       \
  X(archive_read_free)                                                                             \
  X(archive_read_new)                                                                              \
  X(archive_read_next_header)                                                                      \
  X(archive_read_open)                                                                             \
  X(archive_read_open_fd)                                                                          \
  X(archive_read_open_memory)                                                                      \
  X(archive_read_support_filter_all)                                                               \
  X(archive_read_support_format_raw)                                                               \
  X(archive_read_support_format_tar)                                                               \
  X(archive_set_error)                                                                             \
  X(archive_write_close)                                                                           \
  X(archive_write_data)                                                                            \
  X(archive_write_data_block)                                                                      \
  X(archive_write_disk_new)                                                                        \
  X(archive_write_disk_set_options)                                                                \
  X(archive_write_finish_entry)                                                                    \
  X(archive_write_free)                                                                            \
  X(archive_write_header)                                                                          \
  X(archive_write_new)                                                                             \
  X(archive_write_open)                                                                            \
  X(archive_write_open_fd)                                                                         \
  X(archive_write_set_bytes_in_last_block)                                                         \
  X(archive_write_set_format_pax_restricted)

#define LAZY_ARCHIVE_DECLARE(f) extern __typeof__(&f) lazy_##f;
LAZY_ARCHIVE_SYMBOLS(LAZY_ARCHIVE_DECLARE)
#undef LAZY_ARCHIVE_DECLARE

/* Loads libarchive once per process; false with errno ELIBACC (and lazy_archive_error()
 * saying why) when it cannot be. */
bool lazy_archive_load(void);
const char *lazy_archive_error(void);
/* Unload libarchive once no archive or link resolver has been alive for that long. */
void lazy_archive_unload_when_idle(unsigned seconds);

/* The counted constructors and destructors behind the macros below. */
bool lazy_archive_acquire(void);
void *lazy_archive_made(void *object); /* releases the count of a constructor that failed */
int lazy_archive_read_free_counted(struct archive *a);
int lazy_archive_write_free_counted(struct archive *a);
void lazy_archive_entry_linkresolver_free_counted(struct archive_entry_linkresolver *r);

#ifndef LAZY_ARCHIVE_IMPL
#define archive_entry_atime (*lazy_archive_entry_atime)
#define archive_entry_atime_is_set (*lazy_archive_entry_atime_is_set)
#define archive_entry_atime_nsec (*lazy_archive_entry_atime_nsec)
#define archive_entry_copy_pathname (*lazy_archive_entry_copy_pathname)
#define archive_entry_copy_stat (*lazy_archive_entry_copy_stat)
#define archive_entry_copy_symlink (*lazy_archive_entry_copy_symlink)
#define archive_entry_filetype (*lazy_archive_entry_filetype)
#define archive_entry_free(e) (lazy_archive_load() ? lazy_archive_entry_free(e) : (void)0)
#define archive_entry_gid (*lazy_archive_entry_gid)
#define archive_entry_hardlink (*lazy_archive_entry_hardlink)
#define archive_entry_linkify (*lazy_archive_entry_linkify)
#define archive_entry_linkresolver_free(r) lazy_archive_entry_linkresolver_free_counted(r)
#define archive_entry_linkresolver_new()                                                           \
  (lazy_archive_acquire() ? lazy_archive_made(lazy_archive_entry_linkresolver_new()) : NULL)
#define archive_entry_linkresolver_set_strategy (*lazy_archive_entry_linkresolver_set_strategy)
#define archive_entry_mtime (*lazy_archive_entry_mtime)
#define archive_entry_mtime_nsec (*lazy_archive_entry_mtime_nsec)
#define archive_entry_new() (lazy_archive_load() ? lazy_archive_entry_new() : NULL)
#define archive_entry_pathname (*lazy_archive_entry_pathname)
#define archive_entry_perm (*lazy_archive_entry_perm)
#define archive_entry_rdev (*lazy_archive_entry_rdev)
#define archive_entry_set_atime (*lazy_archive_entry_set_atime)
#define archive_entry_set_filetype (*lazy_archive_entry_set_filetype)
#define archive_entry_set_gid (*lazy_archive_entry_set_gid)
#define archive_entry_set_gname (*lazy_archive_entry_set_gname)
#define archive_entry_set_hardlink (*lazy_archive_entry_set_hardlink)
#define archive_entry_set_mtime (*lazy_archive_entry_set_mtime)
#define archive_entry_set_pathname (*lazy_archive_entry_set_pathname)
#define archive_entry_set_perm (*lazy_archive_entry_set_perm)
#define archive_entry_set_size (*lazy_archive_entry_set_size)
#define archive_entry_set_symlink (*lazy_archive_entry_set_symlink)
#define archive_entry_set_uid (*lazy_archive_entry_set_uid)
#define archive_entry_set_uname (*lazy_archive_entry_set_uname)
#define archive_entry_size (*lazy_archive_entry_size)
#define archive_entry_symlink (*lazy_archive_entry_symlink)
#define archive_entry_uid (*lazy_archive_entry_uid)
#define archive_entry_unset_ctime (*lazy_archive_entry_unset_ctime)
#define archive_entry_xattr_add_entry (*lazy_archive_entry_xattr_add_entry)
#define archive_entry_xattr_next (*lazy_archive_entry_xattr_next)
#define archive_entry_xattr_reset (*lazy_archive_entry_xattr_reset)
#define archive_errno (*lazy_archive_errno)
#define archive_error_string (*lazy_archive_error_string)
#define archive_filter_code (*lazy_archive_filter_code)
#define archive_filter_name (*lazy_archive_filter_name)
#define archive_read_data_block (*lazy_archive_read_data_block)
#define archive_read_free(a) lazy_archive_read_free_counted(a)
#define archive_read_new()                                                                         \
  (lazy_archive_acquire() ? lazy_archive_made(lazy_archive_read_new()) : NULL)
#define archive_read_next_header (*lazy_archive_read_next_header)
#define archive_read_open (*lazy_archive_read_open)
#define archive_read_open_fd (*lazy_archive_read_open_fd)
#define archive_read_open_memory (*lazy_archive_read_open_memory)
#define archive_read_support_filter_all (*lazy_archive_read_support_filter_all)
#define archive_read_support_format_raw (*lazy_archive_read_support_format_raw)
#define archive_read_support_format_tar (*lazy_archive_read_support_format_tar)
#define archive_set_error (*lazy_archive_set_error)
#define archive_write_close (*lazy_archive_write_close)
#define archive_write_data (*lazy_archive_write_data)
#define archive_write_data_block (*lazy_archive_write_data_block)
#define archive_write_disk_new()                                                                   \
  (lazy_archive_acquire() ? lazy_archive_made(lazy_archive_write_disk_new()) : NULL)
#define archive_write_disk_set_options (*lazy_archive_write_disk_set_options)
#define archive_write_finish_entry (*lazy_archive_write_finish_entry)
#define archive_write_free(a) lazy_archive_write_free_counted(a)
#define archive_write_header (*lazy_archive_write_header)
#define archive_write_new()                                                                        \
  (lazy_archive_acquire() ? lazy_archive_made(lazy_archive_write_new()) : NULL)
#define archive_write_open (*lazy_archive_write_open)
#define archive_write_open_fd (*lazy_archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (*lazy_archive_write_set_bytes_in_last_block)
#define archive_write_set_format_pax_restricted (*lazy_archive_write_set_format_pax_restricted)
#endif
