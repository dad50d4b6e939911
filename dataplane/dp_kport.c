/* Kernel ports: a kernel interface served through our own fd with
 * virtio-net headers, as VPP and grout do, instead of a DPDK PMD. Two
 * kinds: a TAP (pods, the host exception port) and an AF_PACKET socket on
 * a kernel NIC or veth (an uplink without a DPDK driver). The header lets
 * the kernel hand us TCP as 64 KiB GSO frames with the checksum left
 * partial, and take them back the same way, so TCP costs one read and one
 * write per 64 KiB rather than per MTU (the 22.11 TAP and af_packet PMDs
 * have no such offload, and their ports count against RTE_MAX_ETHPORTS).
 * One fd per port, polled by one worker; every sender writes to it (a
 * write is one frame, atomically). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_priv.h"

/* Frames up to this long are copied out of the big receive buffer into a
 * regular mbuf, so big buffers only ever hold big frames. */
#define SMALL_FRAME (RTE_MBUF_DEFAULT_DATAROOM)
#define MAX_SEGS 64 /* iovecs per written frame */
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

int dp_tap_create(const char *ifname, enum dp_port_kind kind, const char *name,
		  const struct rte_ether_addr *mac, uint16_t *pid, char *err, size_t errlen)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd, hdr = sizeof(struct virtio_net_hdr), rc;
	uint16_t id;

	if ((rc = free_id(&id, err, errlen)) != 0)
		return rc;
	if (snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "interface name '%s' is too long", ifname);
		return -EINVAL;
	}
	/* The interface is created in the netns this thread is in now. */
	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	/* TSO for IPv4 and partial checksums: what a TCP/UDP socket in the
	 * pod produces; anything else the kernel segments before us. */
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 ||
	    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create TAP %s: %s", ifname, strerror(errno));
		close(fd);
		return rc;
	}
	/* A new TAP has the kernel's default MTU; dp_port_set_mtu follows
	 * what the caller sets. */
	return kport_add(id, &fd, 1, kind, name, mac, RTE_ETHER_MTU, pid, err, errlen);
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
 * fragments hash on addresses only, so they stay together too). The
 * kernel picks the group id. */
static int packet_fanout(int *fd, unsigned n)
{
	int arg = PACKET_FANOUT_HASH << 16 | PACKET_FANOUT_FLAG_UNIQUEID << 16;
	socklen_t len = sizeof(arg);

	if (n < 2)
		return 0;
	if (setsockopt(fd[0], SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0 ||
	    getsockopt(fd[0], SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0)
		return -errno;
	arg = (arg & 0xffff) | PACKET_FANOUT_HASH << 16;
	for (unsigned q = 1; q < n; q++)
		if (setsockopt(fd[q], SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0)
			return -errno;
	return 0;
}

/* n packet sockets on interface ifname in one fanout group, and the
 * interface's MAC and MTU; on failure none is left open. */
static int packet_open(const char *ifname, int *fd, unsigned n, struct rte_ether_addr *mac,
		       uint16_t *mtu, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	unsigned idx = if_nametoindex(ifname), made = 0;
	int rc = 0;

	if (idx == 0) {
		snprintf(err, errlen, "uplink interface %s: %s", ifname, strerror(errno));
		return -ENODEV;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	while (made < n && (rc = packet_socket(idx)) >= 0)
		fd[made++] = rc;
	if (rc >= 0 && (rc = packet_fanout(fd, n)) == 0 && ioctl(fd[0], SIOCGIFHWADDR, &ifr) != 0)
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

int dp_packet_create(const char *ifname, const char *name, uint16_t *pid,
		     struct rte_ether_addr *mac, char *err, size_t errlen)
{
	int fd[DP_MAX_WORKERS], rc;
	unsigned n = RTE_MAX(dp.cfg.n_workers, 1u); /* one per worker */
	uint16_t id, mtu;

	if ((rc = free_id(&id, err, errlen)) != 0 ||
	    (rc = packet_open(ifname, fd, n, mac, &mtu, err, errlen)) != 0)
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
	if ((rc = packet_open(ifname, fd, n, mac, &mtu, err, errlen)) != 0)
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

/* A GSO frame the kernel verified and merged (GRO on the NIC under a
 * packet socket): its TCP checksum field belongs to the first segment.
 * Make it partial, the pseudo-header sum over the whole length as Linux
 * keeps it, so it can be passed on or segmented like any other. */
static uint32_t gro_to_partial(struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t l3;

	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    m->data_len < sizeof(*eth) + sizeof(*ip) || ip->next_proto_id != IPPROTO_TCP)
		return 0;
	l3 = (ip->version_ihl & 0xf) * 4u;
	if (l3 < sizeof(*ip) || sizeof(*eth) + l3 + sizeof(struct rte_tcp_hdr) > m->data_len ||
	    rte_be_to_cpu_16(ip->total_length) < l3)
		return 0;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((char *)ip + l3);
	th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	return (uint32_t)sizeof(*eth) + l3;
}

/* Offloads the kernel left to us, as DPDK's TX offload flags (the same
 * contract: the L4 checksum field holds the pseudo-header sum). Only
 * IPv4 TSO is offered; partial checksums may be on any protocol, so they
 * are kept as offsets (l2_len + l3_len = where summing starts). */
bool dp_vnet_to_mbuf(const struct virtio_net_hdr *h, struct rte_mbuf *m)
{
	uint32_t start = h->csum_start, off = h->csum_offset, l2 = sizeof(struct rte_ether_hdr);

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
			return true;
		if (!(h->flags & VIRTIO_NET_HDR_F_DATA_VALID) || (start = gro_to_partial(m)) == 0)
			return false;
		off = offsetof(struct rte_tcp_hdr, cksum);
	}
	if (start < l2 + sizeof(struct rte_ipv4_hdr) || start - l2 > 511 /* l3_len: 9 bits */ ||
	    start + off + 2u > m->data_len)
		return false;
	if (off == offsetof(struct rte_tcp_hdr, cksum))
		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
	else if (off == offsetof(struct rte_udp_hdr, dgram_cksum))
		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
	else
		return false;
	m->l2_len = l2;
	m->l3_len = start - l2;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return true;
	const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, start);
	uint32_t l4 = (th->data_off >> 4) * 4u;
	/* An MSS below Linux's minimum (48) would make thousands of segments. */
	if (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || h->gso_size < 48 ||
	    start + l4 + h->gso_size > UINT16_MAX ||
	    !(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) || start + sizeof(*th) > m->data_len ||
	    l4 < sizeof(*th) || start + l4 > m->data_len)
		return false;
	m->l4_len = l4;
	m->tso_segsz = h->gso_size;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4;
	return true;
}

void dp_mbuf_to_vnet(const struct rte_mbuf *m, struct virtio_net_hdr *h)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;

	memset(h, 0, sizeof(*h));
	if (l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != RTE_MBUF_F_TX_UDP_CKSUM)
		return;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)(m->l2_len + m->l3_len);
	h->csum_offset = l4 == RTE_MBUF_F_TX_TCP_CKSUM ? offsetof(struct rte_tcp_hdr, cksum)
						       : offsetof(struct rte_udp_hdr, dgram_cksum);
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = m->tso_segsz;
		h->hdr_len = (uint16_t)(m->l2_len + m->l3_len + m->l4_len);
	}
}

/* A TAP whose interface was deleted (ip link del in the pod; deleting the
 * netns does not do it, our fd keeps the netns alive) reports EPOLLERR
 * for good, which would keep its worker from ever blocking: stop
 * watching it. Its port stays until pod.del removes it. */
static void detached(struct dp_worker *w, uint16_t port, uint16_t queue)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, dp.ports[port].fd[queue], NULL);
	DP_LOG_LIMITED(WARNING, "port %s: its interface was deleted, no longer polled "
				"(pod.del removes the port)", dp.ports[port].name);
}

/* Reads go into a big buffer (a GSO frame fits whole: the interface's
 * gso_max_size is DP_KPORT_GSO_MAX); small frames are copied out so the
 * big buffer serves the next read. */
uint16_t dp_kport_rx(struct dp_worker *w, uint16_t port, uint16_t queue, struct rte_mbuf **pkts,
		     uint16_t max)
{
	int fd = dp.ports[port].fd[queue];
	uint16_t n = 0;

	while (n < max) {
		struct rte_mbuf *big = w->kport_spare, *m;
		struct virtio_net_hdr h;

		if (big == NULL && (big = w->kport_spare = rte_pktmbuf_alloc(dp.big_pool)) == NULL) {
			w->stats.drops[DP_DROP_NO_MBUF]++; /* the frame waits in the kernel */
			break;
		}
		uint16_t room = rte_pktmbuf_tailroom(big);
		struct iovec iov[2] = {{&h, sizeof(h)}, {rte_pktmbuf_mtod(big, void *), room}};
		ssize_t len = readv(fd, iov, 2);
		if (len < 0) {
			if (unlikely(errno == EBADFD))
				detached(w, port, queue);
			break; /* EAGAIN: drained (EIO: the kernel side is down) */
		}
		len -= (ssize_t)sizeof(h);
		if (unlikely(len < (ssize_t)sizeof(struct rte_ether_hdr) || len > room)) {
			w->stats.drops[DP_DROP_BAD_IP_HEADER]++; /* runt, or cut short */
			continue;
		}
		if (len <= SMALL_FRAME) {
			if ((m = rte_pktmbuf_alloc(dp.pool)) == NULL) {
				w->stats.drops[DP_DROP_NO_MBUF]++;
				continue;
			}
			rte_memcpy(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_mtod(big, void *),
				   (size_t)len);
		} else {
			m = big;
			w->kport_spare = NULL;
		}
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		if (unlikely(!dp_vnet_to_mbuf(&h, m))) {
			dp_drop(w, m, DP_DROP_BAD_IP_HEADER); /* offload we never offered */
			continue;
		}
		pkts[n++] = m;
	}
	return n;
}

/* Returns how many frames were taken (written or refused, and freed);
 * the caller keeps the rest, as with rte_eth_tx_burst. */
uint16_t dp_kport_tx(uint16_t port, unsigned sender, struct rte_mbuf **pkts, uint16_t n,
		     struct dp_refused *r)
{
	/* Any socket of a fanout group sends; each sender its own. */
	int fd = dp.ports[port].fd[sender % dp.ports[port].n_rxq];
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct virtio_net_hdr h;
		struct iovec iov[MAX_SEGS + 1];
		unsigned k = 1;

		dp_mbuf_to_vnet(m, &h);
		iov[0] = (struct iovec){&h, sizeof(h)};
		for (struct rte_mbuf *s = m; s != NULL && k <= MAX_SEGS; s = s->next)
			iov[k++] = (struct iovec){rte_pktmbuf_mtod(s, void *), s->data_len};
		if (unlikely(m->nb_segs > MAX_SEGS || writev(fd, iov, (int)k) < 0)) {
			/* A full queue keeps the rest for the caller to count;
			 * anything else (EIO: the interface is down; EBADFD: it
			 * was deleted; too big) is this frame's alone. */
			if (m->nb_segs <= MAX_SEGS && (errno == EAGAIN || errno == ENOBUFS))
				break;
			r->pkts++;
			r->bytes += m->pkt_len;
		}
		rte_pktmbuf_free(m);
	}
	return i;
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

void dp_kport_close(uint16_t port)
{
	dp_kport_close_fds(dp.ports[port].fd, dp.ports[port].n_rxq);
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
