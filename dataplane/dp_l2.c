/* The parse stage: what a frame is, per input port kind, in one pass over
 * the burst. ARP goes to dp_arp.c; the kernel's own frames on the node
 * network pass through as they are (it is an L2 host there); frames not
 * addressed to us are dropped; IPv4 frames are checked (dp_ip4_accept)
 * and go on to routing, and so do IPv6 frames (dp_ip6_accept) when pods
 * have IPv6 addresses (from the uplink when the node has one too). One pass, not one per layer: a pass over a burst
 * costs ~3 cycles a packet (dataplane/bench/plpath). Runs on worker lcores. */
#include "dp_ip4.h"
#include "dp_ip6.h"

static inline bool mac_eq(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	return rte_is_same_ether_addr(a, b);
}

enum l2_verdict { L2_TAKEN, L2_IP4, L2_IP6 };

/* An IPv6 frame from a pod or the node kernel (the host port), routed
 * when pods have IPv6 addresses (the uplink's: below). */
static inline bool routed_ip6(const struct dp_port *in, uint16_t type)
{
	return type == RTE_BE16(RTE_ETHER_TYPE_IPV6) && in->kind != DP_PORT_UPLINK &&
	       dp.fib6_active != NULL;
}

/* The solicited-node group of fe80::1 (ff02::1:ff00:1): how a pod or the
 * node kernel first asks for the gateway's MAC. Other addresses ending
 * in 00:00:01 share it (dp_ndp.c tells them apart). */
static inline bool gateway_group(const struct rte_ether_addr *a)
{
	static const struct rte_ether_addr g = {{0x33, 0x33, 0xff, 0, 0, 1}};
	return rte_is_same_ether_addr(a, &g);
}

/* What m is for routing (IPv4, IPv6), or L2_TAKEN: consumed. */
static inline enum l2_verdict l2_input(struct dp_worker *w, const struct dp_port *in,
				       struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t type = eth->ether_type;

	if (unlikely(m->data_len < sizeof(*eth))) {
		dp_drop(w, m, DP_DROP_BAD_IP_HEADER);
		return L2_TAKEN;
	}
	if (unlikely(type == RTE_BE16(RTE_ETHER_TYPE_ARP))) {
		if (unlikely(dp.cfg.ipv6_only))
			dp_drop(w, m, DP_DROP_NO_IPV4);
		else
			dp_arp_input(w, m->port, m);
		return L2_TAKEN;
	}
	switch (in->kind) {
	case DP_PORT_HOST:
		/* The kernel addressed its own neighbour on the node network:
		 * it is an L2 host there, so its frame goes out as it is. */
		if (!mac_eq(&eth->dst_addr, &in->mac)) {
			if (routed_ip6(in, type) && gateway_group(&eth->dst_addr))
				return L2_IP6;
			dp_tx(w, dp.uplink, m);
			return L2_TAKEN;
		}
		break;
	case DP_PORT_UPLINK:
		if (!mac_eq(&eth->dst_addr, &in->mac)) {
			if (rte_is_multicast_ether_addr(&eth->dst_addr))
				dp_tx(w, dp.host, m); /* broadcast/multicast: the kernel's */
			else
				dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return L2_TAKEN;
		}
		if (type != RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
			if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6) && dp.cfg.has_node6 &&
			    dp.fib6_active != NULL)
				return L2_IP6;
			dp_tx(w, dp.host, m); /* the rest: the kernel's */
			return L2_TAKEN;
		}
		break;
	default:
		if (!mac_eq(&eth->dst_addr, &in->mac)) {
			/* A pod's neighbour solicitation for its gateway
			 * goes to a multicast MAC. */
			if (routed_ip6(in, type) && rte_is_multicast_ether_addr(&eth->dst_addr))
				return L2_IP6;
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return L2_TAKEN;
		}
	}
	if (likely(type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) && likely(!dp.cfg.ipv6_only))
		return L2_IP4;
	if (routed_ip6(in, type))
		return L2_IP6;
	dp_drop(w, m, type == RTE_BE16(RTE_ETHER_TYPE_IPV4) ? DP_DROP_NO_IPV4 : DP_DROP_NOT_IPV4);
	return L2_TAKEN;
}

void dp_l2_input(struct dp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		 struct dp_pkts *ip4, struct dp_pkts6 *ip6)
{
	const struct dp_port *in = &dp.ports[port];

	ip4->n = 0;
	ip4->flowed = 0;
	ip6->n = 0;
	ip6->flowed = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		m->port = port;
		switch (l2_input(w, in, m)) {
		case L2_IP4:
			dp_ip4_accept(w, in, m, ip4);
			break;
		case L2_IP6:
			dp_ip6_accept(w, in, m, ip6);
			break;
		default:
			break;
		}
	}
}
