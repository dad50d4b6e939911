/* IPv6 on the fast path, inline for every stage: a frame's header, the
 * checks the parse stage (dp_l2.c) makes of each IPv6 frame, the lookup of
 * addresses. The sibling of dp_ip4.h. */
#ifndef DP_IP6_H
#define DP_IP6_H

#include <rte_hash_crc.h>
#include <rte_ip.h>

#include "dp_priv.h"

/* The pods' gateway, fe80::1: answered by NDP on every pod port, as
 * 169.254.1.1 is by proxy ARP, and the source of the errors podlaned
 * sends to the pods on its ports. */
static const uint8_t dp_ip6_gateway[16] = {0xfe, 0x80, [15] = 1};
static const uint8_t dp_ip6_unspecified[16]; /* :: */

static inline struct rte_ipv6_hdr *dp_ip6_hdr(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, sizeof(struct rte_ether_hdr));
}

static inline bool dp_ip6_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 16) == 0;
}

/* Link-local (fe80::/10) or multicast (ff00::/8): never routed. */
static inline bool dp_ip6_link_scope(const uint8_t *a)
{
	return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

/* Returns the drop reason, or DP_DROP_MAX when the header is good: a
 * version 6 header whose payload is in the frame (what follows it is
 * routed as it is: extension headers included). */
static inline enum dp_drop dp_ip6_check(const struct rte_mbuf *m, const struct rte_ipv6_hdr *ip)
{
	if (unlikely(m->data_len < sizeof(struct rte_ether_hdr) + sizeof(*ip)))
		return DP_DROP_BAD_IP_HEADER;
	if (unlikely((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 ||
		     rte_be_to_cpu_16(ip->payload_len) + sizeof(*ip) >
			     m->pkt_len - sizeof(struct rte_ether_hdr)))
		return DP_DROP_BAD_IP_HEADER;
	return DP_DROP_MAX;
}

/* An IPv6 frame from a pod's port, the host port or the uplink: to its
 * link (NDP, the gateway) for dp_ndp.c; else dropped with its reason, or
 * appended to v with its lookup key. A pod sends only from its own
 * address (the node kernel and the node network from any). */
static inline void dp_ip6_accept(struct dp_worker *w, const struct dp_port *in,
				 struct rte_mbuf *m, struct dp_pkts6 *v)
{
	const struct rte_ipv6_hdr *ip = dp_ip6_hdr(m);
	enum dp_drop why = dp_ip6_check(m, ip);

	if (likely(why == DP_DROP_MAX)) {
		/* The node network's advertisements come to the node's address. */
		if (unlikely(dp_ip6_link_scope(ip->dst_addr)) ||
		    (in->kind == DP_PORT_UPLINK && ip->proto == IPPROTO_ICMPV6 &&
		     m->data_len > sizeof(struct rte_ether_hdr) + sizeof(*ip) &&
		     *(const uint8_t *)(ip + 1) == DP_ICMP6_NA)) {
			dp_ndp_input(w, m->port, m);
			return;
		}
		if (in->kind == DP_PORT_POD && !dp_ip6_eq(ip->src_addr, in->peer_ip6))
			why = DP_DROP_SPOOFED;
		/* A guest's partial checksum or TSO frame, as in dp_ip4_accept
		 * (extension headers: not TCP or UDP here, refused). */
		else if (unlikely(m->ol_flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_BAD)) &&
			 !dp_offload_from_rx(m, sizeof(struct rte_ether_hdr) + sizeof(*ip), ip->proto))
			why = DP_DROP_BAD_IP_HEADER;
	}
	if (unlikely(why != DP_DROP_MAX)) {
		dp_drop(w, m, why);
		return;
	}
	memcpy(v->key[v->n], ip->dst_addr, 16);
	v->m[v->n++] = m;
}

/* a's entry in dp.host6 when a is in the pods' block, else -1. */
static inline int dp_ip6_host_slot(const uint8_t *a)
{
	uint64_t hi, lo;

	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	if (hi != dp.host6_block[0] || (lo & dp.host6_mask) != dp.host6_block[1])
		return -1;
	return a[14] << 8 | a[15];
}

/* Next hops of n IPv6 destinations, the default route included
 * (DP_HOP_NONE where none): the node's pods by dp.host6, the rest by one
 * bulk lookup of the table. */
static inline void dp_ip6_hops(uint8_t (*dst)[16], uint32_t *hop, unsigned n)
{
	struct rte_fib6 *fib = __atomic_load_n(&dp.fib6_active, __ATOMIC_ACQUIRE);
	uint32_t def = __atomic_load_n(&dp.default_hop6, __ATOMIC_ACQUIRE);
	uint64_t nh[DP_BURST];
	uint8_t rest[DP_BURST][16];
	unsigned at[DP_BURST];

	for (unsigned done = 0; done < n; done += DP_BURST) {
		unsigned k = RTE_MIN(n - done, (unsigned)DP_BURST), nr = 0;
		for (unsigned i = done; i < done + k; i++) {
			int slot = dp_ip6_host_slot(dst[i]);
			uint32_t h = slot < 0 ? 0 : __atomic_load_n(&dp.host6[slot], __ATOMIC_ACQUIRE);
			if (likely(h != 0)) {
				hop[i] = h - 1;
			} else {
				memcpy(rest[nr], dst[i], 16);
				at[nr++] = i;
			}
		}
		if (nr == 0)
			continue;
		rte_fib6_lookup_bulk(fib, rest, nh, (int)nr);
		for (unsigned j = 0; j < nr; j++)
			hop[at[j]] = likely(nh[j] != DP_MAX_NH) ? (uint32_t)nh[j] : def - 1;
	}
}

/* A flow's hash for ECMP, as dp_flow_hash: addresses, protocol, ports
 * (network order, as in the header: source port in the low half). The
 * addresses may be a packet's (2-byte aligned): copied to be read as words. */
static inline uint32_t dp_ip6_flow_hash_of(const uint8_t *src, const uint8_t *dst, uint8_t proto,
					   uint32_t ports)
{
	uint64_t w[4];
	uint32_t h = proto;

	memcpy(w, src, 16);
	memcpy(w + 2, dst, 16);
	for (unsigned i = 0; i < 4; i++)
		h = rte_hash_crc_8byte(w[i], h);
	return rte_hash_crc_4byte(ports, h);
}

/* The same of a packet: its ports where TCP, UDP or SCTP follows the
 * header itself (not after extension headers). */
static inline uint32_t dp_ip6_flow_hash(const struct rte_ipv6_hdr *ip)
{
	uint32_t ports = 0;

	if ((ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP || ip->proto == IPPROTO_SCTP) &&
	    rte_be_to_cpu_16(ip->payload_len) >= sizeof(ports))
		memcpy(&ports, ip + 1, sizeof(ports));
	return dp_ip6_flow_hash_of(ip->src_addr, ip->dst_addr, ip->proto, ports);
}

static inline uint32_t dp_ip6_lookup1(const uint8_t *ip)
{
	uint8_t dst[1][16];
	uint32_t hop;

	memcpy(dst[0], ip, 16);
	dp_ip6_hops(dst, &hop, 1);
	return hop;
}

#endif
