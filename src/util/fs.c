#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fault.h"

/* The leaf first: a lake's folders mostly exist already, so one mkdir call
 * answers; only a missing parent (ENOENT) walks up. */
int tpq_mkdirs(char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *slash = strrchr(path, '/');
	while (slash && slash > path && slash[1] == '\0') { /* trailing slashes */
		char *t = slash;
		*t = '\0';
		slash = strrchr(path, '/');
		*t = '/';
	}
	if (!slash || slash == path)
		return -1;
	*slash = '\0';
	int rc = tpq_mkdirs(path);
	*slash = '/';
	if (rc)
		return -1;
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int tpq_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = tpq_fault_hit(TPQ_FAULT_FSYNC) ? -1 : fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
