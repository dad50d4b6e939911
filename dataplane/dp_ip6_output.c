/* The IPv6 output stage: per next hop, hop limit, the output port's MTU
 * (routers never fragment IPv6: a "packet too big" goes back instead), the
 * MAC rewrite and the transmit buffer, or the control thread when a next
 * hop on the uplink has no MAC yet (dp_neigh.c). The common case (a pod
 * or peer behind a port) is inline. Runs on worker lcores. */
#include "dp_ip6.h"

static void unreachable(struct dp_worker *w, struct rte_mbuf *m)
{
	dp_icmp6_error(w, m, DP_ICMP6_DEST_UNREACH, 0 /* no route */, 0);
	dp_drop(w, m, DP_DROP_NO_ROUTE);
}

/* Does m fit port's MTU? A TCP GSO frame does when its segments do. */
static inline bool fits(const struct rte_mbuf *m, const struct rte_ipv6_hdr *ip, uint16_t mtu)
{
	uint32_t len = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);

	if (unlikely(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		len = m->l3_len + m->l4_len + m->tso_segsz;
	return len <= mtu;
}

void dp_ip6_output_one(struct dp_worker *w, struct rte_mbuf *m, uint32_t hop, bool decrement)
{
	struct rte_ipv6_hdr *ip = dp_ip6_hdr(m);

	if (unlikely(hop == DP_HOP_NONE)) {
		unreachable(w, m);
		return;
	}
	const struct dp_nh *nh = &dp.nh[hop];
	switch (nh->kind) {
	case DP_NH_PORT:
		break;
	case DP_NH_LOCAL: /* the node's own address: its kernel's */
		if (unlikely(m->port == dp.host)) {
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return;
		}
		dp_emit(w, m, dp.host, &dp.ports[dp.host].peer_mac, hop);
		return;
	case DP_NH_DROP:
		dp_drop(w, m, DP_DROP_BLACKHOLE);
		return;
	case DP_NH_GATEWAY:
	case DP_NH_CONNECTED:
	case DP_NH_ECMP:
		break;
	default: /* unreachable */
		unreachable(w, m);
		return;
	}
	if (decrement && unlikely(ip->hop_limits <= 1)) {
		dp_icmp6_error(w, m, DP_ICMP6_TIME_EXCEEDED, 0 /* hop limit */, 0);
		dp_drop(w, m, DP_DROP_TTL_EXCEEDED);
		return;
	}
	uint16_t port = nh->kind == DP_NH_PORT ? nh->port : dp.uplink;
	uint16_t mtu = __atomic_load_n(&dp.ports[port].mtu, __ATOMIC_RELAXED);
	if (unlikely(!fits(m, ip, mtu))) {
		dp_icmp6_error(w, m, DP_ICMP6_PACKET_TOO_BIG, 0, mtu);
		dp_drop(w, m, DP_DROP_MTU_EXCEEDED);
		return;
	}
	ip->hop_limits -= decrement; /* the errors quote it as it came; no header sum */
	if (likely(nh->kind == DP_NH_PORT)) {
		dp_send_to(w, m, port, &nh->mac);
		return;
	}
	/* On the uplink: the gateway's MAC (of the flow's gateway, ECMP), or
	 * the destination's on the node network; unknown yet, the control
	 * thread asks (NDP). */
	uint64_t word;
	if (nh->kind == DP_NH_ECMP)
		hop = dp_ecmp_pick(nh, dp_ip6_flow_hash(ip), &word);
	else
		word = dp_neigh6_mac_word(nh->kind == DP_NH_GATEWAY ? nh->gw6 : ip->dst_addr);
	struct rte_ether_addr mac;
	dp_mac_from_word(word, &mac);
	dp_emit(w, m, port, word & DP_NEIGH_VALID ? &mac : NULL, hop);
}

void dp_ip6_output(struct dp_worker *w, struct dp_pkts6 *v)
{
	for (uint16_t i = 0; i < v->n; i++) {
		struct rte_mbuf *m = v->m[i];
		uint32_t hop = v->hop[i];

		/* The common case inline: a pod (or peer) behind a port. */
		if (likely(hop != DP_HOP_NONE)) {
			const struct dp_nh *nh = &dp.nh[hop];
			struct rte_ipv6_hdr *ip = dp_ip6_hdr(m);
			if (likely(nh->kind == DP_NH_PORT && ip->hop_limits > 1 &&
				   fits(m, ip, __atomic_load_n(&dp.ports[nh->port].mtu,
							__ATOMIC_RELAXED)))) {
				ip->hop_limits--;
				dp_send_to(w, m, nh->port, &nh->mac);
				continue;
			}
		}
		dp_ip6_output_one(w, m, hop, true);
	}
}
