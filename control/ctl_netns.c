#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "ctl_netns.h"

int ctl_netns_enter(const char *path, struct ctl_netns *saved)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	saved->home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved->home < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (setns(fd, CLONE_NEWNET) != 0) {
		int e = -errno;
		close(fd);
		close(saved->home);
		return e;
	}
	close(fd);
	return 0;
}

int ctl_netns_leave(struct ctl_netns *saved)
{
	int rc = setns(saved->home, CLONE_NEWNET) == 0 ? 0 : -errno;

	close(saved->home);
	return rc;
}
