/* TCP segments bound for a TAP merged into one frame (GRO: DPDK's
 * lightweight mode for IPv4, dp_gro6.c for IPv6), as the kernel's own GRO
 * does behind a NIC: one write and one pass through the pod's stack per
 * up to 64 KiB instead of one per segment. The segments come MTU-sized
 * from DPDK ports (a NIC uplink, vhost-user); frames from kernel ports are
 * whole already (they carry offload flags) and pass untouched. */
#include <rte_gro.h>
#include <rte_net.h>
#include <rte_tcp.h>

#include "dp_priv.h"

/* Can m be merged (an IPv4 candidate: 4, IPv6: 6, else 0)? TCP, ACK
 * the only flag (SYN, FIN, PSH... end a merge), payload, and a right
 * checksum (the device's word, or summed here: the merged frame goes to
 * the kernel as verified). Sets what rte_gro and dp_gro6 read: packet
 * type and header lengths. */
static uint8_t candidate(struct rte_mbuf *m)
{
	struct rte_net_hdr_lens hl;

	if ((m->ol_flags & DP_TX_OFFLOADS) || m->nb_segs > 1)
		return 0;
	uint32_t pt = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
							RTE_PTYPE_L4_MASK);
	if ((pt & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_TCP ||
	    (pt & RTE_PTYPE_L2_MASK) != RTE_PTYPE_L2_ETHER || m->data_len < hl.l2_len + hl.l3_len +
	    hl.l4_len || hl.l4_len < sizeof(struct rte_tcp_hdr) || hl.l4_len > 60)
		return 0;
	m->packet_type = pt;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	if (RTE_ETH_IS_IPV6_HDR(pt))
		return dp_gro6_candidate(m) ? 6 : 0;
	if (!RTE_ETH_IS_IPV4_HDR(pt))
		return 0;
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, hl.l2_len);
	const struct rte_tcp_hdr *th = (const void *)((const char *)ip + hl.l3_len);
	if (th->tcp_flags != RTE_TCP_ACK_FLAG ||
	    rte_be_to_cpu_16(ip->total_length) <= hl.l3_len + hl.l4_len)
		return 0;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, (uint16_t)(hl.l2_len + hl.l3_len)) != 0)
		return 0; /* the pod's stack drops it, as it would have */
	return 4;
}

/* A merged frame as a GSO frame for the TAP (dp_mbuf_to_vnet): its
 * segments' size is the largest of theirs, the IP header summed again
 * (rte_gro set its length), the TCP field the pseudo-header sum. */
static void as_gso(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((char *)ip + m->l3_len);
	uint16_t mss = (uint16_t)(m->data_len - m->l2_len - m->l3_len - m->l4_len);

	for (const struct rte_mbuf *s = m->next; s != NULL; s = s->next)
		mss = RTE_MAX(mss, s->data_len);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	m->tso_segsz = mss;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
}

/* Merges each run of candidates of one family in place; other frames
 * keep their place, so a flow's segments never overtake one that could
 * not be merged. */
void dp_gro(struct dp_txbuf *b)
{
	struct rte_gro_param param = {.gro_types = RTE_GRO_TCP_IPV4, .max_flow_num = 4,
				      .max_item_per_flow = RTE_GRO_MAX_BURST_ITEM_NUM / 4};
	uint8_t fam[DP_TXBUF];
	uint16_t out = 0;

	for (uint16_t i = 0; i < b->n; i++)
		fam[i] = candidate(b->pkts[i]);
	for (uint16_t i = 0; i < b->n;) {
		uint16_t run = 1, n;
		while (fam[i] && i + run < b->n && fam[i + run] == fam[i])
			run++;
		if (run < 2) {
			b->pkts[out++] = b->pkts[i++]; /* not merged, or alone */
			continue;
		}
		if (fam[i] == 6)
			n = dp_gro6(&b->pkts[i], run);
		else
			n = rte_gro_reassemble_burst(&b->pkts[i], run, &param);
		for (uint16_t k = 0; k < n; k++) {
			struct rte_mbuf *m = b->pkts[i + k];
			if (fam[i] == 4 && m->nb_segs > 1)
				as_gso(m);
			b->pkts[out++] = m;
		}
		i = (uint16_t)(i + run);
	}
	b->n = out;
}
