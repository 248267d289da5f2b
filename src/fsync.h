/*
 * fsync by name, for files that must survive a crash or a power cut (the
 * batch checkpoint): Lua's io library can flush and close, never fsync.
 */
#ifndef DTS_FSYNC_H
#define DTS_FSYNC_H

/* fsync the file or directory at path: 0, or -1 with errno set. */
int dts_fsync_path(const char *path);

#endif
