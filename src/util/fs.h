/* Small POSIX file-system helpers shared by the local source, the local
 * store, quarantine and tests. */
#ifndef TPQ_UTIL_FS_H
#define TPQ_UTIL_FS_H

/* mkdir -p; path is modified while working and restored. 0, or -1 (errno). */
int tpq_mkdirs(char *path);
/* fsync of a directory (makes renames and creations in it durable). 0, or -1
 * (errno). Subject to fault injection (fsync). */
int tpq_fsync_dir(const char *dir);

#endif
