/* Packets longer than their output port's MTU (RFC 1812 5.2.6): cut into
 * fragments, or, with DF set, dropped and answered with an ICMP
 * "fragmentation needed" carrying the MTU (RFC 1191), from which the
 * sender's path MTU discovery learns; without it a pod whose MTU is larger
 * than the node network's would see its big packets vanish. dp_ip4_output.c
 * calls here only for packets longer than the MTU. */
#include <rte_ip_frag.h>

#include "dp_priv.h"

/* Payload a GSO frame's segments keep at the least when the MTU makes
 * them smaller (DP_GSO_MAX_SEGS segments of 64 KiB). */
#define MIN_SEGMENT 128

/* m (L2 header first) as fragments of at most mtu bytes of IP, in out[]. */
static unsigned fragment(struct dp_worker *w, struct rte_mbuf *m, uint16_t mtu,
			 struct rte_mbuf **out, unsigned max)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	uint32_t pad = m->pkt_len - RTE_ETHER_HDR_LEN - rte_be_to_cpu_16(ip->total_length);

	/* A fragment cannot carry a partial checksum: complete it first. */
	if (m->ol_flags & DP_TX_OFFLOADS)
		dp_offload_resolve(m, &m, 1); /* no TSO here: always the one frame */
	/* The fragmenter takes the IP header first and every byte after it
	 * for payload, Ethernet padding included. */
	if (rte_pktmbuf_trim(m, (uint16_t)pad) != 0 ||
	    rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN) == NULL) {
		dp_drop(w, m, DP_DROP_BAD_IP_HEADER); /* padding spread over segments */
		return 0;
	}
	int n = rte_ipv4_fragment_packet(m, out, (uint16_t)max, mtu, dp.pool, dp.indirect_pool);
	if (n < 0) {
		/* -EINVAL: it would take more than max fragments (a tiny MTU). */
		dp_drop(w, m, n == -ENOMEM ? DP_DROP_NO_MBUF : DP_DROP_MTU_EXCEEDED);
		return 0;
	}
	rte_pktmbuf_free(m); /* the fragments hold references to its data */
	for (int i = 0; i < n; i++) {
		struct rte_ether_hdr *eth =
			(struct rte_ether_hdr *)rte_pktmbuf_prepend(out[i], RTE_ETHER_HDR_LEN);
		struct rte_ipv4_hdr *fip = (struct rte_ipv4_hdr *)(eth + 1);
		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4); /* the MACs: send_to() */
		fip->hdr_checksum = 0; /* the fragmenter leaves it so */
		fip->hdr_checksum = rte_ipv4_cksum(fip);
	}
	w->stats.fragmented++;
	return (unsigned)n;
}

unsigned dp_mtu_fit(struct dp_worker *w, struct rte_mbuf *m, uint16_t port,
		    struct rte_mbuf **out, unsigned max)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	uint16_t mtu = __atomic_load_n(&dp.ports[port].mtu, __ATOMIC_RELAXED);
	bool df = (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)) != 0;

	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		/* A GSO frame (dp_kport_io.c): what goes on the wire are its
		 * segments, each of them headers + tso_segsz. */
		uint32_t hdrs = m->l3_len + m->l4_len;
		if (hdrs + m->tso_segsz <= mtu) {
			out[0] = m;
			return 1;
		}
		if (!df && mtu >= hdrs + MIN_SEGMENT) {
			/* Smaller segments instead of fragments of each. */
			m->tso_segsz = (uint16_t)(mtu - hdrs);
			out[0] = m;
			return 1;
		}
	} else if (!df) {
		return fragment(w, m, mtu, out, max);
	}
	dp_icmp_error(w, m, DP_ICMP_DEST_UNREACH, DP_ICMP_FRAG_NEEDED, mtu);
	dp_drop(w, m, DP_DROP_MTU_EXCEEDED);
	return 0;
}
