/* Packets longer than the output port's MTU: fragmented (every fragment
 * within the MTU, with right offsets, flags and checksums, the payload
 * whole once put together), or with DF set dropped and answered with an
 * ICMP "fragmentation needed" that names the MTU. */
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "fwd_harness.h"

#define W (&dp.workers[0])
#define SRC "100.96.243.2" /* pod a */
#define DST "100.96.243.3" /* pod b */
#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))
#define L3 ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define L4 ((uint32_t)sizeof(struct rte_udp_hdr))

static void routes(void)
{
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	assert_int_equal(dp_route_add(ip4(SRC), 32, &a), 0);
	assert_int_equal(dp_route_add(ip4(DST), 32, &b), 0);
}

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* Pod a's UDP datagram of `len` IP bytes, checksum complete. */
static struct rte_mbuf *udp_packet(uint32_t len, bool df)
{
	struct rte_mbuf *m =
		t_frame(dp.big_pool, T_POD_A, ip4(SRC), ip4(DST), IPPROTO_UDP, (uint16_t)len, 64);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_udp_hdr *uh = (void *)(ip + 1);
	uint8_t *data = (uint8_t *)(uh + 1);

	if (df) {
		ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	uh->src_port = RTE_BE16(5000);
	uh->dst_port = RTE_BE16(6000);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(len - L3));
	for (uint32_t i = 0; i < len - L3 - L4; i++)
		data[i] = pattern(i);
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	return m;
}

/* Checks the fragments queued for pod b and puts their IP payloads back
 * together into buf; returns its length. */
static uint32_t reassemble(uint16_t mtu, uint8_t *buf, uint32_t size)
{
	struct dp_txbuf *b = &W->tx[T_POD_B];
	uint32_t next = 0;

	assert_true(b->n > 1);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *f = b->pkts[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(f, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = t_ip(f);
		uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
		uint32_t tlen = rte_be_to_cpu_16(ip->total_length), plen = tlen - L3;

		assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[T_POD_B].peer_mac));
		assert_true(rte_is_same_ether_addr(&eth->src_addr, &dp.ports[T_POD_B].mac));
		assert_int_equal(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
		assert_true(tlen <= mtu);
		assert_int_equal(f->pkt_len, L2 + tlen);
		assert_int_equal(rte_raw_cksum(ip, L3), 0xffff);
		assert_int_equal(ip->time_to_live, 63);
		assert_int_equal(ip->packet_id, RTE_BE16(100));
		assert_int_equal(ip->src_addr, ip4(SRC));
		assert_int_equal(ip->dst_addr, ip4(DST));
		assert_int_equal(f->ol_flags & DP_TX_OFFLOADS, 0);
		/* In order, back to back, MF on all but the last, all but the
		 * last a multiple of 8 bytes long. */
		assert_int_equal((uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * 8, next);
		assert_int_equal(!!(fo & RTE_IPV4_HDR_MF_FLAG), i + 1 < b->n);
		if (i + 1 < b->n)
			assert_int_equal(plen % 8, 0);
		assert_true(next + plen <= size);
		const void *p = rte_pktmbuf_read(f, L2 + L3, plen, buf + next);
		assert_non_null(p);
		if (p != buf + next)
			memcpy(buf + next, p, plen);
		next += plen;
	}
	return next;
}

static void take_all(void)
{
	struct dp_txbuf *b = &W->tx[T_POD_B];
	rte_pktmbuf_free_bulk(b->pkts, b->n);
	b->n = 0;
}

static void assert_udp_whole(const uint8_t *buf, uint32_t len, uint32_t want)
{
	assert_int_equal(len, want - L3);
	for (uint32_t i = 0; i < len - L4; i++)
		if (buf[L4 + i] != pattern(i))
			fail_msg("byte %u: %u, want %u", i, buf[L4 + i], pattern(i));
}

/* A packet of exactly the MTU goes as it is; one byte more is cut. */
static void test_mtu_boundary(void **state)
{
	(void)state;
	routes();
	dp.ports[T_POD_B].mtu = 1000;
	struct rte_mbuf *m = udp_packet(1000, false);
	dp_rx_burst(W, T_POD_A, &m, 1);
	m = t_take(W, T_POD_B);
	assert_int_equal(rte_be_to_cpu_16(t_ip(m)->total_length), 1000);
	assert_int_equal(t_ip(m)->fragment_offset, 0);
	rte_pktmbuf_free(m);
	assert_int_equal(W->stats.fragmented, 0);

	static uint8_t buf[2000];
	m = udp_packet(1001, false);
	dp_rx_burst(W, T_POD_A, &m, 1);
	assert_int_equal(W->tx[T_POD_B].n, 2); /* 976 + 5 bytes of payload */
	assert_udp_whole(buf, reassemble(1000, buf, sizeof(buf)), 1001);
	take_all();
	assert_int_equal(W->stats.fragmented, 1);
}

/* A 9000-byte packet (a pod with a jumbo MTU) to a 1500-byte port. */
static void test_fragmented(void **state)
{
	static uint8_t buf[9000];
	(void)state;

	routes();
	unsigned in_use = rte_mempool_in_use_count(dp.big_pool);
	struct rte_mbuf *m = udp_packet(9000, false);
	dp_rx_burst(W, T_POD_A, &m, 1);
	assert_int_equal(W->tx[T_POD_B].n, 7); /* ceil(8980 / 1480) */
	uint32_t len = reassemble(1500, buf, sizeof(buf));
	assert_udp_whole(buf, len, 9000);
	/* The UDP checksum covers the datagram put back together. */
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)buf;
	assert_int_equal(rte_be_to_cpu_16(uh->dgram_len), len);
	take_all();
	assert_int_equal(W->stats.fragmented, 1);
	assert_int_equal(W->stats.drops[DP_DROP_MTU_EXCEEDED], 0);
	/* The fragments held the original's buffer; it is back now. */
	assert_int_equal(rte_mempool_in_use_count(dp.big_pool), in_use);
}

/* A partial checksum (a pod's UDP socket through its TAP) is completed
 * before the datagram is cut: no fragment can carry the request. */
static void test_partial_checksum_completed_first(void **state)
{
	static uint8_t buf[4000];
	(void)state;

	routes();
	struct rte_mbuf *m = udp_packet(4000, false);
	uint16_t want = ((struct rte_udp_hdr *)(t_ip(m) + 1))->dgram_cksum;
	t_udp_partial(m);
	dp_rx_burst(W, T_POD_A, &m, 1);
	assert_udp_whole(buf, reassemble(1500, buf, sizeof(buf)), 4000);
	assert_int_equal(((struct rte_udp_hdr *)buf)->dgram_cksum, want);
	take_all();
}

/* m as two segments, the second from byte at on. */
static struct rte_mbuf *chained(struct rte_mbuf *m, uint16_t at)
{
	struct rte_mbuf *tail = rte_pktmbuf_alloc(dp.big_pool);
	uint16_t rest = (uint16_t)(m->data_len - at);

	assert_non_null(tail);
	memcpy(rte_pktmbuf_append(tail, rest), rte_pktmbuf_mtod_offset(m, char *, at), rest);
	/* What the first segment no longer holds must not be read there. */
	memset(rte_pktmbuf_mtod_offset(m, char *, at), 0xee, rest);
	assert_int_equal(rte_pktmbuf_trim(m, rest), 0);
	assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
	return m;
}

/* DF set: nothing goes on, the sender hears the MTU, in an error of 576
 * bytes quoting as much of the datagram as fits (RFC 1812 4.3.2.3). */
static void df_too_big(struct rte_mbuf *m)
{
	routes();
	dp.ports[T_POD_B].mtu = 1400;
	dp_rx_burst(W, T_POD_A, &m, 1);
	assert_int_equal(W->tx[T_POD_B].n, 0);
	m = t_take(W, T_POD_A);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(ip->src_addr, dp.cfg.node_ip);
	assert_int_equal(ip->dst_addr, ip4(SRC));
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 576);
	assert_int_equal(icmp->icmp_type, 3);
	assert_int_equal(icmp->icmp_code, 4); /* fragmentation needed and DF set */
	assert_int_equal(icmp->icmp_ident, 0);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), 1400); /* next-hop MTU */
	uint16_t l4 = rte_be_to_cpu_16(ip->total_length) - L3;
	assert_int_equal(rte_raw_cksum(icmp, l4), 0xffff);
	/* The quote: the datagram's header and its first 528 bytes after. */
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(q->dst_addr, ip4(DST));
	assert_int_equal(rte_be_to_cpu_16(q->total_length), 1401);
	struct rte_mbuf *orig = udp_packet(1401, true);
	assert_memory_equal(q + 1, t_ip(orig) + 1, 576 - L3 - sizeof(*icmp) - L3);
	rte_pktmbuf_free(orig);
	assert_int_equal(W->stats.drops[DP_DROP_MTU_EXCEEDED], 1);
	assert_int_equal(W->stats.fragmented, 0);
	rte_pktmbuf_free(m);
	t_assert_no_output(W);
}

static void test_df_too_big(void **state)
{
	(void)state;
	df_too_big(udp_packet(1401, true));
}

/* The same datagram in two segments (as from vhost-user), split inside
 * the part the error quotes. */
static void test_df_too_big_chained(void **state)
{
	(void)state;
	df_too_big(chained(udp_packet(1401, true), RTE_ETHER_HDR_LEN + L3 + L4 + 100));
}

/* Through the uplink to a gateway not resolved yet: each fragment waits
 * for ARP like any packet would. */
static void test_fragments_of_unresolved_next_hop_punted(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.1")};
	assert_int_equal(dp_route_add(ip4("100.97.0.0"), 16, &gw), 0);
	struct rte_mbuf *m = udp_packet(3000, false);
	t_ip(m)->dst_addr = ip4("100.97.1.1");
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	unsigned queued = rte_ring_count(dp.slowpath);
	dp_rx_burst(W, T_POD_A, &m, 1);
	assert_int_equal(rte_ring_count(dp.slowpath), queued + 3); /* 1480 + 1480 + 20 */
	t_assert_no_output(W);
	assert_int_equal(W->stats.fragmented, 1);
}

/* More fragments than the dataplane makes of one packet (an MTU far too
 * small for it): dropped and counted. */
static void test_too_many_fragments(void **state)
{
	(void)state;
	routes();
	dp.ports[T_POD_B].mtu = 68; /* 48 bytes a fragment */
	struct rte_mbuf *m = udp_packet(9000, false);
	dp_rx_burst(W, T_POD_A, &m, 1);
	t_assert_no_output(W);
	assert_int_equal(W->stats.drops[DP_DROP_MTU_EXCEEDED], 1);
}

/* Fragments are mbuf chains. A port that takes none (DPDK's af_xdp) gets
 * each copied into its first buffer on the way out, bytes unchanged; a
 * chain longer than that buffer is dropped as tx_error. */
static void test_chains_linearized(void **state)
{
	static uint8_t before[7][RTE_ETHER_MAX_LEN];
	struct rte_mbuf *out[8];
	uint32_t len[7];
	(void)state;

	routes();
	dp.ports[T_POD_B].single_seg = true;
	struct rte_mbuf *m = udp_packet(9000, false);
	dp_rx_burst(W, T_POD_A, &m, 1);
	struct dp_txbuf *b = &W->tx[T_POD_B];
	assert_int_equal(b->n, 7);
	for (uint16_t i = 0; i < b->n; i++) {
		assert_true(b->pkts[i]->nb_segs > 1);
		len[i] = b->pkts[i]->pkt_len;
		const void *p = rte_pktmbuf_read(b->pkts[i], 0, len[i], before[i]);
		if (p != before[i])
			memcpy(before[i], p, len[i]);
	}
	unsigned in_use = rte_mempool_in_use_count(dp.indirect_pool);
	dp_tx_flush_port(W, T_POD_B);
	assert_int_equal(rte_ring_dequeue_burst(t_txr[T_POD_B][0], (void **)out, 8, NULL), 7);
	for (unsigned i = 0; i < 7; i++) {
		assert_int_equal(out[i]->nb_segs, 1);
		assert_int_equal(out[i]->data_len, len[i]);
		assert_memory_equal(rte_pktmbuf_mtod(out[i], void *), before[i], len[i]);
		rte_pktmbuf_free(out[i]);
	}
	assert_true(rte_mempool_in_use_count(dp.indirect_pool) < in_use); /* payload copied */
	assert_int_equal(W->stats.drops[DP_DROP_TX_ERROR], 0);

	struct rte_mbuf *h = rte_pktmbuf_alloc(dp.pool), *t = rte_pktmbuf_alloc(dp.pool);
	assert_non_null(rte_pktmbuf_append(h, rte_pktmbuf_tailroom(h)));
	assert_non_null(rte_pktmbuf_append(t, 100));
	assert_int_equal(rte_pktmbuf_chain(h, t), 0);
	in_use = rte_mempool_in_use_count(dp.pool);
	b->pkts[b->n++] = h;
	dp_tx_flush_port(W, T_POD_B);
	assert_int_equal(rte_ring_count(t_txr[T_POD_B][0]), 0);
	assert_int_equal(W->stats.drops[DP_DROP_TX_ERROR], 1);
	assert_int_equal(rte_mempool_in_use_count(dp.pool), in_use - 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mtu_boundary),
		T(test_fragmented),
		T(test_partial_checksum_completed_first),
		T(test_df_too_big),
		T(test_df_too_big_chained),
		T(test_fragments_of_unresolved_next_hop_punted),
		T(test_too_many_fragments),
		T(test_chains_linearized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
