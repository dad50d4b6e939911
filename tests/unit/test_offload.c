/* Frames with the offloads a native TAP hands over (TCP GSO, partial
 * checksums): passed as they are to TAP ports, segmented with every
 * checksum complete for the others, and bad virtio-net headers refused. */
#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "fwd_harness.h"

#define SRC "100.96.243.2" /* pod a */
#define DST "100.96.243.3" /* pod b */
#define MSS 1448
#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))
#define L3 ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define L4 ((uint32_t)sizeof(struct rte_tcp_hdr))

static void routes(void)
{
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	assert_int_equal(dp_route_add(ip4(DST), 32, &b), 0);
}

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* What the kernel writes for a TCP socket with TSO: one frame with the
 * whole payload, the checksum field holding the pseudo-header sum. */
static struct rte_mbuf *gso_frame(uint32_t payload, uint32_t seq, struct virtio_net_hdr *h)
{
	struct rte_mbuf *m = t_frame(dp.big_pool, T_POD_A, ip4(SRC), ip4(DST), IPPROTO_TCP,
				     (uint16_t)(L3 + L4 + payload), 64);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_tcp_hdr *th = (void *)(ip + 1);
	uint8_t *data = (uint8_t *)(th + 1);

	th->src_port = RTE_BE16(40000);
	th->dst_port = RTE_BE16(5201);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->data_off = (L4 / 4) << 4;
	th->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
	th->rx_win = RTE_BE16(512);
	for (uint32_t i = 0; i < payload; i++)
		data[i] = pattern(i);
	th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	*h = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = payload > MSS ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE,
		.hdr_len = (uint16_t)(L2 + L3 + L4),
		.gso_size = payload > MSS ? MSS : 0,
		.csum_start = (uint16_t)(L2 + L3),
		.csum_offset = offsetof(struct rte_tcp_hdr, cksum),
	};
	return m;
}

/* Pod a sends that frame (with its virtio-net header) to pod b; what
 * comes of it waits in worker 0's tx buffer for pod b's port. */
static void pod_a_sends(uint32_t payload, uint32_t seq)
{
	struct virtio_net_hdr h;
	struct rte_mbuf *m = gso_frame(payload, seq, &h);

	assert_true(dp_vnet_to_mbuf(&h, m));
	dp_rx_burst(&dp.workers[0], T_POD_A, &m, 1);
}

static void segments_of(struct dp_txbuf *b, uint32_t payload, uint32_t seq, uint32_t mss)
{
	uint32_t want = (payload + mss - 1) / mss, off = 0;

	assert_int_equal(b->n, want);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *s = b->pkts[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(s, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = t_ip(s);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
		uint32_t len = RTE_MIN(mss, payload - off);

		assert_int_equal(s->ol_flags & DP_TX_OFFLOADS, 0);
		assert_memory_equal(&eth->dst_addr, &dp.ports[T_POD_B].peer_mac, 6);
		assert_int_equal(s->pkt_len, L2 + L3 + L4 + len);
		assert_int_equal(rte_be_to_cpu_16(ip->total_length), L3 + L4 + len);
		assert_int_equal(ip->time_to_live, 63);
		assert_int_equal(rte_ipv4_cksum(ip), 0); /* a header with a right sum */
		assert_int_equal(rte_ipv4_udptcp_cksum_mbuf_verify(s, ip, (uint16_t)(L2 + L3)), 0);
		assert_int_equal(rte_be_to_cpu_32(th->sent_seq), seq + off);
		/* PSH only on the last segment, as the kernel's GSO does. */
		assert_int_equal(!!(th->tcp_flags & RTE_TCP_PSH_FLAG), i == b->n - 1);
		for (uint32_t k = 0; k < len; k++) {
			uint8_t byte;
			const uint8_t *p = rte_pktmbuf_read(s, L2 + L3 + L4 + k, 1, &byte);
			if (*p != pattern(off + k))
				fail_msg("segment %u byte %u: %u, want %u", i, k, *p, pattern(off + k));
		}
		off += len;
	}
	assert_int_equal(off, payload);
}

static void segments_are_right(struct dp_txbuf *b, uint32_t payload, uint32_t seq)
{
	segments_of(b, payload, seq, MSS);
}

static void take_all(struct dp_txbuf *b)
{
	rte_pktmbuf_free_bulk(b->pkts, b->n);
	b->n = 0;
}

/* Pod a's 20000-byte GSO frame to pod b behind a port without TSO. */
static void test_gso_segmented_for_other_ports(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	struct virtio_net_hdr h;
	(void)state;

	routes();
	struct rte_mbuf *m = gso_frame(20000, 1000000, &h);
	assert_true(dp_vnet_to_mbuf(&h, m));
	assert_int_equal(m->tso_segsz, MSS);
	assert_int_equal(m->l4_len, L4);
	unsigned in_use = rte_mempool_in_use_count(dp.big_pool);
	dp_rx_burst(w, T_POD_A, &m, 1);
	segments_are_right(&w->tx[T_POD_B], 20000, 1000000);
	take_all(&w->tx[T_POD_B]);
	/* The big buffer went back once its segments were freed. */
	assert_int_equal(rte_mempool_in_use_count(dp.big_pool), in_use - 1);
}

/* A frame no longer than one MSS but still flagged for checksumming. */
static void test_partial_checksum_completed(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	(void)state;

	routes();
	pod_a_sends(700, 5);
	segments_are_right(&w->tx[T_POD_B], 700, 5);
	take_all(&w->tx[T_POD_B]);
}

/* UDP with a partial checksum: completed, and 0 is sent as 0xffff. */
static void test_udp_partial_checksum(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	(void)state;

	routes();
	struct rte_mbuf *m = t_ipv4(T_POD_A, ip4(SRC), ip4(DST), 64);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	uh->src_port = RTE_BE16(1234);
	uh->dst_port = RTE_BE16(53);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->total_length) - L3));
	t_udp_partial(m);
	dp_rx_burst(w, T_POD_A, &m, 1);
	m = t_take(w, T_POD_B);
	ip = t_ip(m);
	assert_int_equal(m->ol_flags & DP_TX_OFFLOADS, 0);
	assert_int_not_equal(((struct rte_udp_hdr *)(ip + 1))->dgram_cksum, 0);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
	rte_pktmbuf_free(m);
}

/* To a native TAP the frame goes whole, with the header to match. */
static void test_gso_passed_to_tap_ports(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	struct virtio_net_hdr out;
	(void)state;

	routes();
	dp.ports[T_POD_B].kport = true; /* hold_tx: nothing is written */
	pod_a_sends(30000, 7);
	struct rte_mbuf *m = t_take(w, T_POD_B);
	dp.ports[T_POD_B].kport = false;
	assert_int_equal(m->pkt_len, L2 + L3 + L4 + 30000);
	assert_int_equal(t_ip(m)->time_to_live, 63);
	dp_mbuf_to_vnet(m, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(out.gso_size, MSS);
	assert_int_equal(out.hdr_len, L2 + L3 + L4);
	assert_int_equal(out.csum_start, L2 + L3);
	assert_int_equal(out.csum_offset, offsetof(struct rte_tcp_hdr, cksum));
	rte_pktmbuf_free(m);
}

/* A frame the kernel merged with GRO under a packet socket: verified
 * (DATA_VALID), checksum field stale. It is made partial and then
 * segments with right checksums like any GSO frame. */
static void test_gro_frame_from_packet_socket(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	struct virtio_net_hdr h;
	(void)state;

	routes();
	struct rte_mbuf *m = gso_frame(9000, 77, &h);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(t_ip(m) + 1);
	th->cksum = RTE_BE16(0x1234); /* the first segment's, say */
	h = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_DATA_VALID,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = MSS,
				    .hdr_len = (uint16_t)(L2 + L3 + L4)};
	assert_true(dp_vnet_to_mbuf(&h, m));
	assert_int_equal(th->cksum, rte_ipv4_phdr_cksum(t_ip(m), 0));
	dp_rx_burst(w, T_POD_A, &m, 1);
	segments_are_right(&w->tx[T_POD_B], 9000, 77);
	take_all(&w->tx[T_POD_B]);

	/* GSO neither partial nor verified: refused. */
	m = gso_frame(9000, 77, &h);
	h.flags = 0;
	assert_false(dp_vnet_to_mbuf(&h, m));
	rte_pktmbuf_free(m);
}

/* Segments longer than the output port's MTU (1000 here), without DF:
 * cut smaller rather than fragmented, whether the port segments itself
 * (a TAP: the header asks for the smaller size) or rte_gso does. */
static void test_gso_segments_fit_the_mtu(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	struct virtio_net_hdr out;
	(void)state;

	routes();
	dp.ports[T_POD_B].mtu = 1000;
	pod_a_sends(9000, 33);
	segments_of(&w->tx[T_POD_B], 9000, 33, 1000 - L3 - L4);
	take_all(&w->tx[T_POD_B]);

	dp.ports[T_POD_B].kport = true; /* hold_tx: nothing is written */
	pod_a_sends(9000, 33);
	struct rte_mbuf *m = t_take(w, T_POD_B);
	dp.ports[T_POD_B].kport = false;
	dp_mbuf_to_vnet(m, &out);
	assert_int_equal(out.gso_size, 1000 - L3 - L4);
	rte_pktmbuf_free(m);
	assert_int_equal(w->stats.drops[DP_DROP_MTU_EXCEEDED], 0);
}

/* With DF (every Linux TCP socket sets it): an ICMP "fragmentation
 * needed" with the MTU goes back, from which the pod's TCP lowers its
 * MSS, as behind a kernel router. */
static void test_gso_df_too_big(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	struct virtio_net_hdr h;
	(void)state;

	routes();
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	assert_int_equal(dp_route_add(ip4(SRC), 32, &a), 0);
	dp.ports[T_POD_B].mtu = 1400;
	struct rte_mbuf *m = gso_frame(20000, 1, &h);
	struct rte_ipv4_hdr *ip = t_ip(m);
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	assert_true(dp_vnet_to_mbuf(&h, m));
	dp_rx_burst(w, T_POD_A, &m, 1);
	assert_int_equal(w->tx[T_POD_B].n, 0);
	m = t_take(w, T_POD_A);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	assert_int_equal(icmp->icmp_type, 3);
	assert_int_equal(icmp->icmp_code, 4);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), 1400);
	assert_int_equal(w->stats.drops[DP_DROP_MTU_EXCEEDED], 1);
	rte_pktmbuf_free(m);
}

/* A device that does TSO and checksums (a NIC uplink) gets the GSO frame
 * whole, flagged as DPDK drivers want it: TSO with the MSS and header
 * lengths, the TCP and each segment's IP checksum to fill in. */
static void test_gso_to_device_that_segments(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	(void)state;

	routes();
	dp.ports[T_POD_B].hw_tx = DP_HW_TX_OFFLOADS;
	pod_a_sends(30000, 9);
	struct rte_mbuf *m = t_take(w, T_POD_B);
	assert_int_equal(w->tx[T_POD_B].n, 0);
	assert_int_equal(m->pkt_len, L2 + L3 + L4 + 30000);
	assert_int_equal(m->ol_flags & (DP_TX_OFFLOADS | RTE_MBUF_F_TX_IP_CKSUM),
			 RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4 |
				 RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(m->tso_segsz, MSS);
	assert_int_equal(m->l2_len, L2);
	assert_int_equal(m->l3_len, L3);
	assert_int_equal(m->l4_len, L4);
	assert_int_equal(t_ip(m)->time_to_live, 63);
	rte_pktmbuf_free(m);

	/* One whose TSO segments must fit its MTU Ethernet header and all
	 * (DPDK 22.11's TAP PMD) gets them that much shorter. */
	dp.ports[T_POD_B].tso_l2_in_mtu = true;
	pod_a_sends(30000, 9);
	m = t_take(w, T_POD_B);
	assert_int_equal(m->tso_segsz, dp.ports[T_POD_B].mtu - (L2 + L3 + L4));
	rte_pktmbuf_free(m);
}

/* A device that sums but does not segment: the GSO frame is segmented
 * here with every sum complete; a UDP datagram's partial checksum is left
 * to the device (the field keeps the pseudo-header sum). */
static void test_device_that_only_sums(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	(void)state;

	routes();
	dp.ports[T_POD_B].hw_tx = DP_HW_TX_OFFLOADS & ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
	pod_a_sends(5000, 3);
	segments_are_right(&w->tx[T_POD_B], 5000, 3);
	take_all(&w->tx[T_POD_B]);

	struct rte_mbuf *m = t_ipv4(T_POD_A, ip4(SRC), ip4(DST), 64);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(t_ip(m) + 1);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(t_ip(m)->total_length) - L3));
	t_udp_partial(m);
	uint16_t phdr = uh->dgram_cksum;
	dp_rx_burst(w, T_POD_A, &m, 1);
	m = t_take(w, T_POD_B);
	uh = (struct rte_udp_hdr *)(t_ip(m) + 1);
	assert_int_equal(m->ol_flags & (DP_TX_OFFLOADS | RTE_MBUF_F_TX_IP_CKSUM),
			 RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4);
	assert_int_equal(m->l2_len + m->l3_len, L2 + L3);
	assert_int_equal(m->l4_len, sizeof(*uh));
	assert_int_equal(uh->dgram_cksum, phdr);
	rte_pktmbuf_free(m);
}

/* A TCP segment as a NIC delivers it: DF (as Linux sends TCP; rte_gro
 * merges others only with consecutive IP ids), a full checksum, these
 * flags. */
static struct rte_mbuf *segment(uint32_t payload, uint32_t seq, uint8_t flags)
{
	struct virtio_net_hdr h;
	struct rte_mbuf *m = gso_frame(payload, seq, &h);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->tcp_flags = flags;
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum_mbuf(m, ip, L2 + L3);
	return m;
}

static uint32_t seq_of(struct rte_mbuf *m)
{
	return rte_be_to_cpu_32(((const struct rte_tcp_hdr *)(t_ip(m) + 1))->sent_seq);
}

/* Segments bound for a TAP: merged into one GSO frame the kernel takes,
 * payload in order, headers right. */
static void test_gro_merges_segments(void **state)
{
	struct dp_txbuf b = {0};
	struct virtio_net_hdr out;
	(void)state;

	for (uint32_t i = 0; i < 4; i++)
		b.pkts[b.n++] = segment(1000, 5000 + i * 1000, RTE_TCP_ACK_FLAG);
	dp_gro(&b);
	assert_int_equal(b.n, 1);
	struct rte_mbuf *m = b.pkts[0];
	struct rte_ipv4_hdr *ip = t_ip(m);
	assert_int_equal(m->pkt_len, L2 + L3 + L4 + 4000);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), L3 + L4 + 4000);
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(((struct rte_tcp_hdr *)(ip + 1))->cksum, rte_ipv4_phdr_cksum(ip, 0));
	assert_int_equal(seq_of(m), 5000);
	for (uint32_t k = 0; k < 4000; k++) {
		uint8_t byte;
		const uint8_t *p = rte_pktmbuf_read(m, L2 + L3 + L4 + k, 1, &byte);
		if (*p != pattern(k % 1000))
			fail_msg("merged byte %u: %u, want %u", k, *p, pattern(k % 1000));
	}
	dp_mbuf_to_vnet(m, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(out.gso_size, 1000);
	assert_int_equal(out.hdr_len, L2 + L3 + L4);
	rte_pktmbuf_free(m);
}

/* What cannot be merged (PSH, a bad checksum) keeps its place: nothing
 * of its flow overtakes it, and a bad segment goes on for the pod's stack
 * to drop. */
static void test_gro_keeps_order(void **state)
{
	struct dp_txbuf b = {0};
	(void)state;

	b.pkts[b.n++] = segment(1000, 0, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 1000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 2000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	b.pkts[b.n++] = segment(1000, 3000, RTE_TCP_ACK_FLAG);
	b.pkts[b.n++] = segment(1000, 4000, RTE_TCP_ACK_FLAG);
	struct rte_mbuf *bad = segment(1000, 5000, RTE_TCP_ACK_FLAG);
	((struct rte_tcp_hdr *)(t_ip(bad) + 1))->cksum ^= 1;
	b.pkts[b.n++] = bad;
	b.pkts[b.n++] = segment(1000, 6000, RTE_TCP_ACK_FLAG);
	dp_gro(&b);
	const uint32_t seq[] = {0, 2000, 3000, 5000, 6000};
	const uint16_t segs[] = {2, 1, 2, 1, 1};
	assert_int_equal(b.n, RTE_DIM(seq));
	for (uint16_t i = 0; i < b.n; i++) {
		assert_int_equal(seq_of(b.pkts[i]), seq[i]);
		assert_int_equal(b.pkts[i]->nb_segs, segs[i]);
		assert_int_equal(!!(b.pkts[i]->ol_flags & RTE_MBUF_F_TX_TCP_SEG), segs[i] > 1);
	}
	rte_pktmbuf_free_bulk(b.pkts, b.n);
}

/* A segment whose checksum the device checked (RX offload) is not summed
 * again: its word is taken, even over a wrong field. */
static void test_gro_takes_the_device_word(void **state)
{
	struct dp_txbuf b = {0};
	(void)state;

	b.pkts[b.n++] = segment(1000, 0, RTE_TCP_ACK_FLAG);
	b.pkts[b.n] = segment(1000, 1000, RTE_TCP_ACK_FLAG);
	((struct rte_tcp_hdr *)(t_ip(b.pkts[b.n]) + 1))->cksum ^= 1;
	b.pkts[b.n++]->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	dp_gro(&b);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.pkts[0]->nb_segs, 2);
	rte_pktmbuf_free(b.pkts[0]);
}

/* Headers the kernel never sends us (we offer only TSO4 and checksums). */
static void test_bad_vnet_headers_refused(void **state)
{
	struct virtio_net_hdr good, h;
	(void)state;

	struct rte_mbuf *m = gso_frame(5000, 1, &good);
	h = good;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.csum_offset = 3; /* neither TCP's nor UDP's checksum */
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.csum_start = (uint16_t)(m->data_len - 1); /* past the frame */
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.csum_start = 20; /* inside the Ethernet header */
	assert_false(dp_vnet_to_mbuf(&h, m));
	h = good;
	h.gso_size = 1; /* tens of thousands of segments */
	assert_false(dp_vnet_to_mbuf(&h, m));
	m->ol_flags = 0;
	h = (struct virtio_net_hdr){0};
	assert_true(dp_vnet_to_mbuf(&h, m));
	assert_int_equal(m->ol_flags, 0);
	rte_pktmbuf_free(m);
}

/* A guest's TSO frame as net_vhost hands it over (RX_LRO, a partial sum:
 * RX_L4_CKSUM_NONE, tso_segsz; no virtio-net header) goes on as a TAP's
 * does: here segmented for a port without TSO, every sum complete. A
 * "partial sum" on what is neither TCP nor UDP is refused; a NIC's word
 * that a sum is bad changes nothing (a router forwards it). */
static void test_guest_frames(void **state)
{
	struct dp_worker *w = &dp.workers[0];
	struct virtio_net_hdr h;
	(void)state;

	routes();
	struct rte_mbuf *m = gso_frame(20000, 7000, &h);
	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = MSS;
	dp_rx_burst(w, T_POD_A, &m, 1);
	segments_are_right(&w->tx[T_POD_B], 20000, 7000);
	take_all(&w->tx[T_POD_B]);

	m = t_frame(dp.pool, T_POD_A, ip4(SRC), ip4(DST), IPPROTO_ICMP, 64, 64);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
	uint64_t bad = w->stats.drops[DP_DROP_BAD_IP_HEADER];
	dp_rx_burst(w, T_POD_A, &m, 1);
	assert_int_equal(w->stats.drops[DP_DROP_BAD_IP_HEADER], bad + 1);
	assert_int_equal(w->tx[T_POD_B].n, 0);

	m = t_frame(dp.pool, T_POD_A, ip4(SRC), ip4(DST), IPPROTO_UDP, 64, 64);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD;
	dp_rx_burst(w, T_POD_A, &m, 1);
	assert_int_equal(w->tx[T_POD_B].n, 1);
	assert_int_equal(w->tx[T_POD_B].pkts[0]->ol_flags & DP_TX_OFFLOADS, 0);
	take_all(&w->tx[T_POD_B]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gso_segmented_for_other_ports),
		T(test_partial_checksum_completed),
		T(test_udp_partial_checksum),
		T(test_gso_passed_to_tap_ports),
		T(test_gro_frame_from_packet_socket),
		T(test_bad_vnet_headers_refused),
		T(test_guest_frames),
		T(test_gso_segments_fit_the_mtu),
		T(test_gso_df_too_big),
		T(test_gso_to_device_that_segments),
		T(test_device_that_only_sums),
		T(test_gro_merges_segments),
		T(test_gro_keeps_order),
		T(test_gro_takes_the_device_word),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
