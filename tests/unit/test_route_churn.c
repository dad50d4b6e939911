/* Route changes while another thread forwards: traffic on an untouched
 * route is never lost, and no packet ever uses a next hop after it was
 * freed and reused for another route (RCU QSBR does its job). */
#include <pthread.h>

#include "fwd_harness.h"

#define W (&dp.workers[0])
#define CHURN 64

static volatile bool stop;
static uint64_t steady_ok, steady_bad, churn_ok, churn_stale, churn_unreach, rounds;

static uint32_t churn_dst(unsigned k)
{
	return htonl(0x64610000u | (k << 8) | 9); /* 100.97.k.9 */
}

static void *reader(void *arg)
{
	cpu_set_t all;

	(void)arg;
	/* EAL pinned the main thread to one core; let the reader use any,
	 * so the two threads really run at the same time where they can. */
	CPU_ZERO(&all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	rte_rcu_qsbr_thread_register(dp.qsbr, 0);
	rte_rcu_qsbr_thread_online(dp.qsbr, 0);
	for (unsigned k = 0; !stop; k = (k + 1) % CHURN) {
		struct rte_mbuf *in[2] = {
			t_ipv4(T_HOST, ip4("100.96.243.3"), ip4("100.96.243.2"), 64),
			t_ipv4(T_HOST, ip4("100.96.243.3"), churn_dst(k), 64),
		};
		dp_rx_burst(W, T_HOST, in, 2);
		for (uint16_t p = 0; p < T_NPORTS; p++) {
			struct dp_txbuf *b = &W->tx[p];
			for (uint16_t i = 0; i < b->n; i++) {
				struct rte_mbuf *m = b->pkts[i];
				struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
				struct rte_ipv4_hdr *ip = t_ip(m);
				if (ip->dst_addr == ip4("100.96.243.2") && p == T_POD_A)
					steady_ok++;
				else if (ip->next_proto_id == IPPROTO_ICMP)
					churn_unreach++;
				else if (p == T_POD_B && eth->dst_addr.addr_bytes[5] == k)
					churn_ok++;
				else if (ip->dst_addr == ip4("100.96.243.2"))
					steady_bad++;
				else
					churn_stale++;
			}
			rte_pktmbuf_free_bulk(b->pkts, b->n);
			b->n = 0;
		}
		rounds++;
		rte_rcu_qsbr_quiescent(dp.qsbr, 0);
	}
	rte_rcu_qsbr_thread_offline(dp.qsbr, 0);
	rte_rcu_qsbr_thread_unregister(dp.qsbr, 0);
	return NULL;
}

static void test_churn_under_traffic(void **state)
{
	(void)state;
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec host = {.kind = DP_NH_PORT, .port = T_HOST, .mac = dp.ports[T_HOST].peer_mac};
	bool present[CHURN] = {0};
	pthread_t t;

	assert_int_equal(dp_route_add(ip4("100.96.243.2"), 32, &a), 0);
	assert_int_equal(dp_route_add(ip4("100.96.243.3"), 32, &host), 0);
	W->icmp_tokens = 1u << 30; /* no rate limit in this test */
	W->icmp_last = UINT64_MAX / 2;
	assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
	while (__atomic_load_n(&rounds, __ATOMIC_RELAXED) == 0)
		rte_pause();
	for (unsigned i = 0; i < 5000; i++) {
		unsigned k = (i * 7) % CHURN;
		if (present[k]) {
			assert_int_equal(dp_route_del(churn_dst(k) & htonl(0xffffff00), 24), 0);
		} else {
			struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = mac_n((uint8_t)k)};
			assert_int_equal(dp_route_add(churn_dst(k) & htonl(0xffffff00), 24, &b), 0);
		}
		present[k] = !present[k];
		dp_commit();
	}
	stop = true;
	pthread_join(t, NULL);
	printf("# %lu rounds: steady %lu ok %lu bad; churned %lu ok, %lu unreachable, %lu stale\n",
	       rounds, steady_ok, steady_bad, churn_ok, churn_unreach, churn_stale);
	assert_true(rounds > 100);
	assert_int_equal(steady_ok, rounds);
	assert_int_equal(steady_bad, 0);
	assert_int_equal(churn_stale, 0);
	assert_true(churn_ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_churn_under_traffic, t_dp_setup, t_dp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
