/* Entering pods' network namespaces from the control thread. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
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

int ctl_netns_open(const char *path, struct stat *st)
{
	struct stat own;
	int fd;

	if (strlen(path) >= CTL_NETNS_PATH_MAX)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return -ENOTTY;
	}
	if (fstat(fd, st) != 0 || stat("/proc/self/ns/net", &own) != 0 ||
	    (st->st_dev == own.st_dev && st->st_ino == own.st_ino)) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

const char *ctl_netns_error(int rc)
{
	switch (rc) {
	case -ENOENT:
		return "does not exist";
	case -ENAMETOOLONG:
		return "is longer than 255 characters";
	case -ENOTTY:
		return "is not a network namespace";
	case -EBUSY:
		return "is podlaned's own network namespace";
	default:
		return strerror(-rc);
	}
}

int ctl_netns_enter(const char *path, struct ctl_netns *saved)
{
	struct stat st;
	int fd = ctl_netns_open(path, &st), rc;

	if (fd < 0)
		return fd;
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
