/* Offloads for ports that cannot take them as they are. Frames from a
 * kernel port may be TCP GSO frames or carry a partial checksum
 * (dp_kport_io.c); other kernel ports take them as they are. A DPDK port
 * whose device does TSO and checksums (a NIC uplink) gets them with the
 * flags its driver wants; other DPDK ports (vhost-user guests, af_packet
 * and af_xdp vdevs) get them segmented (rte_gso) with every checksum
 * complete. Frames from a guest (vhost-user) carry the same offloads as
 * those from a TAP once dp_offload_from_rx has read them. TCP over IPv6 is
 * segmented by dp_gso6.c, but for a guest that takes IPv6 frames whole
 * (dp_port.hw_tx6). */
#include <rte_gso.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_priv.h"

/* Where the L4 data ends: trailing Ethernet padding is not summed. */
static uint32_t l4_end(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint32_t end = m->pkt_len;

	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip = (const void *)(eth + 1);
		end = m->l2_len + rte_be_to_cpu_16(ip->total_length);
	} else if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *ip = (const void *)(eth + 1);
		end = m->l2_len + (uint32_t)sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	}
	return RTE_MIN(end, m->pkt_len);
}

/* The field holds the pseudo-header sum (the kernel's CHECKSUM_PARTIAL),
 * so summing from the L4 header to the end completes it, for IPv4 and
 * IPv6 alike: the kernel's skb_checksum_help. */
static void csum_complete(struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint32_t start = m->l2_len + m->l3_len, end = l4_end(m);
	uint32_t off = start + (l4 == RTE_MBUF_F_TX_TCP_CKSUM ? offsetof(struct rte_tcp_hdr, cksum)
							     : offsetof(struct rte_udp_hdr, dgram_cksum));
	uint16_t raw = 0;

	if (end < off + 2 || off + 2 > m->data_len ||
	    (l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != RTE_MBUF_F_TX_UDP_CKSUM))
		return; /* dp_kport_io.c checked the offsets; nothing sane to do */
	rte_raw_cksum_mbuf(m, start, end - start, &raw);
	uint16_t sum = (uint16_t)~raw;
	if (sum == 0 && l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		sum = 0xffff; /* 0 means "no checksum" in UDP */
	memcpy(rte_pktmbuf_mtod_offset(m, void *, off), &sum, sizeof(sum)); /* may be unaligned */
}

bool dp_offload_from_rx(struct rte_mbuf *m, uint32_t l4, uint8_t proto)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t rx = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = (uint16_t)l4};

	if (rx != RTE_MBUF_F_RX_L4_CKSUM_NONE && !(m->ol_flags & RTE_MBUF_F_RX_LRO))
		return true; /* a NIC's word on a bad checksum: a router forwards it */
	if (proto == IPPROTO_TCP)
		h.csum_offset = offsetof(struct rte_tcp_hdr, cksum);
	else if (proto == IPPROTO_UDP)
		h.csum_offset = offsetof(struct rte_udp_hdr, dgram_cksum);
	else
		return false;
	if (m->ol_flags & RTE_MBUF_F_RX_LRO) {
		h.gso_type = eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6) ? VIRTIO_NET_HDR_GSO_TCPV6
									      : VIRTIO_NET_HDR_GSO_TCPV4;
		h.gso_size = m->tso_segsz;
	}
	return dp_vnet_to_mbuf(&h, m);
}

bool dp_offload_to_device(uint16_t port, struct rte_mbuf *m)
{
	const struct dp_port *p = &dp.ports[port];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK, need;
	uint32_t hdrs = m->l2_len + m->l3_len + m->l4_len; /* TSO frames' */

	/* IPv4, and IPv6 to a guest that takes it: anything else (IPv6 to a
	 * NIC) is completed in software. */
	bool v6 = eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6);
	if (likely(p->hw_tx == 0) ||
	    (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	     !(v6 && __atomic_load_n(&p->hw_tx6, __ATOMIC_RELAXED))))
		return false;
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
		need = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
		       (v6 ? 0 : RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
	else if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
		need = RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		need = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	else
		return false;
	if ((p->hw_tx & need) != need ||
	    (p->tso_l2_in_mtu && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && hdrs >= p->mtu))
		return false;
	/* What drivers want beside the kernel's offsets: the L3 type, and
	 * for IPv4 TSO each segment's IP checksum (its length and id change).
	 * The pseudo-header sum in the L4 field is redone by tx_prepare
	 * for drivers that want it another way (without the length). */
	m->ol_flags |= v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4;
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		if (!v6)
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
		if (p->tso_l2_in_mtu && hdrs + m->tso_segsz > p->mtu)
			m->tso_segsz = (uint16_t)(p->mtu - hdrs); /* 14 bytes less a segment */
	} else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
		/* Not asked by the API for a checksum alone, but some drivers
		 * sum the L4 header by it (DPDK 22.11's TAP PMD). */
		m->l4_len = sizeof(struct rte_udp_hdr);
	} else {
		const struct rte_tcp_hdr *th =
			rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, m->l2_len + m->l3_len);
		m->l4_len = (th->data_off >> 4) * 4u; /* dp_vnet_to_mbuf: the field is in the frame */
	}
	return true;
}

int dp_offload_resolve(struct rte_mbuf *m, struct rte_mbuf **out, uint16_t max)
{
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) {
		csum_complete(m);
		m->ol_flags &= ~(DP_TX_OFFLOADS | RTE_MBUF_F_TX_IP_CKSUM);
		out[0] = m;
		return 1;
	}
	if (m->ol_flags & RTE_MBUF_F_TX_IPV6) {
		int n = dp_gso6_segment(m, out, max);
		if (n != 0)
			return n;
		m->ol_flags &= ~RTE_MBUF_F_TX_TCP_SEG; /* one segment: its sum completed */
		return dp_offload_resolve(m, out, max);
	}
	uint32_t l2 = m->l2_len, l3 = m->l3_len;
	struct rte_gso_ctx ctx = {
		.direct_pool = dp.pool,
		.indirect_pool = dp.indirect_pool,
		.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
		.gso_size = (uint16_t)(l2 + l3 + m->l4_len + m->tso_segsz),
	};
	int n = rte_gso_segment(m, &ctx, out, max);
	if (n < 0)
		return n;
	if (n == 0) /* fits one segment */
		out[n++] = m;
	else
		rte_pktmbuf_free(m); /* the segments hold references to its data */
	/* rte_gso rewrites lengths, IP ids and sequence numbers, never sums. */
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *s = out[i];
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(s, struct rte_ipv4_hdr *, l2);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((char *)ip + l3);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum_mbuf(s, ip, (uint16_t)(l2 + l3));
		s->ol_flags &= ~(DP_TX_OFFLOADS | RTE_MBUF_F_TX_IP_CKSUM);
	}
	return n;
}

void dp_tx_soft(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct rte_mbuf *segs[DP_GSO_MAX_SEGS];
	int n = dp_offload_resolve(m, segs, RTE_DIM(segs));

	if (n < 0) {
		/* Out of header/indirect mbufs, or an MSS so small that a
		 * frame makes more than DP_GSO_MAX_SEGS segments. */
		dp_drop(w, m, DP_DROP_NO_MBUF);
		return;
	}
	for (int i = 0; i < n; i++)
		dp_tx(w, port, segs[i]);
}
