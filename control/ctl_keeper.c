/* The fd keeper: a small process beside podlaned that holds a copy of
 * every TAP's fd (the pods' and the host port's), so the interfaces keep
 * their queue attached while no podlaned runs (stopped, crashed,
 * upgraded): their carrier stays on (the node's BGP sessions from the
 * host port stay up) and what pods send meanwhile waits in the TAP's
 * queue (500 frames) instead of being dropped. The next podlaned takes
 * the copies (SCM_RIGHTS), so it reads the very queues the last one did,
 * and keeps the keeper. The uplink's packet sockets are held the same way:
 * what arrives from the node network meanwhile waits in them. podlaned starts it before DPDK (fork, then exec of
 * its own binary with --fd-keeper), so it holds no memory of podlaned's;
 * with no podlaned for KEEP_IDLE_S, or holding nothing when its podlaned
 * goes, it closes everything and ends (the interfaces persist without
 * carrier, docs/operations.md). Its pid is in state_dir/keeper.pid.
 *
 * Where podlaned's end takes every process it started (a container's:
 * Kubernetes replacing podlaned's pod), the keeper runs on its own
 * instead, standing (`podlaned --keeper STATE_DIR`, its own DaemonSet):
 * it takes the socket's path over and never ends by itself. A podlaned
 * whose keeper went (or was replaced on the path) connects to the one
 * there and hands it its fds again (ctl_keeper_watch).
 *
 * Protocol (SOCK_SEQPACKET on state_dir/keeper.sock, one message each):
 * keeper -> a podlaned that connects: 'F' + up to KEEP_BATCH fds, then
 * 'E'; podlaned -> keeper, once it has its ports: 'R' (close all: a
 * podlaned that fails to start before leaves them held), then 'A' key +
 * one fd (hold it as key) for each, and 'D' key (close it, answered by
 * 'K' once closed) as pods go.
 * Keys are podlaned's port ids plus queue * DP_MAX_PORTS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_node.h"

#define KEEP_KEYS (DP_MAX_PORTS * DP_MAX_WORKERS) /* port + queue * DP_MAX_PORTS */
#define KEEP_BATCH 64
#define KEEP_IDLE_S 60
#define KEEP_POOL 1024

struct keep_msg {
	char op;
	uint16_t key;
	uint16_t n;
};

/* One message with up to n fds; 0 or -errno. */
static int send_fds(int s, const struct keep_msg *m, const int *fds, unsigned n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * KEEP_BATCH)] = {0};
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n) {
		h.msg_control = cbuf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(s, &h, MSG_NOSIGNAL) == (ssize_t)sizeof(*m) ? 0 : -errno;
}

/* One message and the fds it carries (*n of them, at most KEEP_BATCH);
 * the message's size, 0 at the end, or -errno. */
static ssize_t recv_fds(int s, struct keep_msg *m, int *fds, unsigned *n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * KEEP_BATCH)];
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	ssize_t r = recvmsg(s, &h, MSG_CMSG_CLOEXEC);

	*n = 0;
	if (r < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c != NULL; c = CMSG_NXTHDR(&h, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds + *n, CMSG_DATA(c), sizeof(int) * k);
			*n += k;
		}
	return r;
}

/* ---- The keeper process ---- */

static void keeper_give(int s, const int *held)
{
	int batch[KEEP_BATCH];
	unsigned n = 0;

	for (unsigned k = 0; k <= KEEP_KEYS; k++) {
		if (k < KEEP_KEYS && held[k] >= 0)
			batch[n++] = held[k];
		if (n == KEEP_BATCH || (k == KEEP_KEYS && n)) {
			struct keep_msg m = {.op = 'F', .n = (uint16_t)n};
			if (send_fds(s, &m, batch, n) != 0)
				return;
			n = 0;
		}
	}
	struct keep_msg end = {.op = 'E'};
	send_fds(s, &end, NULL, 0);
}

/* The pid file goes with its keeper, unless another keeper wrote it since. */
static void pidfile_remove(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	int pid = 0;

	if (f == NULL)
		return;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid == (int)getpid())
		unlink(pidfile);
}

int ctl_keeper_main(int lfd, const char *pidfile, bool standing)
{
	int held[KEEP_KEYS], conn = -1, fds[KEEP_BATCH];
	FILE *f = fopen(pidfile, "w");

	if (f != NULL) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* a terminal's Ctrl-C was podlaned's */
	for (unsigned k = 0; k < KEEP_KEYS; k++)
		held[k] = -1;
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = conn, .events = POLLIN}};
		int n = poll(p, conn >= 0 ? 2 : 1, conn >= 0 || standing ? -1 : KEEP_IDLE_S * 1000);
		if (n == 0)
			break; /* no podlaned for KEEP_IDLE_S */
		if (n < 0 && errno != EINTR)
			break;
		if (n < 0)
			continue;
		if (p[0].revents & (POLLERR | POLLNVAL))
			break; /* no socket to wait on */
		if (p[0].revents & POLLIN) { /* a podlaned (the next one) */
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				if (conn >= 0)
					close(conn);
				conn = c;
				keeper_give(conn, held);
			}
			continue;
		}
		if (conn < 0 || !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		struct keep_msg m;
		unsigned nf;
		ssize_t r = recv_fds(conn, &m, fds, &nf);
		if (r <= 0) { /* podlaned gone: hold on for the next, if anything */
			close(conn);
			conn = -1;
			bool any = false;
			for (unsigned k = 0; k < KEEP_KEYS && !any; k++)
				any = held[k] >= 0;
			if (!any && !standing) /* a podlaned that failed to start */
				break;
			continue;
		}
		bool keyed = r == (ssize_t)sizeof(m) && m.key < KEEP_KEYS;
		if ((m.op == 'A' || m.op == 'D') && keyed && held[m.key] >= 0) {
			close(held[m.key]);
			held[m.key] = -1;
		}
		if (m.op == 'A' && keyed && nf >= 1) {
			held[m.key] = fds[0];
			nf--;
			memmove(fds, fds + 1, nf * sizeof(int));
		} else if (m.op == 'R') {
			for (unsigned k = 0; k < KEEP_KEYS; k++)
				if (held[k] >= 0) {
					close(held[k]);
					held[k] = -1;
				}
		}
		for (unsigned i = 0; i < nf; i++) /* none expected */
			close(fds[i]);
		if (m.op == 'D') { /* closed: podlaned waits for that */
			struct keep_msg ack = {.op = 'K', .key = m.key};
			send_fds(conn, &ack, NULL, 0);
		}
	}
	for (unsigned k = 0; k < KEEP_KEYS; k++)
		if (held[k] >= 0)
			close(held[k]);
	pidfile_remove(pidfile);
	return 0;
}

/* ---- podlaned's side ---- */

static struct {
	int conn;              /* to the keeper, -1: none */
	int pool[KEEP_POOL];   /* the last podlaned's fds, not yet taken */
	unsigned n_pool;
	bool ours;             /* the keeper holds this podlaned's ports */
	bool started;          /* ctl_keeper_taken done: watched from then on */
	unsigned failed;       /* watches since a reconnect failed */
	struct stat sock;      /* the socket file connected to */
	char state_dir[PATH_MAX];
} kp = {.conn = -1};

static int keeper_path(const char *state_dir, const char *name, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", state_dir, name) < (int)len ? 0 : -ENAMETOOLONG;
}

/* The keeper's socket on path, in place of whatever was there: the
 * listening fd, or -errno. */
static int keeper_listen(const struct sockaddr_un *a)
{
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	unlink(a->sun_path);
	if (l < 0 || bind(l, (const struct sockaddr *)a, sizeof(*a)) != 0 || listen(l, 4) != 0) {
		int rc = -errno;
		if (l >= 0)
			close(l);
		return rc;
	}
	return l;
}

/* A keeper on path: listening socket bound, then a child that forks the
 * keeper (reparented, so no zombie of it stays with podlaned) and ends. */
static int keeper_spawn(const struct sockaddr_un *a, const char *pidfile)
{
	int l = keeper_listen(a);

	if (l < 0)
		return l;
	pid_t pid = fork();
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		/* Only its socket (as fd 3): nothing else of podlaned's, not even
		 * stdio (a caller reading podlaned's output to its end would wait
		 * for the keeper's). */
		int null = open("/dev/null", O_RDWR);
		setsid();
		if (null < 0 || dup2(null, 0) != 0 || dup2(null, 1) != 1 || dup2(null, 2) != 2 ||
		    (l == 3 ? fcntl(3, F_SETFD, 0) : dup2(l, 3)) < 0) /* dup2 to itself keeps CLOEXEC */
			_exit(127);
		close_range(4, ~0U, 0);
		execl("/proc/self/exe", "podlaned", "--fd-keeper", "3", pidfile, (char *)NULL);
		_exit(127);
	}
	close(l);
	if (pid < 0)
		return -errno;
	waitpid(pid, NULL, 0);
	return 0;
}

int ctl_keeper_connect(const char *state_dir)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char pidfile[PATH_MAX];
	struct timeval tv = {.tv_sec = 2};
	int s = -1, rc;

	if (keeper_path(state_dir, "keeper.sock", a.sun_path, sizeof(a.sun_path)) != 0 ||
	    keeper_path(state_dir, "keeper.pid", pidfile, sizeof(pidfile)) != 0) {
		ctl_warn("fd keeper: %s/keeper.sock: path too long: pods' interfaces lose their "
			 "carrier while podlaned restarts", state_dir);
		return -1;
	}
	if (state_dir != kp.state_dir) /* not when called again with it */
		snprintf(kp.state_dir, sizeof(kp.state_dir), "%s", state_dir);
	for (int tries = 0; tries < 2; tries++) {
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		rc = -errno;
		if (s >= 0)
			close(s);
		s = -1;
		if (tries == 0 && (rc = keeper_spawn(&a, pidfile)) != 0)
			break;
	}
	if (s < 0) {
		ctl_warn("fd keeper: cannot start it: %s: pods' interfaces lose their carrier while "
			 "podlaned restarts", strerror(-rc));
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (stat(a.sun_path, &kp.sock) != 0)
		memset(&kp.sock, 0, sizeof(kp.sock));
	for (;;) {
		struct keep_msg m;
		int fds[KEEP_BATCH];
		unsigned nf;
		ssize_t r = recv_fds(s, &m, fds, &nf);
		for (unsigned i = 0; i < nf; i++) {
			if (kp.n_pool < KEEP_POOL)
				kp.pool[kp.n_pool++] = fds[i];
			else
				close(fds[i]);
		}
		if (r <= 0 || m.op == 'E')
			break;
	}
	/* The keeper keeps its copies until this podlaned has its ports
	 * (ctl_keeper_taken): one that fails to start leaves them held. */
	kp.conn = s;
	if (kp.n_pool)
		ctl_log("fd keeper: took %u fd(s) a podlaned before left (TAPs, uplink sockets)",
			kp.n_pool);
	return 0;
}

int ctl_keeper_fd(const char *ifname)
{
	struct stat here, st;

	if (stat("/proc/thread-self/ns/net", &here) != 0)
		return -1;
	for (unsigned i = 0; i < kp.n_pool; i++) {
		struct ifreq ifr = {0};
		int fd = kp.pool[i];
		if (ioctl(fd, TUNGETIFF, &ifr) != 0 || strncmp(ifr.ifr_name, ifname, IFNAMSIZ) != 0)
			continue;
		int ns = ioctl(fd, TUNGETDEVNETNS);
		bool same = ns >= 0 && fstat(ns, &st) == 0 && st.st_dev == here.st_dev &&
			    st.st_ino == here.st_ino;
		if (ns >= 0)
			close(ns);
		if (!same)
			continue;
		kp.pool[i] = kp.pool[--kp.n_pool];
		return fd;
	}
	return -1;
}

void ctl_keeper_taken(void)
{
	struct keep_msg reset = {.op = 'R'};

	kp.started = true;
	while (kp.n_pool)
		close(kp.pool[--kp.n_pool]);
	if (kp.conn < 0)
		return;
	/* What the keeper held for the podlaned before, for ours. */
	kp.ours = true;
	send_fds(kp.conn, &reset, NULL, 0);
	ctl_keeper_hold(dp_host_port());
	ctl_keeper_hold(dp_uplink_port()); /* a packet socket uplink's */
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (node.pods[i].used && !node.pods[i].vhost)
			ctl_keeper_hold(node.pods[i].port);
}

unsigned ctl_keeper_packet_fds(const char *ifname, int *fds, unsigned max)
{
	unsigned idx = if_nametoindex(ifname), n = 0;

	for (unsigned i = 0; idx != 0 && i < kp.n_pool && n < max;) {
		struct sockaddr_ll sll;
		socklen_t len = sizeof(sll);
		int dom = 0;
		socklen_t dlen = sizeof(dom);
		int fd = kp.pool[i];
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dlen) == 0 && dom == AF_PACKET &&
		    getsockname(fd, (struct sockaddr *)&sll, &len) == 0 &&
		    (unsigned)sll.sll_ifindex == idx) {
			fds[n++] = fd;
			kp.pool[i] = kp.pool[--kp.n_pool];
		} else {
			i++;
		}
	}
	return n;
}

void ctl_keeper_hold(uint16_t port)
{
	int fds[DP_MAX_WORKERS];
	unsigned n = dp_kport_fds(port, fds, DP_MAX_WORKERS);

	for (unsigned q = 0; kp.ours && kp.conn >= 0 && q < n; q++) {
		struct keep_msg m = {.op = 'A', .key = (uint16_t)(port + q * DP_MAX_PORTS)};
		if (send_fds(kp.conn, &m, &fds[q], 1) != 0) {
			ctl_warn("fd keeper: gone (%s): pods' interfaces lose their carrier while "
				 "podlaned restarts", strerror(errno));
			close(kp.conn);
			kp.conn = -1;
		}
	}
}

void ctl_keeper_release(uint16_t port)
{
	struct keep_msg m = {.op = 'D', .key = port}, ack;
	unsigned nf;
	int fds[KEEP_BATCH];

	/* Answered once closed: the pod's old interface must be gone with
	 * podlaned's own fd, not linger (address and all) beside the next
	 * pod's in the same netns. */
	if (kp.ours && kp.conn >= 0 && send_fds(kp.conn, &m, NULL, 0) == 0 &&
	    recv_fds(kp.conn, &ack, fds, &nf) <= 0)
		ctl_warn("fd keeper: no answer to a release: %s", strerror(errno));
}

int ctl_keeper_standing(const char *state_dir)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char pidfile[PATH_MAX];

	if (keeper_path(state_dir, "keeper.sock", a.sun_path, sizeof(a.sun_path)) != 0 ||
	    keeper_path(state_dir, "keeper.pid", pidfile, sizeof(pidfile)) != 0) {
		fprintf(stderr, "podlaned: %s/keeper.sock: path too long\n", state_dir);
		return 2;
	}
	ctl_mkdir_p(state_dir);
	int l = keeper_listen(&a);
	if (l < 0) {
		fprintf(stderr, "podlaned: fd keeper: %s: %s\n", a.sun_path, strerror(-l));
		return 1;
	}
	printf("podlaned: fd keeper for %s, pid %d\n", state_dir, (int)getpid());
	fflush(stdout);
	return ctl_keeper_main(l, pidfile, true);
}

void ctl_keeper_watch(void)
{
	char path[PATH_MAX];
	struct stat st;
	struct pollfd p = {.fd = kp.conn, .events = POLLIN};

	if (!kp.started || kp.state_dir[0] == '\0')
		return;
	/* The keeper says nothing unasked: anything readable is its end. */
	bool gone = kp.conn < 0 || (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLIN)));
	/* Another socket file: its inode number may be the last one's again,
	 * its creation time is not. */
	bool moved = keeper_path(kp.state_dir, "keeper.sock", path, sizeof(path)) == 0 &&
		     stat(path, &st) == 0 &&
		     (st.st_dev != kp.sock.st_dev || st.st_ino != kp.sock.st_ino ||
		      st.st_ctim.tv_sec != kp.sock.st_ctim.tv_sec ||
		      st.st_ctim.tv_nsec != kp.sock.st_ctim.tv_nsec);
	if ((!gone && !moved) || (kp.failed && kp.failed++ % 10 != 0))
		return; /* a failed reconnect is tried again every 10 s */
	if (kp.conn >= 0)
		close(kp.conn);
	kp.conn = -1;
	kp.ours = false;
	if (ctl_keeper_connect(kp.state_dir) != 0) {
		kp.failed = 1;
		return;
	}
	kp.failed = 0;
	ctl_keeper_taken();
	ctl_log("fd keeper: %s: this podlaned's fds handed to the keeper now on %s",
		moved ? "replaced" : "gone", path);
}
