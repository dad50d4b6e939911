/* ICMPv6 errors about translated IPv6 connections, the sibling of
 * dp_nat4_hdr.c: an error a backend's side sends about a packet of a
 * Service connection reaches the client as if the service had sent it,
 * its quote as the client sent it; and an error podlaned itself sends
 * about a packet it translated (packet too big after DNAT) quotes it as
 * its sender sent it and goes to that sender. A client's kernel matches
 * an error to its socket by the quote: without this, path MTU discovery
 * through a Service would stall. */
#include "dp_ip6.h"
#include "dp_nat.h"

/* Bytes of a quote a translation rewrites: the addresses, the ports. */
#define QUOTE_MIN (sizeof(struct rte_ipv6_hdr) + 4)

/* The key the sender of quoted packet q (as it left here, translated)
 * sent it with, or NULL when no flow translated it. */
static const struct dp_ct6_key *sent_as(const struct rte_ipv6_hdr *q, uint32_t len)
{
	const uint8_t *p = (const uint8_t *)(q + 1);
	uint32_t data;

	if (len < QUOTE_MIN || (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP))
		return NULL;
	/* The quote carries key[!d] reversed for a packet of direction d:
	 * reversed again, it is the key of the other direction. */
	struct dp_ct6_key k = {.sport = dp_get16(p + 2), .dport = dp_get16(p), .proto = q->proto};
	memcpy(k.src, q->dst_addr, 16);
	memcpy(k.dst, q->src_addr, 16);
	struct dp_flow6 *f = dp_ct6_find_one(&k, &data);
	return f != NULL ? &f->key[!(data & 1)] : NULL;
}

/* q as o: addresses, ports, and its L4 checksum when quoted whole enough
 * (the change of its pseudo-header and ports, RFC 1624). */
static void rewrite_quote(struct rte_ipv6_hdr *q, uint32_t len, const struct dp_ct6_key *o)
{
	uint8_t *p = (uint8_t *)(q + 1);
	uint32_t sum_at = sizeof(*q) + (q->proto == IPPROTO_TCP ? 16 : 6);
	uint32_t from = (uint32_t)rte_raw_cksum(q->src_addr, 32) + rte_raw_cksum(p, 4);

	memcpy(q->src_addr, o->src, 16);
	memcpy(q->dst_addr, o->dst, 16);
	dp_put16(p, o->sport);
	dp_put16(p + 2, o->dport);
	if (len < sum_at + 2)
		return;
	uint32_t to = (uint32_t)rte_raw_cksum(q->src_addr, 32) + rte_raw_cksum(p, 4);
	uint8_t *c = (uint8_t *)q + sum_at;
	uint16_t v = dp_get16(c);
	if (v != 0 || q->proto != IPPROTO_UDP) /* a UDP sum of 0: none */
		dp_put16(c, (uint16_t)~dp_csum_fold((uint16_t)~v + (uint32_t)dp_csum_delta(from, to)));
}

bool dp_nat6_unquote(struct rte_ipv6_hdr *q, uint32_t len, uint8_t sender[16])
{
	if (!__atomic_load_n(&dp.nat->active, __ATOMIC_RELAXED) || dp.nat->ct6.h == NULL)
		return false;
	const struct dp_ct6_key *o = sent_as(q, len);
	if (o == NULL)
		return false;
	memcpy(sender, o->src, 16);
	rewrite_quote(q, len, o);
	return true;
}

bool dp_nat6_icmp_error(struct rte_mbuf *m, struct rte_ipv6_hdr *ip)
{
	uint32_t len = rte_be_to_cpu_16(ip->payload_len);
	uint8_t *icmp = (uint8_t *)(ip + 1);

	/* An error (types below 128) whose whole message is in the first
	 * segment: its checksum is summed again. */
	if (ip->proto != IPPROTO_ICMPV6 || len < 8 + QUOTE_MIN ||
	    len > m->data_len - RTE_ETHER_HDR_LEN - sizeof(*ip) || icmp[0] >= 128)
		return false;
	struct rte_ipv6_hdr *q = (struct rte_ipv6_hdr *)(icmp + 8);
	const struct dp_ct6_key *o = sent_as(q, len - 8);
	if (o == NULL)
		return false;
	/* From the peer itself, it comes from the address the sender talked
	 * to; from a router between, from that router. */
	if (dp_ip6_eq(ip->src_addr, q->dst_addr))
		memcpy(ip->src_addr, o->dst, 16);
	memcpy(ip->dst_addr, o->src, 16);
	rewrite_quote(q, len - 8, o);
	icmp[2] = icmp[3] = 0;
	uint16_t sum = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &sum, 2);
	return true;
}

bool dp_ct6_icmp_related(const struct rte_mbuf *m, const struct rte_ipv6_hdr *ip)
{
	uint32_t len = rte_be_to_cpu_16(ip->payload_len);
	const uint8_t *icmp = (const uint8_t *)(ip + 1);

	/* An error (types below 128) quoting a header and the ports. */
	return ip->proto == IPPROTO_ICMPV6 && len >= 8 + QUOTE_MIN &&
	       len <= m->data_len - RTE_ETHER_HDR_LEN - sizeof(*ip) && icmp[0] < 128 &&
	       sent_as((const struct rte_ipv6_hdr *)(icmp + 8), len - 8) != NULL;
}
