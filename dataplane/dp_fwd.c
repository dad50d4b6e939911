/* The forwarding path: L2 acceptance, IPv4 validation, bulk LPM lookup,
 * TTL decrement, MAC rewrite. Everything here runs on worker lcores. */
#include <rte_ip.h>

#include "dp_priv.h"

static inline bool mac_eq(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	return rte_is_same_ether_addr(a, b);
}

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

static inline void send_to(struct dp_worker *w, struct rte_mbuf *m, uint16_t port,
			   const struct rte_ether_addr *dst)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(&dp.ports[port].mac, &eth->src_addr);
	dp_tx(w, port, m);
}

/* The MTU check every routed packet passes: its IP length against the
 * output port's MTU, one compare; longer packets (and GSO frames, whose
 * IP length is the whole frame's) go to dp_mtu_fit. */
static inline bool fits(const struct rte_ipv4_hdr *ip, uint16_t port)
{
	return rte_be_to_cpu_16(ip->total_length) <=
	       __atomic_load_n(&dp.ports[port].mtu, __ATOMIC_RELAXED);
}

/* Send m to dst out of port, or, dst unknown (NULL), hand it to the
 * control thread to resolve via first. */
static void emit(struct dp_worker *w, struct rte_mbuf *m, uint16_t port,
		 const struct rte_ether_addr *dst, uint32_t via)
{
	if (likely(dst != NULL)) {
		send_to(w, m, port, dst);
	} else {
		m->hash.usr = via;
		dp_punt(w, m);
	}
}

/* emit() m, or what dp_mtu_fit makes of it when it is too long. */
static void output(struct dp_worker *w, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		   uint16_t port, const struct rte_ether_addr *dst, uint32_t via)
{
	struct rte_mbuf *out[DP_MAX_FRAGS];

	if (likely(fits(ip, port))) {
		emit(w, m, port, dst, via);
		return;
	}
	unsigned n = dp_mtu_fit(w, m, port, out, RTE_DIM(out));
	for (unsigned i = 0; i < n; i++)
		emit(w, out[i], port, dst, via);
}

static void unreachable(struct dp_worker *w, struct rte_mbuf *m)
{
	dp_icmp_error(w, m, DP_ICMP_DEST_UNREACH, 0 /* net unreachable */, 0);
	dp_drop(w, m, DP_DROP_NO_ROUTE);
}

void dp_ip_output(struct dp_worker *w, struct rte_mbuf *m, uint32_t hop, bool found,
		  bool decrement_ttl)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));

	if (unlikely(!found)) {
		unreachable(w, m);
		return;
	}
	const struct dp_nh *nh = &dp.nh[hop];
	uint32_t via;
	uint64_t word;
	struct rte_ether_addr mac;

	switch (nh->kind) {
	case DP_NH_LOCAL:
		if (unlikely(m->port == dp.host)) {
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
			return;
		}
		send_to(w, m, dp.host, &dp.ports[dp.host].peer_mac);
		return;
	case DP_NH_PORT:
		if (decrement_ttl && !ttl_decrement(w, m, ip))
			return;
		output(w, m, ip, nh->port, &nh->mac, 0);
		return;
	case DP_NH_GATEWAY:
	case DP_NH_CONNECTED:
		if (decrement_ttl && !ttl_decrement(w, m, ip))
			return;
		via = nh->kind == DP_NH_GATEWAY ? nh->gw : ip->dst_addr;
		word = dp_neigh_mac_word(via);
		dp_mac_from_word(word, &mac);
		output(w, m, ip, dp.uplink, word & DP_NEIGH_VALID ? &mac : NULL, via);
		return;
	case DP_NH_UNREACHABLE:
		unreachable(w, m);
		return;
	default:
		dp_drop(w, m, DP_DROP_BLACKHOLE);
	}
}

/* Returns the drop reason, or DP_DROP_MAX when the header is good. */
static inline enum dp_drop ip_check(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint32_t l3 = m->data_len - (uint32_t)sizeof(struct rte_ether_hdr);

	if (unlikely(m->data_len < sizeof(struct rte_ether_hdr) + sizeof(*ip)))
		return DP_DROP_BAD_IP_HEADER;
	uint32_t hlen = (ip->version_ihl & 0xf) * 4u;
	uint32_t tlen = rte_be_to_cpu_16(ip->total_length);
	if (unlikely((ip->version_ihl >> 4) != 4 || hlen < sizeof(*ip) || hlen > l3 ||
		     tlen < hlen || tlen > m->pkt_len - sizeof(struct rte_ether_hdr)))
		return DP_DROP_BAD_IP_HEADER;
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		return DP_DROP_MAX;
	uint32_t sum;
	if (likely(hlen == sizeof(*ip))) { /* no options: five words, no loop */
		uint32_t w[5];
		memcpy(w, ip, sizeof(w)); /* compiles to five loads */
		uint64_t s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
		s = (s & 0xffffffff) + (s >> 32);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		sum = (uint32_t)((s & 0xffff) + (s >> 16));
	} else {
		sum = rte_raw_cksum(ip, hlen);
	}
	return unlikely(sum != 0xffff) ? DP_DROP_BAD_CHECKSUM : DP_DROP_MAX;
}

/* Decide what a frame is, per input port kind. Returns true when it goes on
 * to route lookup; otherwise it has been consumed. */
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

void dp_rx_burst(struct dp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_port *in = &dp.ports[port];
	struct rte_mbuf *ipm[DP_BURST];
	uint32_t dst[DP_BURST], hop[DP_BURST];
	uint16_t nip = 0;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	w->stats.rx_pkts[port] += n;
	w->stats.rx_bytes[port] += bytes;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		m->port = port;
		if (!l2_input(w, in, m))
			continue;
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
								  sizeof(struct rte_ether_hdr));
		enum dp_drop why = ip_check(m, ip);
		/* Pods cannot lie: a pod port carries only its pod's address. */
		if (in->kind == DP_PORT_POD && ip->src_addr != in->peer_ip && why == DP_DROP_MAX)
			why = DP_DROP_SPOOFED;
		if (unlikely(why != DP_DROP_MAX)) {
			dp_drop(w, m, why);
			continue;
		}
		dst[nip] = rte_be_to_cpu_32(ip->dst_addr);
		ipm[nip++] = m;
	}
	if (nip == 0)
		return;
	rte_lpm_lookup_bulk(dp.lpm, dst, hop, nip);
	uint32_t def = __atomic_load_n(&dp.default_hop, __ATOMIC_ACQUIRE);
	for (uint16_t i = 0; i < nip; i++) {
		struct rte_mbuf *m = ipm[i];
		if (unlikely(!(hop[i] & RTE_LPM_LOOKUP_SUCCESS))) {
			dp_ip_output(w, m, def - 1, def != 0, true);
			continue;
		}
		/* The common case inline: a pod (or peer) behind a port. */
		const struct dp_nh *nh = &dp.nh[hop[i] & 0x00ffffff];
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
								  sizeof(struct rte_ether_hdr));
		if (likely(nh->kind == DP_NH_PORT && ip->time_to_live > 1 && fits(ip, nh->port))) {
			ttl_dec(ip);
			send_to(w, m, nh->port, &nh->mac);
		} else {
			dp_ip_output(w, m, hop[i] & 0x00ffffff, true, true);
		}
	}
}
