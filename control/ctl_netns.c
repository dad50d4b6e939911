#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_netns.h"

int ctl_netns_enter_fd(int fd, struct ctl_netns *saved)
{
	saved->home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved->home < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) != 0) {
		int e = -errno;
		close(saved->home);
		return e;
	}
	return 0;
}

int ctl_netns_enter(const char *path, struct ctl_netns *saved)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = ctl_netns_enter_fd(fd, saved);
	close(fd);
	return rc;
}

void ctl_netns_leave(struct ctl_netns *saved)
{
	/* Can't fail short of a kernel bug, and continuing in the pod's
	 * netns would be worse than stopping. */
	if (setns(saved->home, CLONE_NEWNET) != 0) {
		ctl_error("fatal: cannot return to the node netns: %s", strerror(errno));
		abort();
	}
	close(saved->home);
}
