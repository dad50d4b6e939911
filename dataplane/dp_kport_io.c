/* Kernel ports' I/O on the workers: one frame per readv/writev, with the
 * virtio-net header that carries GSO and checksum offload both ways
 * (dp_kport.c sets the ports up and tears them down). */
#include <errno.h>
#include <linux/if_tun.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_priv.h"

/* Frames up to this long are copied out of the big receive buffer into a
 * regular mbuf, so big buffers only ever hold big frames. */
#define SMALL_FRAME (RTE_MBUF_DEFAULT_DATAROOM)
#define MAX_SEGS 64 /* iovecs per written frame */

/* A GSO frame the kernel verified and merged (GRO on the NIC under a
 * packet socket): its TCP checksum field belongs to the first segment.
 * Make it partial, the pseudo-header sum over the whole length as Linux
 * keeps it, so it can be passed on or segmented like any other. IPv6:
 * TCP right after the fixed header (Linux merges no others). */
static uint32_t gro_to_partial(struct rte_mbuf *m, uint8_t gso_type)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t l3;

	if (gso_type == VIRTIO_NET_HDR_GSO_TCPV6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
		if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV6) ||
		    m->data_len < sizeof(*eth) + sizeof(*ip6) + sizeof(struct rte_tcp_hdr) ||
		    ip6->proto != IPPROTO_TCP)
			return 0;
		((struct rte_tcp_hdr *)(ip6 + 1))->cksum = rte_ipv6_phdr_cksum(ip6, 0);
		return (uint32_t)(sizeof(*eth) + sizeof(*ip6));
	}
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
 * contract: the L4 checksum field holds the pseudo-header sum). TSO for
 * TCP over IPv4 and IPv6 is offered, each on frames of its family;
 * partial checksums may be on any protocol, so they are kept as offsets
 * (l2_len + l3_len = where summing starts). */
bool dp_vnet_to_mbuf(const struct virtio_net_hdr *h, struct rte_mbuf *m)
{
	uint32_t start = h->csum_start, off = h->csum_offset, l2 = sizeof(struct rte_ether_hdr);
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
			return true;
		if (!(h->flags & VIRTIO_NET_HDR_F_DATA_VALID) ||
		    (start = gro_to_partial(m, h->gso_type)) == 0)
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
	bool v6 = h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6;
	rte_be16_t type = v6 ? RTE_BE16(RTE_ETHER_TYPE_IPV6) : RTE_BE16(RTE_ETHER_TYPE_IPV4);
	/* An MSS below Linux's minimum (48) would make thousands of segments. */
	if ((h->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 && !v6) || eth->ether_type != type ||
	    (v6 && start < l2 + sizeof(struct rte_ipv6_hdr)) || h->gso_size < 48 ||
	    start + l4 + h->gso_size > UINT16_MAX ||
	    !(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) || start + sizeof(*th) > m->data_len ||
	    l4 < sizeof(*th) || start + l4 > m->data_len)
		return false;
	m->l4_len = l4;
	m->tso_segsz = h->gso_size;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
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
		h->gso_type = m->ol_flags & RTE_MBUF_F_TX_IPV6 ? VIRTIO_NET_HDR_GSO_TCPV6
							       : VIRTIO_NET_HDR_GSO_TCPV4;
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
		m->port = port; /* as ethdevs set it: the drop recorder tells where a drop came in */
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
