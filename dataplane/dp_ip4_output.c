/* The IPv4 output stage: per next hop, TTL decrement, the output port's
 * MTU (dp_mtu.c beyond it), the MAC rewrite and the transmit buffer, or
 * the control thread when the next hop's MAC is not known yet. The common
 * case (a pod or peer behind a port) is inline. Runs on worker lcores. */
#include <rte_ip.h>

#include "dp_ip4.h"

/* RFC 1624 incremental update of the checksum for the TTL/protocol word. */
static inline void ttl_dec(struct rte_ipv4_hdr *ip)
{
	uint16_t old = (uint16_t)(ip->time_to_live << 8 | ip->next_proto_id);
	ip->time_to_live--;
	uint16_t new = (uint16_t)(ip->time_to_live << 8 | ip->next_proto_id);
	uint32_t sum = (uint16_t)~rte_be_to_cpu_16(ip->hdr_checksum);
	sum += (uint16_t)~old;
	sum += new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)~sum);
}

static inline bool ttl_decrement(struct dp_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	if (unlikely(ip->time_to_live <= 1)) {
		dp_icmp_error(w, m, DP_ICMP_TIME_EXCEEDED, 0, 0);
		dp_drop(w, m, DP_DROP_TTL_EXCEEDED);
		return false;
	}
	ttl_dec(ip);
	return true;
}

/* The MTU check every routed packet passes: its IP length against the
 * output port's MTU, one compare; longer packets (and GSO frames, whose
 * IP length is the whole frame's) go to dp_mtu_fit. */
static inline bool fits(const struct rte_ipv4_hdr *ip, uint16_t port)
{
	return rte_be_to_cpu_16(ip->total_length) <=
	       __atomic_load_n(&dp.ports[port].mtu, __ATOMIC_RELAXED);
}

/* dp_emit() m, or what dp_mtu_fit makes of it when it is too long. */
static void output(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		   uint16_t port, const struct rte_ether_addr *dst, uint32_t hop)
{
	struct rte_mbuf *out[DP_MAX_FRAGS];

	if (likely(fits(ip, port))) {
		dp_emit(w, m, port, dst, hop);
		return;
	}
	unsigned n = dp_mtu_fit(w, m, port, out, RTE_DIM(out));
	for (unsigned i = 0; i < n; i++)
		dp_emit(w, out[i], port, dst, hop);
}

static void unreachable(struct dp_worker *w, struct rte_mbuf *m)
{
	dp_icmp_error(w, m, DP_ICMP_DEST_UNREACH, 0 /* net unreachable */, 0);
	dp_drop(w, m, DP_DROP_NO_ROUTE);
}

void dp_ip4_output_one(struct dp_worker *w, struct rte_mbuf *m, uint32_t hop, bool decrement_ttl)
{
	struct rte_ipv4_hdr *ip = dp_ip4_hdr(m);

	if (unlikely(hop == DP_HOP_NONE)) {
		unreachable(w, m);
		return;
	}
	const struct dp_nh *nh = &dp.nh[hop];
	uint64_t word;
	struct rte_ether_addr mac;

	switch (nh->kind) {
	case DP_NH_LOCAL:
		if (unlikely(m->port == dp.host)) {
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return;
		}
		dp_emit(w, m, dp.host, &dp.ports[dp.host].peer_mac, hop);
		return;
	case DP_NH_PORT:
		if (decrement_ttl && !ttl_decrement(w, m, ip))
			return;
		output(w, m, ip, nh->port, &nh->mac, hop);
		return;
	case DP_NH_GATEWAY:
	case DP_NH_CONNECTED:
		if (decrement_ttl && !ttl_decrement(w, m, ip))
			return;
		word = dp_neigh_mac_word(nh->kind == DP_NH_GATEWAY ? nh->gw : ip->dst_addr);
		dp_mac_from_word(word, &mac);
		output(w, m, ip, dp.uplink, word & DP_NEIGH_VALID ? &mac : NULL, hop);
		return;
	case DP_NH_ECMP:
		if (decrement_ttl && !ttl_decrement(w, m, ip))
			return;
		hop = dp_ecmp_pick(nh, dp_ip4_flow_hash(ip), &word);
		dp_mac_from_word(word, &mac);
		output(w, m, ip, dp.uplink, word & DP_NEIGH_VALID ? &mac : NULL, hop);
		return;
	case DP_NH_UNREACHABLE:
		unreachable(w, m);
		return;
	default:
		dp_drop(w, m, DP_DROP_BLACKHOLE);
	}
}

void dp_ip4_output(struct dp_worker *w, struct dp_pkts *v)
{
	for (uint16_t i = 0; i < v->n; i++) {
		struct rte_mbuf *m = v->m[i];
		uint32_t hop = v->hop[i];

		if (unlikely(hop == DP_HOP_NONE)) {
			unreachable(w, m);
			continue;
		}
		/* The common case inline: a pod (or peer) behind a port. */
		const struct dp_nh *nh = &dp.nh[hop];
		struct rte_ipv4_hdr *ip = dp_ip4_hdr(m);
		if (likely(nh->kind == DP_NH_PORT && ip->time_to_live > 1 && fits(ip, nh->port))) {
			ttl_dec(ip);
			dp_send_to(w, m, nh->port, &nh->mac);
		} else {
			dp_ip4_output_one(w, m, hop, true);
		}
	}
}
