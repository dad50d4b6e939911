/* Enter a network namespace on the calling thread and come back. Only the
 * control thread moves; workers and EAL threads stay in the node netns. */
#ifndef CTL_NETNS_H
#define CTL_NETNS_H

#include <sys/stat.h>

struct ctl_netns {
	int home; /* fd of the netns to return to */
};

/* The longest netns path a pod can have (its record keeps it whole). */
#define CTL_NETNS_PATH_MAX 256
/* A network namespace a client named, as an fd: opened without blocking
 * (a FIFO or a device must not stall the control thread) and checked to be
 * a network namespace other than podlaned's own (which would get the
 * pod's interface and routes). -ENAMETOOLONG, -ENOENT and the like,
 * -ENOTTY (not a network namespace) or -EBUSY (podlaned's own); *st gets
 * its identity. */
int ctl_netns_open(const char *path, struct stat *st);
/* What is wrong with the path, for ctl_netns_open's error ("does not
 * exist", "is not a network namespace"...): the caller names the path. */
const char *ctl_netns_error(int rc);
int ctl_netns_enter(const char *path, struct ctl_netns *saved);
/* The same with the netns as an fd (kept open). */
int ctl_netns_enter_fd(int fd, struct ctl_netns *saved);
/* Back to the saved netns; aborts if it cannot (a kernel bug). */
void ctl_netns_leave(struct ctl_netns *saved);

#endif
