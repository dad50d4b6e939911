/* NetworkPolicy in the fast path on frames built here: isolation per
 * direction, replies of allowed connections, a change judging established
 * flows again, policy after Service DNAT with the client's own address,
 * ICMP errors about an allowed connection, the node's exemption, counters
 * per port and per rule, answers picked up after a crash, and packets
 * passing unchanged. */
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dp_nat.h"
#include "fwd_harness.h"

#define W (&dp.workers[0])
#define A "100.96.243.2" /* pod A, port T_POD_A */
#define B "100.96.243.3" /* pod B, port T_POD_B */
#define VIP "10.96.0.10"
#define NODE "172.31.102.105"
#define FAR "100.96.244.7" /* a pod of another node */

static void routes(void)
{
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	struct dp_nh_spec local = {.kind = DP_NH_LOCAL}, svc = {.kind = DP_NH_SERVICE};
	/* The other node's pods straight out of the uplink, its MAC known. */
	struct dp_nh_spec far = {.kind = DP_NH_PORT, .port = T_UPLINK, .mac = mac_n(0x99)};
	assert_int_equal(dp_route_add(ip4(A), 32, &a), 0);
	assert_int_equal(dp_route_add(ip4(B), 32, &b), 0);
	assert_int_equal(dp_route_add(ip4(NODE), 32, &local), 0);
	assert_int_equal(dp_route_add(ip4(VIP), 32, &svc), 0);
	assert_int_equal(dp_route_add(ip4("100.96.244.0"), 24, &far), 0);
	dp_port_set_peer(T_POD_A, ip4(A), &dp.ports[T_POD_A].peer_mac);
	dp_port_set_peer(T_POD_B, ip4(B), &dp.ports[T_POD_B].peer_mac);
}

/* B isolated for ingress: A may reach it on TCP 8080-8081 (rule 7). */
static void b_takes_a_on_8080(void)
{
	struct dp_pol_rule r = {.pod = ip4(B), .peer = ip4(A), .peer_len = 32,
				.proto = IPPROTO_TCP, .port_lo = 8080, .port_hi = 8081, .id = 7};
	uint32_t iso = ip4(B);
	struct dp_pol_spec s = {.n_isolated = {[DP_POL_INGRESS] = 1},
				.isolated = {[DP_POL_INGRESS] = &iso},
				.n_rules = {[DP_POL_INGRESS] = 1}, .rules = {[DP_POL_INGRESS] = &r}};
	char err[128];
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), 0);
}

static void nothing_isolated(void)
{
	struct dp_pol_spec none = {0};
	char err[128];
	assert_int_equal(dp_policy_set(&none, err, sizeof(err)), 0);
}

static void rx1(uint16_t port, struct rte_mbuf *m)
{
	dp_rx_burst(W, port, &m, 1);
}

/* A frame sent from port in must come out of port out unchanged but for
 * its TTL and IP checksum (out = T_NPORTS: dropped, counted as policy). */
static void expect(uint16_t in, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		   uint8_t proto, uint16_t out)
{
	struct dp_stats before, after;
	struct rte_mbuf *m = t_l4_frame(in, src, sport, dst, dport, proto, 64);
	uint8_t l4[32];
	memcpy(l4, t_ip(m) + 1, sizeof(l4));

	dp_stats_read(&before);
	rx1(in, m);
	dp_stats_read(&after);
	if (out == T_NPORTS) {
		t_assert_no_output(W);
		assert_int_equal(after.drops[DP_DROP_POLICY], before.drops[DP_DROP_POLICY] + 1);
		return;
	}
	m = t_take(W, out);
	t_assert_no_output(W);
	assert_int_equal(after.drops[DP_DROP_POLICY], before.drops[DP_DROP_POLICY]);
	assert_int_equal(t_ip(m)->src_addr, ip4(src));
	assert_int_equal(t_ip(m)->dst_addr, ip4(dst));
	assert_memory_equal(t_ip(m) + 1, l4, proto == IPPROTO_TCP ? 32 : 20);
	assert_int_equal(rte_raw_cksum(t_ip(m), sizeof(struct rte_ipv4_hdr)), 0xffff);
	rte_pktmbuf_free(m);
}

#define DENIED T_NPORTS

static void test_ingress_isolation(void **state)
{
	(void)state;
	routes();
	b_takes_a_on_8080();
	assert_int_equal(dp.ports[T_POD_B].pol_iso, 1u << DP_POL_INGRESS);
	assert_int_equal(dp.ports[T_POD_A].pol_iso, 0);
	expect(T_POD_A, A, 40000, B, 8080, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A, 40001, B, 8081, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A, 40002, B, 8082, IPPROTO_TCP, DENIED);  /* port */
	expect(T_POD_A, A, 40003, B, 8080, IPPROTO_UDP, DENIED);  /* protocol */
	expect(T_UPLINK, FAR, 40004, B, 8080, IPPROTO_TCP, DENIED); /* peer */
	/* B's answers to an allowed connection pass; B is not isolated for
	 * egress, so what it opens passes, and the answers to that too. */
	expect(T_POD_B, B, 8080, A, 40000, IPPROTO_TCP, T_POD_A);
	expect(T_POD_B, B, 50000, A, 9999, IPPROTO_UDP, T_POD_A);
	expect(T_POD_A, A, 9999, B, 50000, IPPROTO_UDP, T_POD_B);
	/* The node reaches it whatever the rules. */
	expect(T_HOST, NODE, 40005, B, 22, IPPROTO_TCP, T_POD_B);

	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.port[T_POD_B].policy_denied, 3);
	assert_int_equal(st.port[T_POD_A].policy_denied, 0);
	assert_int_equal(dp_policy_rule_flows(7), 2);
	struct dp_pol_verdict v;
	dp_policy_trace(ip4(A), ip4(B), IPPROTO_TCP, rte_cpu_to_be_16(8081), &v);
	assert_true(v.allowed && v.isolated[DP_POL_INGRESS] && !v.isolated[DP_POL_EGRESS]);
	assert_int_equal(v.rule[DP_POL_INGRESS], 7);
	dp_policy_trace(ip4(FAR), ip4(B), IPPROTO_TCP, rte_cpu_to_be_16(8081), &v);
	assert_false(v.allowed);
	assert_int_equal(v.rule[DP_POL_INGRESS], -1);
}

/* A for egress: only to the other node's pods (except FAR), any port. */
static void test_egress_and_except(void **state)
{
	struct dp_pol_rule r[2] = {
		/* 100.96.244.0/24 less FAR: what the control side compiles an
		 * ipBlock with except into (here two of its prefixes). */
		{.pod = ip4(A), .peer = ip4("100.96.244.0"), .peer_len = 30, .id = 1},
		{.pod = ip4(A), .peer = ip4("100.96.244.128"), .peer_len = 25, .id = 2},
	};
	uint32_t iso = ip4(A);
	struct dp_pol_spec s = {.n_isolated = {[DP_POL_EGRESS] = 1}, .isolated = {[DP_POL_EGRESS] = &iso},
				.n_rules = {[DP_POL_EGRESS] = 2}, .rules = {[DP_POL_EGRESS] = r}};
	char err[128];

	(void)state;
	routes();
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), 0);
	expect(T_POD_A, A, 40000, "100.96.244.2", 53, IPPROTO_UDP, T_UPLINK);
	expect(T_POD_A, A, 40000, "100.96.244.200", 80, IPPROTO_TCP, T_UPLINK);
	expect(T_POD_A, A, 40000, FAR, 80, IPPROTO_TCP, DENIED);
	expect(T_POD_A, A, 40000, B, 80, IPPROTO_TCP, DENIED);
	/* Answers to connections made to A pass; so do its packets to its node. */
	expect(T_POD_B, B, 40000, A, 80, IPPROTO_TCP, T_POD_A);
	expect(T_POD_A, A, 80, B, 40000, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A, 40001, NODE, 10250, IPPROTO_TCP, T_HOST);
	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.port[T_POD_A].policy_denied, 2);
	assert_int_equal(dp_policy_rule_flows(1), 1);
	assert_int_equal(dp_policy_rule_flows(2), 1);
}

/* A change of rules: each tracked flow is judged again at its next
 * packet, in either direction; one no rule allows any more stops. */
static void test_change_judges_flows_again(void **state)
{
	(void)state;
	routes();
	b_takes_a_on_8080();
	expect(T_POD_A, A, 40000, B, 8080, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A, 40001, B, 8081, IPPROTO_TCP, T_POD_B);
	struct dp_pol_rule r = {.pod = ip4(B), .peer = ip4(A), .peer_len = 32,
				.proto = IPPROTO_TCP, .port_lo = 8081, .port_hi = 8081, .id = 9};
	uint32_t iso = ip4(B);
	struct dp_pol_spec s = {.n_isolated = {[DP_POL_INGRESS] = 1}, .isolated = {[DP_POL_INGRESS] = &iso},
				.n_rules = {[DP_POL_INGRESS] = 1}, .rules = {[DP_POL_INGRESS] = &r}};
	char err[128];
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), 0);
	expect(T_POD_B, B, 8080, A, 40000, IPPROTO_TCP, DENIED); /* a reply, judged again */
	expect(T_POD_A, A, 40000, B, 8080, IPPROTO_TCP, DENIED);
	expect(T_POD_A, A, 40001, B, 8081, IPPROTO_TCP, T_POD_B);
	assert_int_equal(dp_policy_rule_flows(9), 1);
	/* No pod isolated: the stage is off, everything passes. */
	nothing_isolated();
	assert_null(dp.pol);
	assert_int_equal(dp.ports[T_POD_B].pol_iso, 0);
	expect(T_POD_A, A, 40000, B, 8080, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A, 40000, B, 9000, IPPROTO_UDP, T_POD_B);
}

/* Through a ClusterIP: judged as the backend receives it, from the
 * client's own address, to the backend's port. */
static void test_after_dnat(void **state)
{
	struct dp_backend_spec be = {.ip = ip4(B), .port = rte_cpu_to_be_16(8080), .local = true};
	struct dp_svc_spec svc = {.ip = ip4(VIP), .port = rte_cpu_to_be_16(80), .proto = IPPROTO_TCP,
				  .n_backends = 1, .backends = &be};

	(void)state;
	routes();
	assert_int_equal(dp_svc_set(0, &svc), 0);
	b_takes_a_on_8080();
	rx1(T_POD_A, t_l4_frame(T_POD_A, A, 40000, VIP, 80, IPPROTO_TCP, 64));
	struct rte_mbuf *m = t_take(W, T_POD_B);
	t_assert_no_output(W);
	assert_int_equal(t_ip(m)->src_addr, ip4(A));
	rte_pktmbuf_free(m);
	rx1(T_POD_B, t_l4_frame(T_POD_B, B, 8080, A, 40000, IPPROTO_TCP, 64));
	m = t_take(W, T_POD_A);
	assert_int_equal(t_ip(m)->src_addr, ip4(VIP)); /* reply translated, and passed */
	rte_pktmbuf_free(m);
	/* From the other node, the same ClusterIP: refused at B. */
	rx1(T_UPLINK, t_l4_frame(T_UPLINK, FAR, 40000, VIP, 80, IPPROTO_TCP, 64));
	t_assert_no_output(W);
	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.drops[DP_DROP_POLICY], 1);
	assert_int_equal(st.port[T_POD_B].policy_denied, 1);
}

/* An ICMP error about an allowed connection passes with it; one about
 * nothing tracked is judged alone (here: refused). */
static void test_icmp_error_related(void **state)
{
	(void)state;
	routes();
	b_takes_a_on_8080();
	expect(T_POD_B, B, 50000, FAR, 53, IPPROTO_UDP, T_UPLINK); /* B opens it */
	for (int related = 1; related >= 0; related--) {
		/* FAR's host answers "port unreachable", quoting B's datagram. */
		struct rte_mbuf *q = t_l4_frame(T_POD_B, B, related ? 50000 : 50001, FAR, 53,
						IPPROTO_UDP, 64);
		uint16_t qlen = rte_be_to_cpu_16(t_ip(q)->total_length);
		struct rte_mbuf *m = t_frame(dp.pool, T_UPLINK, ip4(FAR), ip4(B), IPPROTO_ICMP,
					     (uint16_t)(sizeof(struct rte_ipv4_hdr) + 8 + qlen), 64);
		struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(t_ip(m) + 1);
		ic->icmp_type = 3;
		ic->icmp_code = 3;
		memcpy(ic + 1, t_ip(q), qlen);
		ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, 8 + qlen);
		rte_pktmbuf_free(q);
		rx1(T_UPLINK, m);
		if (related) {
			m = t_take(W, T_POD_B);
			rte_pktmbuf_free(m);
		}
		t_assert_no_output(W);
	}
	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.drops[DP_DROP_POLICY], 1);
}

/* Flows forgotten (conntrack flush) and made again: each connection is
 * judged once, not at every packet (the worker's cache of flows led to
 * freed ones; the table is asked then, and the cache set right). */
static void test_flush_judged_once(void **state)
{
	(void)state;
	routes();
	b_takes_a_on_8080();
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < 3; k++)
			expect(T_POD_A, A, 40000, B, 8080, IPPROTO_TCP, T_POD_B);
		assert_int_equal(dp_policy_rule_flows(7), round + 1);
		assert_int_equal(dp_ct_flush(-1), 1);
	}
}

/* After a crash (dp_ct_pickup): a TCP segment without SYN that
 * answers a connection the rules allow passes and is tracked from it on;
 * a SYN, an answer to a refused connection, and anything after the window
 * stay refused. A and B isolated for ingress, B takes A on 8080. */
static void test_pickup_after_crash(void **state)
{
	(void)state;
	routes();
	struct dp_pol_rule r = {.pod = ip4(B), .peer = ip4(A), .peer_len = 32,
				.proto = IPPROTO_TCP, .port_lo = 8080, .port_hi = 8080, .id = 7};
	uint32_t iso[2] = {ip4(A), ip4(B)};
	struct dp_pol_spec s = {.n_isolated = {[DP_POL_INGRESS] = 2},
				.isolated = {[DP_POL_INGRESS] = iso},
				.n_rules = {[DP_POL_INGRESS] = 1}, .rules = {[DP_POL_INGRESS] = &r}};
	char err[128];
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), 0);

	expect(T_POD_B, B, 8080, A, 40000, IPPROTO_TCP, DENIED); /* no window: refused */
	dp_ct_pickup(300);
	expect(T_POD_B, B, 8080, A, 40001, IPPROTO_TCP, T_POD_A); /* an answer: picked up */
	expect(T_POD_A, A, 40001, B, 8080, IPPROTO_TCP, T_POD_B);
	expect(T_POD_B, B, 8080, A, 40001, IPPROTO_TCP, T_POD_A);
	assert_int_equal(dp_policy_rule_flows(7), 1);
	expect(T_POD_B, B, 9090, A, 40002, IPPROTO_TCP, DENIED); /* A -> B:9090 is refused */
	expect(T_POD_A, A, 40003, B, 9090, IPPROTO_TCP, DENIED); /* nor the other way */
	struct rte_mbuf *m = t_l4_frame(T_POD_B, B, 8080, A, 40004, IPPROTO_TCP, 64);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(t_ip(m) + 1);
	th->tcp_flags = RTE_TCP_SYN_FLAG;
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(t_ip(m), th);
	rx1(T_POD_B, m); /* a SYN opens a connection: judged as one */
	t_assert_no_output(W);
	dp.now_s += 300;
	expect(T_POD_B, B, 8080, A, 40005, IPPROTO_TCP, DENIED); /* the window closed */
	expect(T_POD_B, B, 8080, A, 40001, IPPROTO_TCP, T_POD_A); /* tracked: still passes */
}

/* Bad rule sets are refused; the one in force stays. */
static void test_bad_rules(void **state)
{
	struct dp_pol_rule r = {.pod = ip4(B), .peer_len = 33};
	uint32_t iso = ip4(B);
	struct dp_pol_spec s = {.n_isolated = {1}, .isolated = {&iso}, .n_rules = {1}, .rules = {&r}};
	char err[128];

	(void)state;
	routes();
	b_takes_a_on_8080();
	const struct dp_pol *before = dp.pol;
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy rule id 0 or prefix length 33 out of range");
	r = (struct dp_pol_rule){.pod = ip4(B), .id = DP_POL_MAX_IDS};
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(dp.pol, before);
	expect(T_POD_A, A, 40000, B, 8080, IPPROTO_TCP, T_POD_B);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
		T(test_ingress_isolation),
		T(test_egress_and_except),
		T(test_change_judges_flows_again),
		T(test_after_dnat),
		T(test_icmp_error_related),
		T(test_flush_judged_once),
		T(test_pickup_after_crash),
		T(test_bad_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
