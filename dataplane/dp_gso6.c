/* TCP over IPv6 segmented in software, for ports that take no TSO frames
 * (vhost-user guests, af_xdp and af_packet vdevs, NICs: DPDK 22.11's
 * rte_gso does TCP over IPv4 only). As rte_gso does it: each segment is a
 * header mbuf holding a copy of the frame's headers, chained to indirect
 * mbufs over its slice of the payload (none of it copied), and leaves
 * with its lengths, sequence number, flags and checksum complete.
 * Extension headers, if any, are copied into every segment. */
#include <rte_tcp.h>

#include "dp_priv.h"

/* len bytes of src's data from off on, chained to head as indirect mbufs
 * (a slice may span src's segments). */
static int attach_slice(struct rte_mbuf *head, struct rte_mbuf *src, uint32_t off, uint32_t len)
{
	struct rte_mbuf *seg = src;

	while (seg != NULL && off >= seg->data_len) {
		off -= seg->data_len;
		seg = seg->next;
	}
	for (; len > 0; seg = seg->next, off = 0) {
		if (seg == NULL)
			return -EINVAL;
		uint16_t take = (uint16_t)RTE_MIN(len, seg->data_len - off);
		struct rte_mbuf *ind = rte_pktmbuf_alloc(dp.indirect_pool);
		if (ind == NULL)
			return -ENOMEM;
		rte_pktmbuf_attach(ind, seg);
		ind->data_off = (uint16_t)(seg->data_off + off);
		ind->data_len = take;
		ind->pkt_len = take;
		if (rte_pktmbuf_chain(head, ind) != 0) {
			rte_pktmbuf_free(ind);
			return -EMLINK;
		}
		len -= take;
	}
	return 0;
}

/* The TCP checksum of segment s, its pseudo-header built here: with
 * extension headers, the IPv6 header's length and next header are not
 * TCP's (which rte_ipv6_phdr_cksum would take). */
static uint16_t tcp6_cksum(const struct rte_ipv6_hdr *ip, const struct rte_mbuf *s, uint32_t l4_off)
{
	struct {
		uint8_t src[16], dst[16];
		rte_be32_t len;
		uint8_t zero[3], proto;
	} ph = {.len = rte_cpu_to_be_32(s->pkt_len - l4_off), .proto = IPPROTO_TCP};
	uint16_t raw = 0;

	memcpy(ph.src, ip->src_addr, 16);
	memcpy(ph.dst, ip->dst_addr, 16);
	rte_raw_cksum_mbuf(s, l4_off, s->pkt_len - l4_off, &raw);
	return (uint16_t)~__rte_raw_cksum_reduce(__rte_raw_cksum(&ph, sizeof(ph), raw));
}

int dp_gso6_segment(struct rte_mbuf *m, struct rte_mbuf **out, uint16_t max)
{
	uint32_t l4_off = m->l2_len + m->l3_len, hdrs = l4_off + m->l4_len, mss = m->tso_segsz;
	const struct rte_ipv6_hdr *ip0 =
	    rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, m->l2_len);

	/* Headers in the first segment (dp_vnet_to_mbuf checks it), a size. */
	if (hdrs > m->data_len || mss == 0)
		return -EINVAL;
	uint32_t end =
	    RTE_MIN(m->pkt_len, m->l2_len + sizeof(*ip0) + rte_be_to_cpu_16(ip0->payload_len));
	if (end < hdrs)
		return -EINVAL;
	uint32_t payload = end - hdrs, n = (payload + mss - 1) / mss;
	if (n <= 1)
		return 0; /* fits one segment */
	if (n > max)
		return -ENOSPC;
	const struct rte_tcp_hdr *th0 = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l4_off);
	uint32_t seq = rte_be_to_cpu_32(th0->sent_seq), i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		uint32_t off = i * mss, len = RTE_MIN(mss, payload - off);
		struct rte_mbuf *s = out[i] = rte_pktmbuf_alloc(dp.pool);
		char *h = s != NULL ? rte_pktmbuf_append(s, (uint16_t)hdrs) : NULL;
		if (h == NULL) {
			rc = -ENOMEM;
			break;
		}
		memcpy(h, rte_pktmbuf_mtod(m, void *), hdrs);
		if ((rc = attach_slice(s, m, hdrs + off, len)) != 0)
			break;
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(h + m->l2_len);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(h + l4_off);
		ip->payload_len =
		    rte_cpu_to_be_16((uint16_t)(s->pkt_len - m->l2_len - sizeof(*ip)));
		th->sent_seq = rte_cpu_to_be_32(seq + off);
		/* As the kernel's GSO: FIN and PSH on the last segment only,
		 * CWR on the first. */
		if (i < n - 1)
			th->tcp_flags &= (uint8_t) ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
		if (i > 0)
			th->tcp_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
		th->cksum = 0;
		th->cksum = tcp6_cksum(ip, s, l4_off);
		s->port = m->port;
		s->hash = m->hash;
	}
	if (rc != 0) {
		for (uint32_t k = 0; k <= i && k < n; k++)
			rte_pktmbuf_free(out[k]); /* NULL-safe; a segment's references go too */
		return rc;
	}
	rte_pktmbuf_free(m); /* the segments hold references to its data */
	return (int)n;
}
