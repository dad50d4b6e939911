/* IPv4 on the fast path, inline for every stage: a frame's header, the
 * checks the parse stage (dp_l2.c) makes of each IPv4 frame, the lookup
 * of one address. */
#ifndef DP_IP4_H
#define DP_IP4_H

#include <rte_hash_crc.h>
#include <rte_ip.h>

#include "dp_priv.h"

static inline struct rte_ipv4_hdr *dp_ip4_hdr(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
}

/* Returns the drop reason, or DP_DROP_MAX when the header is good. */
static inline enum dp_drop dp_ip4_check(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
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

/* An IPv4 frame from port in: dropped with its reason, or appended to v
 * with its lookup key. Pods cannot lie: a pod port carries only its
 * pod's address. */
static inline void dp_ip4_accept(struct dp_worker *w, const struct dp_port *in,
				 struct rte_mbuf *m, struct dp_pkts *v)
{
	const struct rte_ipv4_hdr *ip = dp_ip4_hdr(m);
	enum dp_drop why = dp_ip4_check(m, ip);

	if (in->kind == DP_PORT_POD && ip->src_addr != in->peer_ip && why == DP_DROP_MAX)
		why = DP_DROP_SPOOFED;
	/* A guest's partial checksum or TSO frame (either bit: the test is
	 * in dp_offload_from_rx). */
	if (unlikely(m->ol_flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_BAD)) &&
	    why == DP_DROP_MAX &&
	    !dp_offload_from_rx(m, sizeof(struct rte_ether_hdr) + (ip->version_ihl & 0xf) * 4u,
				ip->next_proto_id))
		why = DP_DROP_BAD_IP_HEADER;
	if (unlikely(why != DP_DROP_MAX)) {
		dp_drop(w, m, why);
		return;
	}
	v->key[v->n] = rte_be_to_cpu_32(ip->dst_addr);
	v->m[v->n++] = m;
}

/* Next hops of n addresses (host order), the default route included
 * (DP_HOP_NONE where none): the bulk LPM lookup the route stage and the
 * NAT stage (again, after translating) make. */
static inline void dp_ip4_hops(const uint32_t *dst, uint32_t *hop, unsigned n)
{
	struct rte_fib *fib = __atomic_load_n(&dp.fib_active, __ATOMIC_ACQUIRE);
	uint32_t def = __atomic_load_n(&dp.default_hop, __ATOMIC_ACQUIRE);
	uint64_t nh[DP_BURST];

	for (unsigned done = 0; done < n; done += DP_BURST) {
		unsigned k = RTE_MIN(n - done, (unsigned)DP_BURST);
		rte_fib_lookup_bulk(fib, (uint32_t *)(uintptr_t)(dst + done), nh, (int)k);
		for (unsigned i = 0; i < k; i++)
			hop[done + i] = likely(nh[i] != DP_MAX_NH) ? (uint32_t)nh[i] : def - 1;
	}
}

/* Next hop of one address (host order), the default route included, or
 * DP_HOP_NONE. */
static inline uint32_t dp_ip4_lookup1(uint32_t ip)
{
	uint32_t hop;

	dp_ip4_hops(&ip, &hop, 1);
	return hop;
}

/* A flow's hash for ECMP: addresses, protocol and, unless fragmented, ports. */
static inline uint32_t dp_flow_hash(uint32_t src, uint32_t dst, uint8_t proto, uint32_t ports)
{
	return rte_hash_crc_4byte(ports, rte_hash_crc_4byte(dst, rte_hash_crc_4byte(src, proto)));
}

static inline uint32_t dp_ip4_flow_hash(const struct rte_ipv4_hdr *ip)
{
	uint32_t ports = 0;

	if ((ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP ||
	     ip->next_proto_id == IPPROTO_SCTP) &&
	    !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		memcpy(&ports, (const uint8_t *)ip + (ip->version_ihl & 0xf) * 4, sizeof(ports));
	return dp_flow_hash(ip->src_addr, ip->dst_addr, ip->next_proto_id, ports);
}

#endif
