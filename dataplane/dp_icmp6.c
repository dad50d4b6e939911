/* ICMPv6 errors (RFC 4443): time exceeded, destination unreachable and
 * packet too big, from the address of the link the packet came in on, as
 * RFC 4443 2.2 asks: the pods' gateway fe80::1 for what came from a pod
 * or the node kernel (each on a port of its own), the node's IPv6 address
 * for what came from the node network. An error about a packet the
 * Service NAT translated quotes it as its sender sent it and goes to that
 * sender (dp_nat6_unquote). Rate limited with IPv4's errors (dp_icmp.c). */
#include "dp_ip6.h"
#include "dp_nat.h"

/* An error with its quote fits the minimum IPv6 MTU (RFC 4443 2.4 (c)). */
#define ICMP6_MAX_LEN 1280

struct icmp6_hdr {
	uint8_t type, code;
	rte_be16_t cksum;
	rte_be32_t param; /* the MTU of a "packet too big" */
} __rte_packed;

/* RFC 4443 2.4 (e): no error about an error, nor about a packet to a
 * multicast address or from one that is not a unicast source. */
static bool may_answer(const struct rte_mbuf *orig, const struct rte_ipv6_hdr *ip)
{
	uint8_t type;

	if (ip->src_addr[0] == 0xff || dp_ip6_eq(ip->src_addr, dp_ip6_unspecified) ||
	    ip->dst_addr[0] == 0xff)
		return false;
	if (ip->proto == IPPROTO_ICMPV6) {
		const uint8_t *t = rte_pktmbuf_read(orig, sizeof(struct rte_ether_hdr) + sizeof(*ip),
						    1, &type);
		if (t == NULL || *t < DP_ICMP6_ECHO_REQUEST)
			return false;
	}
	return true;
}

void dp_icmp6_error(struct dp_worker *w, struct rte_mbuf *orig, uint8_t type, uint8_t code,
		    uint32_t param)
{
	const struct rte_ipv6_hdr *oip = dp_ip6_hdr(orig);
	const uint32_t l2 = sizeof(struct rte_ether_hdr);

	if (!may_answer(orig, oip) || !dp_icmp_allowed(w))
		return;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL) {
		w->stats.drops[DP_DROP_NO_MBUF]++;
		return;
	}
	uint32_t quote = RTE_MIN(RTE_MIN(sizeof(*oip) + rte_be_to_cpu_16(oip->payload_len),
					 orig->pkt_len - l2),
				 ICMP6_MAX_LEN - sizeof(*oip) - sizeof(struct icmp6_hdr));
	uint32_t len = l2 + sizeof(*oip) + sizeof(struct icmp6_hdr) + quote;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct icmp6_hdr *icmp = (struct icmp6_hdr *)(ip + 1);

	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(sizeof(*icmp) + quote));
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, orig->port == dp.uplink ? dp.cfg.node_ip6 : dp_ip6_gateway, 16);
	memcpy(ip->dst_addr, oip->src_addr, 16);
	*icmp = (struct icmp6_hdr){.type = type, .code = code, .param = rte_cpu_to_be_32(param)};
	/* The quote may span segments (a chained frame from vhost-user). */
	const void *q = rte_pktmbuf_read(orig, l2, quote, icmp + 1);
	if (q != icmp + 1)
		memcpy(icmp + 1, q, quote);
	dp_nat6_unquote((struct rte_ipv6_hdr *)(icmp + 1), quote, ip->dst_addr);
	icmp->cksum = rte_ipv6_udptcp_cksum(ip, icmp);
	m->port = DP_MAX_PORTS; /* originated here */
	w->stats.icmp_sent++;

	dp_ip6_output_one(w, m, dp_ip6_lookup1(ip->dst_addr), false);
}
