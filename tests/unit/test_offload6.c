/* TCP over IPv6 with the offloads a TAP hands over (GSO frames, partial
 * checksums), as test_offload.c does IPv4: passed whole to TAP ports,
 * segmented here (dp_gso6.c) with every checksum complete for the others,
 * a "packet too big" when the segments do not fit; a packet socket's GRO
 * frame and a guest's TSO frame go the same way; a header of the other
 * family refused. Segments bound for a TAP merged (dp_gro6.c). */
#include <rte_tcp.h>

#include "dp_ip6.h"
#include "fwd_harness.h"

#define W (&dp.workers[0])
#define A6 "fd00:10:96:f3::2" /* pod a */
#define B6 "fd00:10:96:f3::3" /* pod b */
#define MSS 1428
#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))
#define L3 ((uint32_t)sizeof(struct rte_ipv6_hdr))
#define L4 ((uint32_t)sizeof(struct rte_tcp_hdr))
#define DSTOPT 8 /* a destination options header, padding only */

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 11 + 5);
}

static struct rte_ipv6_hdr *ip6_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, L2);
}

/* The TCP header of a frame with ext bytes of extension headers. */
static struct rte_tcp_hdr *tcp_of(struct rte_mbuf *m, uint32_t ext)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, L2 + L3 + ext);
}

/* TCP's pseudo-header sum (RFC 8200 8.1), folded: the partial
 * checksum the kernel leaves in the field. */
static uint16_t phdr_sum(struct rte_mbuf *m, uint32_t ext)
{
	struct rte_ipv6_hdr *ip = ip6_of(m);
	struct {
		uint8_t src[16], dst[16];
		rte_be32_t len;
		uint8_t zero[3], proto;
	} ph = {.len = rte_cpu_to_be_32(rte_be_to_cpu_16(ip->payload_len) - ext),
		.proto = IPPROTO_TCP};

	memcpy(ph.src, ip->src_addr, 16);
	memcpy(ph.dst, ip->dst_addr, 16);
	return __rte_raw_cksum_reduce(__rte_raw_cksum(&ph, sizeof(ph), 0));
}

/* The complemented sum over pseudo-header and TCP, field included, of a
 * frame: 0 when the field is right. */
static uint16_t tcp6_verify(struct rte_mbuf *m, uint32_t ext)
{
	uint32_t len = rte_be_to_cpu_16(ip6_of(m)->payload_len) - ext;
	uint8_t buf[65536];
	const uint8_t *l4 = rte_pktmbuf_read(m, L2 + L3 + ext, len, buf);

	return (uint16_t)~__rte_raw_cksum_reduce(__rte_raw_cksum(l4, len, phdr_sum(m, ext)));
}

/* What the kernel writes for a TCP socket with TSO over IPv6: one frame
 * with the whole payload, the checksum field holding the pseudo-header
 * sum; ext bytes of destination options before TCP when ext is DSTOPT. */
static struct rte_mbuf *gso_frame6(uint32_t payload, uint32_t seq, uint32_t ext, uint8_t flags,
				   struct virtio_net_hdr *h)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.big_pool);
	assert_non_null(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, (uint16_t)(L2 + L3 + ext + L4 + payload));
	assert_non_null(eth);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	uint8_t *opt = (uint8_t *)(ip + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(opt + ext);
	uint8_t *data = (uint8_t *)(th + 1);

	eth->dst_addr = dp.ports[T_POD_A].mac;
	eth->src_addr = dp.ports[T_POD_A].peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	memset(ip, 0, L3 + ext + L4);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(ext + L4 + payload));
	ip->proto = ext ? IPPROTO_DSTOPTS : IPPROTO_TCP;
	ip->hop_limits = 64;
	t_ip6(A6, ip->src_addr);
	t_ip6(B6, ip->dst_addr);
	if (ext) {
		opt[0] = IPPROTO_TCP; /* next header; length 0: 8 bytes */
		opt[2] = 1;	      /* PadN of 4 */
		opt[3] = 4;
	}
	th->src_port = RTE_BE16(40000);
	th->dst_port = RTE_BE16(5201);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->data_off = (L4 / 4) << 4;
	th->tcp_flags = flags;
	th->rx_win = RTE_BE16(512);
	for (uint32_t i = 0; i < payload; i++)
		data[i] = pattern(i);
	th->cksum = phdr_sum(m, ext); /* the kernel's CHECKSUM_PARTIAL */
	m->port = T_POD_A;
	*h = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = payload > MSS ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_NONE,
		.hdr_len = (uint16_t)(L2 + L3 + ext + L4),
		.gso_size = payload > MSS ? MSS : 0,
		.csum_start = (uint16_t)(L2 + L3 + ext),
		.csum_offset = offsetof(struct rte_tcp_hdr, cksum),
	};
	return m;
}

/* The segments waiting for pod b: MACs, lengths, hop limit, sequence
 * numbers, flags (FIN and PSH on the last only, CWR on the first only),
 * checksums and the payload, in order. */
static void segments_are_right(uint32_t payload, uint32_t seq, uint32_t ext, uint8_t flags)
{
	struct dp_txbuf *b = &W->tx[T_POD_B];
	uint32_t want = (payload + MSS - 1) / MSS, off = 0;

	assert_int_equal(b->n, want);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *s = b->pkts[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(s, struct rte_ether_hdr *);
		struct rte_ipv6_hdr *ip = ip6_of(s);
		struct rte_tcp_hdr *th = tcp_of(s, ext);
		uint32_t len = RTE_MIN((uint32_t)MSS, payload - off);
		uint8_t f = flags;

		if (i < b->n - 1)
			f &= (uint8_t)~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
		if (i > 0)
			f &= (uint8_t)~RTE_TCP_CWR_FLAG;
		assert_int_equal(s->ol_flags & DP_TX_OFFLOADS, 0);
		assert_memory_equal(&eth->dst_addr, &dp.ports[T_POD_B].peer_mac, 6);
		assert_int_equal(s->pkt_len, L2 + L3 + ext + L4 + len);
		assert_int_equal(rte_be_to_cpu_16(ip->payload_len), ext + L4 + len);
		assert_int_equal(ip->hop_limits, 63);
		assert_int_equal(rte_be_to_cpu_32(th->sent_seq), seq + off);
		assert_int_equal(th->tcp_flags, f);
		assert_int_equal(tcp6_verify(s, ext), 0);
		for (uint32_t k = 0; k < len; k++) {
			uint8_t byte;
			const uint8_t *p = rte_pktmbuf_read(s, L2 + L3 + ext + L4 + k, 1, &byte);
			if (*p != pattern(off + k))
				fail_msg("segment %u byte %u: %u, want %u", i, k, *p, pattern(off + k));
		}
		off += len;
	}
	assert_int_equal(off, payload);
	rte_pktmbuf_free_bulk(b->pkts, b->n);
	b->n = 0;
}

static void pod_a_sends(uint32_t payload, uint32_t seq, uint32_t ext, uint8_t flags)
{
	struct virtio_net_hdr h;
	struct rte_mbuf *m = gso_frame6(payload, seq, ext, flags, &h);

	assert_true(dp_vnet_to_mbuf(&h, m));
	dp_rx_burst(W, T_POD_A, &m, 1);
}

/* Pod a's 20000-byte frame to pod b behind a port that takes no TSO:
 * segmented, every field right, the big buffer freed with the segments. */
static void test_segmented_for_other_ports(void **state)
{
	(void)state;
	t_pod_routes6();
	unsigned in_use = rte_mempool_in_use_count(dp.big_pool);
	pod_a_sends(20000, 1000000, 0, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	segments_are_right(20000, 1000000, 0, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	assert_int_equal(rte_mempool_in_use_count(dp.big_pool), in_use);
	assert_int_equal(rte_mempool_in_use_count(dp.indirect_pool), 0);

	/* FIN, PSH and CWR, a sequence number about to wrap. */
	uint8_t all = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_CWR_FLAG;
	pod_a_sends(5000, UINT32_MAX - 2000, 0, all);
	segments_are_right(5000, UINT32_MAX - 2000, 0, all);
}

/* Extension headers go into every segment; the checksum is TCP's own
 * (its pseudo-header length and next header are not the IPv6 header's). */
static void test_extension_headers(void **state)
{
	(void)state;
	t_pod_routes6();
	pod_a_sends(6000, 42, DSTOPT, RTE_TCP_ACK_FLAG);
	segments_are_right(6000, 42, DSTOPT, RTE_TCP_ACK_FLAG);
}

/* One MSS or less with a partial checksum: one frame, sum completed. */
static void test_partial_checksum_completed(void **state)
{
	(void)state;
	t_pod_routes6();
	pod_a_sends(700, 5, 0, RTE_TCP_ACK_FLAG);
	segments_are_right(700, 5, 0, RTE_TCP_ACK_FLAG);
}

/* To a TAP the frame goes whole, with an IPv6 GSO header. */
static void test_passed_to_tap_ports(void **state)
{
	struct virtio_net_hdr out;
	(void)state;

	t_pod_routes6();
	dp.ports[T_POD_B].kport = true; /* hold_tx: nothing is written */
	pod_a_sends(30000, 7, 0, RTE_TCP_ACK_FLAG);
	struct rte_mbuf *m = t_take(W, T_POD_B);
	dp.ports[T_POD_B].kport = false;
	assert_int_equal(m->pkt_len, L2 + L3 + L4 + 30000);
	assert_int_equal(ip6_of(m)->hop_limits, 63);
	dp_mbuf_to_vnet(m, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(out.gso_size, MSS);
	assert_int_equal(out.hdr_len, L2 + L3 + L4);
	assert_int_equal(out.csum_start, L2 + L3);
	assert_int_equal(out.csum_offset, offsetof(struct rte_tcp_hdr, cksum));
	rte_pktmbuf_free(m);
}

/* The kernel's GRO frame under a packet socket (DATA_VALID, the first
 * segment's checksum in the field): made partial, then segmented right. */
static void test_gro_frame_from_packet_socket(void **state)
{
	struct virtio_net_hdr h;
	(void)state;

	t_pod_routes6();
	struct rte_mbuf *m = gso_frame6(9000, 77, 0, RTE_TCP_ACK_FLAG, &h);
	tcp_of(m, 0)->cksum = RTE_BE16(0x1234);
	h = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_DATA_VALID,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = MSS,
				    .hdr_len = (uint16_t)(L2 + L3 + L4)};
	assert_true(dp_vnet_to_mbuf(&h, m));
	assert_int_equal(tcp_of(m, 0)->cksum, rte_ipv6_phdr_cksum(ip6_of(m), 0));
	dp_rx_burst(W, T_POD_A, &m, 1);
	segments_are_right(9000, 77, 0, RTE_TCP_ACK_FLAG);
}

/* A guest's TSO frame as net_vhost hands it over (RX_LRO, partial sum,
 * tso_segsz; no virtio-net header): segmented like a TAP's. */
static void test_guest_frames(void **state)
{
	struct virtio_net_hdr h;
	(void)state;

	t_pod_routes6();
	struct rte_mbuf *m = gso_frame6(20000, 7000, 0, RTE_TCP_ACK_FLAG, &h);
	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = MSS;
	dp_rx_burst(W, T_POD_A, &m, 1);
	segments_are_right(20000, 7000, 0, RTE_TCP_ACK_FLAG);

	/* A partial sum behind extension headers: refused (counted). */
	m = gso_frame6(100, 1, DSTOPT, RTE_TCP_ACK_FLAG, &h);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	uint64_t bad = W->stats.drops[DP_DROP_BAD_IP_HEADER];
	dp_rx_burst(W, T_POD_A, &m, 1);
	assert_int_equal(W->stats.drops[DP_DROP_BAD_IP_HEADER], bad + 1);
	t_assert_no_output(W);
}

/* A guest that takes IPv6 TCP frames whole (GUEST_TSO6): pod a's GSO
 * frame goes to it as one, flagged for the vhost library (TSO, IPv6, no
 * IP checksum: IPv6 has none); one that takes IPv4's alone gets segments. */
static void test_tso6_to_guest(void **state)
{
	(void)state;
	t_pod_routes6();
	dp.ports[T_POD_B].hw_tx = DP_HW_TX_OFFLOADS;
	dp.ports[T_POD_B].hw_tx6 = true;
	pod_a_sends(20000, 77, 0, RTE_TCP_ACK_FLAG);
	struct rte_mbuf *m = t_take(W, T_POD_B);
	assert_int_equal(m->pkt_len, L2 + L3 + L4 + 20000);
	assert_int_equal(m->ol_flags & (DP_TX_OFFLOADS | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IP_CKSUM),
			 RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV6);
	assert_int_equal(m->tso_segsz, MSS);
	assert_int_equal(m->l2_len, L2);
	assert_int_equal(m->l3_len, L3);
	assert_int_equal(m->l4_len, L4);
	assert_int_equal(ip6_of(m)->hop_limits, 63);
	assert_int_equal(tcp_of(m, 0)->cksum, phdr_sum(m, 0)); /* left for the guest */
	rte_pktmbuf_free(m);
	dp.ports[T_POD_B].hw_tx6 = false;
	pod_a_sends(20000, 77, 0, RTE_TCP_ACK_FLAG);
	segments_are_right(20000, 77, 0, RTE_TCP_ACK_FLAG);
	dp.ports[T_POD_B].hw_tx = 0;
}

/* Segments longer than pod b's MTU: IPv6 routers do not fragment or
 * resegment; a "packet too big" with the MTU goes back to pod a. */
static void test_too_big(void **state)
{
	(void)state;
	t_pod_routes6();
	dp.ports[T_POD_B].mtu = 1280;
	pod_a_sends(20000, 1, 0, RTE_TCP_ACK_FLAG);
	assert_int_equal(W->tx[T_POD_B].n, 0);
	struct rte_mbuf *m = t_take(W, T_POD_A);
	struct rte_ipv6_hdr *ip = ip6_of(m);
	const uint8_t *icmp = (const uint8_t *)(ip + 1);
	assert_int_equal(ip->proto, IPPROTO_ICMPV6);
	assert_int_equal(icmp[0], DP_ICMP6_PACKET_TOO_BIG);
	rte_be32_t mtu;
	memcpy(&mtu, icmp + 4, sizeof(mtu));
	assert_int_equal(rte_be_to_cpu_32(mtu), 1280);
	assert_int_equal(W->stats.drops[DP_DROP_MTU_EXCEEDED], 1);
	rte_pktmbuf_free(m);
}

/* A GSO header of the other family, or an IPv6 one pointing inside the
 * IPv6 header: refused. */
static void test_bad_vnet_headers_refused(void **state)
{
	struct virtio_net_hdr good, h;
	(void)state;

	struct rte_mbuf *m = gso_frame6(5000, 1, 0, RTE_TCP_ACK_FLAG, &good);
	h = good;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.csum_start = (uint16_t)(L2 + 20); /* where IPv4's TCP would be */
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* GRO frame, but UDP inside */
	ip6_of(m)->proto = IPPROTO_UDP;
	assert_false(dp_vnet_to_mbuf(&h, m));
	rte_pktmbuf_free(m);
}

/* A TCP segment as a NIC or a guest delivers it: checksum complete. */
static struct rte_mbuf *segment(uint32_t payload, uint32_t seq, uint8_t flags)
{
	struct virtio_net_hdr h;
	struct rte_mbuf *m = gso_frame6(payload, seq, 0, flags, &h);
	struct rte_tcp_hdr *th = tcp_of(m, 0);

	th->cksum = 0;
	th->cksum = rte_ipv6_udptcp_cksum_mbuf(m, ip6_of(m), L2 + L3);
	return m;
}

/* The same as an IPv4 segment between the pods' IPv4 addresses (DF set,
 * as Linux sends TCP: rte_gro merges it). */
static struct rte_mbuf *segment4(uint32_t payload, uint32_t seq)
{
	uint16_t l3 = (uint16_t)(sizeof(struct rte_ipv4_hdr) + L4 + payload);
	struct rte_mbuf *m = t_frame(dp.pool, T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"),
				     IPPROTO_TCP, l3, 64);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = RTE_BE16(40000);
	th->dst_port = RTE_BE16(5201);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->data_off = (L4 / 4) << 4;
	th->tcp_flags = RTE_TCP_ACK_FLAG;
	th->rx_win = RTE_BE16(512);
	th->cksum = rte_ipv4_udptcp_cksum_mbuf(m, ip, (uint16_t)(L2 + sizeof(*ip)));
	return m;
}

static uint32_t seq_of(struct rte_mbuf *m)
{
	return rte_be_to_cpu_32(tcp_of(m, 0)->sent_seq);
}

/* Segments bound for a TAP: one GSO frame the kernel takes, payload in
 * order, its length, the pseudo-header sum and the virtio-net header. */
static void test_gro_merges_segments(void **state)
{
	struct dp_txbuf b = {0};
	struct virtio_net_hdr out;
	(void)state;

	for (uint32_t i = 0; i < 4; i++)
		b.pkts[b.n++] = segment(1000, 5000 + i * 1000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(300, 9000, RTE_TCP_ACK_FLAG); /* a shorter last one */
	dp_gro(&b);
	assert_int_equal(b.n, 1);
	struct rte_mbuf *m = b.pkts[0];
	assert_int_equal(m->pkt_len, L2 + L3 + L4 + 4300);
	assert_int_equal(m->nb_segs, 5);
	assert_int_equal(rte_be_to_cpu_16(ip6_of(m)->payload_len), L4 + 4300);
	assert_int_equal(tcp_of(m, 0)->cksum, phdr_sum(m, 0));
	assert_int_equal(seq_of(m), 5000);
	for (uint32_t k = 0; k < 4300; k++) {
		uint8_t byte;
		const uint8_t *p = rte_pktmbuf_read(m, L2 + L3 + L4 + k, 1, &byte);
		if (*p != pattern(k % 1000))
			fail_msg("merged byte %u: %u, want %u", k, *p, pattern(k % 1000));
	}
	dp_mbuf_to_vnet(m, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(out.gso_size, 1000);
	assert_int_equal(out.hdr_len, L2 + L3 + L4);
	assert_int_equal(out.csum_start, L2 + L3);
	rte_pktmbuf_free(m);
}

/* What may not merge keeps its place and ends its flow's frame: PSH, a
 * gap in the sequence, a bad checksum, another window, a segment longer
 * than the frame's first; two flows interleaved merge each on its own;
 * an IPv4 run between IPv6 ones is merged apart. */
static void test_gro_keeps_order(void **state)
{
	struct dp_txbuf b = {0};
	(void)state;

	b.pkts[b.n++] = segment(1000, 0, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 1000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 2000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	b.pkts[b.n++] = segment(1000, 3000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 5000, RTE_TCP_ACK_FLAG); /* 4000 missing */
	struct rte_mbuf *bad = segment(1000, 6000, RTE_TCP_ACK_FLAG);
	tcp_of(bad, 0)->cksum ^= 1;
	b.pkts[b.n++] = bad;
	b.pkts[b.n++] = segment(1000, 7000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1200, 8000, RTE_TCP_ACK_FLAG); /* longer than 7000's */
	struct rte_mbuf *win = segment(1000, 9200, RTE_TCP_ACK_FLAG);
	tcp_of(win, 0)->rx_win = RTE_BE16(1024);
	tcp_of(win, 0)->cksum = 0;
	tcp_of(win, 0)->cksum = rte_ipv6_udptcp_cksum_mbuf(win, ip6_of(win), L2 + L3);
	b.pkts[b.n++] = win;
	dp_gro(&b);
	const uint32_t seq[] = {0, 2000, 3000, 5000, 6000, 7000, 8000, 9200};
	const uint16_t segs[] = {2, 1, 1, 1, 1, 1, 1, 1};
	assert_int_equal(b.n, RTE_DIM(seq));
	for (uint16_t i = 0; i < b.n; i++) {
		assert_int_equal(seq_of(b.pkts[i]), seq[i]);
		assert_int_equal(b.pkts[i]->nb_segs, segs[i]);
		assert_int_equal(!!(b.pkts[i]->ol_flags & RTE_MBUF_F_TX_TCP_SEG), segs[i] > 1);
	}
	rte_pktmbuf_free_bulk(b.pkts, b.n);
	b.n = 0;

	/* Flow x (port 40000) and flow y (port 40001) interleaved. */
	for (uint32_t i = 0; i < 6; i++) {
		struct rte_mbuf *m = segment(1000, 100000 * (i % 2) + (i / 2) * 1000, RTE_TCP_ACK_FLAG);
		if (i % 2) {
			tcp_of(m, 0)->src_port = RTE_BE16(40001);
			tcp_of(m, 0)->cksum = 0;
			tcp_of(m, 0)->cksum = rte_ipv6_udptcp_cksum_mbuf(m, ip6_of(m), L2 + L3);
		}
		b.pkts[b.n++] = m;
	}
	dp_gro(&b);
	assert_int_equal(b.n, 2);
	assert_int_equal(seq_of(b.pkts[0]), 0);
	assert_int_equal(seq_of(b.pkts[1]), 100000);
	assert_int_equal(b.pkts[0]->nb_segs, 3);
	assert_int_equal(b.pkts[1]->nb_segs, 3);
	rte_pktmbuf_free_bulk(b.pkts, b.n);
	b.n = 0;

	/* IPv6, IPv4, IPv6: three frames, each of its family. */
	b.pkts[b.n++] = segment(1000, 0, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 1000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment4(1000, 0);
	b.pkts[b.n++] = segment4(1000, 1000);
	b.pkts[b.n++] = segment(1000, 2000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 3000, RTE_TCP_ACK_FLAG);
	dp_gro(&b);
	assert_int_equal(b.n, 3);
	const uint64_t family[] = {RTE_MBUF_F_TX_IPV6, RTE_MBUF_F_TX_IPV4, RTE_MBUF_F_TX_IPV6};
	for (uint16_t i = 0; i < b.n; i++) {
		assert_int_equal(b.pkts[i]->nb_segs, 2);
		assert_int_equal(b.pkts[i]->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6),
				 family[i]);
	}
	rte_pktmbuf_free_bulk(b.pkts, b.n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_segmented_for_other_ports),
		T(test_extension_headers),
		T(test_partial_checksum_completed),
		T(test_passed_to_tap_ports),
		T(test_gro_frame_from_packet_socket),
		T(test_guest_frames),
		T(test_tso6_to_guest),
		T(test_too_big),
		T(test_bad_vnet_headers_refused),
		T(test_gro_merges_segments),
		T(test_gro_keeps_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
