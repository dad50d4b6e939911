/* A take-over (podlaned --take-over): the podlaned that serves the
 * socket keeps forwarding while the new one starts DPDK and its tables
 * beside it (another EAL file prefix), and is stopped only then, as
 * SIGTERM stops it (its connections and neighbours saved, its ports
 * closed, the fd keeper holding its TAPs); the new one takes the socket,
 * the keeper's fds, the uplink and the state over. What a restart costs
 * in forwarding is then what stopping one and opening the ports takes,
 * not a whole process's start (docs/operations.md). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_node.h"

#define STOP_WAIT_S 30

pid_t ctl_takeover_peer(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	pid_t pid = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0; /* ctl_server_path_check says why */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		pid = cred.pid;
	if (s >= 0)
		close(s);
	return pid;
}

bool ctl_takeover_prefix_busy(const char *prefix)
{
	char path[PATH_MAX];
	const char *run = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	/* Where EAL keeps a primary's runtime files, its config locked for
	 * as long as the process lives (eal_filesystem.h). */
	snprintf(path, sizeof(path), "%s/dpdk/%s/config", run ? run : "/tmp", prefix);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool busy = fcntl(fd, F_GETLK, &lk) == 0 && lk.l_type != F_UNLCK;
	close(fd);
	return busy;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int ctl_takeover_stop(pid_t pid, struct timespec *asked, char *err, size_t errlen)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	clock_gettime(CLOCK_MONOTONIC, asked);
	if (fd < 0 || kill(pid, SIGTERM) != 0) {
		int rc = errno;
		if (fd >= 0)
			close(fd);
		if (rc == ESRCH)
			return 0; /* gone already */
		snprintf(err, errlen, "take-over: cannot stop podlaned %d: %s", (int)pid, strerror(rc));
		return -1;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, STOP_WAIT_S * 1000)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "take-over: podlaned %d did not stop within %d s", (int)pid,
			 STOP_WAIT_S);
		return -1;
	}
	ctl_log("take-over: podlaned %d stopped %ld ms after it was asked to", (int)pid,
		ms_since(asked));
	return 0;
}

void ctl_takeover_done(pid_t pid, const struct timespec *asked)
{
	ctl_log("take-over: forwarding again %ld ms after podlaned %d was asked to stop",
		ms_since(asked), (int)pid);
}
