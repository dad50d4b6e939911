/* Enter a network namespace on the calling thread and come back. Only the
 * control thread moves; workers and EAL threads stay in the node netns. */
#ifndef CTL_NETNS_H
#define CTL_NETNS_H

struct ctl_netns {
	int home; /* fd of the netns to return to */
};

int ctl_netns_enter(const char *path, struct ctl_netns *saved);
/* The same with the netns as an fd (kept open). */
int ctl_netns_enter_fd(int fd, struct ctl_netns *saved);
/* Back to the saved netns; aborts if it cannot (a kernel bug). */
void ctl_netns_leave(struct ctl_netns *saved);

#endif
