/* Kernel ports: a kernel interface served through our own fd with
 * virtio-net headers, as VPP and grout do, instead of a DPDK PMD. Two
 * kinds: a TAP (pods, the host exception port) and an AF_PACKET socket on
 * a kernel NIC or veth (an uplink without a DPDK driver). The header lets
 * the kernel hand us TCP as 64 KiB GSO frames with the checksum left
 * partial, and take them back the same way, so TCP costs one read and one
 * write per 64 KiB rather than per MTU (the 22.11 TAP and af_packet PMDs
 * have no such offload, and their ports count against RTE_MAX_ETHPORTS).
 * One fd per port, polled by one worker; every sender writes to it (a
 * write is one frame, atomically). This file makes, re-binds and closes
 * them on the control thread; dp_kport_io.c reads and writes them on the
 * workers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dp_priv.h"

/* Socket buffers of an AF_PACKET uplink: room for a few dozen GSO frames
 * between two polls (the default, ~200 KiB, holds three). */
#define PACKET_SOCKBUF (8 << 20)

/* A free port id above the ethdevs', found before any fd is made. */
static int free_id(uint16_t *id, char *err, size_t errlen)
{
	for (*id = RTE_MAX_ETHPORTS; *id < DP_MAX_PORTS; (*id)++)
		if (!dp.ports[*id].active)
			return 0;
	snprintf(err, errlen, "no free port: a node has at most %u kernel ports (TAPs)",
		 DP_MAX_PORTS - RTE_MAX_ETHPORTS);
	return -ENOSPC;
}

static void close_all(const int *fd, unsigned n)
{
	for (unsigned q = 0; q < n; q++)
		close(fd[q]);
}

/* Port id (from free_id) serves fds, one per rx queue; on failure they
 * are closed. */
static int kport_add(uint16_t id, const int *fd, unsigned n, enum dp_port_kind kind,
		     const char *name, const struct rte_ether_addr *mac, uint16_t mtu, uint16_t *pid,
		     char *err, size_t errlen)
{
	struct dp_port *p = &dp.ports[id];
	memset(p, 0, sizeof(*p));
	p->kport = true;
	p->mtu = mtu;
	memcpy(p->fd, fd, n * sizeof(*fd));
	p->kind = (uint8_t)kind;
	p->mac = *mac;
	p->n_rxq = (uint16_t)n;
	p->gro = kind != DP_PORT_UPLINK; /* TAPs */
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->active = 1;
	if (dp_workers_assign(id, (uint16_t)n) != 0) {
		snprintf(err, errlen, "port %s: no worker can take it", name);
		memset(p, 0, sizeof(*p));
		close_all(fd, n);
		return -ENOMEM;
	}
	if (kind == DP_PORT_HOST)
		dp.host = id;
	else if (kind == DP_PORT_UPLINK)
		dp.uplink = id;
	*pid = id;
	return 0;
}

int dp_tap_create(const char *ifname, bool attach, int fd, enum dp_port_kind kind,
		  const char *name, const struct rte_ether_addr *mac, uint16_t *pid, char *err,
		  size_t errlen)
{
	/* IFF_TUN_EXCL: a new one, never another's interface of that name. */
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
					 (attach ? 0 : IFF_TUN_EXCL)};
	int hdr = sizeof(struct virtio_net_hdr), rc;
	uint16_t id;
	bool given = fd >= 0; /* attached already (the fd keeper's) */

	if (snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "interface name '%s' is too long", ifname);
		rc = -EINVAL;
	} else {
		rc = free_id(&id, err, errlen);
	}
	if (rc != 0) {
		if (given)
			close(fd);
		return rc;
	}
	/* The interface is created in the netns this thread is in now. */
	if (fd < 0 && (fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	/* TSO for IPv4 and IPv6 and partial checksums: what a TCP/UDP socket
	 * in the pod produces; anything else the kernel segments before us.
	 * The interface persists: it outlives this process (a restart, a
	 * crash) with its MAC, MTU, addresses and routes, for the next one to
	 * attach to; dp_port_remove() ends that. */
	if ((!given && ioctl(fd, TUNSETIFF, &ifr) != 0) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 ||
	    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) != 0 ||
	    ioctl(fd, TUNSETPERSIST, 1) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot %s TAP %s: %s", attach ? "attach to" : "create", ifname,
			 errno == EINVAL && attach ? "an interface of that name is not a TAP"
						  : strerror(errno));
		if (!attach && !given) /* made here, maybe persistent already: it goes */
			ioctl(fd, TUNSETPERSIST, 0);
		close(fd);
		return rc;
	}
	/* A new TAP has the kernel's default MTU; dp_port_set_mtu follows
	 * what the caller sets. */
	return kport_add(id, &fd, 1, kind, name, mac, RTE_ETHER_MTU, pid, err, errlen);
}

unsigned dp_kport_fds(uint16_t port, int *fds, unsigned max)
{
	if (port >= DP_MAX_PORTS || !dp.ports[port].active || !dp.ports[port].kport)
		return 0;
	const struct dp_port *p = &dp.ports[port];
	unsigned n = RTE_MIN((unsigned)p->n_rxq, max);
	for (unsigned q = 0; q < n; q++)
		fds[q] = __atomic_load_n(&p->fd[q], __ATOMIC_ACQUIRE);
	return n;
}

int dp_tap_where(uint16_t port, char name[IFNAMSIZ], int *netns_fd)
{
	struct ifreq ifr = {0};
	int fd = dp.ports[port].fd[0];

	if (ioctl(fd, TUNGETIFF, &ifr) != 0 ||
	    (netns_fd != NULL && (*netns_fd = ioctl(fd, TUNGETDEVNETNS)) < 0))
		return -errno;
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	return 0;
}

/* One packet socket on interface idx, set up as every uplink socket is;
 * -errno on failure. */
static int packet_socket(unsigned idx)
{
	int one = 1, buf = PACKET_SOCKBUF;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)idx};

	/* Our own transmissions are not echoed back to us; the qdisc is
	 * skipped as DPDK's af_packet PMD does. */
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		int rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

/* One socket per worker, each an rx queue, joined in a fanout group that
 * hashes flows over them (a flow stays on one socket, in order; IPv4
 * fragments hash on addresses only, so they stay together too): fd[from]
 * to fd[n - 1] join fd[0]'s group, made now if it has none (the kernel
 * picks the id). */
static int packet_fanout(int *fd, unsigned n, unsigned from)
{
	int arg = 0;
	socklen_t len = sizeof(arg);

	if (n < 2 || from >= n)
		return 0;
	if (getsockopt(fd[0], SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0)
		return -errno;
	if (arg == 0) { /* in no group */
		arg = PACKET_FANOUT_HASH << 16 | PACKET_FANOUT_FLAG_UNIQUEID << 16;
		if (setsockopt(fd[0], SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0 ||
		    getsockopt(fd[0], SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0)
			return -errno;
	}
	arg = (arg & 0xffff) | PACKET_FANOUT_HASH << 16;
	for (unsigned q = RTE_MAX(from, 1u); q < n; q++)
		if (setsockopt(fd[q], SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0)
			return -errno;
	return 0;
}

/* n packet sockets on interface ifname in one fanout group (the first
 * given: sockets a podlaned before left, taken as they are, the others
 * made to join them), and the interface's MAC and MTU; on failure none is
 * left open. */
static int packet_open(const char *ifname, int *fd, unsigned n, unsigned given,
		       struct rte_ether_addr *mac, uint16_t *mtu, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	unsigned idx = if_nametoindex(ifname), made = given;
	int rc = 0;

	if (idx == 0) {
		snprintf(err, errlen, "uplink interface %s: %s", ifname, strerror(errno));
		close_all(fd, made);
		return -ENODEV;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	while (made < n && (rc = packet_socket(idx)) >= 0)
		fd[made++] = rc;
	if (rc >= 0)
		rc = packet_fanout(fd, n, given);
	if (rc >= 0 && ioctl(fd[0], SIOCGIFHWADDR, &ifr) != 0)
		rc = -errno;
	memcpy(mac->addr_bytes, ifr.ifr_hwaddr.sa_data, RTE_ETHER_ADDR_LEN);
	if (rc >= 0 && ioctl(fd[0], SIOCGIFMTU, &ifr) != 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "uplink %s: packet socket: %s", ifname, strerror(-rc));
		close_all(fd, made);
		return rc;
	}
	*mtu = (uint16_t)RTE_MIN(ifr.ifr_mtu, UINT16_MAX);
	return 0;
}

int dp_packet_create(const char *ifname, const char *name, const int *given, unsigned n_given,
		     uint16_t *pid, struct rte_ether_addr *mac, char *err, size_t errlen)
{
	int fd[DP_MAX_WORKERS], rc;
	uint16_t id, mtu;

	/* One per worker, and every socket a podlaned before left (what
	 * arrived meanwhile waits in them), whatever its number of workers:
	 * with fewer workers than sockets, a worker reads several. */
	unsigned n = RTE_MIN(RTE_MAX(RTE_MAX(dp.cfg.n_workers, 1u), n_given), (unsigned)DP_MAX_WORKERS);
	memcpy(fd, given, n_given * sizeof(*fd));
	if ((rc = free_id(&id, err, errlen)) != 0) {
		close_all(fd, n_given);
		return rc;
	}
	if ((rc = packet_open(ifname, fd, n, n_given, mac, &mtu, err, errlen)) != 0)
		return rc;
	return kport_add(id, fd, n, DP_PORT_UPLINK, name, mac, mtu, pid, err, errlen);
}

int dp_packet_rebind(const char *ifname, struct rte_ether_addr *mac, char *err, size_t errlen)
{
	int fd[DP_MAX_WORKERS], old[DP_MAX_WORKERS], rc;
	uint16_t mtu;

	if (dp.uplink >= DP_MAX_PORTS || !dp.ports[dp.uplink].kport) {
		snprintf(err, errlen, "uplink %s: not a packet socket uplink", ifname);
		return -ENOTSUP;
	}
	struct dp_port *p = &dp.ports[dp.uplink];
	unsigned n = p->n_rxq;
	if ((rc = packet_open(ifname, fd, n, 0, mac, &mtu, err, errlen)) != 0)
		return rc;
	if ((rc = dp_workers_unassign(dp.uplink)) != 0) {
		snprintf(err, errlen, "uplink %s: out of memory", ifname);
		close_all(fd, n);
		return rc;
	}
	/* No worker reads the old sockets now; senders may still be writing
	 * to them until every worker has passed a quiescent state, after
	 * which they only know the new ones. */
	for (unsigned q = 0; q < n; q++) {
		old[q] = p->fd[q];
		__atomic_store_n(&p->fd[q], fd[q], __ATOMIC_RELEASE);
	}
	p->mac = *mac;
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	dp_kport_close_fds(old, n);
	if ((rc = dp_workers_assign(dp.uplink, (uint16_t)n)) != 0)
		snprintf(err, errlen, "uplink %s: no worker can take it", ifname);
	return rc;
}

void dp_kport_read_missed(void)
{
	for (uint16_t id = RTE_MAX_ETHPORTS; id < DP_MAX_PORTS; id++) {
		struct dp_port *p = &dp.ports[id];
		uint64_t n = 0;
		if (!p->active || p->kind != DP_PORT_UPLINK)
			continue;
		/* Each read returns the drops since the last and resets them. */
		for (unsigned q = 0; q < p->n_rxq; q++) {
			struct tpacket_stats st;
			socklen_t len = sizeof(st);
			int fd = __atomic_load_n(&p->fd[q], __ATOMIC_ACQUIRE);
			if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
				n += st.tp_drops;
		}
		__atomic_store_n(&p->kernel_missed, p->kernel_missed + n, __ATOMIC_RELAXED);
	}
}

void dp_kport_set_missed(uint16_t port, uint64_t n)
{
	if (port < DP_MAX_PORTS && dp.ports[port].kport)
		__atomic_store_n(&dp.ports[port].kernel_missed, n, __ATOMIC_RELAXED);
}

/* Closing a TAP takes the kernel 15-25 ms, nearly all of it waiting for
 * RCU grace periods while it unregisters the interface. Closer threads do
 * it, so pod.del does not hold the control thread (and every API call
 * behind it) that long, and several closes wait out their grace periods
 * together. The fds travel through a pipe: one 4-byte write or read is
 * atomic, so each fd reaches exactly one closer. */
static void *closer_main(void *arg)
{
	int fd;

	(void)arg;
	while (read(dp.closer_pipe[0], &fd, sizeof(fd)) == sizeof(fd) && fd >= 0)
		close(fd);
	return NULL;
}

int dp_kport_closers_start(char *err, size_t errlen)
{
	if (pipe2(dp.closer_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < DP_CLOSERS; i++) {
		int rc = rte_ctrl_thread_create(&dp.closers[i], "pl-closer", NULL, closer_main, NULL);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start a closer thread: %s", strerror(-rc));
			close(dp.closer_pipe[1]); /* the ones started read EOF and end */
			while (i-- > 0)
				pthread_join(dp.closers[i], NULL);
			close(dp.closer_pipe[0]);
			dp.closer_pipe[0] = dp.closer_pipe[1] = -1;
			return -1;
		}
	}
	return 0;
}

void dp_kport_close_fds(const int *fd, unsigned n)
{
	for (unsigned q = 0; q < n; q++)
		if (dp.closer_pipe[1] < 0 ||
		    write(dp.closer_pipe[1], &fd[q], sizeof(fd[q])) != sizeof(fd[q]))
			close(fd[q]);
}

void dp_kport_close(uint16_t port, bool for_good)
{
	const struct dp_port *p = &dp.ports[port];

	/* A TAP's interface goes with its last fd only once not persistent. */
	if (for_good && p->kind != DP_PORT_UPLINK && ioctl(p->fd[0], TUNSETPERSIST, 0) != 0)
		dp_log(RTE_LOG_WARNING, "port %s: its interface stays: %s", p->name, strerror(errno));
	dp_kport_close_fds(p->fd, p->n_rxq);
}

void dp_kport_closers_stop(void)
{
	static const int end = -1;

	if (dp.closer_pipe[1] < 0)
		return;
	/* After every fd queued before them: a closer ends on reading one. */
	for (unsigned i = 0; i < DP_CLOSERS; i++)
		if (write(dp.closer_pipe[1], &end, sizeof(end)) != sizeof(end))
			abort(); /* a pipe we own, with room to spare */
	for (unsigned i = 0; i < DP_CLOSERS; i++)
		pthread_join(dp.closers[i], NULL);
	close(dp.closer_pipe[0]);
	close(dp.closer_pipe[1]);
	dp.closer_pipe[0] = dp.closer_pipe[1] = -1;
}
