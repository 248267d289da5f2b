/* fsync by name: see fsync.h. */
#include "fsync.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int dts_fsync_path(const char *path)
{
	int fd, saved;

	/* Read-only is enough: fsync acts on the inode, whatever the
	 * descriptor, and a directory can be opened no other way. */
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}
