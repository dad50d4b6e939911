/* ICMP errors (time exceeded, unreachable) from the node IP, rate limited
 * per worker with a token bucket. */
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dp_nat.h"

#define ICMP_RATE 1000  /* errors per second per worker */
#define ICMP_BURST 100
/* RFC 1812 4.3.2.3: quote as much of the original datagram as fits in an
 * error of this many bytes (Linux does the same). */
#define ICMP_MAX_LEN 576

bool dp_icmp_allowed(struct dp_worker *w)
{
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
	uint64_t add = (now - w->icmp_last) * ICMP_RATE / hz;

	if (add) {
		w->icmp_tokens = RTE_MIN(w->icmp_tokens + add, (uint64_t)ICMP_BURST);
		w->icmp_last = now;
	}
	if (w->icmp_tokens == 0) {
		w->stats.icmp_ratelimited++;
		return false;
	}
	w->icmp_tokens--;
	return true;
}

/* RFC 1812 4.3.2.7: no error about an ICMP error, a non-first fragment, a
 * packet to a multicast or broadcast address, or one whose source is not a
 * unicast host. */
static bool icmp_may_answer(const struct rte_ipv4_hdr *ip, uint32_t hlen, uint32_t l3)
{
	uint32_t src = rte_be_to_cpu_32(ip->src_addr), dst = rte_be_to_cpu_32(ip->dst_addr);

	if (src == 0 || src >= 0xe0000000 || (src >> 24) == 127 || dst >= 0xe0000000)
		return false;
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
		return false;
	if (ip->next_proto_id == IPPROTO_ICMP && l3 >= hlen + 1) {
		uint8_t type = *((const uint8_t *)ip + hlen);
		if (type != RTE_IP_ICMP_ECHO_REQUEST && type != RTE_IP_ICMP_ECHO_REPLY)
			return false;
	}
	return true;
}

void dp_icmp_error(struct dp_worker *w, struct rte_mbuf *orig, uint8_t type, uint8_t code,
		   uint16_t next_mtu)
{
	const struct rte_ipv4_hdr *oip = rte_pktmbuf_mtod_offset(
		orig, const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	uint32_t hlen = (oip->version_ihl & 0xf) * 4u;
	uint32_t l3 = rte_be_to_cpu_16(oip->total_length);

	if (!icmp_may_answer(oip, hlen, l3) || !dp_icmp_allowed(w))
		return;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL) {
		w->stats.drops[DP_DROP_NO_MBUF]++;
		return;
	}
	uint32_t quote = RTE_MIN(RTE_MIN(l3, orig->pkt_len - (uint32_t)sizeof(struct rte_ether_hdr)),
				 ICMP_MAX_LEN - sizeof(struct rte_ipv4_hdr) - sizeof(struct rte_icmp_hdr));
	uint32_t len = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		       sizeof(struct rte_icmp_hdr) + quote;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);

	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xc0; /* internetwork control, as Linux sends */
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = dp.cfg.node_ip;
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = type;
	icmp->icmp_code = code;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(next_mtu); /* the header's last 16 bits */
	/* The quote may span segments (a chained frame from vhost-user). */
	const void *q = rte_pktmbuf_read(orig, sizeof(struct rte_ether_hdr), quote, icmp + 1);
	if (q != icmp + 1)
		memcpy(icmp + 1, q, quote);
	/* About a packet the Service NAT translated: the quote as its sender
	 * sent it, and the error to that sender (dp_nat4.c). */
	uint32_t sender = dp_nat4_unquote((struct rte_ipv4_hdr *)(icmp + 1), quote);
	ip->dst_addr = sender ? sender : oip->src_addr;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
	m->port = DP_MAX_PORTS; /* originated here */
	w->stats.icmp_sent++;

	dp_ip4_output_one(w, m, dp_ip4_lookup1(rte_be_to_cpu_32(ip->dst_addr)), false);
}
