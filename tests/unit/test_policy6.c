/* NetworkPolicy for IPv6 in the fast path on frames built here: isolation
 * per direction by IPv6 rules, replies of allowed connections, ICMPv6
 * echo tracked by its id, a change judging established flows again, the
 * node's exemption, policy after IPv6 Service DNAT with the client's own
 * address, an ICMPv6 error about an allowed connection, counters per port
 * and rule, and IPv4 rules judging IPv4 alone. */
#include <rte_ip.h>

#include "dp_ip6.h"
#include "dp_nat.h"
#include "fwd_harness.h"

#define W (&dp.workers[0])
#define A6 "fd00:10:96:f3::2" /* pod A, port T_POD_A */
#define B6 "fd00:10:96:f3::3" /* pod B, port T_POD_B */
#define N6 "fd00:172:31:102::105" /* the node */
#define FAR6 "fd00:10:96:f4::9"   /* another node's pod, via the uplink */
#define VIP6 "fd00:96::a"
#define DENIED T_NPORTS

static void routes(void)
{
	struct dp_nh_spec local = {.kind = DP_NH_LOCAL}, svc = {.kind = DP_NH_SERVICE};
	struct dp_nh_spec far = {.kind = DP_NH_PORT, .port = T_UPLINK, .mac = mac_n(0x99)};
	uint8_t a[16];

	t_pod_routes6();
	t_ip6(N6, a);
	assert_int_equal(dp_route6_add(a, 128, &local), 0);
	t_ip6(VIP6, a);
	assert_int_equal(dp_route6_add(a, 128, &svc), 0);
	t_ip6("fd00:10:96:f4::", a);
	assert_int_equal(dp_route6_add(a, 64, &far), 0);
}

static struct dp_pol_rule6 rule6(const char *pod, const char *peer, uint8_t len, uint8_t proto,
				 uint16_t lo, uint16_t hi, uint32_t id)
{
	struct dp_pol_rule6 r = {.peer_len = len, .proto = proto, .port_lo = lo, .port_hi = hi,
				 .id = id};
	t_ip6(pod, r.pod);
	t_ip6(peer, r.peer);
	return r;
}

/* Pods isolated in dir (their IPv6 addresses), taking the rules given. */
static void set6(unsigned dir, const char *const *pods, unsigned n_pods,
		 const struct dp_pol_rule6 *r, unsigned n)
{
	uint8_t iso[4][16];
	struct dp_pol_spec s = {0};
	char err[128];

	for (unsigned i = 0; i < n_pods; i++)
		t_ip6(pods[i], iso[i]);
	s.n_isolated6[dir] = n_pods;
	s.isolated6[dir] = (const uint8_t(*)[16])iso;
	s.n_rules6[dir] = n;
	s.rules6[dir] = r;
	assert_int_equal(dp_policy_set(&s, err, sizeof(err)), 0);
}

/* B isolated for ingress: A may reach it on TCP 8080-8081 (rule 7). */
static void b_takes_a_on_8080(void)
{
	static const char *const b[] = {B6};
	struct dp_pol_rule6 r = rule6(B6, A6, 128, IPPROTO_TCP, 8080, 8081, 7);
	set6(DP_POL_INGRESS, b, 1, &r, 1);
}

static void rx1(uint16_t port, struct rte_mbuf *m)
{
	dp_rx_burst(W, port, &m, 1);
}

static uint64_t policy_drops(void)
{
	struct dp_stats st;
	dp_stats_read(&st);
	return st.drops[DP_DROP_POLICY];
}

/* m sent from port in comes out of out with its addresses (out DENIED:
 * dropped, counted as policy). */
static void expect_m(uint16_t in, struct rte_mbuf *m, uint16_t out)
{
	uint8_t src[16], dst[16];
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
	uint64_t before = policy_drops();

	memcpy(src, ip->src_addr, 16);
	memcpy(dst, ip->dst_addr, 16);
	rx1(in, m);
	if (out == DENIED) {
		t_assert_no_output(W);
		assert_int_equal(policy_drops(), before + 1);
		return;
	}
	m = t_take(W, out);
	t_assert_no_output(W);
	assert_int_equal(policy_drops(), before);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
	assert_memory_equal(ip->src_addr, src, 16);
	assert_memory_equal(ip->dst_addr, dst, 16);
	rte_pktmbuf_free(m);
}

static void expect(uint16_t in, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		   uint8_t proto, uint16_t out)
{
	expect_m(in, t_l4_frame6(in, src, sport, dst, dport, proto, RTE_TCP_ACK_FLAG, 20), out);
}

/* An ICMPv6 echo request (128) or reply (129) with its id. */
static struct rte_mbuf *echo6(uint16_t port, const char *src, const char *dst, uint8_t type,
			      uint16_t id)
{
	struct rte_mbuf *m = t_frame6(port, src, dst, IPPROTO_ICMPV6, 8, 64);
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
	uint8_t *p = (uint8_t *)(ip + 1);

	p[0] = type;
	p[4] = (uint8_t)(id >> 8);
	p[5] = (uint8_t)id;
	uint16_t sum = rte_ipv6_udptcp_cksum(ip, p);
	memcpy(p + 2, &sum, 2);
	return m;
}

static void test_ingress_isolation(void **state)
{
	(void)state;
	routes();
	b_takes_a_on_8080();
	assert_int_equal(dp.ports[T_POD_B].pol_iso, 1u << DP_POL_INGRESS);
	assert_int_equal(dp.ports[T_POD_A].pol_iso, 0);
	expect(T_POD_A, A6, 40000, B6, 8080, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A6, 40001, B6, 8081, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A6, 40002, B6, 8082, IPPROTO_TCP, DENIED);    /* port */
	expect(T_POD_A, A6, 40003, B6, 8080, IPPROTO_UDP, DENIED);    /* protocol */
	expect(T_UPLINK, FAR6, 40004, B6, 8080, IPPROTO_TCP, DENIED); /* peer */
	/* B's answers pass; what B opens (not isolated for egress) too. */
	expect(T_POD_B, B6, 8080, A6, 40000, IPPROTO_TCP, T_POD_A);
	expect(T_POD_B, B6, 50000, A6, 9999, IPPROTO_UDP, T_POD_A);
	expect(T_POD_A, A6, 9999, B6, 50000, IPPROTO_UDP, T_POD_B);
	/* The node reaches it whatever the rules. */
	expect(T_HOST, N6, 40005, B6, 22, IPPROTO_TCP, T_POD_B);
	/* Echo: A's request refused (no rule without ports); B's own ping
	 * of A, tracked by its id, gets A's reply back. */
	expect_m(T_POD_A, echo6(T_POD_A, A6, B6, 128, 5), DENIED);
	expect_m(T_POD_B, echo6(T_POD_B, B6, A6, 128, 6), T_POD_A);
	expect_m(T_POD_A, echo6(T_POD_A, A6, B6, 129, 6), T_POD_B);

	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.port[T_POD_B].policy_denied, 4);
	assert_int_equal(st.port[T_POD_A].policy_denied, 0);
	assert_int_equal(dp_policy_rule_flows(7), 2);
	struct dp_pol_verdict v;
	uint8_t a[16], b[16], far[16];
	t_ip6(A6, a);
	t_ip6(B6, b);
	t_ip6(FAR6, far);
	dp_policy_trace6(a, b, IPPROTO_TCP, rte_cpu_to_be_16(8081), &v);
	assert_true(v.allowed && v.isolated[DP_POL_INGRESS] && !v.isolated[DP_POL_EGRESS]);
	assert_int_equal(v.rule[DP_POL_INGRESS], 7);
	dp_policy_trace6(far, b, IPPROTO_TCP, rte_cpu_to_be_16(8081), &v);
	assert_false(v.allowed);
	/* IPv4 is judged by IPv4 rules: B's IPv4 address is not isolated. */
	dp_policy_trace(ip4("100.96.243.2"), ip4("100.96.243.3"), IPPROTO_TCP,
			rte_cpu_to_be_16(8082), &v);
	assert_true(v.allowed && !v.isolated[DP_POL_INGRESS]);
}

/* A for egress: the other node's /64 but FAR6's /128 (what an ipBlock
 * with except compiles into: here two of its prefixes), any port. */
static void test_egress_prefixes(void **state)
{
	static const char *const a[] = {A6};
	struct dp_pol_rule6 r[2] = {rule6(A6, "fd00:10:96:f4::", 125, 0, 0, 0, 1),
				    rule6(A6, "fd00:10:96:f4::8000", 113, 0, 0, 0, 2)};

	(void)state;
	routes();
	set6(DP_POL_EGRESS, a, 1, r, 2);
	expect(T_POD_A, A6, 40000, "fd00:10:96:f4::2", 53, IPPROTO_UDP, T_UPLINK);
	expect(T_POD_A, A6, 40000, "fd00:10:96:f4::8001", 80, IPPROTO_TCP, T_UPLINK);
	expect(T_POD_A, A6, 40000, FAR6, 80, IPPROTO_TCP, DENIED);
	expect(T_POD_A, A6, 40000, B6, 80, IPPROTO_TCP, DENIED);
	/* Answers to connections made to A pass; so do its packets to its node. */
	expect(T_POD_B, B6, 40000, A6, 80, IPPROTO_TCP, T_POD_A);
	expect(T_POD_A, A6, 80, B6, 40000, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A6, 40001, N6, 10250, IPPROTO_TCP, T_HOST);
	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.port[T_POD_A].policy_denied, 2);
	assert_int_equal(dp_policy_rule_flows(1), 1);
	assert_int_equal(dp_policy_rule_flows(2), 1);
}

/* A change of rules judges each flow again at its next packet. */
static void test_change_judges_flows_again(void **state)
{
	static const char *const b[] = {B6};

	(void)state;
	routes();
	b_takes_a_on_8080();
	expect(T_POD_A, A6, 40000, B6, 8080, IPPROTO_TCP, T_POD_B);
	expect(T_POD_A, A6, 40001, B6, 8081, IPPROTO_TCP, T_POD_B);
	struct dp_pol_rule6 r = rule6(B6, A6, 128, IPPROTO_TCP, 8081, 8081, 9);
	set6(DP_POL_INGRESS, b, 1, &r, 1);
	expect(T_POD_B, B6, 8080, A6, 40000, IPPROTO_TCP, DENIED); /* a reply, judged again */
	expect(T_POD_A, A6, 40001, B6, 8081, IPPROTO_TCP, T_POD_B);
	assert_int_equal(dp_policy_rule_flows(9), 1);
	struct dp_pol_spec none = {0};
	char err[128];
	assert_int_equal(dp_policy_set(&none, err, sizeof(err)), 0);
	assert_int_equal(dp.ports[T_POD_B].pol_iso, 0);
	expect(T_POD_A, A6, 40000, B6, 8080, IPPROTO_TCP, T_POD_B);
}

/* Through an IPv6 ClusterIP: judged as B receives it, from A's own
 * address, to B's port; from the other node's pod, refused. An ICMPv6
 * error about the allowed connection passes with it. */
static void test_after_dnat_and_icmp6(void **state)
{
	struct dp_backend_spec be = {.port = rte_cpu_to_be_16(8080), .local = true};
	struct dp_svc_spec svc = {.v6 = true, .port = rte_cpu_to_be_16(80), .proto = IPPROTO_TCP,
				  .n_backends = 1, .backends = &be};

	(void)state;
	routes();
	t_ip6(B6, be.ip6);
	t_ip6(VIP6, svc.ip6);
	assert_int_equal(dp_svc_set(0, &svc), 0);
	b_takes_a_on_8080();
	rx1(T_POD_A, t_l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG, 0));
	struct rte_mbuf *m = t_take(W, T_POD_B);
	t_assert_no_output(W);
	uint8_t a[16];
	t_ip6(A6, a);
	assert_memory_equal(rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN)->src_addr,
			    a, 16);
	rte_pktmbuf_free(m);
	rx1(T_UPLINK, t_l4_frame6(T_UPLINK, FAR6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG, 0));
	t_assert_no_output(W);
	assert_int_equal(policy_drops(), 1);

	/* B's datagram to FAR6 gets "port unreachable" back: it passes; one
	 * about a datagram B never sent is judged alone, and refused. */
	expect(T_POD_B, B6, 50000, FAR6, 53, IPPROTO_UDP, T_UPLINK);
	for (int related = 1; related >= 0; related--) {
		struct rte_mbuf *q = t_l4_frame6(T_POD_B, B6, related ? 50000 : 50001, FAR6, 53,
						 IPPROTO_UDP, 0, 4);
		uint16_t qlen = (uint16_t)(q->pkt_len - RTE_ETHER_HDR_LEN);
		m = t_frame6(T_UPLINK, FAR6, B6, IPPROTO_ICMPV6, (uint16_t)(8 + qlen), 64);
		struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *,
								  RTE_ETHER_HDR_LEN);
		uint8_t *ic = (uint8_t *)(ip + 1);
		ic[0] = 1; /* destination unreachable */
		ic[1] = 4; /* port unreachable */
		memcpy(ic + 8, rte_pktmbuf_mtod_offset(q, void *, RTE_ETHER_HDR_LEN), qlen);
		uint16_t sum = rte_ipv6_udptcp_cksum(ip, ic);
		memcpy(ic + 2, &sum, 2);
		rte_pktmbuf_free(q);
		expect_m(T_UPLINK, m, related ? T_POD_B : DENIED);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
		T(test_ingress_isolation),
		T(test_egress_prefixes),
		T(test_change_judges_flows_again),
		T(test_after_dnat_and_icmp6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
