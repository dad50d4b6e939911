/* TCP over IPv6 segments bound for a TAP merged into one GSO frame, as
 * dp_gro.c does IPv4 with rte_gro (which has no IPv6 TCP in DPDK 22.11).
 * The kernel's rules (tcp_gro_receive): a segment continues a frame of
 * its flow when its sequence number follows the frame's data and its
 * headers are the frame's but for the sequence number and checksum
 * (acknowledgement, window and options equal; ACK the only flag). */
#include <rte_tcp.h>

#include "dp_priv.h"

#define GRO6_FLOWS 4     /* frames being merged at once, as dp_gro.c's rte_gro */
#define GRO6_MAX_SEGS 32 /* per frame: well inside a TAP write's iovecs */

bool dp_gro6_candidate(const struct rte_mbuf *m)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);
	const struct rte_tcp_hdr *th = (const void *)(ip + 1);
	uint32_t len = rte_be_to_cpu_16(ip->payload_len);

	/* No extension headers (the kernel merges none either), no padding. */
	if (m->l3_len != sizeof(*ip) || ip->proto != IPPROTO_TCP ||
	    th->tcp_flags != RTE_TCP_ACK_FLAG || len <= m->l4_len ||
	    m->l2_len + sizeof(*ip) + len != m->pkt_len)
		return false;
	return (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD ||
	       rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, (uint16_t)(m->l2_len + sizeof(*ip))) == 0;
}

struct gro6_frame {
	struct rte_mbuf *head, *last; /* head NULL: a free slot */
	uint32_t next_seq;	      /* where the frame's data ends */
	uint16_t mss;		      /* its first segment's payload */
	bool done;		      /* a shorter segment ended it */
};

static struct rte_tcp_hdr *tcp_of(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, m->l2_len + m->l3_len);
}

static uint16_t payload_of(const struct rte_mbuf *m)
{
	return (uint16_t)(m->pkt_len - m->l2_len - m->l3_len - m->l4_len);
}

/* Is s of f's flow: addresses, traffic class, flow label, hop limit
 * and ports? */
static bool same_flow(const struct gro6_frame *f, const struct rte_mbuf *s)
{
	const struct rte_ipv6_hdr *a = rte_pktmbuf_mtod_offset(f->head, const void *, s->l2_len);
	const struct rte_ipv6_hdr *b = rte_pktmbuf_mtod_offset(s, const void *, s->l2_len);
	const struct rte_tcp_hdr *ta = tcp_of(f->head), *tb = tcp_of(s);

	return memcmp(a->src_addr, b->src_addr, 32) == 0 && a->vtc_flow == b->vtc_flow &&
	       a->hop_limits == b->hop_limits && ta->src_port == tb->src_port &&
	       ta->dst_port == tb->dst_port;
}

/* Does s continue f (of its flow): the next bytes, headers equal, no
 * longer than the first segment, room left? */
static bool continues(const struct gro6_frame *f, const struct rte_mbuf *s, uint16_t len)
{
	const struct rte_tcp_hdr *ta = tcp_of(f->head), *tb = tcp_of(s);

	return !f->done && len <= f->mss && f->head->l4_len == s->l4_len &&
	       rte_be_to_cpu_32(tb->sent_seq) == f->next_seq && ta->recv_ack == tb->recv_ack &&
	       ta->rx_win == tb->rx_win &&
	       memcmp(ta + 1, tb + 1, s->l4_len - sizeof(*ta)) == 0 /* options */ &&
	       f->head->nb_segs < GRO6_MAX_SEGS &&
	       f->head->pkt_len - f->head->l2_len - sizeof(struct rte_ipv6_hdr) + len <= UINT16_MAX;
}

/* A frame ends: merged, it is a GSO frame for the TAP (dp_mbuf_to_vnet). */
static void close_frame(struct gro6_frame *f)
{
	struct rte_mbuf *m = f->head;

	f->head = NULL;
	if (m->nb_segs == 1)
		return;
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, m->l2_len);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(m->pkt_len - m->l2_len - sizeof(*ip)));
	tcp_of(m)->cksum = rte_ipv6_phdr_cksum(ip, 0);
	m->tso_segsz = f->mss;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV6;
}

static void append(struct gro6_frame *f, struct rte_mbuf *s, uint16_t len)
{
	rte_pktmbuf_adj(s, (uint16_t)(s->l2_len + s->l3_len + s->l4_len)); /* its headers go */
	f->last->next = s;
	f->last = s;
	f->head->nb_segs = (uint16_t)(f->head->nb_segs + 1);
	f->head->pkt_len += len;
	f->next_seq += len;
	f->done = len < f->mss;
}

uint16_t dp_gro6(struct rte_mbuf **pkts, uint16_t n)
{
	struct gro6_frame f[GRO6_FLOWS] = {0};
	uint16_t out = 0, evict = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *s = pkts[i];
		uint16_t k = 0, len = payload_of(s);
		while (k < GRO6_FLOWS && !(f[k].head != NULL && same_flow(&f[k], s)))
			k++;
		if (k < GRO6_FLOWS && continues(&f[k], s, len)) {
			append(&f[k], s, len);
			continue;
		}
		if (k == GRO6_FLOWS) { /* a free slot, else the next in turn */
			for (k = 0; k < GRO6_FLOWS && f[k].head != NULL; k++)
				;
			if (k == GRO6_FLOWS) {
				k = evict;
				evict = (uint16_t)((evict + 1) % GRO6_FLOWS);
			}
		}
		if (f[k].head != NULL)
			close_frame(&f[k]); /* a flow's next frame never joins an earlier one */
		/* A new frame where its first segment was: frames of a flow
		 * stay in order, and so do the others around them. */
		f[k] = (struct gro6_frame){.head = s, .last = s, .mss = len,
					   .next_seq = rte_be_to_cpu_32(tcp_of(s)->sent_seq) + len};
		pkts[out++] = s;
	}
	for (uint16_t k = 0; k < GRO6_FLOWS; k++)
		if (f[k].head != NULL)
			close_frame(&f[k]);
	return out;
}
