/* The parse stage: what a frame is, per input port kind, in one pass over
 * the burst. ARP goes to dp_arp.c; the kernel's own frames on the node
 * network pass through as they are (it is an L2 host there); frames not
 * addressed to us are dropped; IPv4 frames are checked (dp_ip4_accept)
 * and go on to routing. One pass, not one per layer: a pass over a burst
 * costs ~3 cycles a packet (dataplane/bench/plpath). Runs on worker lcores. */
#include "dp_ip4.h"

static inline bool mac_eq(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	return rte_is_same_ether_addr(a, b);
}

/* True when m is an IPv4 frame for routing; otherwise it has been consumed. */
static inline bool l2_input(struct dp_worker *w, const struct dp_port *in, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t type = eth->ether_type;

	if (unlikely(m->data_len < sizeof(*eth))) {
		dp_drop(w, m, DP_DROP_BAD_IP_HEADER);
		return false;
	}
	if (unlikely(type == RTE_BE16(RTE_ETHER_TYPE_ARP))) {
		dp_arp_input(w, m->port, m);
		return false;
	}
	switch (in->kind) {
	case DP_PORT_HOST:
		/* The kernel addressed its own neighbour on the node network:
		 * it is an L2 host there, so its frame goes out as it is. */
		if (!mac_eq(&eth->dst_addr, &in->mac)) {
			dp_tx(w, dp.uplink, m);
			return false;
		}
		break;
	case DP_PORT_UPLINK:
		if (!mac_eq(&eth->dst_addr, &in->mac)) {
			if (rte_is_multicast_ether_addr(&eth->dst_addr))
				dp_tx(w, dp.host, m); /* broadcast/multicast: the kernel's */
			else
				dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return false;
		}
		if (type != RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
			dp_tx(w, dp.host, m); /* IPv6 and the rest: the kernel's */
			return false;
		}
		break;
	default:
		if (!mac_eq(&eth->dst_addr, &in->mac)) {
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return false;
		}
	}
	if (unlikely(type != RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		dp_drop(w, m, DP_DROP_NOT_IPV4);
		return false;
	}
	return true;
}

void dp_l2_input(struct dp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		 struct dp_pkts *ip4)
{
	const struct dp_port *in = &dp.ports[port];

	ip4->n = 0;
	ip4->flowed = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		m->port = port;
		if (l2_input(w, in, m))
			dp_ip4_accept(w, in, m, ip4);
	}
}
