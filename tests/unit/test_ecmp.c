/* ECMP routes: flows spread over the gateways and each keeps its own; a
 * gateway whose ARP entry fails leaves the set (only its flows move, and
 * they move to the others) and rejoins when it answers; members are
 * resolved and re-confirmed without traffic; trace names the gateway a
 * flow takes; next hops are given back when the route goes. */
#include <rte_ip.h>
#include <rte_udp.h>

#include "fwd_harness.h"

#define W (&dp.workers[0])
#define G1 "172.31.102.1"
#define G2 "172.31.102.2"
#define FLOWS 256

static struct dp_nh_spec ecmp(void)
{
	struct dp_nh_spec s = {.kind = DP_NH_ECMP, .n_gw = 2, .gws = {ip4(G1), ip4(G2)}};
	return s;
}

static void drain(uint16_t port)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(t_txr[port][1], (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

/* The gateway answers the ARP request podlaned sent for it. */
static void answer(const char *gw, uint8_t mac)
{
	struct rte_mbuf *m = t_arp(T_UPLINK, RTE_ARP_OP_REPLY, ip4(gw), ip4("172.31.102.105"), mac_n(mac));
	dp_rx_burst(W, T_UPLINK, &m, 1);
	dp_slowpath_run();
	drain(T_HOST); /* the kernel's copy */
}

/* Flow i (pod a's UDP from port 1000 + i) to 198.51.100.7: the last byte
 * of the MAC it went to, 0 if it did not leave. */
static uint8_t send_flow(unsigned i)
{
	struct rte_mbuf *m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("198.51.100.7"), 64);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(t_ip(m) + 1);

	u->src_port = rte_cpu_to_be_16((uint16_t)(1000 + i));
	u->dst_port = RTE_BE16(53);
	dp_rx_burst(W, T_POD_A, &m, 1);
	if (W->tx[T_UPLINK].n == 0)
		return 0;
	m = t_take(W, T_UPLINK);
	uint8_t to = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes[5];
	rte_pktmbuf_free(m);
	return to;
}

static struct dp_neigh *neigh(const char *ip)
{
	int32_t i = rte_hash_lookup(dp.neigh_hash, &(uint32_t){ip4(ip)});
	assert_true(i >= 0);
	return &dp.neigh[i];
}

static void setup_route(void)
{
	struct dp_nh_spec s = ecmp();
	struct rte_mbuf *req[4];

	assert_int_equal(dp_route_add(ip4("198.51.100.0"), 24, &s), 0);
	/* Both gateways asked for at once, before any flow. */
	assert_int_equal(rte_ring_dequeue_burst(t_txr[T_UPLINK][1], (void **)req, 4, NULL), 2);
	rte_pktmbuf_free_bulk(req, 2);
	answer(G1, 0xa1);
	answer(G2, 0xa2);
}

static void test_spread_and_kept(void **state)
{
	uint8_t first[FLOWS];
	unsigned to_g1 = 0;

	(void)state;
	setup_route();
	for (unsigned i = 0; i < FLOWS; i++) {
		first[i] = send_flow(i);
		assert_true(first[i] == 0xa1 || first[i] == 0xa2);
		to_g1 += first[i] == 0xa1;
	}
	/* Spread: each gateway carries a fair share (binomial, 256 flows). */
	assert_in_range(to_g1, FLOWS / 2 - 40, FLOWS / 2 + 40);
	for (unsigned i = 0; i < FLOWS; i++)
		assert_int_equal(send_flow(i), first[i]); /* a flow keeps its gateway */

	/* trace picks as the worker does. */
	for (unsigned i = 0; i < 8; i++) {
		struct dp_flow_tuple f = {.src = ip4("100.96.243.2"), .proto = IPPROTO_UDP,
					  .sport = rte_cpu_to_be_16((uint16_t)(1000 + i)),
					  .dport = RTE_BE16(53)};
		struct dp_trace t;
		assert_int_equal(dp_route_trace(ip4("198.51.100.7"), &f, &t), 0);
		assert_int_equal(t.kind, DP_NH_GATEWAY);
		assert_int_equal(t.next_ip, ip4(first[i] == 0xa1 ? G1 : G2));
		assert_int_equal(t.n_members, 2);
		assert_int_equal(t.members[0].ip, ip4(G1));
		assert_true(t.members[0].mac_known && t.members[1].mac_known);
	}
}

static void test_member_fails_and_rejoins(void **state)
{
	uint8_t first[FLOWS];
	uint64_t hz = rte_get_tsc_hz();
	struct rte_mbuf *m = NULL;

	(void)state;
	setup_route();
	for (unsigned i = 0; i < FLOWS; i++)
		first[i] = send_flow(i);

	/* G2 stops answering: re-asked every second, forgotten after 3. */
	struct dp_neigh *n = neigh(G2);
	n->confirmed -= 2 * hz;
	for (int probe = 1; probe <= 3; probe++) {
		n->last_req -= 2 * hz;
		neigh(G1)->confirmed = rte_get_tsc_cycles(); /* G1 answers on */
		dp_timer();
		assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0);
		assert_int_equal(rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14)->arp_data.arp_tip,
				 ip4(G2));
		rte_pktmbuf_free(m);
		assert_true(dp_neigh_mac_word(ip4(G2)) & DP_NEIGH_VALID); /* still used meanwhile */
	}
	n->last_req -= 2 * hz;
	dp_timer();
	assert_int_equal(dp_neigh_mac_word(ip4(G2)), 0);
	drain(T_UPLINK);
	/* Its flows went to G1; G1's stayed. */
	for (unsigned i = 0; i < FLOWS; i++)
		assert_int_equal(send_flow(i), 0xa1);

	/* Asked on once a second, and back when it answers. */
	n->last_req -= 2 * hz;
	dp_timer();
	assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0);
	rte_pktmbuf_free(m);
	answer(G2, 0xa2);
	for (unsigned i = 0; i < FLOWS; i++)
		assert_int_equal(send_flow(i), first[i]);
}

/* Both gone: a flow is handed to the control thread to resolve its own
 * gateway, as for a single one. */
static void test_none_resolved(void **state)
{
	struct dp_nh_spec s = ecmp();

	(void)state;
	assert_int_equal(dp_route_add(ip4("198.51.100.0"), 24, &s), 0);
	drain(T_UPLINK);
	assert_int_equal(send_flow(0), 0);
	assert_int_equal(rte_ring_count(dp.slowpath), 1);
	dp_slowpath_run();
	drain(T_UPLINK);
}

static void test_next_hops_given_back(void **state)
{
	struct dp_nh_spec s = ecmp(), one = {.kind = DP_NH_GATEWAY, .gw = ip4(G1)};
	uint32_t before = dp.n_nh_free;

	(void)state;
	assert_int_equal(dp_route_add(ip4("198.51.100.0"), 24, &s), 0);
	assert_int_equal(dp_route_add(ip4("198.51.101.0"), 24, &s), 0);  /* shares it */
	assert_int_equal(dp_route_add(ip4("198.51.102.0"), 24, &one), 0); /* shares a member */
	assert_int_equal(dp.n_nh_free, before - 3);
	assert_int_equal(neigh(G1)->ecmp_refs, 1);
	assert_int_equal(dp_route_del(ip4("198.51.100.0"), 24), 0);
	assert_int_equal(dp_route_del(ip4("198.51.101.0"), 24), 0);
	dp_commit();
	assert_int_equal(dp.n_nh_free, before - 1); /* G1's, for the third route */
	assert_int_equal(neigh(G1)->ecmp_refs, 0);
	assert_int_equal(dp_route_del(ip4("198.51.102.0"), 24), 0);
	dp_commit();
	assert_int_equal(dp.n_nh_free, before);
	drain(T_UPLINK);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_spread_and_kept),
		T(test_member_fails_and_rejoins),
		T(test_none_resolved),
		T(test_next_hops_given_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
